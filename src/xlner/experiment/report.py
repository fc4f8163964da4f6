"""summary.md: the experiment's answer in words, then its tables; every number comes from the data frames."""

from __future__ import annotations

from typing import Sequence


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}"


def _method_sentences(methods_cmp, agg) -> list[str]:
    """Per test set: the methods ranked by F1, then each pair's difference and its verdict."""
    lines = []
    for ts, g in methods_cmp.groupby("test_set", sort=True):
        a = agg[agg.test_set == ts].sort_values("f1", ascending=False)
        ranking = ", ".join(f"{r.method} {_pct(r.f1)}" for r in a.itertuples())
        lines.append(f"- **{g.language.iloc[0]}**, {ts} ({g.domain.iloc[0]}): F1 by method: {ranking}.")
        for c in g.itertuples():
            if c.significant:
                verdict = f"{c.method} is significantly {'better' if c.difference > 0 else 'worse'}"
            else:
                verdict = "no significant difference"
            lines.append(f"  - {c.method} vs {c.baseline}: {'+' if c.difference > 0 else ''}{_pct(c.difference)} "
                         f"F1 [95% CI {_pct(c.ci_low)}, {_pct(c.ci_high)}]: {verdict}.")
    return lines


def _run_lines(info: dict, timings: dict[str, float]) -> list[str]:
    """How the experiment was run: data actually read, seeds, and the time of each part."""
    lines = ["## How it was run", ""]
    sizes = info.get("sizes") or {}
    if sizes:
        tests = ", ".join(f"{k} {v}" for k, v in sizes.get("test_sets", {}).items())
        unl = ", ".join(f"{k} {v}" for k, v in sizes.get("unlabeled", {}).items())
        lines.append(f"- Sentences read: English training {sizes.get('source_train')}, English dev "
                     f"{sizes.get('source_dev')}; test sets: {tests}"
                     + (f"; unlabelled student text: {unl}" if unl else "") + ".")
    if info.get("seeds") is not None:
        lines.append(f"- Seeds of trained models: {', '.join(map(str, info['seeds']))}.")
    for role in ("teacher", "student"):
        if info.get(role):
            hp = ", ".join(f"{k} {v}" for k, v in info[role].items() if k != "progress")
            lines.append(f"- {role.capitalize()} settings: {hp}.")
    if timings:
        lines += ["", "Time per part (seconds, summed over seeds and over resumed invocations; the sum "
                  "leaves out model loading between parts):", "", "| part | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.0f} |" for k, v in timings.items()]
        lines.append(f"| **sum** | {sum(timings.values()):.0f} |")
    return lines + [""]


