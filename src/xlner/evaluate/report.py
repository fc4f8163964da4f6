"""The evaluation report: :class:`EvalReport` and its readable table (what ``xlner evaluate`` prints)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MODES = ("default", "strict")
CATEGORIES = ("correct", "incorrect", "partial", "missing", "spurious")
UNDEFINED = "undefined (no gold entities)"


@dataclass
class EvalReport:
    overall: dict[str, float]
    per_type: dict[str, dict[str, float]]
    proj_ratio: float
    n_sentences: int
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    mode: str = "default"
    ignore_labels: list[str] = field(default_factory=list)

    @property
    def defined(self) -> bool:
        """False when the gold has no entity: recall and F1 (and the P/R/F1 triple) are undefined."""
        return int(self.overall["support"]) > 0

    def to_dict(self, *, undefined_as_none: bool = False) -> dict[str, Any]:
        """The report as plain data; ``undefined_as_none`` writes null for the overall P/R/F1
        when there is no gold entity (seqeval's own numbers are 0.0)."""
        out = asdict(self)
        if undefined_as_none and not self.defined:
            out["overall"].update(precision=None, recall=None, f1=None)
        return out

    def table(self, max_ids: int = 5) -> str:
        """A readable report: overall and per-type P/R/F1, projection ratio, categories."""
        rows = [f"{'':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
        for name, m in sorted(self.per_type.items()):
            rows.append(f"{name:<10}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}"
                        f"{m['support']:>9d}")
        o = self.overall
        if self.defined:
            rows.append(f"{'overall':<10}{o['precision']:>10.4f}{o['recall']:>10.4f}{o['f1']:>10.4f}"
                        f"{o['support']:>9d}")
        else:
            rows.append(f"{'overall':<10}{UNDEFINED:>30}{o['support']:>9d}")
        rows.append("")
        rows.append(f"mode: {self.mode}   sentences: {self.n_sentences}   predicted entities: "
                    f"{o['n_pred']}   proj_ratio: {self.proj_ratio:.4f}"
                    + (f"   ignored: {','.join(self.ignore_labels)}" if self.ignore_labels else ""))
        if self.categories:
            rows.append("")
            for cat in CATEGORIES:
                c = self.categories[cat]
                ids = ", ".join(c["ids"][:max_ids]) + (" ..." if len(c["ids"]) > max_ids else "")
                rows.append(f"{cat:<10}{c['count']:>7d}   {ids}")
        return "\n".join(rows)
