"""Re-project one stored record with another method, through the library's own :func:`xlner.project`.

Only the stored English tokens/entities, target tokens and alignment are used, so switching method
on the Sentence page costs one projection of one sentence (well under a millisecond).
Back-translation (method.md §5) re-projects the record's stored ``back_translation`` (its words,
recovered spans and alignment with the sentence): no translator is called either. Both are the
library's own :func:`xlner.project.project_record` / :func:`~xlner.project.project_back_translation`,
the functions the pipeline's projection step uses.
"""

from __future__ import annotations

from typing import Any, Mapping

from xlner.datamodel import ProjectionResult
from xlner.errors import XlnerError
from xlner.project import BACK_TRANSLATION, FUSED_METHODS, METHODS, project_back_translation, project_record
from xlner.record import RunRecord

__all__ = ["BACK_TRANSLATION", "available_methods", "reproject", "back_translation_status"]


def available_methods() -> tuple[str, ...]:
    """The projection methods the explorer can re-project a stored record with (the method switch's
    choices, back-translation apart). The fused methods are left out: they need the target tagger's
    per-word probabilities, which a record does not store (E685); a fused run still shows its own
    stored projection under its method (:func:`xlner.explorer.ui.method_options`)."""
    return tuple(m for m in METHODS if m not in FUSED_METHODS)


def reproject(record: RunRecord, method: str, settings: Mapping[str, Any] | None = None,
              **params: Any) -> ProjectionResult:
    """The projection of ``record`` under ``method``.

    The stored projection when ``method`` is the one the run used and no parameter is overridden,
    so that what is shown is exactly what the run wrote. ``settings`` is the run's
    ``config["components"]["projection"]``: the pipeline's own target-side candidate scores and
    options then apply to the other method too; ``params`` replace its options.
    """
    if method == record.method and not params:
        return record.projection
    chosen = {"options": params} if params else settings
    if method == BACK_TRANSLATION:
        return project_back_translation(record, chosen)  # E715 when the record stores none
    if not record.src_tokens:
        raise XlnerError("E906", sentence=record.id)
    return project_record(record, method, chosen)


def back_translation_status(config: dict[str, Any], records: list[RunRecord]) -> tuple[bool, str]:
    """Whether the method switch can show back-translation for this run, and if not, why and how
    to get it (a message to show, naming the missing translation direction)."""
    if any(r.back_translation is not None for r in records):
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
