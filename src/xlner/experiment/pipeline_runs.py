"""The pipeline runs an experiment makes: translate-test on test or unlabelled sentences, and
translate-train silver data. Sentences and settings go to :mod:`xlner.pipeline` directly.

Each run lives in ``EXP/pipeline/<task>__<key>`` and is reused when finished (after checking
that it holds the experiment's sentences, E814); its steps are also cached across runs by the
pipeline itself. Runs are read with :mod:`xlner.runs`: their records are typed
(:class:`~xlner.record.RunRecord`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from xlner.datamodel import ProjectedEntity, Sentence, Span
from xlner.errors import XlnerError
from xlner.experiment.config import ExperimentConfig
from xlner.record import RunRecord
from xlner.runs import Run


def _tokens(record: RunRecord, side: str) -> list[str]:
    """The target (``tgt``) or English (``src``) tokens of a record."""
    return list(record.tgt_tokens if side == "tgt" else record.src_tokens)


def spans_of(entities: Iterable[ProjectedEntity], types: Sequence[str],
             min_score: float | None = None) -> tuple[list[Span], list[float]]:
    """Spans of the given types (sorted) scoring at least ``min_score``, and their scores.

    Of overlapping ones (projection does not produce them, a hand-edited run might) the first is kept.
    """
    spans, scores, last = [], [], 0
    for e in sorted(entities, key=lambda e: (e.span.start, e.span.end, e.span.label)):
        score = float(e.score)
        if min_score is not None and score < min_score:
            continue
        if e.span.label in types and e.span.start >= last:
            spans.append(e.span)
            scores.append(score)
            last = e.span.end
    return spans, scores


def checked_records(run: Run, out: Path, sentences: Sequence[Sentence], side: str, what: str,
                    whose: str) -> list[RunRecord]:
    """The records of a (reused) pipeline run, refused with E814 unless they hold ``sentences``."""
    records = list(run.records)
    if len(records) != len(sentences) or any(_tokens(r, side) != list(s.tokens)
                                             for r, s in zip(records, sentences)):
        raise XlnerError("E814", what=what, out=out, whose=whose, n_records=len(records),
                         n_sentences=len(sentences))
    return records


def _pipeline_run(task: Callable[..., Any], out: Path, cfg: ExperimentConfig, *, lang: str,
                  sentences: Sequence[Sentence], dataset: str, original: Path | None,
                  progress: bool) -> Run:
    from xlner.pipeline import Options
    from xlner.runs import load_run

    if (out / "metrics.json").exists():
        return load_run(out)
    given: dict[str, Any] = ({"data": str(original)} if original is not None
                             else {"sentences": list(sentences), "dataset": dataset})
    return task(Options(lang=lang, out=str(out), labels=list(cfg.types), profile=cfg.profile,
                        settings=cfg.settings_for(lang), progress=progress, **given))


def translate_test_records(key: str, lang: str, sentences: Sequence[Sentence], exp: Path,
                           cfg: ExperimentConfig, *, original: Path | None = None,
                           progress: bool = True) -> list[RunRecord]:
    """Translate-test projection (xlner.pipeline) on exactly ``sentences``; records in their order.

    ``original``: the file ``sentences`` were read from, when they are all of it (the pipeline then
    reads it itself, which shares its step cache with ``xlner pipeline`` runs on that file).
    """
    from xlner.pipeline import translate_test

    out = exp / "pipeline" / f"translate-test__{key}{cfg.run_suffix(lang)}"
    run = _pipeline_run(translate_test, out, cfg, lang=lang, sentences=sentences, dataset=key,
                        original=original, progress=progress)
    return checked_records(run, out, sentences, "tgt", "translate-test run", "sentences")


def projected_sentences(gold: Sequence[Sentence], records: Sequence[RunRecord], types: Sequence[str],
                        min_score: float | None = None) -> tuple[list[Sentence], list[list[float]]]:
    """``gold``'s sentences with the records' projected entities (and their scores) instead."""
    pred, scores = [], []
    for g, r in zip(gold, records):
        spans, sc = spans_of(r.projection.projected, types, min_score)
        pred.append(Sentence(g.id, list(g.tokens), spans, g.source))
        scores.append(sc)
    return pred, scores


def silver_labels(lang: str, text: Sequence[Sentence], exp: Path, cfg: ExperimentConfig,
                  *, progress: bool = True) -> list[Sentence]:
    """The projection teacher: translate-test projections on unlabelled text as hard labels.

    ``projection.min_score`` (optional) drops projected entities whose matching score is lower.
    """
    recs = translate_test_records(f"unlabeled-{lang}", lang, text, exp, cfg, progress=progress)
    return projected_sentences(text, recs, cfg.types, cfg.projection.get("min_score"))[0]


@dataclass
class Silver:
    """Translate-train training data for one language, and how it was made."""

    sentences: list[Sentence]
    info: dict[str, Any] = field(default_factory=dict)


def translate_train_silver(lang: str, english: Sequence[Sentence], exp: Path, cfg: ExperimentConfig,
                           *, progress: bool = True) -> Silver:
    """Translate-train silver data: ``english`` gold translated into ``lang``, labels projected.

    Runs the pipeline's translate-train task on exactly these sentences in
    ``EXP/pipeline/translate-train__LANG`` (plus :meth:`ExperimentConfig.run_suffix`). Projected entities scoring below
    ``translate_train.min_score`` (default ``projection.min_score``) are dropped; with
    ``translate_train.drop_incomplete`` a sentence that lost any English entity is left out.
    The result is also written to ``EXP/cache/translate-train-LANG.jsonl`` (the students' data).
    """
    from xlner.data import write_jsonl
    from xlner.pipeline import translate_train

    out = exp / "pipeline" / f"translate-train__{lang}{cfg.run_suffix(lang)}"
    run = _pipeline_run(translate_train, out, cfg, lang=lang, sentences=english, dataset=f"english-{lang}",
                        original=None, progress=progress)
    records = checked_records(run, out, english, "src", "translate-train run", "English sentences")
    tt = cfg.translate_train
    min_score = tt.get("min_score", cfg.projection.get("min_score"))
    silver: list[Sentence] = []
    n_src = n_kept = n_incomplete = n_empty = 0
    for r in records:
        spans = spans_of(r.projection.projected, cfg.types, min_score)[0]
        n_src += len(r.src_entities)
        tokens = _tokens(r, "tgt")
        if not tokens:
            n_empty += 1
            continue
        if len(spans) < len(r.src_entities):
            n_incomplete += 1
            if tt.get("drop_incomplete"):
                continue
        n_kept += len(spans)
        silver.append(Sentence(f"translate-train-{lang}:{r.id}", tokens, spans, r.source))
    if not silver:
        raise XlnerError("E831", lang=lang, n_records=len(records), n_empty=n_empty, n_incomplete=n_incomplete)
    path = exp / "cache" / f"translate-train-{lang}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(silver, path)
    return Silver(silver, {"pipeline": str(out), "silver": str(path), "n_english": len(records),
                           "n_silver": len(silver), "n_source_entities": n_src, "n_silver_entities": n_kept,
                           "n_incomplete": n_incomplete, "min_score": min_score,
                           "drop_incomplete": bool(tt.get("drop_incomplete", False))})
