"""Clean-ups after fused projection: which of ``drop_lowercase``, ``merge_adjacent`` and the run-level
``type_vote`` help, chosen on held-out tuning sets (issue 11, after ``fusion_study.py``).

Inputs: the fusion study's run folders (``--runs``: translate-test with the e5 tagger as English NER)
and the tagger (``--model``, cached ``xlner tag`` output). Every set is projected with the library's
own ``match-fused+ensemble`` (:func:`xlner.project.project_records`) under the ``offline-fusion``
profile's projection settings, for each of the 12 clean-up combinations; the vote is
:func:`xlner.project.consistency.vote_types` over the set, as the pipeline's ``type_vote`` step does.
The combination with the best mean F1 over the tuning sets is then scored once on the reported sets,
with 95% bootstrap intervals and paired differences against model transfer (the same tagger on the
target sentences) and against the profile without clean-ups; each clean-up alone is listed too.

    PYTHONPATH=src:scripts python scripts/fusion_cleanup_study.py --runs /work/fusion-runs/offline-e5ner \\
        --model /work/fusion-models/e5-conll03-en-s0 --out docs/results/fusion/cleanup.md
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import dataclass

from fusion_study import REPORTED, SetData, add_run_arguments, as_sentences, f1, load_set, tune
from xlner.datamodel import Span
from xlner.evaluate import bootstrap_f1_ci, evaluate, paired_bootstrap_diff
from xlner.pipeline import load_profile
from xlner.project import project_records
from xlner.project.consistency import vote_types
from xlner.project.fused import TargetNer

TUNING = ("tune-eu-news", "tune-es", "tune-eu-news2")
METHOD = "match-fused+ensemble"


@dataclass(frozen=True)
class Cleanup:
    drop_lowercase: bool = False
    merge_adjacent: bool = False
    type_vote: int | None = None

    def name(self) -> str:
        parts = [k for k in ("drop_lowercase", "merge_adjacent") if getattr(self, k)]
        parts += [f"type_vote {self.type_vote}"] if self.type_vote else []
        return " + ".join(parts) or "none"


def _target_ner(d: SetData) -> list[TargetNer]:
    return [TargetNer(list(spans), list(scores), probs, list(d.columns))
            for spans, scores, probs in zip(d.model, d.model_scores, d.probs)]


def predict(d: SetData, ner: list[TargetNer], settings: dict, c: Cleanup) -> list[list[Span]]:
    options = {**settings["options"], "drop_lowercase": c.drop_lowercase, "merge_adjacent": c.merge_adjacent}
    results = project_records(d.records, METHOD, {**settings, "options": options}, ner)
    spans = [sorted(p.span for p in r.projected) for r in results]
    return vote_types([g.tokens for g in d.gold], spans, c.type_vote) if c.type_vote else spans


def _diff(d: SetData, a: list[list[Span]], b: list[list[Span]], n_boot: int) -> str:
    r = paired_bootstrap_diff(d.gold, as_sentences(d, a), as_sentences(d, b), n_boot=n_boot)
    return f"{100 * r.diff:+.1f} [{100 * r.low:+.1f}, {100 * r.high:+.1f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(ap)
    args = ap.parse_args()
    t0 = time.time()
    settings = dict(load_profile("offline-fusion", {"target_tagger.model": args.model})["projection"])
    settings["options"] = {k: v for k, v in settings["options"].items()
                           if k not in ("drop_lowercase", "merge_adjacent")}
    settings.pop("type_vote", None)
    sets = {n: load_set(args.runs / n, args.model, args.cache) for n in TUNING + REPORTED
            if (args.runs / n / "records.jsonl").exists()}
    ner = {n: _target_ner(d) for n, d in sets.items()}
    grid = [Cleanup(lc, m, v) for lc, m, v in itertools.product([False, True], [False, True], [None, 2, 3])]
    cache: dict[tuple[str, Cleanup], list[list[Span]]] = {}

    def run(n: str, c: Cleanup) -> list[list[Span]]:
        if (n, c) not in cache:
            cache[n, c] = predict(sets[n], ner[n], settings, c)
        return cache[n, c]

    tuning = [n for n in TUNING if n in sets]
    best, table = tune({n: sets[n] for n in tuning}, grid, lambda d, c: run(d.name, c))
    lines = [f"<!-- Made by scripts/fusion_cleanup_study.py on {time.strftime('%Y-%m-%d', time.gmtime())} "
             f"(runs {args.runs}, model {args.model}), {time.time() - t0:.0f} s. -->",
             "# Clean-ups after fused projection (issue 11)", "",
             f"`{METHOD}` with the `offline-fusion` profile's settings (`{settings['options']}`, target scores "
             f"`{settings.get('target_scores')}`), then each combination of the clean-ups; chosen by mean F1 "
             f"over the tuning sets ({', '.join(tuning)}; held out from every reported set). PER/ORG/LOC, seqeval "
             f"default mode, micro F1 x 100, 95% percentile bootstrap ({args.n_boot} resamples, seed 0), paired "
             "differences on the same resampled sentences.", "",
             "## Tuning sets", "", "| clean-ups | " + " | ".join(tuning) + " | mean |",
             "|---|" + "---|" * (len(tuning) + 1)]
    for row in table:
        lines.append(f"| {row['setting'].name()} | " + " | ".join(f"{100 * row['f1'][n]:.2f}" for n in tuning)
                     + f" | {100 * row['mean']:.2f} |")
    ties = [r["setting"].name() for r in table[1:] if abs(r["mean"] - table[0]["mean"]) < 1e-12]
    tie = f" (tied with {', '.join(ties)}: the first in grid order is taken)" if ties else ""
    lines += ["", f"Chosen: **{best.name()}**{tie}.",
              "", "## Reported sets", "",
              "In brackets, a reference that is not part of the goal: model transfer with the same lowercase rule.", "",
              "| set | system | F1 [95% CI] | P / R | − model transfer [CI] | − no clean-up [CI] |",
              "|---|---|---|---|---|---|"]
    singles = [Cleanup(True), Cleanup(merge_adjacent=True), Cleanup(type_vote=best.type_vote or 2)]
    results: dict = {"chosen": best.name(), "sets": {}}
    for n in [n for n in REPORTED if n in sets]:
        d = sets[n]
        none, chosen = run(n, Cleanup()), run(n, best)
        # a reference, not a baseline of the goal: the lowercase rule applied to model transfer too
        lowercase_mt = [[s for s in spans if not g.tokens[s.start][:1].islower()] for g, spans in zip(d.gold, d.model)]
        systems = {"model transfer": d.model, "(model transfer, lowercase-first spans dropped)": lowercase_mt,
                   "fused + ensemble (no clean-up)": none}
        systems.update({f"+ {c.name()}": run(n, c) for c in singles if c != best})
        systems[f"+ {best.name()} (chosen)"] = chosen
        results["sets"][n] = {}
        for k, spans in systems.items():
            rep = evaluate(d.gold, as_sentences(d, spans), categories=False).overall
            low, high = bootstrap_f1_ci(d.gold, as_sentences(d, spans), n_boot=args.n_boot)
            vs_model = "" if k == "model transfer" else _diff(d, spans, d.model, args.n_boot)
            vs_none = "" if k in ("model transfer", "fused + ensemble (no clean-up)") or k.startswith("(") \
                else _diff(d, spans, none, args.n_boot)
            results["sets"][n][k] = {"f1": rep["f1"], "vs_model": vs_model, "vs_none": vs_none}
            lines.append(f"| {n} ({len(d.gold)}) | {k} | {100 * rep['f1']:.1f} [{100 * low:.1f}, {100 * high:.1f}] | "
                         f"{100 * rep['precision']:.1f} / {100 * rep['recall']:.1f} | {vs_model} | {vs_none} |")
        print(n, {k: round(100 * v["f1"], 2) for k, v in results["sets"][n].items()}, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
