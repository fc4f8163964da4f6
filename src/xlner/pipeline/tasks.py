"""The two end-to-end tasks: translate-test and translate-train.

translate-test: target gold -> detokenize -> translate to English -> split words -> English NER ->
                refine -> select labels -> align (English, target) -> project back -> evaluate.
                Back-translation (``--method back-translation``, or stored for the explorer with
                ``back_translation.store``): ... align -> translate the marked English back ->
                recover typed spans -> align (back-translation, target) -> project -> evaluate.
translate-train: English gold -> detokenize -> translate to the target -> split words -> select
                labels -> align (English, translation) -> project -> a target training set.

Each arrow is a cached :class:`~xlner.pipeline.framework.Step`; the run directory gets
``records.jsonl``, ``metrics.json``, ``config.json`` and ``steps/``.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable


import xlner
from xlner.cache import StepCache, default_steps_cache, file_fingerprint, fingerprint
from xlner.cachefs import Store
from xlner.errors import XlnerError, warn
from xlner.pipeline import steps as S
from xlner.pipeline.components import build_components
from xlner.pipeline.framework import Components, Runner, Step, StepReport
from xlner.pipeline.nmt import NMT_COLUMN, check_nmt_scorer, nmt_step
from xlner.pipeline.options import Options, sentences_fingerprint
from xlner.pipeline.profiles import builtin_profiles, load_profile
from xlner.pipeline.records import build_records, evaluate_records, reason_counts, write_training_set
from xlner.runs import Run, load_run, write_run
from xlner.threads import pin_threads
from xlner.project.params import FUSED_METHODS
from xlner.translate import UNAVAILABLE_CODES

ENGLISH = "en"
TEXT_FORMAT = "text"  # --format text: plain sentences without gold (scored with no F1)




# --- loading and checking the gold data --------------------------------------------------------

def check_lang(lang: str) -> str:
    """The code as given (lower case), refused before any work if no backend knows it (E401)."""
    from xlner.translate import normalise_lang

    code = (lang or "").strip().lower()
    if normalise_lang(code) == "eng":
        raise XlnerError("E702")
    return code


def load_gold(opts: Options, profile: dict) -> tuple[list[Any], str, str, set[str] | None]:
    """The gold sentences (after --limit), the dataset name, the load fingerprint and the entity
    types of the whole input (before --limit; None when it has no gold entity at all).

    Sentences given in ``opts.sentences`` are keyed by their content
    (:func:`~xlner.pipeline.options.sentences_fingerprint`), a file by its bytes.
    """
    if opts.sentences is not None:
        origin = opts.dataset or "sentences"
        sentences = list(opts.sentences)
        content_key = sentences_fingerprint(sentences)
        name = origin
    else:
        path = Path(str(opts.data))
        origin = str(path)
        if not path.exists():
            raise XlnerError("E713", path=path)
        from xlner.data import read_dataset, read_plain_text

        if opts.data_format == TEXT_FORMAT:  # one sentence per line, no gold
            dataset = read_plain_text(path, lang=opts.lang)
        else:
            dataset = read_dataset(str(path), format=opts.data_format, lang=opts.lang)
        sentences = list(dataset.sentences)
        content_key = file_fingerprint(path) if path.is_file() else str(path)
        name = dataset.name or path.stem
    all_types = _gold_types(sentences)
    if opts.limit is not None:
        sentences = sentences[: opts.limit]
    if not sentences:
        raise XlnerError("E709", origin=origin)
    check_sentences(sentences, profile, origin)
    key = fingerprint("gold", content_key, opts.data_format, opts.lang, opts.limit)
    return sentences, name, key, all_types


def _gold_types(sentences: list[Any]) -> set[str] | None:
    """The gold's entity types; None when no sentence has a gold entity (plain or unlabelled text)."""
    types = {sp.label for s in sentences for sp in s.spans or []}
    return types or None


def _locate(sentence: Any, origin: str) -> str:
    """``file:line (sentence ID)`` for messages."""
    return f"{sentence.source or origin} (sentence {sentence.id})"


