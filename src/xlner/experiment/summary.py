"""From finished cells to the experiment's tables, summary and plots.

Statistics are :mod:`xlner.evaluate`'s: per-sentence entity counts (:func:`~xlner.evaluate.type_counts`)
resampled over sentences (:func:`~xlner.evaluate.resampled_f1`). The same resamples (seeded by the
test set's name) are used for every seed and method on a test set, so seed averages and method
differences are paired; two test sets are resampled independently.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from xlner.errors import XlnerError
from xlner.experiment.config import ExperimentConfig

RESULT_COLUMNS = ["method", "language", "test_set", "domain", "seed", "precision", "recall", "f1",
                  "f1_ci_low", "f1_ci_high", "n_sentences"]


def stable_seed(text: str) -> int:
    """The bootstrap seed of a test set: the same on every machine and run."""
    return zlib.crc32(text.encode())


def _significant(low: float, high: float) -> bool:
    return bool(low > 0 or high < 0)


@dataclass
class Cell:
    """A finished cell: where it is, what it is, its per-sentence counts ``(n_sent, 1 + n_types, 3)``."""

    run_dir: str
    method: str
    language: str
    test_set: str
    domain: str
    seed: int | None
    counts: np.ndarray
    per_type: dict[str, dict[str, Any]]


def read_cells(exp: Path, types: Sequence[str]) -> list[Cell]:
    """Every finished cell under ``EXP/runs`` (read through :mod:`xlner.runs`)."""
    from xlner.evaluate import type_counts
    from xlner.experiment.cells import cell_info
    from xlner.runs import evaluation_sentences, list_runs, load_run

    cells = []
    for path in list_runs(exp / "runs"):
        run = load_run(path)
        info = cell_info(run.config)
        gold, pred = evaluation_sentences(run.records, str(path))
        cells.append(Cell(str(path.relative_to(exp)), info.method, info.language, info.test_set, info.domain,
                          info.seed, type_counts(gold, pred, types), dict(run.metrics.get("per_type") or {})))
    return cells


def collect_results(cells: Sequence[Cell], n_boot: int) -> list[dict[str, Any]]:
    """Rows of results.csv: P/R/F1 of each cell and its F1's bootstrap CI."""
    from xlner.evaluate import percentile_interval, resampled_f1, scores_from_counts

    rows = []
    for c in cells:
        p, r, f = (float(x[0]) for x in scores_from_counts(c.counts.sum(axis=0)))
        low, high = (percentile_interval(resampled_f1(c.counts[:, 0], n_boot, stable_seed(c.test_set)))
                     if len(c.counts) else (0.0, 0.0))
        rows.append({"method": c.method, "language": c.language, "test_set": c.test_set, "domain": c.domain,
                     "seed": c.seed, "precision": p, "recall": r, "f1": f, "f1_ci_low": low, "f1_ci_high": high,
                     "n_sentences": len(c.counts), "run_dir": c.run_dir, "per_type": c.per_type})
    return rows


def _by_method_and_test(cells: Sequence[Cell]) -> dict[tuple[str, str], np.ndarray]:
    """(method, test_set) -> counts with the sentences first and the seeds second ``(n_sent, n_seeds, C, 3)``."""
    groups: dict[tuple[str, str], list[np.ndarray]] = {}
    for c in sorted(cells, key=lambda c: (c.method, c.test_set, -1 if c.seed is None else c.seed)):
        groups.setdefault((c.method, c.test_set), []).append(c.counts)
    return {k: np.stack(v, axis=1) for k, v in groups.items()}


