"""The README's fused-projection table from pipeline runs (issue 11): F1 with 95% bootstrap intervals
and paired bootstrap differences, per data set, for

- ``offline``: the default profile's projection (spaCy English NER);
- ``offline-e5ner``: the same pipeline with the e5 tagger as English NER, ``match-greedy``;
- model transfer: the same e5 tagger on the target sentences (the fusion runs' cached
  ``target_tag`` step, i.e. exactly what the fused methods saw);
- naive union: every model-transfer span plus the projected (offline-e5ner) spans that overlap none;
- ``offline-fusion`` with ``match-fused`` and with ``match-fused+ensemble``, both without the
  clean-ups (the profile before they were added);
- ``offline-fusion``, the profile as shipped: ``match-fused+ensemble`` + ``drop_lowercase``,
  ``merge_adjacent`` and the run-level ``type_vote`` (``cleanup.md``).

Every run folder is a ``xlner pipeline translate-test`` output on the same gold sentences (checked).

    PYTHONPATH=src python scripts/fusion_pipeline_numbers.py --runs /work/fusion-runs \\
        --out docs/results/fusion/pipeline.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyarrow.parquet as pq

from xlner.datamodel import Sentence, Span
from xlner.evaluate import bootstrap_f1_ci, evaluate, paired_bootstrap_diff
from xlner.project.ensemble import naive_union
from xlner.runs import load_run

SETS = ("eu-news", "eu-wiki", "es-test", "swa-test")
RUNS = {"offline": "offline/{set}", "offline-e5ner": "offline-e5ner/{set}",
        "match-fused": "offline-fusion/match-fused/{set}",
        "match-fused+ensemble": "offline-fusion/match-fused+ensemble/{set}",
        "offline-fusion": "offline-fusion2/profile/{set}"}
FUSED = ("match-fused", "match-fused+ensemble", "offline-fusion")


def _sentences(records, spans) -> list[Sentence]:
    return [Sentence(r.id, list(r.tgt_tokens), list(s)) for r, s in zip(records, spans)]


def _model_transfer(run_dir: Path, n: int) -> list[list[Span]]:
    """The target tagger's spans, read from the run's cached ``target_tag`` step."""
    (path,) = sorted((run_dir / "steps").glob("target_tag-*.parquet"))
    rows = pq.read_table(path, columns=["tgt_ner_entities"]).to_pylist()
    assert len(rows) == n, path
    return [[Span(e["start"], e["end"], e["label"]) for e in r["tgt_ner_entities"] or []] for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    lines = ["# Fused projection in the pipeline (issue 11)", "",
             "Made by `scripts/fusion_pipeline_numbers.py` from `xlner pipeline translate-test` runs; PER/ORG/LOC,",
             f"seqeval default mode, micro F1 x 100, 95% percentile bootstrap over sentences ({args.n_boot} resamples,",
             "seed 0); differences are paired bootstraps on the same resampled sentences.", "",
             "| set | system | F1 [95% CI] | P / R | − model transfer [CI] | − offline [CI] | − naive union [CI] |",
             "|---|---|---|---|---|---|---|"]
    results: dict = {}
    for name in SETS:
        runs = {k: args.runs / v.format(set=name) for k, v in RUNS.items()}
        missing = [k for k, d in runs.items() if not (d / "records.jsonl").is_file()]
        if set(missing) - {"offline"}:  # Swahili has no `offline` run: Apertium has no pair
            print(f"{name}: skipped (missing {missing})")
            continue
        loaded = {k: load_run(d).records for k, d in runs.items() if k not in missing}
        base = loaded["offline-e5ner"]
        gold = [Sentence(r.id, list(r.tgt_tokens), list(r.gold or [])) for r in base]
        for k, recs in loaded.items():
            assert [r.id for r in recs] == [g.id for g in gold], (name, k)
        preds = {k: _sentences(base, [r.projected_spans() for r in recs]) for k, recs in loaded.items()}
        model = _model_transfer(runs["match-fused+ensemble"], len(gold))
        preds["model transfer"] = _sentences(base, model)
        preds["naive union"] = _sentences(base, [naive_union(m, r.projected_spans())
                                                 for m, r in zip(model, loaded["offline-e5ner"])])
        order = [k for k in ("offline", "offline-e5ner", "model transfer", "naive union", *FUSED) if k in preds]
        results[name] = {}
        for k in order:
            report = evaluate(gold, preds[k]).overall
            low, high = bootstrap_f1_ci(gold, preds[k], n_boot=args.n_boot)
            row = {"f1": report["f1"], "p": report["precision"], "r": report["recall"], "ci": [low, high]}
            cells = []
            for ref in ("model transfer", "offline", "naive union"):
                if ref not in preds or k in (ref,) or (ref == "naive union" and k not in FUSED) \
                        or (ref == "offline" and k == "model transfer"):
                    cells.append("")
                    continue
                d = paired_bootstrap_diff(gold, preds[k], preds[ref], n_boot=args.n_boot)
                row[f"vs {ref}"] = [d.diff, d.low, d.high]
                cells.append(f"{100 * d.diff:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]")
            results[name][k] = row
            lines.append(f"| {name} ({len(gold)}) | {k} | {100 * row['f1']:.1f} [{100 * low:.1f}, {100 * high:.1f}] | "
                         f"{100 * row['p']:.1f} / {100 * row['r']:.1f} | " + " | ".join(cells) + " |")
        print(name, {k: round(100 * v["f1"], 1) for k, v in results[name].items()})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
