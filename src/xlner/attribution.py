"""Per-stage error attribution: which stage of translate-test caused each error of a projection.

Every error of one sentence (a gold entity ``missed``, a ``spurious`` projection, a wrong ``type``,
a wrong ``boundary``) is given to exactly one stage:

  translation   the entity's words were dropped or mangled by machine translation;
  english_ner   the English side had the words but no entity, a wrong type or a wrong extent;
  alignment     the English entity was right but its links point elsewhere;
  projection    the links were right, the projection rules lost or cut the entity.

The rules, in the order they are tried, are written down in ``docs/attribution.md``; each rule has
an id (``missed.dropped``, ``boundary.links_right``, ...) that :class:`Attribution` carries, so a
count can always be traced back to the rule that made it. The errors themselves are the
evaluation's (:func:`xlner.evaluate.sentence_categories`, nervaluate's pairing), so the counts add
up to what ``xlner evaluate`` reports.

Everything here is a pure function of plain values: spans are anything with ``start``, ``end``,
``label`` (attributes or mapping keys, end exclusive), links are ``(english_index, target_index)``
pairs. :func:`attribute` takes the fields one by one; :func:`attribute_record` takes a typed run record
or a records.jsonl object.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from xlner.errors import XlnerError
from xlner.evaluate import sentence_categories

Stage = Literal["translation", "english_ner", "alignment", "projection"]
ErrorKind = Literal["missed", "spurious", "type", "boundary"]
STAGES: tuple[Stage, ...] = ("translation", "english_ner", "alignment", "projection")
ERRORS: tuple[ErrorKind, ...] = ("missed", "spurious", "type", "boundary")

_UNKNOWN_MARKS = "*#@"  # Apertium's marks of words it could not translate (as in xlner.text)
_MIN_SHARED_PREFIX = 4  # "Bilboko" ~ "Bilbao", "Gasteizen" ~ "Gasteiz": case endings differ


@dataclass(frozen=True)
class SpanRef:
    """A span ``[start, end)`` with its label; ``source`` is the English entity a projection came from."""

    start: int
    end: int
    label: str
    source: int | None = None

    @property
    def tokens(self) -> range:
        return range(self.start, self.end)


@dataclass(frozen=True)
class Attribution:
    """One error of one sentence and the stage it is attributed to.

    ``gold`` and ``pred`` are target-side spans (one of them is ``None`` for missed / spurious),
    ``english`` the English entity involved (``None`` when there is none), ``rule`` the id of the
    rule that decided (docs/attribution.md) and ``why`` the same in words, for the explorer.
    """

    error: ErrorKind
    stage: Stage
    rule: str
    why: str
    gold: SpanRef | None = None
    pred: SpanRef | None = None
    english: SpanRef | None = None

    @property
    def span(self) -> SpanRef:
        """The target span the error is about: the projection for spurious, else the gold entity."""
        span = self.pred if self.error == "spurious" else self.gold
        assert span is not None
        return span


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def span_ref(obj: Any) -> SpanRef:
    """A :class:`SpanRef` from a dict, a :class:`~xlner.datamodel.Span` or a projected entity
    (``ProjectedEntity`` keeps its span in ``.span``)."""
    inner = _get(obj, "span")
    base = inner if inner is not None and not isinstance(obj, Mapping) else obj
    source = _get(obj, "source")
    return SpanRef(int(_get(base, "start")), int(_get(base, "end")), str(_get(base, "label")),
                   None if source is None else int(source))


def _norm(word: str) -> str:
    word = unicodedata.normalize("NFC", word).casefold()
    word = word.lstrip(_UNKNOWN_MARKS)
    return "".join(ch for ch in word if ch.isalnum())


def same_word(a: str, b: str) -> bool:
    """Whether a target word and an English word are the same name (copied or case-inflected):
    equal after case folding, or sharing a prefix of at least 4 letters that is 60 % of the
    shorter word (``Bilboko`` ~ ``Bilbao``, ``Gasteizen`` ~ ``Gasteiz``)."""
    a, b = _norm(a), _norm(b)
    if not a or not b:
        return False
    if a == b:
        return True
    shared = 0
    for x, y in zip(a, b):
        if x != y:
            break
        shared += 1
    return shared >= _MIN_SHARED_PREFIX and shared >= 0.6 * min(len(a), len(b))


def _is_name_like(word: str, unknown: bool) -> bool:
    """A word that can render a name: capitalised, or left untranslated by the translator."""
    return unknown or word.lstrip(_UNKNOWN_MARKS)[:1].isupper()


class _Sentence:
    """The links and words of one sentence, indexed once for the rules."""

    def __init__(self, tgt_tokens: Sequence[str], src_tokens: Sequence[str],
                 src_unknown: Sequence[bool] | None, links: Iterable[Sequence[int]]) -> None:
        self.tgt, self.src = list(tgt_tokens), list(src_tokens)
        self.unknown = list(src_unknown) if src_unknown else [False] * len(self.src)
        self.by_src: dict[int, set[int]] = {}
        self.by_tgt: dict[int, set[int]] = {}
        for pair in links:
            i, j = int(pair[0]), int(pair[1])
            self.by_src.setdefault(i, set()).add(j)
            self.by_tgt.setdefault(j, set()).add(i)

    def english_of(self, span: SpanRef) -> set[int]:
        """English words linked to a target span."""
        return set().union(*(self.by_tgt.get(j, set()) for j in span.tokens))

    def target_of(self, english: SpanRef) -> set[int]:
        """Target words the English entity's links point to."""
        return set().union(*(self.by_src.get(i, set()) for i in english.tokens))

    def only_inside(self, span: SpanRef) -> set[int]:
        """English words linked to the target span and to nothing outside it."""
        inside = set(span.tokens)
        return {i for i in self.english_of(span) if self.by_src.get(i, set()) <= inside}

    def matching(self, span: SpanRef) -> set[int]:
        """English words that are the same name as a word of the target span (copied or inflected)."""
        words = [self.tgt[j] for j in span.tokens if j < len(self.tgt)]
        return {i for i, w in enumerate(self.src) if any(same_word(t, w) for t in words)}

    def renders(self, english: SpanRef, gold: SpanRef) -> int:
        """How strongly an English entity stands for a gold entity: links into it plus shared words."""
        linked = len(self.target_of(english) & set(gold.tokens))
        shared = len(set(english.tokens) & self.matching(gold))
        return linked + shared

    def name_like(self, i: int) -> bool:
        return _is_name_like(self.src[i], bool(self.unknown[i]) if i < len(self.unknown) else False)


