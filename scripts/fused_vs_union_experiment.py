"""Fused projection against model transfer and the naive union, over an experiment's seeds (issue 11).

The experiment runner compares its methods with model transfer; the issue's goal also asks for fused
projection above the *naive union* (all model-transfer spans plus the projected spans that overlap
none of them). This script builds that union for every seed of a finished experiment folder that ran
``model-transfer`` and ``projection-fused``: the projected spans are the fused run's own records
re-projected with ``match-greedy`` and the ``offline-e5ner`` profile's projection settings (the plain
projection with the seed's teacher as English NER, as in the fusion study), the model-transfer spans
are the model-transfer cell's. F1 is the seed mean; intervals are the experiment's own: the same
sentence resamples for every seed and system (:func:`xlner.evaluate.resampled_f1`), so differences are
paired.

    PYTHONPATH=src python scripts/fused_vs_union_experiment.py EXP_DIR [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from xlner.datamodel import Sentence
from xlner.evaluate import percentile_interval, resampled_f1, span_entities
from xlner.experiment.summary import stable_seed
from xlner.pipeline import load_profile
from xlner.project import project_records
from xlner.project.ensemble import naive_union
from xlner.runs import RECORDS, read_records


def _sentences(records, spans) -> list[Sentence]:
    return [Sentence(r.id, list(r.tgt_tokens), sorted(s)) for r, s in zip(records, spans)]


def _counts(gold: list[Sentence], pred: list[Sentence]) -> np.ndarray:
    """``(n_sentences, 3)``: true positives, false positives, false negatives (exact span and type)."""
    out = []
    for g, p in zip(span_entities(gold), span_entities(pred)):
        tp = len(g & p)
        out.append((tp, len(p) - tp, len(g) - tp))
    return np.asarray(out, dtype=np.int64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("exp", type=Path)
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    settings = load_profile("offline-e5ner")["projection"]
    cells = sorted((args.exp / "runs").glob("projection-fused__*"))
    test_sets = sorted({c.name.split("__")[1] for c in cells})
    out = {}
    for ts in test_sets:
        counts: dict[str, list[np.ndarray]] = {"model transfer": [], "naive union": [], "projection (greedy)": [],
                                               "fused": []}
        for fused_cell in sorted((args.exp / "runs").glob(f"projection-fused__{ts}__s*")):
            seed = fused_cell.name.rsplit("__s", 1)[1]
            model = read_records(args.exp / "runs" / f"model-transfer__{ts}__s{seed}" / RECORDS)
            fused = read_records(fused_cell / RECORDS)
            (pipe,) = (args.exp / "pipeline").glob(f"translate-test-fused__test-{ts}-s{seed}-*")
            records = read_records(pipe / RECORDS)
            assert [r.id for r in model] == [r.id for r in fused] == [r.id for r in records], ts
            gold = [Sentence(r.id, list(r.tgt_tokens), list(r.gold or [])) for r in model]
            greedy = [[p.span for p in res.projected] for res in project_records(records, "match-greedy", settings)]
            model_spans = [r.projected_spans() for r in model]
            systems = {"model transfer": model_spans, "projection (greedy)": greedy,
                       "naive union": [naive_union(m, p) for m, p in zip(model_spans, greedy)],
                       "fused": [r.projected_spans() for r in fused]}
            for k, spans in systems.items():
                counts[k].append(_counts(gold, _sentences(model, spans)))
        stacked = {k: np.stack(v, axis=1) for k, v in counts.items()}  # (n_sentences, n_seeds, 3)
        samples = {k: resampled_f1(c, args.n_boot, stable_seed(ts)).mean(axis=1) for k, c in stacked.items()}
        row = {}
        for k, c in stacked.items():
            tp, fp, fn = c.sum(axis=0).T
            f1 = float(np.mean(2 * tp / np.maximum(2 * tp + fp + fn, 1)))
            row[k] = {"f1": f1, "ci": list(percentile_interval(samples[k])), "seeds": c.shape[1]}
        for ref in ("model transfer", "naive union"):
            low, high = percentile_interval(samples["fused"] - samples[ref])
            row[f"fused - {ref}"] = {"diff": row["fused"]["f1"] - row[ref]["f1"], "ci": [low, high]}
        out[ts] = row
        print(f"{ts}: " + ", ".join(f"{k} {100 * v['f1']:.1f}" for k, v in row.items() if "f1" in v) + "; " +
              ", ".join(f"{k} {100 * v['diff']:+.1f} [{100 * v['ci'][0]:+.1f}, {100 * v['ci'][1]:+.1f}]"
                        for k, v in row.items() if "diff" in v), flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
