"""Small helpers shared by the projection tests (not a test module)."""

from __future__ import annotations

from xlner.datamodel import Reason


def words(n: int, prefix: str = "w") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def spans(res) -> list[tuple[int, int, str, int]]:
    return [(p.span.start, p.span.end, p.span.label, p.source) for p in res.projected]


def reasons(res) -> dict[int, Reason]:
    return {u.source: u.reason for u in res.unprojected}
