"""Which method runs on which test language, decided before anything is trained or translated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlner.errors import XlnerError
from xlner.experiment.config import PIPELINE_METHODS, ExperimentConfig

SOURCE_LANGUAGE = "en"


def projection_profile(cfg: ExperimentConfig, language: str | None = None) -> dict[str, Any]:
    """The pipeline profile the pipeline methods use (``projection.profile`` + ``projection.set``, and
    ``projection.languages.LANG`` for one language), applied and checked exactly as the pipeline
    applies and checks them."""
    from xlner.pipeline.profiles import load_profile

    return load_profile(cfg.profile, cfg.settings_for(language) if language else cfg.settings)


def check_language_settings(cfg: ExperimentConfig) -> None:
    """E757 when ``projection.languages.LANG`` does not apply to the profile (an unknown component
    or parameter), naming the config file and the key; checked as the pipeline checks settings.
    A mistake in ``projection.set`` itself is left to the profile's own error (it is no language's)."""
    from xlner.pipeline.profiles import load_profile

    own = cfg.projection.get("languages") or {}
    if not own:
        return
    try:
        load_profile(cfg.profile, cfg.settings)
    except XlnerError:
        return
    for lang in own:
        try:
            load_profile(cfg.profile, cfg.settings_for(str(lang)))
        except XlnerError as exc:
            raise XlnerError("E757", path=cfg.path or cfg.name, lang=lang, reason=exc.message, code=exc.code,
                             inner_hint=exc.hint or "") from None


def translator_gap(profile: dict, src: str, tgt: str) -> str | None:
    """None when the profile's translator translates ``src`` -> ``tgt``; otherwise why not."""
    from xlner.pipeline.profiles import component_params
    from xlner.translate import get_translator, nllb_code

    name, params = component_params(profile["translator"])
    try:
        get_translator(name, src, tgt, **params)  # Apertium looks its pair up; hf checks the codes
        if name == "hf" and "nllb" in str(params.get("model", "nllb")).lower():
            nllb_code(src), nllb_code(tgt)
    except XlnerError as exc:
        if exc.code == "E403":  # Apertium's own message lists every installed mode: say it shorter
            return f"Apertium has no {src}->{tgt} direction installed"
        return exc.message
    return None


def translator_directions(profile: dict, *, into_english: bool) -> str:
    """What the profile's translator offers into or out of English, for messages."""
    from xlner.pipeline.profiles import component_params

    name, params = component_params(profile["translator"])
    side = "into" if into_english else "from"
    if name == "apertium":
        from xlner.translate import apertium_pairs

        try:
            pairs = apertium_pairs(params.get("binary", "apertium"))
        except XlnerError as exc:
            return exc.message
        dirs = sorted({f"{s}->{t}" for s, t, _ in pairs if (t if into_english else s) == "eng"})
        return f"Apertium directions {side} English installed here: {', '.join(dirs) or 'none'}"
    if name == "hf":
        return (f"the hf translator ({params.get('model', 'facebook/nllb-200-3.3B')}) translates {side} "
                "English for the NLLB-200 languages (not bbj, pcm), given the model hub or a local copy")
    return f"the {name} translator translates what its file holds"


@dataclass
class MethodPlan:
    """The languages each method runs on, and why it skips the other test languages."""

    languages: dict[str, list[str]]
    skipped: dict[str, dict[str, str]]

    def lines(self) -> list[str]:
        return [f"{m}: skipped for {lang} ({why})" for m, d in self.skipped.items() for lang, why in d.items()]


def _translate_train_languages(cfg: ExperimentConfig, profile: dict, targets: list[str]
                               ) -> tuple[list[str], dict[str, str]]:
    where_ = cfg.path or cfg.name
    wanted = [str(x) for x in cfg.translate_train.get("languages") or []]
    ok: list[str] = []
    why: dict[str, str] = {}
    for lang in wanted or targets:
        gap = (f"no test set in {lang}" if lang not in targets
               else translator_gap(projection_profile(cfg, lang), SOURCE_LANGUAGE, lang))
        if gap and wanted:
            raise XlnerError("E826", where=where_, lang=lang, gap=gap,
                             offer=translator_directions(profile, into_english=False))
        if gap:
            why[lang] = gap
        else:
            ok.append(lang)
    return ok, why


def _target_languages(cfg: ExperimentConfig, method: str, profile: dict | None, targets: list[str]
                      ) -> tuple[list[str], dict[str, str]]:
    ok: list[str] = []
    why: dict[str, str] = {}
    for lang in targets:
        gap = None
        if method in ("teacher-student", "projection-teacher") and lang not in cfg.unlabeled:
            gap = "no unlabeled text for it in the config"
        if gap is None and method in ("projection", "projection-teacher", "projection-fused"):
            gap = translator_gap(projection_profile(cfg, lang), lang, SOURCE_LANGUAGE)
        if gap:
            why[lang] = gap
        else:
            ok.append(lang)
    return ok, why


def plan_methods(cfg: ExperimentConfig) -> MethodPlan:
    """Which test languages each method of ``cfg`` applies to; E811/E827 for a method that applies to none.

    - model-transfer: every test set;
    - teacher-student: target languages with ``unlabeled`` text;
    - projection (translate-test): target languages the projection profile translates into English;
    - projection-teacher: both of the above;
    - translate-train: target languages the profile translates English into (narrowed by
      ``translate_train.languages``, where a language without a translator is an error, E826).

    Other languages are skipped for that method (the reason is logged), so one config can mix
    languages that only some methods can handle. Nothing is trained or translated here.
    """
    check_language_settings(cfg)
    test_langs = list(dict.fromkeys(t.language for t in cfg.test_sets))
    targets = [lang for lang in test_langs if lang != SOURCE_LANGUAGE]
    profile = projection_profile(cfg) if set(cfg.methods) & set(PIPELINE_METHODS) else None
    where_ = cfg.path or cfg.name
    languages: dict[str, list[str]] = {}
    skipped: dict[str, dict[str, str]] = {}
    for method in cfg.methods:
        why: dict[str, str]
        if method == "model-transfer":
            ok, why = test_langs, {}
        elif method == "translate-train":
            assert profile is not None
            ok, why = _translate_train_languages(cfg, profile, targets)
        else:
            ok, why = _target_languages(cfg, method, profile, targets)
        if not ok:
            reasons = "; ".join(f"{lang}: {w}" for lang, w in why.items()) or "no target-language test set"
            if method in PIPELINE_METHODS:
                assert profile is not None
                raise XlnerError("E811", where=where_, method=method, reasons=reasons, profile=cfg.profile,
                                 offer=translator_directions(profile, into_english=method != "translate-train"))
            raise XlnerError("E827", where=where_, method=method, reasons=reasons)
        languages[method] = ok
        skipped[method] = why
    return MethodPlan(languages, skipped)
