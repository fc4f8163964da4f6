"""Low-level readers: a file's sentences with their raw tags, as written (CoNLL columns, JSON lines,
XTREME PAN-X), with the checks on bytes, encoding and layout that name the file and line."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlner.datamodel import Span
from xlner.errors import XlnerError, warn, where
from xlner.tagging import spans_to_tags

FORMATS = ("auto", "conll", "jsonl", "panx")


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
