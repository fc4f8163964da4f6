"""The pipeline's steps as plain batch transforms ``(table, component, params) -> table``.

Each transform reads a few columns of a pyarrow Table (one row per sentence), calls one component on
the whole batch and returns a Table with its new columns, same rows, same order. They keep no state
and know nothing about caching or files, so the same functions could be mapped over shards by a
distributed engine (e.g. ``ray.data.Dataset.map_batches``) without change.

Column names inside a transform are generic (``tokens``, ``text``); the step definition maps them to
the run's columns (``tgt_tokens``, ``translation``...), so one transform serves both directions.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pyarrow as pa

from xlner.datamodel import Alignment, ProjectedEntity, Reason, ScoredSpan, Span, Unprojected
from xlner.errors import XlnerError
from xlner.project.records import BACK_TRANSLATION  # noqa: F401  (tasks.py names it through this module)
from xlner.record import BackTranslation, RunRecord

# --- Arrow types of the run's columns ------------------------------------------------------------

SPAN = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()),
                  ("score", pa.float32())])
PROJECTED = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()),
                       ("source", pa.int32()), ("score", pa.float32())])
UNPROJECTED = pa.struct([("source", pa.int32()), ("reason", pa.string())])
CANDIDATE = pa.struct([("source", pa.int32()), ("start", pa.int32()), ("end", pa.int32()),
                       ("score", pa.float32())])
# A fused candidate also keeps its score components ({"align": .., "ner": ..}) and its origin.
FUSED_CANDIDATE = pa.struct([("source", pa.int32()), ("start", pa.int32()), ("end", pa.int32()),
                             ("score", pa.float32()), ("components", pa.map_(pa.string(), pa.float32())),
                             ("origin", pa.string())])
TOKENS = pa.list_(pa.string())
FLAGS = pa.list_(pa.bool_())
SPANS = pa.list_(SPAN)
PAIRS = pa.list_(pa.list_(pa.int32()))
SCORES = pa.list_(pa.float32())
MATRIX = pa.list_(pa.list_(pa.float32()))

GOLD_SCHEMA = pa.schema([("id", pa.string()), ("source", pa.string()), ("tokens", TOKENS),
                         ("entities", SPANS)])


def spans_of(rows: list[dict] | None) -> list[Span]:
    return [Span(int(r["start"]), int(r["end"]), str(r["label"])) for r in rows or []]


def _span_rows(spans: list[Span], scores: list[float] | None = None) -> list[dict]:
    scores = scores if scores is not None else [1.0] * len(spans)
    return [{"start": s.start, "end": s.end, "label": s.label, "score": float(sc)}
            for s, sc in zip(spans, scores)]


def gold_table(sentences: list[Any]) -> pa.Table:
    """The first table of a run, from :class:`xlner.datamodel.Sentence` objects (``spans`` None:
    the sentence has no gold)."""
    return pa.table({
        "id": [s.id for s in sentences],
        "source": [s.source for s in sentences],
        "tokens": [list(s.tokens) for s in sentences],
        # a sentence without gold (spans None: typed or plain-text input) keeps None, not []
        "entities": [None if s.spans is None else _span_rows(list(s.spans)) for s in sentences],
    }, schema=GOLD_SCHEMA)


# --- transforms ------------------------------------------------------------------------------

def detokenize(table: pa.Table, text: Any, params: dict) -> pa.Table:
    """tokens -> text (what a translator expects)."""
    return pa.table({"text": [text.detokenize(t) for t in table["tokens"].to_pylist()]},
                    schema=pa.schema([("text", pa.string())]))


def translate(table: pa.Table, translator: Any, params: dict) -> pa.Table:
    """(id, text) -> translation, one batched call (ids let a precomputed translator look
    translations up); empty texts are not sent: translators choke on them."""
    texts = table["text"].to_pylist()
    todo = [i for i, t in enumerate(texts) if t.strip()]
    ids = table["id"].to_pylist()
    out = translator.translate([texts[i] for i in todo], ids=[ids[i] for i in todo]) if todo else []
    if len(out) != len(todo):
        raise XlnerError("E705", got=len(out), n=len(todo), sentence=ids[todo[0]])
    translations = [""] * len(texts)
    for i, t in zip(todo, out):
        translations[i] = t
    return pa.table({"translation": translations}, schema=pa.schema([("translation", pa.string())]))


def split_words(table: pa.Table, text: Any, params: dict) -> pa.Table:
    """translation text -> words, plus a per-word flag for words the translator marked unknown
    (Apertium's ``*``; all False when the translator does not mark)."""
    words, unknown = [], []
    for t in table["text"].to_pylist():
        if params.get("unknown_marks") and hasattr(text, "split_marked"):
            w, u = text.split_marked(t)
        else:
            w = text.split_words(t)
            u = [False] * len(w)
        words.append(list(w))
        unknown.append([bool(x) for x in u])
    return pa.table({"tokens": words, "unknown": unknown},
                    schema=pa.schema([("tokens", TOKENS), ("unknown", FLAGS)]))


def tag_entities(table: pa.Table, tagger: Any, params: dict) -> pa.Table:
    """tokens (+ unknown-word flags) -> entities predicted by an NER tagger (with per-entity
    scores). A tagger whose ``tag`` takes ``unknown`` (``mt-marks``) gets the translator's flags."""
    sentences = table["tokens"].to_pylist()
    todo = [i for i, s in enumerate(sentences) if s]
    batch = [sentences[i] for i in todo]
    if todo and "unknown" in table.column_names and "unknown" in inspect.signature(tagger.tag).parameters:
        flags = table["unknown"].to_pylist()
        outputs = tagger.tag(batch, unknown=[flags[i] for i in todo])
    else:
        outputs = tagger.tag(batch) if todo else []
    entities: list[list[dict]] = [[] for _ in sentences]
    for i, out in zip(todo, outputs):
        entities[i] = _span_rows(list(out.spans), list(out.scores) if out.scores is not None else None)
    return pa.table({"entities": entities}, schema=pa.schema([("entities", SPANS)]))


# Tokens that never belong at the edge of an English entity: Apertium writes Basque genitives
# as ``Government's`` and spaCy then often includes the ``'s`` (or a comma) in the entity.
_EDGE_TOKENS = frozenset({"'s", "’s", "'", "’", ",", ".", ";", ":", "the", "The"})


def refine_entities(table: pa.Table, component: Any, params: dict) -> pa.Table:
    """Clean up English entities found on machine-translated text (each fix can be switched off).

    ``trim_edges``: drop possessive clitics, punctuation and articles at an entity's edges.
    ``unknown_names``: a run of capitalised words the translator left untranslated (Apertium's
    ``*``) that the NER missed becomes an entity of this type (null: off); names are what rule-based
    MT does not know. ``retype_unknown``: ``{word ending: type}`` of the source language; an entity
    made only of untranslated words whose last word has this ending gets this type (Basque
    ``Frankfurteko`` "of Frankfurt", ``Moskutik`` "from Moscow" are places, whatever the English
    NER thought: it calls most unknown capitalised words PERSON).
    """
    trim = bool(params.get("trim_edges"))
    unknown_type = params.get("unknown_names")
    endings = sorted((params.get("retype_unknown") or {}).items(), key=lambda kv: -len(kv[0]))
    out = []
    for words, unknown, ents in zip(table["tokens"].to_pylist(), table["unknown"].to_pylist(),
                                    table["entities"].to_pylist()):
        refined = []
        for e in ents:
            start, end = e["start"], e["end"]
            if trim:
                while start < end and words[start] in _EDGE_TOKENS:
                    start += 1
                while end > start and words[end - 1] in _EDGE_TOKENS:
                    end -= 1
            if start >= end:
                continue  # the entity was nothing but punctuation
            label = e["label"]
            if endings and all(unknown[start:end]):
                last = words[end - 1].lower()
                label = next((t for suffix, t in endings
                              if last.endswith(suffix) and len(last) > len(suffix) + 2), label)
            refined.append({**e, "start": start, "end": end, "label": label})
        if unknown_type:
            covered = np.zeros(len(words), dtype=bool)
            for e in refined:
                covered[e["start"]:e["end"]] = True
            i = 0
            while i < len(words):
                if unknown[i] and not covered[i] and words[i][:1].isupper():
                    j = i
                    while j < len(words) and unknown[j] and not covered[j] and words[j][:1].isupper():
                        j += 1
                    refined.append({"start": i, "end": j, "label": unknown_type, "score": 0.5})
                    i = j
                else:
                    i += 1
            refined.sort(key=lambda e: (e["start"], e["end"]))
        out.append(refined)
    return pa.table({"entities": out}, schema=pa.schema([("entities", SPANS)]))


def select_labels(table: pa.Table, component: Any, params: dict) -> pa.Table:
    """Keep only entities of the evaluated types (the paper drops MISC when the target has none)."""
    labels = params.get("labels")
    rows = table["entities"].to_pylist()
    if labels:
        keep = set(labels)
        rows = [[e for e in ents if e["label"] in keep] for ents in rows]
    return pa.table({"entities": rows}, schema=pa.schema([("entities", SPANS)]))


def align(table: pa.Table, aligner: Any, params: dict) -> pa.Table:
    """(src_tokens, tgt_tokens) -> alignment pairs, per-link scores and the similarity matrix."""
    src = table["src_tokens"].to_pylist()
    tgt = table["tgt_tokens"].to_pylist()
    todo = [i for i in range(len(src)) if src[i] and tgt[i]]
    results = aligner.align([src[i] for i in todo], [tgt[i] for i in todo]) if todo else []
    if len(results) != len(todo):
        raise XlnerError("E706", got=len(results), n=len(todo))
    empty = Alignment(np.zeros((0, 2), dtype=np.int64))
    aligned: list[Alignment] = [empty] * len(src)
    for i, a in zip(todo, results):
        aligned[i] = a
    keep_similarity = params.get("keep_similarity", True)
    pairs, scores, sims = [], [], []
    for a in aligned:
        pairs.append(a.pairs.tolist())
        scores.append(None if a.scores is None else a.scores.astype(np.float32).tolist())
        sims.append(None if (a.similarity is None or not keep_similarity)
                    else np.round(np.asarray(a.similarity, dtype=np.float32), 3).tolist())
    return pa.table({"alignment": pairs, "alignment_scores": scores, "similarity": sims},
                    schema=pa.schema([("alignment", PAIRS), ("alignment_scores", SCORES),
                                      ("similarity", MATRIX)]))


def _projection_records(rows: list[dict]) -> list[RunRecord]:
    """The records a projection step projects (English side, target tokens, alignment)."""
    return [RunRecord(r["id"], r["tgt_tokens"], None, src_tokens=r["src_tokens"],
                      src_entities=[ScoredSpan(s) for s in spans_of(r["src_entities"])],
                      alignment=Alignment(np.asarray(r["alignment"] or [], dtype=np.int64).reshape(-1, 2),
                                          r.get("alignment_scores")))
            for r in rows]


def project_entities(table: pa.Table, projector: Any, params: dict) -> pa.Table:
    """Project source entities onto the target tokens with one method
    (:func:`xlner.project.project_records`, the function the explorer re-projects records with).

    ``params``: ``method``, ``options`` (the method's parameters) and ``target_scores``
    (matching methods only): ``{name: weight}`` of target-side candidate scores from
    :data:`xlner.project.records.TARGET_SCORES` added to the alignment score.
    """
    from xlner.project import project_records

    rows = table.select(["id", "src_tokens", "tgt_tokens", "src_entities", "alignment",
                         "alignment_scores"]).to_pylist()
    return _projection_table(project_records(_projection_records(rows), params["method"], params))


#: The shard size of steps that must see the whole run at once (one shard, however large the run).
WHOLE_RUN = 2**31 - 1


def vote_types(table: pa.Table, _component: Any, params: dict) -> pa.Table:
    """(target tokens, projected entities) of the WHOLE run -> the entities with one type per
    surface form (:func:`xlner.project.consistency.vote_types`, ``params["min_count"]``); run as
    one shard (:data:`WHOLE_RUN`), after the projection step."""
    from xlner.project.consistency import vote_types as vote

    rows = table["entities"].to_pylist()
    voted = vote(table["tokens"].to_pylist(), [spans_of(r) for r in rows], int(params["min_count"]))
    entities = [[{**row, "label": span.label} for row, span in zip(sentence, spans)]
                for sentence, spans in zip(rows, voted)]
    return pa.table({"entities": entities}, schema=pa.schema([("entities", pa.list_(PROJECTED))]))


def tag_target(table: pa.Table, tagger: Any, params: dict) -> pa.Table:
    """target tokens -> the target tagger's spans (with confidences), per-word IOB2 probabilities
    and their columns (the inputs of the fused projection methods). Empty sentences get nothing."""
    sentences = table["tokens"].to_pylist()
    todo = [i for i, s in enumerate(sentences) if s]
    outputs = tagger.tag([sentences[i] for i in todo]) if todo else []
    entities: list[list[dict]] = [[] for _ in sentences]
    probs: list[list[list[float]] | None] = [None] * len(sentences)
    columns: list[list[str]] = [[] for _ in sentences]
    for i, out in zip(todo, outputs):
        entities[i] = _span_rows(list(out.spans), list(out.scores) if out.scores is not None else None)
        if out.probs is not None:
            probs[i] = np.asarray(out.probs, dtype=np.float32).tolist()
        columns[i] = list(out.labels)
    return pa.table({"entities": entities, "probs": probs, "columns": columns},
                    schema=pa.schema([("entities", SPANS), ("probs", MATRIX), ("columns", TOKENS)]))


def project_fused(table: pa.Table, projector: Any, params: dict) -> pa.Table:
    """The projection step of the fused methods (``match-fused``, ``match-fused+ensemble``): as
    :func:`project_entities`, plus the target tagger's output (:func:`tag_target`) on each sentence
    and, with an ``nmt`` weight, the NMT scores (column ``nmt_scores``, :mod:`xlner.pipeline.nmt`)."""
    from xlner.project import project_records
    from xlner.project.fused import TargetNer

    rows = table.to_pylist()
    ner = [TargetNer(spans_of(r["tgt_ner_entities"]), [float(e["score"]) for e in r["tgt_ner_entities"] or []],
                     np.asarray(r["tgt_ner_probs"] or [], dtype=np.float64).reshape(len(r["tgt_tokens"]),
                                                                                   len(r["tgt_ner_columns"] or [])),
                     list(r["tgt_ner_columns"] or []))
           if r["tgt_ner_columns"] else None for r in rows]
    nmt = [_nmt_matrix(r["nmt_scores"]) for r in rows] if "nmt_scores" in table.column_names else None
    return _projection_table(project_records(_projection_records(rows), params["method"], params, ner, nmt),
                             fused=True)


def _nmt_matrix(rows: list[list[float]] | None) -> np.ndarray | None:
    """A stored ``(n_entities, n_candidates)`` NMT score matrix (None: a sentence without entities)."""
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1) if rows else None