def _listed(items: list[str], shown: int = 5) -> str:
    return ", ".join(items[:shown]) + (" ..." if len(items) > shown else "")


def check_sentences(sentences: list[Any], profile: dict, origin: str) -> None:
    """Empty sentences are kept (they get no entities) with a warning; over-long ones are refused."""
    empty = [s for s in sentences if not s.tokens]
    if empty:
        warn("E740", n=len(empty), sentences=_listed([_locate(s, origin) for s in empty]))
    limit = profile.get("max_words")
    if limit:
        long = [s for s in sentences if len(s.tokens) > limit]
        if long:
            raise XlnerError("E710", n=len(long), limit=limit,
                             sentences=_listed([f"{_locate(s, origin)}: {len(s.tokens)} words" for s in long]),
                             longest=max(len(s.tokens) for s in long))


# --- running ---------------------------------------------------------------------------------

def _profile(opts: Options, task: str = "translate-test") -> dict:
    """The profile with the command line's choices applied, checked before any work starts."""
    profile = load_profile(opts.profile, opts.settings, method=opts.method)
    if opts.method:
        profile["projection"]["method"] = opts.method
    if opts.labels:
        profile["labels"] = list(opts.labels)
    opts.lang = check_lang(opts.lang)
    check_method(profile["projection"]["method"], task)
    check_target_tagger(profile)
    check_nmt_scorer(profile)  # an nmt weight without a scorer model, a folder that is none (E686, E690)
    back_translation_settings(profile)  # refuses a bad back_translation section before any work
    pin_threads(int(profile.get("threads") or 1))
    return profile


def check_method(method: str, task: str = "translate-test") -> None:
    from xlner.project import METHODS

    if method == S.BACK_TRANSLATION:
        if task != "translate-test":
            raise XlnerError("E746", method=S.BACK_TRANSLATION, task=task, methods=", ".join(METHODS))
        return
    if method not in METHODS:
        raise XlnerError("E747", method=method, methods=", ".join((*METHODS, S.BACK_TRANSLATION)))


def check_target_tagger(profile: dict) -> None:
    """Before any work: a fused method without a target tagger model is refused (E684), and a
    local target tagger folder that is not a token classifier is named (E680/E681)."""
    from xlner.project import FUSED_METHODS
    from xlner.tag import check_token_classifier, resolve_tag_model

    from xlner.pipeline.profiles import target_tagger_refs

    where = profile.get("path") or profile.get("name") or "profile"
    method = profile["projection"]["method"]
    model = (profile.get("target_tagger") or {}).get("model")
    if method in FUSED_METHODS and not model:
        raise XlnerError("E684", profile=where, what=f"projection method {method}")
    refs = target_tagger_refs(profile)
    if refs:
        raise XlnerError("E684", profile=where, what=f"{refs[0]} ({{target_tagger}})")
    if model:
        check_token_classifier(resolve_tag_model(str(model)))


# --- back-translation (method.md §5) -----------------------------------------------------------

BT_DEFAULTS = {"store": False, "translator": None, "method": "match-greedy", "min_ratio": 0.5}


