"""Can fused projection beat model transfer offline? (issue 11, research for the fusion methods)

Inputs: translate-test run folders made by ``xlner pipeline translate-test`` (one per data set, in
``--runs``: ``eu-news``, ``eu-wiki``, ``es-test`` are reported, ``tune-eu-news`` and ``tune-es`` are
held-out tuning sets) and a target-side token classifier (``xlner train`` output). For every set:

1. the target sentences are tagged with the classifier (``xlner.tag``, cached): **model transfer**;
2. each run's records are re-projected with **fused matching** (alignment + NER score + NER
   candidates, ``xlner.project.fusion``) under a grid of settings;
3. **ensembles** (``xlner.project.ensemble``) of projection and model transfer, and the
   **naive union** (all model-transfer spans + projected spans overlapping none of them).

Every setting is chosen on the tuning sets only (mean F1 over ``tune-eu-news`` = the first 600
sentences of the Basque news *train* split, and ``tune-es`` = the first 600 of CoNLL-02 Spanish
*dev*); the reported sets are scored once with the chosen settings: F1 with a 95% bootstrap
interval and paired bootstrap differences against model transfer and against the naive union
(``xlner.evaluate``). A per-stage table says where projection loses gold entities. ``--tuning``
names other tuning sets, e.g. ``tune-eu-news2`` = the first 600 sentences of the *out-of-domain*
config's train split (also news: EIEC + naiz.eus; only its val split is Wikipedia).

    PYTHONPATH=src python scripts/fusion_study.py --runs /work/fusion-runs/offline \
        --model /work/fusion-models/e5-conll03-en-s0 --out /work/fusion-study/offline
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xlner.datamodel import Alignment, Dataset, Sentence, Span
from xlner.evaluate import bootstrap_f1_ci, evaluate, paired_bootstrap_diff
from xlner.project.ensemble import EnsembleRule, ensemble, naive_union
from xlner.project.fusion import fused_project
from xlner.record import RunRecord
from xlner.runs import RECORDS, read_records

REPORTED = ("eu-news", "eu-wiki", "es-test", "swa-test")
TUNING = ("tune-eu-news", "tune-es")
TYPES = ("PER", "ORG", "LOC")


def _capitalization_score():
    """The offline profile's target-side capitalisation score."""
    from xlner.project.records import capitalization_score

    return capitalization_score


TAG_SPEED: dict[str, float] = {}  # xlner tag sentences/s (model loading included) where computed here


@dataclass(frozen=True)
class FusedConfig:
    candidates: str = "ngram+ner"
    align: float = 1.0
    ner: float = 1.0
    variant: str = "ner_spans"
    gate: bool = False
    cap: float = 1.0
    solver: str = "greedy"

    def name(self) -> str:
        return (f"{self.candidates} a{self.align:g} n{self.ner:g} {self.variant}"
                f"{' gated' if self.gate else ''} c{self.cap:g} {self.solver}")


@dataclass
class SetData:
    name: str
    records: list[RunRecord]
    gold: list[Sentence]
    projected: list[list[Span]]          # the run's own projection (the profile's method)
    model: list[list[Span]]              # model transfer
    model_scores: list[list[float]]
    probs: list[np.ndarray]
    columns: list[str]


def _pairs(rec: RunRecord) -> np.ndarray:
    """The record's alignment links as an ``(n, 2)`` array (the scores are not used here)."""
    return np.asarray(rec.alignment.pairs, dtype=np.int64).reshape(-1, 2)


def load_set(run_dir: Path, model: str, cache_dir: Path) -> SetData:
    from xlner.tag import tag_dataset

    records = read_records(run_dir / RECORDS)
    gold = [Sentence(r.id, list(r.tgt_tokens), list(r.gold or [])) for r in records]
    unlabelled = Dataset(run_dir.name, records[0].lang if records else "und",
                         [Sentence(s.id, s.tokens) for s in gold])
    tagged = tag_dataset(model, unlabelled, labels=list(TYPES), score=False, cache_dir=cache_dir,
                         progress=True)
    if not tagged.cached:
        TAG_SPEED[run_dir.name] = tagged.sentences_per_second
    return SetData(run_dir.name, records, gold, [[p.span for p in r.projection.projected] for r in records],
                   [s.spans for s in tagged.predicted], tagged.scores, tagged.probs, tagged.columns)


