"""Reading an experiment back (the explorer's Experiments page)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from xlner.errors import XlnerError


def find_experiments(roots: Iterable[str | Path]) -> list[Path]:
    """Experiment folders (holding ``results.csv``) at or at most two levels below each root."""
    found: list[Path] = []
    for r in roots:
        root = Path(r).expanduser()
        if not root.is_dir():
            continue
        for pattern in ("results.csv", "*/results.csv", "*/*/results.csv"):
            found += [p.parent.resolve() for p in root.glob(pattern)]
    return sorted(set(found))


def load_experiment(exp_dir: str | Path) -> dict[str, Any]:
    """The tables an experiment wrote (results, aggregate, drops, comparisons, method_comparisons,
    per_type) + summary."""
    import pandas as pd

    exp = Path(exp_dir).expanduser()
    needed = ["results.csv", "aggregate.csv"]
    missing = [n for n in needed if not (exp / n).is_file()]
    if missing:
        raise XlnerError("E828", exp=exp, missing=", ".join(missing))
    out: dict[str, Any] = {"path": exp}
    for name in ("results", "aggregate", "drops", "comparisons", "method_comparisons", "per_type"):
        p = exp / f"{name}.csv"
        try:
            out[name] = pd.read_csv(p) if p.is_file() and p.stat().st_size > 1 else pd.DataFrame()
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise XlnerError("E829", path=p, reason=str(exc)) from None
    out["summary"] = (exp / "summary.md").read_text(encoding="utf-8") if (exp / "summary.md").is_file() else ""
    out["info"] = _json_file(exp / "experiment.json")
    out["timings"] = _json_file(exp / "timings.json")
    return out


def _json_file(path: Path) -> dict[str, Any]:
    """An experiment's JSON side file as a dict; ``{}`` when it is not there."""
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise XlnerError("E829", path=path, reason=str(exc)) from None
    if not isinstance(value, dict):
        raise XlnerError("E829", path=path, reason=f"a JSON object is needed, found {type(value).__name__}")
    return value