def _best_english(s: _Sentence, gold: SpanRef, english: Sequence[SpanRef]) -> int | None:
    """The English entity that stands for ``gold`` (most links + shared words, same label first)."""
    scored = [(s.renders(e, gold), e.label == gold.label, -k, k) for k, e in enumerate(english)]
    scored = [x for x in scored if x[0] > 0]
    return max(scored)[3] if scored else None


def _missed(s: _Sentence, g: SpanRef, english: list[SpanRef], unprojected: dict[int, str]) -> Attribution:
    k = _best_english(s, g, english)
    if k is not None:
        e = english[k]
        if k in unprojected:
            reason = unprojected[k]
            if reason == "unaligned":
                return Attribution("missed", "alignment", "missed.unaligned",
                                   f"the English entity {e.label} has no links, so it could not be projected",
                                   gold=g, english=e)
            return Attribution("missed", "projection", f"missed.unprojected.{reason}",
                               f"the English entity {e.label} was aligned but not projected ({reason})",
                               gold=g, english=e)
        if s.target_of(e) & set(g.tokens):
            return Attribution("missed", "projection", "missed.projected_elsewhere",
                               "the English entity is linked to these words, but the projection placed it "
                               "elsewhere", gold=g, english=e)
        return Attribution("missed", "alignment", "missed.links_elsewhere",
                           "the English entity has the same words, but its links point elsewhere",
                           gold=g, english=e)
    words = s.english_of(g) | s.matching(g)
    if not words:
        return Attribution("missed", "translation", "missed.dropped",
                           "no English word renders the entity: the translation dropped it", gold=g)
    gold_is_name = any(w[:1].isupper() for w in (s.tgt[j] for j in g.tokens if j < len(s.tgt)))
    if gold_is_name and not any(s.name_like(i) for i in words):
        return Attribution("missed", "translation", "missed.mangled",
                           "the name was translated as common words, so the English NER could not see it",
                           gold=g)
    return Attribution("missed", "english_ner", "missed.no_english_entity",
                       "the English side has the words, but the English NER tagged no entity there", gold=g)