def aggregate(counts: dict[tuple[str, str], np.ndarray], test_info: Any, in_domain: dict[str, str],
              types: Sequence[str], n_boot: int) -> tuple[Any, dict[tuple[str, str], np.ndarray]]:
    """aggregate.csv (mean over seeds, seed spread, CI) and each cell's resampled seed-mean F1."""
    import pandas as pd

    from xlner.evaluate import percentile_interval, resampled_f1, scores_from_counts

    # F1 of the seed-averaged model under each sentence resample: (n_boot,)
    samples = {k: resampled_f1(c[:, :, 0], n_boot, stable_seed(k[1])).mean(axis=1) for k, c in counts.items()}
    rows = []
    for (method, ts), c in counts.items():
        p, r, f = scores_from_counts(c.sum(axis=0))  # (n_seeds, C) each
        f1_seeds = f[:, 0]
        low, high = percentile_interval(samples[(method, ts)])
        lang, domain = test_info.loc[ts, "language"], test_info.loc[ts, "domain"]
        rows.append({"method": method, "language": lang, "test_set": ts, "domain": domain,
                     "in_domain": domain == in_domain.get(lang),
                     "n_seeds": len(f1_seeds), "precision": p[:, 0].mean(), "recall": r[:, 0].mean(),
                     "f1": f1_seeds.mean(), "f1_sd": f1_seeds.std(ddof=1) if len(f1_seeds) > 1 else float("nan"),
                     "f1_min": f1_seeds.min(), "f1_max": f1_seeds.max(), "f1_ci_low": low, "f1_ci_high": high,
                     "n_sentences": int(test_info.loc[ts, "n_sentences"]),
                     **{f"f1_{t}": v for t, v in zip(types, f[:, 1:].mean(axis=0))},
                     # predicted vs gold entities per type, mean over seeds: a student that collapses
                     # onto one type (calibration.md) shows here before it shows in F1
                     "n_gold": int(c[:, 0, 0, 0].sum() + c[:, 0, 0, 2].sum()),
                     "n_pred": float((c[:, :, 0, 0] + c[:, :, 0, 1]).sum(0).mean()),
                     **{f"n_pred_{t}": float((c[:, :, i + 1, 0] + c[:, :, i + 1, 1]).sum(0).mean())
                        for i, t in enumerate(types)}})
    agg = pd.DataFrame(rows).sort_values(["language", "method", "in_domain", "test_set"],
                                         ascending=[True, True, False, True])
    return agg, samples


def domain_drops(agg: Any, samples: dict[tuple[str, str], np.ndarray]) -> Any:
    """drops.csv: in-domain minus out-of-domain F1 per method and language, with CIs."""
    import pandas as pd

    from xlner.evaluate import percentile_interval

    rows = []
    for (method, lang), g in agg.groupby(["method", "language"]):
        ins, outs = g[g.in_domain], g[~g.in_domain]
        for _, i in ins.iterrows():
            for _, o in outs.iterrows():
                low, high = percentile_interval(samples[(method, i.test_set)] - samples[(method, o.test_set)])
                rows.append({"method": method, "language": lang, "in_test_set": i.test_set,
                             "out_test_set": o.test_set, "in_domain": i.domain, "out_domain": o.domain,
                             "f1_in": i.f1, "f1_out": o.f1, "drop": i.f1 - o.f1,
                             "drop_relative": (i.f1 - o.f1) / i.f1 if i.f1 > 0 else float("nan"),
                             "drop_ci_low": low, "drop_ci_high": high, "significant": _significant(low, high)})
    return pd.DataFrame(rows)


def drop_comparisons(drops: Any, samples: dict[tuple[str, str], np.ndarray]) -> Any:
    """comparisons.csv: each method's drop minus model transfer's (or the first method's), paired CI."""
    import pandas as pd

    from xlner.evaluate import percentile_interval

    rows = []
    if len(drops):
        for (lang, i_ts, o_ts), g in drops.groupby(["language", "in_test_set", "out_test_set"]):
            methods = list(g.method)
            base = "model-transfer" if "model-transfer" in methods else methods[0]
            drop = dict(zip(g.method, g["drop"]))
            for m in methods:
                if m == base:
                    continue
                dm = samples[(m, i_ts)] - samples[(m, o_ts)]
                db = samples[(base, i_ts)] - samples[(base, o_ts)]
                low, high = percentile_interval(dm - db)
                rows.append({"language": lang, "in_test_set": i_ts, "out_test_set": o_ts, "method": m,
                             "baseline": base, "drop_method": float(drop[m]), "drop_baseline": float(drop[base]),
                             "drop_difference": float(drop[m] - drop[base]),
                             "ci_low": low, "ci_high": high, "significant": _significant(low, high)})
    return pd.DataFrame(rows)