def fused_predictions(data: SetData, cfg: FusedConfig) -> list[list[Span]]:
    capitalization_score = _capitalization_score()
    out = []
    for rec, spans, probs in zip(data.records, data.model, data.probs):
        if not rec.tgt_tokens or not rec.src_entities:
            out.append([])
            continue
        pairs = _pairs(rec)
        extra = {"capitalization": capitalization_score(pairs)} if cfg.cap else {}
        res = fused_project(rec.src_tokens, rec.tgt_tokens, rec.src_spans, Alignment(pairs),
                            tgt_probs=probs, tgt_columns=data.columns, tgt_spans=spans,
                            candidates=cfg.candidates,
                            weights={"align": cfg.align, "ner": cfg.ner, "capitalization": cfg.cap},
                            ner_variant=cfg.variant, ner_gate=cfg.gate, extra_scores=extra,
                            solver=cfg.solver, n_candidates=0, sentence_id=rec.id)
        out.append(res.spans())
    return out


def ensembled(data: SetData, projected: list[list[Span]], rule: EnsembleRule) -> list[list[Span]]:
    return [ensemble(p, m, s, pr, data.columns, rule)
            for p, m, s, pr in zip(projected, data.model, data.model_scores, data.probs)]


def as_sentences(data: SetData, spans: list[list[Span]]) -> list[Sentence]:
    return [Sentence(g.id, g.tokens, sorted(s)) for g, s in zip(data.gold, spans)]


def f1(data: SetData, spans: list[list[Span]]) -> float:
    return evaluate(data.gold, as_sentences(data, spans), categories=False).overall["f1"]


def stages(data: SetData, projected: list[list[Span]]) -> dict[str, float]:
    """Where gold entities are lost, stage by stage (shares of all gold entities).

    reached: some English entity is aligned to a word of the gold entity (translation, English NER
    and alignment all worked); exact span: a projected span has the gold boundaries; typed: ... and
    the gold type; model: model transfer finds it exactly (for comparison).
    """
    n = reached = exact = typed = model_ok = 0
    for rec, gold, proj, model in zip(data.records, data.gold, projected, data.model):
        pairs = _pairs(rec)
        ents = rec.src_spans
        aligned_to_entity = set()
        for e in ents:
            sel = (pairs[:, 0] >= e.start) & (pairs[:, 0] < e.end)
            aligned_to_entity |= set(pairs[sel, 1].tolist())
        bounds = {(p.start, p.end): p.label for p in proj}
        mbounds = {(p.start, p.end, p.label) for p in model}
        for g in gold.spans:
            n += 1
            reached += any(j in aligned_to_entity for j in range(g.start, g.end))
            hit = bounds.get((g.start, g.end))
            exact += hit is not None
            typed += hit == g.label
            model_ok += (g.start, g.end, g.label) in mbounds
    return {k: v / max(n, 1) for k, v in
            dict(reached=reached, exact_span=exact, exact_typed=typed, model_exact_typed=model_ok).items()} | {"gold": n}


def type_diagnosis(data: SetData, projected: list[list[Span]]) -> dict[str, float]:
    """Why types go wrong: gold entities whose words reach English unchanged (names the translator
    passed through, or that are spelled the same), how often projected spans with exact gold
    boundaries are typed right for those and for the others, and how often a span that projection
    and model transfer agree on (boundaries and type) is wrong (then no fusion of the two helps)."""
    gold_n = unchanged_n = 0
    exact = {True: [0, 0], False: [0, 0]}  # unchanged -> [typed right, exact spans]
    agreed = agreed_wrong = 0
    for rec, gold, proj, model in zip(data.records, data.gold, projected, data.model):
        english = {" ".join(rec.src_tokens[e.start:e.end]) for e in rec.src_spans}
        gold_types = {(g.start, g.end): g.label for g in gold.spans}
        for g in gold.spans:
            gold_n += 1
            unchanged_n += " ".join(gold.tokens[g.start:g.end]) in english
        for p in proj:
            label = gold_types.get((p.start, p.end))
            if label is not None:
                counts = exact[" ".join(gold.tokens[p.start:p.end]) in english]
                counts[0] += label == p.label
                counts[1] += 1
        both = {(p.start, p.end, p.label) for p in proj} & {(m.start, m.end, m.label) for m in model}
        agreed += len(both)
        agreed_wrong += sum(gold_types.get((a, b)) != label for a, b, label in both)
    return {"gold_unchanged": unchanged_n / max(gold_n, 1),
            "typed_unchanged": exact[True][0] / max(exact[True][1], 1),
            "typed_translated": exact[False][0] / max(exact[False][1], 1),
            "agreed_wrong": agreed_wrong / max(agreed, 1)}