def _spurious(s: _Sentence, p: SpanRef, english: list[SpanRef], golds: list[SpanRef]) -> Attribution:
    e = english[p.source] if p.source is not None and 0 <= p.source < len(english) else None
    if e is not None:
        candidates = [g for g in golds if not (g.start < p.end and p.start < g.end) and s.renders(e, g) > 0]
        if candidates:
            g = max(candidates, key=lambda g: s.renders(e, g))
            if s.target_of(e) & set(g.tokens):
                return Attribution("spurious", "projection", "spurious.projected_elsewhere",
                                   "the English entity is linked to a gold entity, but the projection placed it "
                                   "elsewhere", pred=p, english=e, gold=g)
            return Attribution("spurious", "alignment", "spurious.links_elsewhere",
                               "the English entity stands for a gold entity, but its links point elsewhere",
                               pred=p, english=e, gold=g)
    return Attribution("spurious", "english_ner", "spurious.no_gold_entity",
                       "the English NER tagged an entity the gold does not have", pred=p, english=e)


def _type(g: SpanRef, p: SpanRef, english: list[SpanRef]) -> Attribution:
    e = english[p.source] if p.source is not None and 0 <= p.source < len(english) else None
    if e is not None and e.label == g.label:
        return Attribution("type", "projection", "type.relabelled",
                           f"the English entity is {e.label}, the projection changed it to {p.label}",
                           gold=g, pred=p, english=e)
    return Attribution("type", "english_ner", "type.english_label",
                       f"the English NER typed the entity {p.label}, the gold says {g.label}",
                       gold=g, pred=p, english=e)


def _boundary(s: _Sentence, g: SpanRef, p: SpanRef, english: list[SpanRef]) -> Attribution:
    e = english[p.source] if p.source is not None and 0 <= p.source < len(english) else None
    if e is None:
        return Attribution("boundary", "projection", "boundary.no_english_entity",
                           "the projection has no English entity to compare with", gold=g, pred=p)
    linked = s.target_of(e)
    if linked and (min(linked), max(linked) + 1) == (g.start, g.end):
        return Attribution("boundary", "projection", "boundary.links_right",
                           "the links of the English entity cover exactly the gold words; the projection "
                           "rules cut or extended the span", gold=g, pred=p, english=e)
    if s.only_inside(g) - set(e.tokens):
        return Attribution("boundary", "english_ner", "boundary.english_too_short",
                           "the English entity leaves out English words that render the gold entity",
                           gold=g, pred=p, english=e)
    inside = set(g.tokens)
    extra = [i for i in e.tokens if s.by_src.get(i) and not (s.by_src[i] & inside) and not s.name_like(i)]
    if extra:
        return Attribution("boundary", "english_ner", "boundary.english_too_long",
                           "the English entity takes in common words that render words outside the gold entity",
                           gold=g, pred=p, english=e)
    return Attribution("boundary", "alignment", "boundary.links_off",
                       "the English entity covers the gold entity's words, but its links do not cover the gold "
                       "span", gold=g, pred=p, english=e)