def method_comparisons(agg: Any, samples: dict[tuple[str, str], np.ndarray]) -> Any:
    """Per test set, every pair of methods: F1 difference with a paired bootstrap 95% CI.

    Model transfer is the baseline of each pair it is in (``difference = method - baseline``);
    pairs of other methods follow in the order of the methods' names. Both sides are resampled
    with the same sentence indices (and averaged over their seeds), so the CI is paired.
    """
    import pandas as pd

    from xlner.evaluate import percentile_interval

    rows = []
    for ts, g in agg.groupby("test_set", sort=True):
        names = sorted(g.method, key=lambda m: (m != "model-transfer", m))
        f1 = dict(zip(g.method, g.f1))
        for i, base in enumerate(names):
            for m in names[i + 1:]:
                low, high = percentile_interval(samples[(m, ts)] - samples[(base, ts)])
                rows.append({"language": g.language.iloc[0], "test_set": ts, "domain": g.domain.iloc[0],
                             "method": m, "baseline": base, "f1_method": f1[m], "f1_baseline": f1[base],
                             "difference": f1[m] - f1[base], "ci_low": low, "ci_high": high,
                             "significant": _significant(low, high)})
    cols = ["language", "test_set", "domain", "method", "baseline", "f1_method", "f1_baseline", "difference",
            "ci_low", "ci_high", "significant"]
    return pd.DataFrame(rows, columns=cols)


def summarize(exp: Path, cfg: ExperimentConfig | None = None, *, n_boot: int | None = None,
              log: Callable[[str], None] | None = None) -> Path:
    """Write results.csv, per_type.csv, aggregate.csv, drops.csv, comparisons.csv,
    method_comparisons.csv, summary.md and plots from the finished cells."""
    import pandas as pd

    from xlner.experiment.plots import write_plots
    from xlner.experiment.report import summary_markdown

    exp = Path(exp)
    info = json.loads((exp / "experiment.json").read_text()) if (exp / "experiment.json").exists() else {}
    n_boot = n_boot or (cfg.n_boot if cfg else int(info.get("n_boot", 1000)))
    in_domain = cfg.in_domain if cfg else info.get("in_domain", {})
    types = cfg.types if cfg else info.get("types", ["PER", "ORG", "LOC"])
    cells = read_cells(exp, types)
    if not cells:
        raise XlnerError("E812", exp=exp)
    rows = collect_results(cells, n_boot)
    res = pd.DataFrame(rows)
    res[RESULT_COLUMNS].to_csv(exp / "results.csv", index=False)
    pt = [{"method": r["method"], "language": r["language"], "test_set": r["test_set"], "domain": r["domain"],
           "seed": r["seed"], "type": t, **v} for r in rows for t, v in r["per_type"].items()]
    pd.DataFrame(pt).to_csv(exp / "per_type.csv", index=False)

    test_info = res.groupby("test_set").first()[["language", "domain", "n_sentences"]]
    agg, samples = aggregate(_by_method_and_test(cells), test_info, in_domain, types, n_boot)
    agg.to_csv(exp / "aggregate.csv", index=False)
    drops = domain_drops(agg, samples)
    drops.to_csv(exp / "drops.csv", index=False)
    comps = drop_comparisons(drops, samples)
    comps.to_csv(exp / "comparisons.csv", index=False)
    methods_cmp = method_comparisons(agg, samples)
    methods_cmp.to_csv(exp / "method_comparisons.csv", index=False)

    timings = json.loads((exp / "timings.json").read_text()) if (exp / "timings.json").exists() else {}
    (exp / "summary.md").write_text(summary_markdown(info, agg, drops, comps, types, n_boot, methods_cmp,
                                                     timings=timings), encoding="utf-8")
    write_plots(exp, agg, log=log)
    if log:
        log(f"wrote {exp / 'summary.md'}")
    return exp
