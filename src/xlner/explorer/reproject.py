"""Re-project one stored record with another method, through the library's own :func:`xlner.project`.

Only the stored English tokens/entities, target tokens and alignment are used, so switching method
on the Sentence page costs one projection of one sentence (well under a millisecond).
"""

from __future__ import annotations

from typing import Any

from xlner.errors import XlnerError


def available_methods() -> tuple[str, ...]:
    """The projection methods the installed library offers (empty until ``xlner.project`` exists)."""
    try:
        from xlner.project import METHODS
    except ImportError:
        return ()
    return tuple(METHODS)


def reproject(record: dict[str, Any], method: str, projection: dict[str, Any] | None = None,
              **params: Any) -> dict[str, Any]:
    """``tgt_entities`` / ``unprojected`` / ``candidates`` of ``record`` under ``method``.

    Returns the stored fields unchanged when ``method`` is the one the run used and no parameter
    is overridden, so what is shown is exactly what the run wrote. ``projection`` is the run's
    ``config["components"]["projection"]``: when given, the pipeline's own projection step is used,
    so its target-side candidate scores and options apply to the other method too.
    """
    if method == record.get("method") and not params:
        return {k: record.get(k) or [] for k in ("tgt_entities", "unprojected", "candidates")} | {"method": method}
    if projection and not params:
        from xlner.pipeline.steps import project_record

        try:
            return _as_fields(method, project_record(record, projection, method))
        except XlnerError:
            raise
        except Exception as exc:
            raise XlnerError("E906", f"sentence {record.get('id')}: projecting with {method!r} failed: {exc}") from exc
    try:
        from xlner.project import project
    except ImportError as exc:
        raise XlnerError("E906", "cannot re-project: the projection module xlner.project is not installed",
                         hint="showing the run's stored projection instead") from exc
    from xlner.datamodel import Alignment, Span

    src_tokens = list(record.get("src_tokens") or [])
    if not src_tokens:
        raise XlnerError("E906", f"sentence {record.get('id')}: the record has no English tokens to project from")
    pairs = record.get("alignment") or []
    scores = record.get("alignment_scores")
    similarity = record.get("similarity")
    import numpy as np

    alignment = Alignment(np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
                          None if scores is None or len(scores) != len(pairs) else np.asarray(scores),
                          None if similarity is None else np.asarray(similarity, dtype=np.float32))
    entities = [Span(int(s["start"]), int(s["end"]), str(s["label"])) for s in record.get("src_entities") or []]
    try:
        result = project(method, src_tokens, list(record["tgt_tokens"]), entities, alignment, **params)
    except XlnerError:
        raise
    except Exception as exc:  # the library's own bug or a parameter it refuses: say which sentence
        raise XlnerError("E906", f"sentence {record.get('id')}: projecting with {method!r} failed: {exc}") from exc
    return _as_fields(method, result)


def _as_fields(method: str, result: Any) -> dict[str, Any]:
    return {"method": method,
            "tgt_entities": [p.to_dict() for p in result.projected],
            "unprojected": [u.to_dict() for u in result.unprojected],
            "candidates": [c.to_dict() for c in result.candidates]}