def attribute(*, gold: Sequence[Any] | None, tgt_tokens: Sequence[str], src_tokens: Sequence[str],
              src_entities: Sequence[Any], links: Iterable[Sequence[int]], projected: Sequence[Any],
              unprojected: Sequence[Any] = (), src_unknown: Sequence[bool] | None = None) -> list[Attribution]:
    """Every error of one sentence with the stage it is attributed to, in sentence order.

    ``gold``: the target-side gold spans, or ``None`` when the sentence has no gold (a typed
    sentence, a plain-text file): then there are no errors to attribute and the result is empty.
    ``projected``: the projected spans, each with ``source`` (its English entity's index);
    ``unprojected``: ``{source, reason}`` of the English entities that were not projected.
    """
    if gold is None:
        return []
    golds = sorted((span_ref(x) for x in gold), key=lambda r: (r.start, r.end, r.label))
    preds = sorted((span_ref(x) for x in projected), key=lambda r: (r.start, r.end, r.label))
    english = [span_ref(x) for x in src_entities]
    reasons = {int(_get(u, "source")): str(getattr(_get(u, "reason"), "value", _get(u, "reason")))
               for u in unprojected}
    s = _Sentence(tgt_tokens, src_tokens, src_unknown, links)
    pairs = sentence_categories([(r.label, r.start, r.end - 1) for r in golds],
                                [(r.label, r.start, r.end - 1) for r in preds])
    out: list[Attribution] = []
    for category, i, j in pairs:
        g = golds[i] if i is not None else None
        p = preds[j] if j is not None else None
        if category == "correct":
            continue
        if category == "missing" and g is not None:
            out.append(_missed(s, g, english, reasons))
        elif category == "spurious" and p is not None:
            out.append(_spurious(s, p, english, golds))
        elif category == "incorrect" and g is not None and p is not None:
            out.append(_type(g, p, english))
        elif category == "partial" and p is not None:
            # A second projection inside one gold entity has no free partner; it is still a
            # boundary error to the evaluation, so it is judged against the gold entity it overlaps.
            g = g or next(x for x in golds if x.start < p.end and p.start < x.end)
            out.append(_boundary(s, g, p, english))
    out.sort(key=lambda a: (a.span.start, a.span.end, ERRORS.index(a.error)))
    return out


def attribute_record(record: Any) -> list[Attribution]:
    """:func:`attribute` over one run record: a typed record (``gold``, ``alignment.pairs``,
    ``projection.projected`` / ``.unprojected``) or a records.jsonl object (docs/run-format.md).
    A record without gold (``None``) gives no errors."""
    if not isinstance(record, Mapping):
        return attribute(gold=record.gold, tgt_tokens=record.tgt_tokens, src_tokens=record.src_tokens,
                         src_entities=record.src_entities, links=record.alignment.pairs,
                         projected=record.projection.projected, unprojected=record.projection.unprojected,
                         src_unknown=record.src_unknown)
    return attribute(gold=record.get("gold_entities"), tgt_tokens=record["tgt_tokens"],
                     src_tokens=record["src_tokens"], src_entities=record["src_entities"],
                     links=record.get("alignment") or [], projected=record["tgt_entities"],
                     unprojected=record.get("unprojected") or [], src_unknown=record.get("src_unknown"))


def stage_counts(attributions: Iterable[Attribution]) -> dict[str, dict[str, int]]:
    """``{error kind: {stage: count}}`` with every kind and stage present (zeros included) and a
    ``total`` row, for a per-run breakdown."""
    counts = Counter((a.error, a.stage) for a in attributions)
    table: dict[str, dict[str, int]] = {k: {st: counts[(k, st)] for st in STAGES} for k in ERRORS}
    table["total"] = {st: sum(table[k][st] for k in ERRORS) for st in STAGES}
    return table