def back_translation_settings(profile: dict) -> dict:
    """The profile's ``back_translation`` section with defaults, checked (E748-E752).

    ``translator: null`` means the forward translator with the direction reversed (Apertium
    without ``*`` marks on unknown words: they would stick to the names in the back-translation).
    """
    from xlner.project import METHODS

    where = profile.get("path", "profile")
    section = profile.get("back_translation")
    if section is not None and not isinstance(section, dict):
        raise XlnerError("E748", profile=where)
    bt = {**BT_DEFAULTS, **(section or {})}
    unknown = sorted(set(bt) - set(BT_DEFAULTS))
    if unknown:
        raise XlnerError("E749", profile=where, keys=", ".join(unknown), known=", ".join(BT_DEFAULTS))
    # the fused methods need the target tagger on the back-translation's words, which nothing runs
    plain = [m for m in METHODS if m not in FUSED_METHODS]
    if bt["method"] not in plain:
        raise XlnerError("E750", profile=where, methods=", ".join(plain), value=repr(bt["method"]))
    ratio = bt["min_ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio < 1:
        raise XlnerError("E751", profile=where, value=repr(ratio))
    translator = bt["translator"]
    if translator is None:
        translator = dict(profile["translator"])
        if translator.get("name") == "apertium":
            translator["mark_unknown"] = False
    if not isinstance(translator, dict) or not translator.get("name"):
        raise XlnerError("E752", profile=where)
    bt["translator"] = dict(translator)
    bt["store"] = bool(bt["store"])
    return bt


def _back_translation_steps(profile: dict, bt: dict, project: bool) -> list[Step]:
    """mark + translate back -> recover typed spans -> align (target, back-translation) [-> project]."""
    steps = [
        Step("back_translate", S.back_translate,
             {"id": "id", "tokens": "src_tokens", "entities": "src_entities"},
             {"text": "bt_text", "entity_texts": "bt_entity_texts"}, "back_translator",
             shard_size=profile.get("translate_shard_size")),
        Step("bt_recover", S.recover_back_translation,
             {"text": "bt_text", "entity_texts": "bt_entity_texts", "entities": "src_entities"},
             {"tokens": "bt_tokens", "entities": "bt_entities", "lost": "bt_lost"}, None,
             {"min_ratio": float(bt["min_ratio"])}),
        Step("bt_align", S.align, {"src_tokens": "bt_tokens", "tgt_tokens": "tgt_tokens"},
             {"alignment": "bt_alignment", "alignment_scores": "bt_alignment_scores",
              "similarity": "bt_similarity"}, "aligner", {"keep_similarity": False}),
    ]
    if project:
        steps.append(Step("project", S.project_back_translation_step,
                          {c: c for c in ("id", "tgt_tokens", "bt_tokens", "bt_entities", "bt_lost",
                                          "bt_alignment", "bt_alignment_scores")},
                          {"entities": "tgt_entities", "unprojected": "unprojected",
                           "candidates": "candidates"},
                          "projector", {**_projection_params(profile), "method": bt["method"]}))
    return steps


def _back_translation_config(bt: dict, lang: str, status: str, error: XlnerError | None = None) -> dict:
    """config.json's ``back_translation``: what was asked for and whether the records hold it."""
    out = {"status": status, "direction": f"{ENGLISH}->{lang}", "translator": bt["translator"],
           "method": bt["method"], "min_ratio": bt["min_ratio"]}
    if error is not None:
        out.update(reason=f"error[{error.code}]: {error.message}", hint=error.hint)
    return out


_UNAVAILABLE = UNAVAILABLE_CODES  # unknown language, no Apertium direction, no model


def _unavailable(exc: XlnerError, lang: str) -> XlnerError:
    """The translator's own error (``exc``, e.g. E403), said in terms of back-translation."""
    return XlnerError("E754", lang=repr(lang), code=exc.code, reason=exc.message,
                      translator_hint=exc.hint or "choose a back_translation.translator that covers it")


def _runner(opts: Options, profile: dict, components: Components, dataset: str) -> Runner:
    shared: Path | str | Store | None = None
    option = "--cache-dir" if opts.cache_dir else "cache_dir" if profile.get("cache_dir") else "XLNER_CACHE"
    if opts.shared_cache:  # --cache-dir, else the profile's cache_dir, else $XLNER_CACHE/steps
        shared = opts.cache_dir or profile.get("cache_dir") or default_steps_cache()
    cache = StepCache(Path(opts.out) / "steps", shared, option=option)  # a URI is opened here: E717 early
    # The engine (xlner.engine: local by default, or Ray) decides where missing shards are computed;
    # the cache, its keys and the merged outputs are the same on every engine.
    from xlner.engine import engine_of

    return engine_of(opts.engine, opts.ray_address).runner(
        cache, components, shard_size=int(profile.get("shard_size") or 64), progress=opts.progress,
        profile=profile, dataset=dataset)


def _timings(reports: list[StepReport], n: int, extra: dict[str, float]) -> dict[str, Any]:
    """Seconds per step (model loading included, and also given apart) and throughput.

    ``sentences_per_second`` counts the steps' work without loading models, the number that
    matters once the components are warm (a server, a notebook, the second run).
    """
    seconds = {r.name: round(r.seconds, 3) for r in reports}
    seconds.update({k: round(v, 3) for k, v in extra.items()})
    loading = {r.name: round(r.load_seconds, 3) for r in reports if r.load_seconds > 0}
    total = sum(seconds.values())
    work = total - sum(loading.values())
    compute = {k: v - loading.get(k, 0.0) for k, v in seconds.items()}
    return {"seconds": seconds,
            "model_load_seconds": loading,
            "cached_steps": [r.name for r in reports if r.cached],
            "step_keys": {r.name: r.key for r in reports},
            "seconds_total": round(total, 3),
            "sentences_per_second": round(n / work, 2) if work > 0 else None,
            "slowest_step": max(compute, key=lambda name: compute[name]) if compute else None}


def _labels(profile: dict, gold: list[Any]) -> list[str]:
    if profile.get("labels"):
        return list(profile["labels"])
    return sorted({s.label for sent in gold for s in sent.spans or []})  # spans None: no gold


def _config(task: str, opts: Options, profile: dict, dataset: str, labels: list[str]) -> dict:
    return {"task": task, "lang": opts.lang, "data": None if opts.data is None else str(opts.data),
            "dataset": dataset,
            "profile": profile.get("name"), "profile_path": _user_profile_path(profile),
            "method": profile["projection"]["method"], "labels": labels, "limit": opts.limit,
            "components": {k: profile.get(k) for k in ("translator", "tagger", "refine", "aligner",
                                                       "projection", "target_tagger", "nmt_scorer")},
            "settings": {k: profile.get(k) for k in ("threads", "shard_size", "translate_shard_size",
                                                     "max_words", "keep_similarity")},
            "xlner_version": xlner.__version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _refine_params(profile: dict, lang: str) -> dict:
    """The profile's ``refine`` section with ``retype_unknown`` narrowed to the target language
    (case endings are a property of the language: ``{eu: {ko: LOC}}``)."""
    params = dict(profile.get("refine") or {})
    params["retype_unknown"] = dict((params.get("retype_unknown") or {}).get(lang) or {})
    return params


def _projection_params(profile: dict) -> dict:
    section = profile["projection"]
    return {"method": section["method"], "options": section.get("options") or {},
            "target_scores": section.get("target_scores") or {}}


def _user_profile_path(profile: dict) -> str | None:
    """The profile file, unless it is a built-in one (its path is an installation detail)."""
    path = profile.get("path")
    builtin = {str(p) for p in builtin_profiles().values()}
    return None if path is None or path in builtin else path


def _strip_score(rows: list[dict]) -> list[dict]:
    return [{"start": r["start"], "end": r["end"], "label": r["label"]} for r in rows]


def _marks_unknown(translator: dict) -> bool:
    """Whether the translator writes ``*`` before unknown words: its ``mark_unknown``, which
    defaults to on for the two translators that have it (Apertium, the lexicon)."""
    return bool(translator.get("mark_unknown", translator.get("name") in ("apertium", "lexicon")))


def _text_steps(profile: dict, tokens: str, text: str, words: str, unknown: str,
                keep_marks: bool) -> list[Step]:
    """detokenize -> translate -> split words, from column ``tokens`` to ``words``."""
    return [
        Step("detokenize", S.detokenize, {"tokens": tokens}, {"text": text}, "text"),
        Step("translate", S.translate, {"id": "id", "text": text}, {"translation": "translation"},
             "translator", shard_size=profile.get("translate_shard_size")),
        Step("split_words", S.split_words, {"text": "translation"},
             {"tokens": words, "unknown": unknown}, "text", {"unknown_marks": keep_marks}),
    ]


def _projection_steps(profile: dict, labels: list[str], project: bool = True, lang: str = "") -> list[Step]:
    """select labels -> align (English, target) -> project."""
    steps = [
        Step("select_labels", S.select_labels, {"entities": "src_entities_all"},
             {"entities": "src_entities"}, None, {"labels": labels}),
        Step("align", S.align, {"src_tokens": "src_tokens", "tgt_tokens": "tgt_tokens"},
             {"alignment": "alignment", "alignment_scores": "alignment_scores",
              "similarity": "similarity"}, "aligner",
             {"keep_similarity": bool(profile.get("keep_similarity", True))}),
        Step("project", S.project_entities,
             {c: c for c in ("id", "src_tokens", "tgt_tokens", "src_entities", "alignment",
                             "alignment_scores")},
             {"entities": "tgt_entities", "unprojected": "unprojected", "candidates": "candidates"},
             "projector", _projection_params(profile)),
    ]
    if project and profile["projection"]["method"] in FUSED_METHODS:
        steps[-1:] = _fused_steps(profile, lang)
    if not project:
        return steps[:-1]
    return steps + _type_vote_steps(profile)


def _type_vote_steps(profile: dict) -> list[Step]:
    """``projection.type_vote: N``: one type per surface form over the whole run, after projection
    (:mod:`xlner.project.consistency`); null: no step."""
    min_count = profile["projection"].get("type_vote")
    if not min_count:
        return []
    return [Step("type_vote", S.vote_types, {"tokens": "tgt_tokens", "entities": "tgt_entities"},
                 {"entities": "tgt_entities"}, None, {"min_count": int(min_count)}, shard_size=S.WHOLE_RUN)]


TARGET_NER_COLUMNS = {"entities": "tgt_ner_entities", "probs": "tgt_ner_probs", "columns": "tgt_ner_columns"}


def _fused_steps(profile: dict, lang: str) -> list[Step]:
    """The fused methods' projection: the target tagger on the target sentences (cached, keyed by
    the model's identity and the sentences), the NMT scores when the ``nmt`` weight is above 0
    (:mod:`xlner.pipeline.nmt`), then fused matching [+ ensemble] with their output."""
    nmt = nmt_step(profile, lang)
    return [
        Step("target_tag", S.tag_target, {"tokens": "tgt_tokens"}, TARGET_NER_COLUMNS, "target_tagger"),
        *([nmt] if nmt else []),
        Step("project", S.project_fused,
             {c: c for c in ("id", "src_tokens", "tgt_tokens", "src_entities", "alignment", "alignment_scores",
                             *TARGET_NER_COLUMNS.values(), *([NMT_COLUMN] if nmt else []))},
             {"entities": "tgt_entities", "unprojected": "unprojected", "candidates": "candidates"},
             "projector", _projection_params(profile)),
    ]


def _run_steps(task: str, opts: Options, gold_columns: list[str], build_steps: Callable,
               src_lang: str, tgt_lang: str):
    """Shared frame of both tasks: profile, gold, steps, cache. Returns what the task finishes.

    Back-translation (translate-test only): with ``--method back-translation`` its steps replace
    the projection and a missing back-translator is an error, raised before any work; with
    ``back_translation.store`` they run after it, and a missing back-translator only leaves the
    records without it (config.json says why).
    """
    profile = _profile(opts, task)
    method = profile["projection"]["method"]
    bt = back_translation_settings(profile)
    want_bt = task == "translate-test" and (method == S.BACK_TRANSLATION or bt["store"])
    components = build_components(profile, src_lang, tgt_lang, bt["translator"] if want_bt else None)
    bt_status: dict | None = None
    if want_bt:
        try:
            components.get("back_translator")  # Apertium checks its direction here, before any work
        except XlnerError as exc:
            if method == S.BACK_TRANSLATION or exc.code not in _UNAVAILABLE:
                raise _unavailable(exc, opts.lang) if exc.code in _UNAVAILABLE else exc
            bt_status = _back_translation_config(bt, opts.lang, "unavailable", exc)
            warn("E753", code=exc.code, reason=_unavailable(exc, opts.lang).message)
    t0 = time.perf_counter()
    gold, dataset, gold_key, all_types = load_gold(opts, profile)
    if profile.get("labels"):  # names the user chose: checked against the gold and the tagger
        from xlner.evaluate import check_run_labels
        from xlner.pipeline.profiles import tagger_types

        profile["labels"] = check_run_labels(
            profile["labels"], gold_types=all_types, scored_types=_gold_types(gold) or set(),
            n_scored=len(gold), tagger_types=tagger_types(profile) if task == "translate-test" else None,
            limit=opts.limit, option="--labels" if opts.labels else "the profile's labels")
    labels = _labels(profile, gold)
    table = S.gold_table(gold).rename_columns(gold_columns)
    load_seconds = time.perf_counter() - t0
    keys = {c: gold_key for c in table.column_names}
    runner = _runner(opts, profile, components, dataset)
    steps = build_steps(profile, labels)
    if method == S.BACK_TRANSLATION:
        steps = [s for s in steps if s.name not in ("project", "type_vote")] + _back_translation_steps(profile, bt, True)
    table, reports = runner.run(table, keys, steps, keys_out=keys)
    if want_bt and bt_status is None:
        if method == S.BACK_TRANSLATION:
            bt_status = _back_translation_config(bt, opts.lang, "stored")
        else:
            try:
                table, more = runner.run(table, keys, _back_translation_steps(profile, bt, False))
                reports += more
                bt_status = _back_translation_config(bt, opts.lang, "stored")
            except XlnerError as exc:
                if exc.code not in _UNAVAILABLE:
                    raise
                bt_status = _back_translation_config(bt, opts.lang, "unavailable", exc)
                warn("E753", code=exc.code, reason=_unavailable(exc, opts.lang).message)
    records = build_records(table, opts.lang, method, labels, bt["method"])
    config = _config(task, opts, profile, dataset, labels)
    if bt_status is not None:
        config["back_translation"] = bt_status
    return records, config, reports, load_seconds


def translate_test(opts: Options) -> Run:
    """Run translate-test end to end into ``opts.out`` and return the finished run."""
    def steps(profile: dict, labels: list[str]) -> list[Step]:
        return [
            *_text_steps(profile, "tgt_tokens", "tgt_text", "src_tokens", "src_unknown",
                         _marks_unknown(profile["translator"])),
            Step("ner", S.tag_entities, {"tokens": "src_tokens", "unknown": "src_unknown"},
                 {"entities": "src_entities_ner"}, "tagger"),
            Step("refine", S.refine_entities,
                 {"tokens": "src_tokens", "unknown": "src_unknown", "entities": "src_entities_ner"},
                 {"entities": "src_entities_all"}, None, _refine_params(profile, opts.lang)),
            *_projection_steps(profile, labels, lang=opts.lang),
        ]

    records, config, reports, load_seconds = _run_steps(
        "translate-test", opts, ["id", "source", "tgt_tokens", "gold_entities"], steps,
        opts.lang, ENGLISH)
    t1 = time.perf_counter()
    metrics = evaluate_records(records, config["labels"])
    metrics.update(_timings(reports, len(records),
                            {"load": load_seconds, "evaluate": time.perf_counter() - t1}))
    write_run(opts.out, config, metrics, records)
    return load_run(opts.out)


def translate_train(opts: Options) -> Run:
    """English gold -> target-language translation with projected labels, written as a training
    set (``train.conll`` and ``train.jsonl`` in the run directory)."""
    def steps(profile: dict, labels: list[str]) -> list[Step]:
        # Unknown-word marks would end up in the training text: always split them off.
        return [*_text_steps(profile, "src_tokens", "src_text", "tgt_tokens", "tgt_unknown", True),
                *_projection_steps(profile, labels, lang=opts.lang)]

    records, config, reports, load_seconds = _run_steps(
        "translate-train", opts, ["id", "source", "src_tokens", "src_entities_all"], steps,
        ENGLISH, opts.lang)
    t1 = time.perf_counter()
    metrics = write_training_set(records, Path(opts.out), opts.drop_incomplete)
    metrics["labels"] = config["labels"]
    metrics["n_sentences"] = len(records)
    metrics["unprojected_reasons"] = reason_counts(records)
    metrics.update(_timings(reports, len(records),
                            {"load": load_seconds, "write": time.perf_counter() - t1}))
    write_run(opts.out, config, metrics, records)
    return load_run(opts.out)
