"""Re-project one stored record with another method, through the library's own :func:`xlner.project`.

Only the stored English tokens/entities, target tokens and alignment are used, so switching method
on the Sentence page costs one projection of one sentence (well under a millisecond).
Back-translation (method.md §5) re-projects the record's stored ``back_translation`` (its words,
recovered spans and alignment with the sentence): no translator is called either.
"""

from __future__ import annotations

from typing import Any

from xlner.errors import XlnerError


#: The switch's name for back-translation (the same as ``xlner.pipeline.steps.BACK_TRANSLATION``).
BACK_TRANSLATION = "back-translation"


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
    if method == BACK_TRANSLATION:
        return _back_translation(record, projection, params)
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


def _back_translation(record: dict[str, Any], projection: dict[str, Any] | None,
                      params: dict[str, Any]) -> dict[str, Any]:
    if not record.get("back_translation"):
        raise XlnerError("E909", f"sentence {record.get('id')}: this run stores no back-translation",
                         hint="rerun it with --set back_translation.store=true, or with --method "
                              "back-translation (docs/pipeline.md)")
    from xlner.pipeline.steps import project_back_translation_record

    settings = dict(projection or {})
    if params:  # parameters of the projection from the back-translation onto the sentence
        settings["options"] = params
    try:
        return _as_fields(BACK_TRANSLATION, project_back_translation_record(record, settings))
    except XlnerError:
        raise
    except Exception as exc:
        raise XlnerError("E906", f"sentence {record.get('id')}: projecting the back-translation "
                         f"failed: {exc}") from exc


def back_translation_record(record: dict[str, Any]) -> dict[str, Any] | None:
    """A record-shaped view of the stored back-translation (its words as the source side, its
    recovered spans as source entities, its alignment with the sentence), for the figures;
    None when the record has none."""
    bt = record.get("back_translation")
    if not bt:
        return None
    return {"id": record.get("id"), "tgt_tokens": record["tgt_tokens"],
            "gold_entities": record.get("gold_entities") or [],
            "src_tokens": bt.get("tokens") or [], "src_entities": bt.get("entities") or [],
            "alignment": bt.get("alignment") or [], "alignment_scores": bt.get("alignment_scores"),
            "similarity": None}


def back_translation_status(config: dict[str, Any], records: list[dict[str, Any]]) -> tuple[bool, str]:
    """Whether the method switch can show back-translation for this run, and if not, why and how
    to get it (a message to show, naming the missing translation direction)."""
    if any(r.get("back_translation") for r in records):
        return True, ""
    lang = str(config.get("lang") or "?")
    direction = f"en→{lang}"
    data = config.get("data") or "DATA"
    paper = (f"`xlner pipeline translate-test --data {data} --lang {lang} --profile paper "
             "--method back-translation` (EasyProject's NLLB-200 from the model hub: needs network "
             "or a local copy), or any translator that keeps [ ] in `back_translation.translator`")
    status = config.get("back_translation") or {}
    if status.get("status") == "unavailable":
        return False, (f"**Back-translation is not available for this run**: it needs a translator "
                       f"from English into `{lang}` ({direction}) that keeps [ ] markers, and the run "
                       f"had none — {status.get('reason', '')}.\n\nTo get it: {paper}.")
    note = None
    translator = (config.get("components") or {}).get("translator") or {}
    if isinstance(translator, dict) and translator.get("name") == "apertium":
        try:
            from xlner.translate import apertium_direction_note

            note = apertium_direction_note("en", lang)
        except XlnerError:  # a language code the translators do not know
            note = None
    if note:
        return False, (f"**Back-translation is not available for this run**: it needs a translator "
                       f"from English into `{lang}` ({direction}) that keeps [ ] markers; offline "
                       f"there is none ({note}).\n\nTo get it: {paper}.")
    return False, (f"**This run stores no back-translation** ({direction}): it was made before the "
                   "pipeline stored it, or with `back_translation.store` off.\n\nTo get it: rerun "
                   "the same command with `--set back_translation.store=true` (keeps the method, adds "
                   "one alignment) or `--method back-translation`.")


def _as_fields(method: str, result: Any) -> dict[str, Any]:
    return {"method": method,
            "tgt_entities": [p.to_dict() for p in result.projected],
            "unprojected": [u.to_dict() for u in result.unprojected],
            "candidates": [c.to_dict() for c in result.candidates]}