# --- a whole run ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunAttribution:
    """Every error of a run with its stage: ``errors`` pairs a sentence id with one attribution.

    ``n_sentences`` counts the run's sentences, ``n_no_gold`` those without gold (typed sentences,
    plain text): they have nothing to attribute and are counted apart, never as errors.
    """

    errors: tuple[tuple[str, Attribution], ...]
    n_sentences: int
    n_no_gold: int

    @property
    def has_gold(self) -> bool:
        return self.n_sentences > self.n_no_gold

    def counts(self) -> dict[str, dict[str, int]]:
        """:func:`stage_counts` of the run's errors."""
        return stage_counts(a for _, a in self.errors)

    def rule_counts(self) -> dict[str, int]:
        """How many errors each rule decided (most first), to trace a count to its rule."""
        return dict(Counter(a.rule for _, a in self.errors).most_common())

    def to_dict(self) -> dict[str, Any]:
        return {"n_sentences": self.n_sentences, "n_no_gold": self.n_no_gold, "n_errors": len(self.errors),
                "stages": self.counts(), "rules": self.rule_counts()}


def attribute_run(records: Iterable[Any]) -> RunAttribution:
    """:func:`attribute_record` over every record of a run (typed records or records.jsonl objects)."""
    errors: list[tuple[str, Attribution]] = []
    n = n_no_gold = 0
    for record in records:
        n += 1
        gold = record.get("gold_entities") if isinstance(record, Mapping) else record.gold
        if gold is None:
            n_no_gold += 1
            continue
        sid = str(_get(record, "id"))
        errors += [(sid, a) for a in attribute_record(record)]
    return RunAttribution(tuple(errors), n, n_no_gold)


def breakdown_text(result: RunAttribution) -> str:
    """The per-stage table ``xlner evaluate RUN_DIR`` prints: one row per error kind, one column
    per stage, a total row and column; then the rules that decided, most frequent first."""
    if not result.has_gold:
        return f"per-stage attribution: no gold in any of the {result.n_sentences} sentences, nothing to attribute"
    table = result.counts()
    width = max(len(s) for s in STAGES) + 2
    head = "error".ljust(10) + "".join(s.rjust(width) for s in STAGES) + "total".rjust(8)
    lines = [f"per-stage attribution (docs/attribution.md): {len(result.errors)} errors in "
             f"{result.n_sentences - result.n_no_gold} sentences with gold", head]
    for kind in (*ERRORS, "total"):
        row = table[kind]
        lines.append(kind.ljust(10) + "".join(str(row[s]).rjust(width) for s in STAGES)
                     + str(sum(row.values())).rjust(8))
    if result.n_no_gold:
        lines.append(f"({result.n_no_gold} sentences without gold left out)")
    rules = result.rule_counts()
    if rules:
        lines.append("rules: " + ", ".join(f"{rule} {n}" for rule, n in rules.items()))
    return "\n".join(lines)


def evaluate_run_dir(run_dir: str | Path, *, mode: str = "default",
                     ignore_labels: Sequence[str] = ()) -> tuple[list[Any], list[Any], Any, RunAttribution]:
    """A run folder's gold against its projection (``xlner.evaluate.evaluate``) and the per-stage
    attribution of its errors: ``(gold sentences, projected sentences, report, attribution)``.

    Sentences without gold are left out of the scores (the attribution counts them apart); a run
    with no gold at all cannot be scored (E724). A folder that is not a run is E712 / E920.
    """
    from xlner.evaluate import evaluate
    from xlner.record import evaluation_sentences
    from xlner.runs import RECORDS, read_records

    path = Path(run_dir)
    if not path.is_dir():
        raise XlnerError("E712", path=path)
    if not (path / RECORDS).is_file():
        raise XlnerError("E920", path=path, records=RECORDS)
    records = read_records(path / RECORDS)
    scored = [r for r in records if r.gold is not None] or records  # none with gold: E724 names one
    gold, pred = evaluation_sentences(scored, f"run {path}")
    report = evaluate(gold, pred, mode=mode, ignore_labels=ignore_labels)
    return gold, pred, report, attribute_run(records)
