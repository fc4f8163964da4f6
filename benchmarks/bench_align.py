"""Alignment speed: batched encoding vs one sentence pair at a time, on real Basque/English pairs.

Basque sentences come from the Basque NERC in-domain validation set; their English side is
Apertium's ``eu-en`` translation (one subprocess call). In one run it times, on the same pairs:

- ``batched``: ``get_aligner("simalign", layer=8, method="inter").align(all pairs)``;
- ``one-at-a-time``: the same aligner called with one pair per call;
- ``simalign-package``: simalign's own ``SentenceAligner`` on the same e5-small folder, one pair
  per call (what the calibration's per-sentence alignment did);
and reports sentences/second and the agreement of the links.

    OMP_NUM_THREADS=1 python benchmarks/bench_align.py --n 240 --threads 1 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_basque(path: Path, n: int) -> list[list[str]]:
    sents = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            tokens = json.loads(line)["tokens"]
            if tokens:
                sents.append(tokens)
            if len(sents) == n:
                break
    return sents


def apertium_eu_en(texts: list[str]) -> list[str]:
    """One ``apertium -u eu-en`` call; one sentence per line (line count checked)."""
    out = subprocess.run(["apertium", "-u", "eu-en"], input="\n".join(texts) + "\n", capture_output=True,
                         text=True, check=True).stdout.rstrip("\n").split("\n")
    if len(out) != len(texts):
        sys.exit(f"apertium returned {len(out)} lines for {len(texts)} sentences")
    return out


def words(text: str) -> list[str]:
    try:
        from xlner.text import split_words
    except ImportError:  # area D's module not there yet
        return re.findall(r"\w+(?:[-']\w+)*|[^\w\s]", text)
    return split_words(text)


def detok(tokens: list[str]) -> str:
    try:
        from xlner.text import detokenize
    except ImportError:
        return " ".join(tokens)
    return detokenize(tokens)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA / "basque-nerc" / "in_domain" / "val.jsonl")
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--layer", type=int, default=8)
    ap.add_argument("--skip-package", action="store_true", help="do not time simalign's own SentenceAligner")
    ap.add_argument("--skip-single", action="store_true", help="do not time one pair per call")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from xlner.align import get_aligner
    from xlner.encoder import ensure_e5_small

    model_dir = ensure_e5_small()
    tgt = load_basque(args.data, args.n)  # Basque = target side of translate-test
    t0 = time.perf_counter()
    english = apertium_eu_en([detok(s) for s in tgt])
    t_translate = time.perf_counter() - t0
    src = [words(e) for e in english]
    n_words = sum(map(len, src)) + sum(map(len, tgt))

    aligner = get_aligner("simalign", layer=args.layer, method="inter", threads=args.threads)
    aligner.align(src[:4], tgt[:4])  # warm-up (model load, first-call allocations)

    results: dict[str, dict] = {}
    t0 = time.perf_counter()
    batched = aligner.align(src, tgt)
    results["batched"] = {"seconds": time.perf_counter() - t0}

    log(f"batched: {results['batched']['seconds']:.1f} s")
    if not args.skip_single:
        t0 = time.perf_counter()
        single = [aligner.align([s], [t])[0] for s, t in zip(src, tgt)]
        results["one-at-a-time"] = {"seconds": time.perf_counter() - t0}
        same = sum(np.array_equal(a.pairs, b.pairs) for a, b in zip(batched, single))
        results["one-at-a-time"]["same_links_as_batched"] = f"{same}/{len(src)}"
        log(f"one-at-a-time: {results['one-at-a-time']['seconds']:.1f} s")

    if not args.skip_package:
        from simalign import SentenceAligner

        package = SentenceAligner(model=str(model_dir), token_type="word", matching_methods="a", layer=args.layer)
        package.get_word_aligns(src[0], tgt[0])
        t0 = time.perf_counter()
        theirs = [package.get_word_aligns(s, t)["inter"] for s, t in zip(src, tgt)]
        results["simalign-package"] = {"seconds": time.perf_counter() - t0}
        agree = sum(sorted(map(tuple, a.pairs.tolist())) == sorted(b) for a, b in zip(batched, theirs))
        results["simalign-package"]["same_links_as_batched"] = f"{agree}/{len(src)}"

    for r in results.values():
        r["sentences_per_s"] = round(len(src) / r["seconds"], 1)
        r["seconds"] = round(r["seconds"], 2)
    report = {"pairs": len(src), "words": n_words, "threads": args.threads, "layer": args.layer,
              "data": str(args.data), "apertium_seconds": round(t_translate, 2),
              "cpu_count": os.cpu_count(), "results": results}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
