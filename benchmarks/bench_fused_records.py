"""The pipeline's fused projection against its n-gram matching, on the same run records.

Both go through the library function the pipeline's projection step calls,
:func:`xlner.project.project_records`, on every record of an ``offline-fusion`` run: ``match-greedy``
(n-gram candidates, Dice + capitalisation, the default profiles' projection) and the run's own fused
method with its settings and the target tagger's output read from the run's cached ``target_tag``
step, and the run-level ``type_vote`` step when the run's profile has one (timed with the fused
methods). CPU time (``time.process_time``), the methods alternating, median of ``--repeats`` rounds, so
that load from other processes moves all of them alike; the fastest round's ratio is printed too
(on a loaded machine the fastest round is the one least disturbed). ``--solver exact`` runs the
fused methods with the exact solver against ``match-exact`` (the run's stored projection is then
not checked: it was made with the run's solver).

    PYTHONPATH=src python benchmarks/bench_fused_records.py \\
        --run /work/fusion-runs/offline-fusion/match-fused+ensemble/eu-news
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def main() -> None:
    from xlner.datamodel import Span
    from xlner.project import project_records
    from xlner.project.consistency import vote_types
    from xlner.project.fused import TargetNer
    from xlner.runs import load_run

    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--solver", choices=("greedy", "exact"), help="the fused solver (default: the run's)")
    args = ap.parse_args()
    run = load_run(args.run)
    settings = run.config["components"]["projection"]
    (path,) = sorted((args.run / "steps").glob("target_tag-*.parquet"))
    rows = pq.read_table(path).to_pylist()
    ner = [TargetNer([Span(e["start"], e["end"], e["label"]) for e in r["tgt_ner_entities"] or []],
                     [float(e["score"]) for e in r["tgt_ner_entities"] or []],
                     np.asarray(r["tgt_ner_probs"] or [], dtype=np.float64).reshape(len(rec.tgt_tokens), -1)
                     if r["tgt_ner_columns"] else np.zeros((len(rec.tgt_tokens), 1)),
                     list(r["tgt_ner_columns"] or ["O"]))
           for r, rec in zip(rows, run.records)]
    records = run.records
    if args.solver:  # the n-gram baseline with the same solver: match-exact against exact fused matching
        settings = {**settings, "options": {**(settings.get("options") or {}), "solver": args.solver}}
    solver = (settings.get("options") or {}).get("solver", "greedy")
    ngram = "match-greedy" if solver == "greedy" else "match-exact"
    greedy = {"options": {}, "target_scores": settings.get("target_scores") or {}}
    vote = settings.get("type_vote")  # the run-level type vote step, when the profile has it
    tokens = [r.tgt_tokens for r in records]

    def fused(method: str) -> list[list[Span]]:
        spans = [[p.span for p in res.projected] for res in project_records(records, method, settings, ner)]
        return vote_types(tokens, spans, int(vote)) if vote else spans

    methods = {
        ngram: lambda: project_records(records, ngram, greedy),
        "match-fused": lambda: fused("match-fused"),
        "match-fused+ensemble": lambda: fused("match-fused+ensemble"),
    }
    stored = [r.projected_spans() for r in records]
    if not args.solver:
        assert [sorted(s) for s in fused(run.config["method"])] == stored, "not the stored projection"
    times: dict[str, list[float]] = {k: [] for k in methods}
    for _ in range(args.repeats):
        for name, fn in methods.items():
            t = time.process_time()
            fn()
            times[name].append(time.process_time() - t)
    n = len(records)
    base, base_min = statistics.median(times[ngram]), min(times[ngram])
    print(f"{args.run} ({n} sentences, {solver} solver), CPU time, median of {args.repeats} (and fastest):")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:22s} {n / med:8.0f} sentences per CPU-second  ({med / base:.2f}x {ngram}; "
              f"fastest {min(ts) / base_min:.2f}x)")


if __name__ == "__main__":
    main()