def untyped_f1(data: SetData, spans: list[list[Span]]) -> float:
    strip = lambda ss: [Span(s.start, s.end, "X") for s in ss]  # noqa: E731
    gold = [Sentence(g.id, g.tokens, strip(g.spans)) for g in data.gold]
    pred = [Sentence(g.id, g.tokens, strip(s)) for g, s in zip(data.gold, spans)]
    return evaluate(gold, pred, categories=False).overall["f1"]


def tune(sets: dict[str, SetData], candidates: list[Any], predict) -> tuple[Any, list[dict]]:
    table = []
    for cand in candidates:
        scores = {name: f1(d, predict(d, cand)) for name, d in sets.items()}
        table.append({"setting": cand, "f1": scores, "mean": float(np.mean(list(scores.values())))})
    table.sort(key=lambda r: -r["mean"])
    return table[0]["setting"], table


def add_run_arguments(ap: argparse.ArgumentParser) -> None:
    """The arguments of the fusion studies: run folders, the tagger, the output, the tag cache, resamples."""
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cache", type=Path, default=Path("/work/fusion-cache/tag"))
    ap.add_argument("--n-boot", type=int, default=1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(ap)
    ap.add_argument("--quick", action="store_true", help="a small tuning grid")
    ap.add_argument("--tuning", default=",".join(TUNING),
                    help="the run folders (in --runs) that settings are chosen on, comma-separated")
    args = ap.parse_args()
    tuning_names = tuple(t.strip() for t in args.tuning.split(",") if t.strip())
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    sets = {name: load_set(args.runs / name, args.model, args.cache) for name in tuning_names + REPORTED
            if (args.runs / name / "records.jsonl").exists()}
    tuning = {k: v for k, v in sets.items() if k in tuning_names}
    print(f"loaded and tagged {sum(len(s.gold) for s in sets.values())} sentences in {time.time() - t0:.0f} s")

    # 1. fused matching: candidates, weights, NER variant, gating, capitalisation
    # (the capitalisation score of the offline profile stays on: it is part of the run's projection)
    grid = [FusedConfig(c, a, n, v, g, 1.0) for c, a, n, v, g in itertools.product(
        ["ngram", "ngram+ner", "ner"], [1.0, 0.5], [0.0, 0.5, 1.0], ["ner_spans", "ner"],
        [False, True]) if not (n == 0 and (v == "ner" or g))]
    if args.quick:
        grid = [g for g in grid if g.align == 1.0]
    cache: dict[tuple[str, FusedConfig], list[list[Span]]] = {}

    def fused(d: SetData, cfg: FusedConfig) -> list[list[Span]]:
        key = (d.name, cfg)
        if key not in cache:
            cache[key] = fused_predictions(d, cfg)
        return cache[key]

    t1 = time.time()
    best_fused, fused_table = tune(tuning, grid, fused)
    print(f"fused grid: {len(grid)} settings in {time.time() - t1:.0f} s; best {best_fused.name()} "
          f"{fused_table[0]['mean']:.4f}")

    # 2. ensemble rules on the run's projection and on the best fused projection
    rules = [EnsembleRule(d, a, r) for d, a, r in itertools.product(
        [None, 0.5, 0.7, 0.9], [None, 0.3, 0.5, 0.7, 0.9], [None, 0.3, 0.5, 0.7])]
    best_rule, rule_table = tune(tuning, rules, lambda d, r: ensembled(d, d.projected, r))
    best_frule, frule_table = tune(tuning, rules, lambda d, r: ensembled(d, fused(d, best_fused), r))
    print(f"ensemble on projection: {best_rule}  {rule_table[0]['mean']:.4f}; "
          f"on fused: {best_frule} {frule_table[0]['mean']:.4f}")
    exact_cfg = FusedConfig(**{**asdict(best_fused), "solver": "exact"})

    # 3. the reported sets, scored once with the chosen settings
    systems = {
        "model transfer": lambda d: d.model,
        "projection (run)": lambda d: d.projected,
        "naive union": lambda d: [naive_union(m, p) for m, p in zip(d.model, d.projected)],
        "fused": lambda d: fused(d, best_fused),
        "fused (exact)": lambda d: fused(d, exact_cfg),
        "ensemble (projection)": lambda d: ensembled(d, d.projected, best_rule),
        "fused + ensemble": lambda d: ensembled(d, fused(d, best_fused), best_frule),
    }
    results: dict[str, Any] = {"tuning_sets": list(tuning), "settings": {"fused": asdict(best_fused), "ensemble": asdict(best_rule),
                                            "fused_ensemble": asdict(best_frule)},
                               "tuning": {"fused_top": [dict(r, setting=r["setting"].name()) for r in fused_table[:15]],
                                          "ensemble_top": [dict(r, setting=asdict(r["setting"])) for r in rule_table[:5]],
                                          "fused_ensemble_top": [dict(r, setting=asdict(r["setting"]))
                                                                 for r in frule_table[:5]]},
                       "sets": {}}
    for name in [n for n in REPORTED + tuning_names if n in sets]:
        d = sets[name]
        preds = {k: as_sentences(d, f(d)) for k, f in systems.items()}
        row: dict[str, Any] = {}
        for k, pred in preds.items():
            rep = evaluate(d.gold, pred, categories=False)
            ci = bootstrap_f1_ci(d.gold, pred, n_boot=args.n_boot)
            row[k] = {"f1": rep.overall["f1"], "p": rep.overall["precision"], "r": rep.overall["recall"],
                      "ci": ci, "untyped_f1": untyped_f1(d, [s.spans for s in pred]),
                      "per_type": {t: m["f1"] for t, m in rep.per_type.items()}}
            if k != "model transfer":
                row[k]["vs_model"] = paired_bootstrap_diff(d.gold, pred, preds["model transfer"],
                                                           n_boot=args.n_boot).to_dict()
            if k not in ("model transfer", "naive union"):
                row[k]["vs_union"] = paired_bootstrap_diff(d.gold, pred, preds["naive union"],
                                                           n_boot=args.n_boot).to_dict()
        row["stages"] = {"projection (run)": stages(d, d.projected), "fused": stages(d, fused(d, best_fused))}
        row["types"] = type_diagnosis(d, ensembled(d, fused(d, best_fused), best_frule))
        results["sets"][name] = row
    results["speed"] = {"tag_sentences_per_second": TAG_SPEED, **matching_speed(sets.get("eu-news") or
                                                                                 next(iter(sets.values())), best_fused)}
    results["seconds"] = time.time() - t0
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (args.out / "summary.md").write_text(summary(results))
    print(summary(results))


def ngram_matching_inputs(rows: list[RunRecord]) -> list[dict]:
    """``project_batch`` records for the pipeline's matching: Dice + the capitalisation score."""
    capitalization_score = _capitalization_score()
    inputs = []
    for r in rows:
        pairs = _pairs(r)
        inputs.append({"id": r.id, "src_tokens": r.src_tokens, "tgt_tokens": r.tgt_tokens,
                       "src_entities": r.src_spans, "alignment": Alignment(pairs),
                       "extra_scores": {"capitalization": capitalization_score(pairs)}})
    return inputs


def matching_speed(d: SetData, cfg: FusedConfig, repeats: int = 3) -> dict[str, float]:
    """Sentences per CPU-second of the pipeline's n-gram matching (``project_batch``, Dice +
    capitalisation, as the run projected) and of fused matching on the same records, best of
    ``repeats`` (CPU time: wall-clock moved 0.4x-2.5x with the shared machine's load)."""
    from xlner.project import project_batch

    rows = [r for r in d.records if r.tgt_tokens]
    inputs = ngram_matching_inputs(rows)
    options = {"weights": {"capitalization": 1.0}}

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(repeats):
            t = time.process_time()
            fn()
            best = min(best, time.process_time() - t)
        return len(rows) / best

    ngram = timed(lambda: project_batch("match-greedy", inputs, **options))
    fused = timed(lambda: fused_predictions(d, cfg))
    return {"set": d.name, "ngram_sentences_per_second": ngram, "fused_sentences_per_second": fused,
            "slowdown": ngram / fused}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def summary(results: dict) -> str:
    lines = ["# Fusion study", "", f"Chosen on the tuning sets ({', '.join(results.get('tuning_sets', TUNING))}): fused `{results['settings']['fused']}`, "
             f"ensemble `{results['settings']['ensemble']}`, fused + ensemble `{results['settings']['fused_ensemble']}`.",
             "", "| set | system | F1 [95% CI] | P / R | untyped F1 | − model transfer [CI] | − naive union [CI] |",
             "|---|---|---|---|---|---|---|"]
    for name, row in results["sets"].items():
        for k, m in row.items():
            if k in ("stages", "types"):
                continue
            vm = m.get("vs_model")
            vu = m.get("vs_union")
            fmt = lambda v: "" if not v else f"{100 * v['diff']:+.1f} [{100 * v['low']:+.1f}, {100 * v['high']:+.1f}]"  # noqa: E731
            lines.append(f"| {name} | {k} | {_pct(m['f1'])} [{_pct(m['ci'][0])}, {_pct(m['ci'][1])}] | "
                         f"{_pct(m['p'])} / {_pct(m['r'])} | {_pct(m['untyped_f1'])} | {fmt(vm)} | {fmt(vu)} |")
    lines += ["", "Stages (share of gold entities): reached = an English entity is aligned to one of its words; "
              "exact span / typed = projected with its boundaries / and its type; model = model transfer exact and typed.",
              "", "| set | projection | reached | exact span | exact typed | model transfer exact typed |",
              "|---|---|---|---|---|---|"]
    for name, row in results["sets"].items():
        for k, s in row["stages"].items():
            lines.append(f"| {name} | {k} | {_pct(s['reached'])} | {_pct(s['exact_span'])} | "
                         f"{_pct(s['exact_typed'])} | {_pct(s['model_exact_typed'])} |")
    lines += ["", "Types (fused + ensemble against model transfer): gold entities whose words reach English unchanged; "
              "exact-boundary spans typed right when unchanged / translated; wrong among the spans both systems agree on.",
              "", "| set | gold unchanged | typed right: unchanged | typed right: translated | agreed but wrong |",
              "|---|---|---|---|---|"]
    for name, row in results["sets"].items():
        t = row.get("types")
        if t:
            lines.append(f"| {name} | {_pct(t['gold_unchanged'])} | {_pct(t['typed_unchanged'])} | "
                         f"{_pct(t['typed_translated'])} | {_pct(t['agreed_wrong'])} |")
    sp = results.get("speed", {})
    if sp:
        lines += ["", f"Speed ({sp.get('set')}): n-gram matching {sp['ngram_sentences_per_second']:.0f} sentences/s, "
                  f"fused {sp['fused_sentences_per_second']:.0f} sentences/s ({sp['slowdown']:.2f}x slower); "
                  f"xlner tag {', '.join(f'{k} {v:.1f}' for k, v in sp['tag_sentences_per_second'].items())} sentences/s."]
    lines += ["", "Top fused settings on the tuning sets (mean F1):", ""]
    for r in results["tuning"]["fused_top"][:8]:
        lines.append(f"- {r['setting']}: {_pct(r['mean'])} ({', '.join(f'{k} {_pct(v)}' for k, v in r['f1'].items())})")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
