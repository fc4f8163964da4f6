"""Fused matching against the pipeline's n-gram matching on the same translate-test records.

Both project every record of a run (``records.jsonl``): the pipeline's ``match-greedy`` with the
capitalisation score (``xlner.project.project_batch``, what the run itself did) and fused matching
(``xlner.project.fusion.fused_project``: n-gram + NER candidates, Dice + NER + capitalisation) with
the target tagger's probabilities from the fusion study's cache. CPU time (``time.process_time``),
the two alternating, median of ``--repeats`` rounds, so that load from other processes moves both.

    PYTHONPATH=src:scripts python benchmarks/bench_fusion.py --run /work/fusion-runs/offline-e5ner/eu-news \
        --model /work/fusion-models/e5-conll03-en-s0
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    import fusion_study as fs
    from xlner.project import project_batch

    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--cache", type=Path, default=Path("/work/fusion-cache/tag"))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    data = fs.load_set(args.run, args.model, args.cache)
    cfg = fs.FusedConfig("ngram+ner", 0.5, 1.0, "ner", True, 1.0)
    options = {"weights": {"capitalization": 1.0}}
    rows = [r for r in data.records if r.tgt_tokens]
    inputs = fs.ngram_matching_inputs(rows)
    times: dict[str, list[float]] = {"ngram": [], "fused": []}
    for _ in range(args.repeats):
        for name, fn in (("ngram", lambda: project_batch("match-greedy", inputs, **options)),
                         ("fused", lambda: fs.fused_predictions(data, cfg))):
            t = time.process_time()
            fn()
            times[name].append(time.process_time() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.run}: {len(rows)} sentences, median CPU seconds of {args.repeats} rounds")
    for k, v in med.items():
        print(f"  {k:6s} {v:.2f} s  {len(rows) / v:.0f} sentences per CPU-second")
    print(f"  fused / n-gram CPU time: {med['fused'] / med['ngram']:.2f}x")


if __name__ == "__main__":
    main()