def _projection_table(results: list, fused: bool = False) -> pa.Table:
    """The output columns of a projection step: one row per sentence's :class:`ProjectionResult`
    (``fused``: candidates keep their score components and origin)."""
    def candidate(c: Any) -> dict:
        row = c.to_dict()
        if fused:
            row["components"] = list((row.get("components") or {}).items())
            row.setdefault("origin", None)
        return row
    return pa.table({"entities": [[p.to_dict() for p in res.projected] for res in results],
                     "unprojected": [[u.to_dict() for u in res.unprojected] for res in results],
                     "candidates": [[candidate(c) for c in res.candidates] for res in results]},
                    schema=pa.schema([("entities", pa.list_(PROJECTED)),
                                      ("unprojected", pa.list_(UNPROJECTED)),
                                      ("candidates", pa.list_(FUSED_CANDIDATE if fused else CANDIDATE))]))


# --- back-translation (method.md §5, "tgt2tgt") ----------------------------------------------------

def back_translate(table: pa.Table, translator: Any, params: dict) -> pa.Table:
    """(id, English tokens, English entities) -> the marked back-translation and each entity's
    translation alone, with an English -> target translator that keeps ``[ ]`` markers.

    Two batched calls: the marked sentences (a sentence without entities is not sent: its text
    is ``""``) and the distinct entity strings.
    """
    from xlner.translate import MARKERS, mark_entities

    markers = tuple(params.get("markers") or MARKERS)
    ids = table["id"].to_pylist()
    entities = [spans_of(rows) for rows in table["entities"].to_pylist()]
    marked, surfaces = mark_entities(table["tokens"].to_pylist(), entities, markers)
    todo = [i for i, t in enumerate(marked) if t]
    out = translator.translate([marked[i] for i in todo], ids=[ids[i] for i in todo]) if todo else []
    distinct = sorted({x for xs in surfaces for x in xs})
    alone = translator.translate(distinct) if distinct else []
    if len(out) != len(todo) or len(alone) != len(distinct):
        first = ids[todo[0]] if todo else ids[0] if ids else "?"
        raise XlnerError("E725", got=len(out), n=len(todo), got_alone=len(alone), n_alone=len(distinct),
                         sentence=first)
    texts = [""] * len(marked)
    for i, t in zip(todo, out):
        texts[i] = t
    lookup = dict(zip(distinct, alone))
    return pa.table({"text": texts, "entity_texts": [[lookup[x] for x in xs] for xs in surfaces]},
                    schema=pa.schema([("text", pa.string()), ("entity_texts", TOKENS)]))