def summary_markdown(info: dict, agg, drops, comps, types: Sequence[str], n_boot: int,
                     methods_cmp=None, timings: dict[str, float] | None = None) -> str:
    """The answer in words plus tables, every number taken from the data frames."""
    lines = [f"# Experiment: {info.get('name', '')}", ""]
    seeds = sorted(set(agg.n_seeds))
    lines += [f"Encoder: `{info.get('encoder', '?')}`; types {', '.join(types)}; seeds per cell: "
              f"{', '.join(map(str, seeds))} (projection is deterministic: one run); F1 x 100 (seqeval default mode, micro); 95% CIs from "
              f"{n_boot} bootstrap resamples of test sentences (paired across seeds and methods).", ""]
    lines += ["## Answer", ""]
    if len(comps):
        for _, c in comps.iterrows():
            verdict = ("a significant difference" if c.significant else "no significant difference")
            lines.append(
                f"- **{c.language}**, {c.in_test_set} -> {c.out_test_set}: the F1 drop of {c.method} is "
                f"{_pct(c.drop_method)}, that of {c.baseline} {_pct(c.drop_baseline)}; difference of drops "
                f"{_pct(c.drop_difference)} [95% CI {_pct(c.ci_low)}, {_pct(c.ci_high)}]: {verdict}"
                + (f" ({c.method} degrades {'more' if c.drop_difference > 0 else 'less'})." if c.significant
                   else "."))
    else:
        lines.append("- No language has two methods with both an in-domain and an out-of-domain test set, "
                     "so the degradation of methods is not compared"
                     + ("; the methods are compared per test set below." if methods_cmp is not None
                        and len(methods_cmp) else "."))
    for _, d in drops.iterrows():
        sig = "significant" if d.significant else "not significant"
        lines.append(f"- {d.method} ({d.language}): {_pct(d.f1_in)} on {d.in_test_set} ({d.in_domain}) vs "
                     f"{_pct(d.f1_out)} on {d.out_test_set} ({d.out_domain}): drop {_pct(d['drop'])} F1 "
                     f"[{_pct(d.drop_ci_low)}, {_pct(d.drop_ci_high)}], relative "
                     f"{'n/a' if d.drop_relative != d.drop_relative else f'{100 * d.drop_relative:.0f}%'} ({sig}).")
    if len(drops):
        lines += ["", "A negative drop means the out-of-domain set scored higher. Overall F1 mixes entity-type "
                  "distributions that differ between domains; read the per-type columns before blaming the domain."]
    if methods_cmp is not None and len(methods_cmp):
        lines += ["", "### Methods compared on each test set", "",
                  "Difference in F1 (mean over seeds) with a paired bootstrap 95% CI over the test sentences; "
                  "\"significant\" means the CI excludes 0.", ""]
        lines += _method_sentences(methods_cmp, agg)
    lines += [""]
    lines += ["## F1 per method and test set", "",
              "| method | language | test set | domain | seeds | F1 (mean) | seed sd | 95% CI | P | R | "
              + " | ".join(f"{t} F1" for t in types) + " |",
              "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(types)]
    for _, a in agg.iterrows():
        lines.append(f"| {a.method} | {a.language} | {a.test_set} | {a.domain}{' (in)' if a.in_domain else ''} | "
                     f"{a.n_seeds} | {_pct(a.f1)} | {_pct(a.f1_sd)} | [{_pct(a.f1_ci_low)}, {_pct(a.f1_ci_high)}] | "
                     f"{_pct(a.precision)} | {_pct(a.recall)} | "
                     + " | ".join(_pct(a[f'f1_{t}']) for t in types) + " |")
    lines += ["", "## Predicted entities per type (mean over seeds; gold in brackets)", "",
              "Watch for collapse: a student predicting almost only O and one type.", "",
              "| method | test set | all | " + " | ".join(types) + " |", "|---|---|---|" + "---|" * len(types)]
    for _, a in agg.iterrows():
        lines.append(f"| {a.method} | {a.test_set} | {a.n_pred:.0f} ({a.n_gold}) | "
                     + " | ".join(f"{a[f'n_pred_{t}']:.0f}" for t in types) + " |")
    if len(drops):
        lines += ["", "## In-domain minus out-of-domain F1", "",
                  "| method | language | in -> out | F1 in | F1 out | drop | 95% CI | relative |",
                  "|---|---|---|---|---|---|---|---|"]
        for _, d in drops.iterrows():
            rel = "n/a" if d.drop_relative != d.drop_relative else f"{100 * d.drop_relative:.0f}%"
            lines.append(f"| {d.method} | {d.language} | {d.in_test_set} -> {d.out_test_set} | {_pct(d.f1_in)} | "
                         f"{_pct(d.f1_out)} | {_pct(d['drop'])} | [{_pct(d.drop_ci_low)}, {_pct(d.drop_ci_high)}] | {rel} |")
    lines += [""] + _run_lines(info, timings or {})
    lines += ["Files: results.csv (one row per method x test set x seed), aggregate.csv, per_type.csv, "
              "drops.csv, comparisons.csv (differences of drops), method_comparisons.csv (differences of F1 "
              "per test set), timings.json, plots/degradation.html (and .png when a browser was found); "
              "runs/ holds one run directory per cell for the explorer's error pages.", ""]
    return "\n".join(lines)

