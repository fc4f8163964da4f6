"""Regenerate the embedded demo runs in assets/demo/runs/ with the offline profile.

    .venv/bin/python scripts/build_demo.py            # all languages and methods
    .venv/bin/python scripts/build_demo.py --lang eu  # one language

The demo sentences (assets/demo/{eu,es,sw}.jsonl) were written for this project. Translation, NER and
alignment run once per language (cached in a scratch step cache) and each projection method reuses
them. The run directories keep no steps/ folder, so the assets stay small; the explorer needs only
config.json, metrics.json and records.jsonl.

Every run is made with ``back_translation.store=true``, so that the explorer's method switch can show
back-translation where the offline translator has the English -> target direction (Spanish: Apertium
eng->spa); where it has not (Basque), config.json says so and the ``back-translation`` run is skipped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo"
LANGS = ("eu", "es", "sw")
# Swahili has no Apertium pair: word by word from the FreeDict dictionary (Mayhew et al.'s "cheap
# translation", xlner.lexicon), the offline profile otherwise unchanged
TRANSLATOR = {"sw": ("translator={name: lexicon}",)}
METHODS = ("heuristic", "match-greedy", "match-exact", "back-translation")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=LANGS, action="append", help="default: all")
    parser.add_argument("--method", choices=METHODS, action="append", help="default: all")
    parser.add_argument("--profile", default="offline")
    args = parser.parse_args(argv)

    from xlner.errors import XlnerError
    from xlner.pipeline import Options, translate_test
    from xlner.translate import UNAVAILABLE_CODES  # no English -> target translator here

    os.chdir(ROOT)  # data paths in the runs' config.json are then relative to the project
    with tempfile.TemporaryDirectory(prefix="xlner-demo-") as scratch:
        shared = Path(scratch) / "shared"
        for lang in args.lang or LANGS:
            for method in args.method or METHODS:
                out = DEMO / "runs" / f"{lang}-{method}"
                shutil.rmtree(out, ignore_errors=True)
                opts = Options(data=f"assets/demo/{lang}.jsonl", lang=lang, out=str(out),
                               profile=args.profile, method=method, cache_dir=str(shared),
                               overrides=("back_translation.store=true", *TRANSLATOR.get(lang, ())))
                try:
                    run = translate_test(opts)
                except XlnerError as exc:
                    if method != "back-translation" or exc.code not in (*UNAVAILABLE_CODES, "E754"):
                        raise
                    shutil.rmtree(out, ignore_errors=True)
                    print(f"{out.relative_to(ROOT)}: skipped, error[{exc.code}]: {exc.message}",
                          file=sys.stderr)
                    continue
                shutil.rmtree(out / "steps", ignore_errors=True)
                f1 = run.metrics["overall"]["f1"]
                print(f"{out.relative_to(ROOT)}: F1 {f1 * 100:.1f} on {run.metrics['n_sentences']} "
                      f"sentences", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