def recover_back_translation(table: pa.Table, component: Any, params: dict) -> pa.Table:
    """Marked back-translation -> its words, the typed spans recovered from the markers (with the
    English entity each came from and the difflib ratio as score) and the English entities that
    got no span, with the reason (``marker_lost`` / ``marker_unbalanced`` / ``marker_moved``)."""
    from xlner.translate import MARKERS, recover_back_translation as recover

    markers = tuple(params.get("markers") or MARKERS)
    min_ratio = float(params.get("min_ratio", 0.5))
    words, spans, lost = [], [], []
    for text, alone, ents in zip(table["text"].to_pylist(), table["entity_texts"].to_pylist(),
                                 table["entities"].to_pylist()):
        res = recover(text, alone or [], [e["label"] for e in ents], min_ratio=min_ratio,
                      markers=markers)
        words.append(res.words)
        spans.append([{**s.to_dict(), "source": k, "score": sc}
                      for s, k, sc in zip(res.spans, res.sources, res.scores)])
        lost.append([u.to_dict() for u in res.lost])
    return pa.table({"tokens": words, "entities": spans, "lost": lost},
                    schema=pa.schema([("tokens", TOKENS), ("entities", pa.list_(PROJECTED)),
                                      ("lost", pa.list_(UNPROJECTED))]))


def project_back_translation_step(table: pa.Table, projector: Any, params: dict) -> pa.Table:
    """The projection step of a back-translation run: back-translation spans -> target tokens.

    ``params``: ``method`` (the projection from the back-translation onto the sentence),
    ``options`` and ``target_scores`` as in :func:`project_entities`.
    """
    from xlner.project import project_back_translations

    records = [RunRecord(r["id"], r["tgt_tokens"], None, back_translation=BackTranslation(
        text="", entity_texts=[], tokens=r["bt_tokens"] or [],
        entities=[ProjectedEntity(s, int(e["source"]), float(e["score"]))
                  for s, e in zip(spans_of(r["bt_entities"]), r["bt_entities"] or [])],
        lost=[Unprojected(int(u["source"]), Reason(u["reason"])) for u in r["bt_lost"] or []],
        alignment=Alignment(np.asarray(r["bt_alignment"] or [], dtype=np.int64).reshape(-1, 2),
                            r.get("bt_alignment_scores"))))
               for r in table.to_pylist()]
    return _projection_table(project_back_translations(records, params["method"], params))
