"""Dataset readers and writers: CoNLL column files, JSON lines, XTREME PAN-X and the HF hub.

``read_dataset(path)`` returns a :class:`~xlner.datamodel.Dataset` whose sentences carry IOB2-
normalised spans, after an optional label map (drop DATE, map OntoNotes types, ...).

Formats
- ``conll``: ``token ... TAG`` per line (the tag is the last column, the token the first),
  columns separated by spaces or tabs, a blank line between sentences, optional ``-DOCSTART-``
  lines (a document boundary, never a token). Every non-blank line must have the same number of
  columns (at least two).
- ``jsonl``: one JSON object per line with ``tokens`` and ``tags`` (or ``ner_tags`` as strings, or
  ``spans``: ``[{"start", "end", "label"}]``), plus an optional ``id`` (kept as is) or ``idx``
  (BasqueGLUE; the sentence id becomes ``<split>:<idx>``).
- ``panx``: XTREME PAN-X, ``lang:token<TAB>TAG``, blank-line separated.
- ``hf:<dataset>[:<config>]:<split>``: the Hugging Face hub (needs the ``hub`` extra and network),
  e.g. ``hf:masakhane/masakhaner2:swa:test`` or ``hf:google/xtreme:PAN-X.eu:validation``.

Sentence ids are ``<split>:<index>`` (``split`` = file stem, e.g. ``test:12``) unless the file
has its own ids; if those repeat (BasqueGLUE's out-of-domain train), a warning is given and the
positional ids are used. ``Sentence.source`` is ``path:line`` of the sentence's first line.

Errors (E1xx) name the file, the line and the sentence; nothing is ever skipped silently.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from xlner.datamodel import Dataset, Sentence, Span
from xlner.errors import XlnerError, where
from xlner.tagging import (TagError, check_scheme, detect_scheme, normalise_scheme, parse_tag,
                           spans_to_tags, tags_to_spans)

FORMATS = ("auto", "conll", "jsonl", "panx")
LABELMAP_DIR = Path(__file__).parent / "labelmaps"

# E1xx: data reading and writing.
E_NOT_FOUND = "E101"
E_EMPTY = "E102"
E_UTF8 = "E103"
E_COLUMNS = "E104"
E_TAG = "E105"
E_SCHEME = "E106"
E_JSON = "E107"
E_RECORD = "E108"
E_LENGTH = "E109"
E_FORMAT = "E110"
E_HUB_MISSING = "E111"
E_HUB_LOAD = "E112"
E_HUB_SPEC = "E113"
E_LABELMAP = "E114"
E_PANX = "E115"
E_WRITE = "E116"


class MojibakeWarning(UserWarning):
    """Text that looks double-encoded (UTF-8 read as Latin-1/cp1252), e.g. ``Ã©`` for ``é``."""


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


# --- label maps -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelMap:
    """Type renaming / dropping declared as data (``labelmaps/*.yaml``).

    YAML keys: ``name``, ``description``, ``map`` (``{FROM: TO}``), ``drop`` (types set to O) and
    ``keep`` (optional whitelist: every type not listed, after mapping, is set to O).
    A file holding only ``FROM: TO`` pairs is a closed mapping: unlisted types are set to O.
    """

    name: str = "custom"
    map: Mapping[str, str] = None  # type: ignore[assignment]
    drop: frozenset[str] = frozenset()
    keep: frozenset[str] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "map", dict(self.map or {}))

    def label(self, label: str) -> str | None:
        """The mapped label, or None when the entity is dropped."""
        if label in self.drop:
            return None
        new = self.map.get(label, label)
        if new in self.drop or (self.keep is not None and new not in self.keep):
            return None
        return new

    def apply(self, spans: Iterable[Span]) -> list[Span]:
        out = []
        for s in spans:
            new = self.label(s.label)
            if new is not None:
                out.append(s if new == s.label else Span(s.start, s.end, new))
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], origin: str = "label map") -> "LabelMap":
        if not isinstance(d, Mapping):
            raise XlnerError(E_LABELMAP, f"{origin}: a label map must be a mapping with keys map/drop/keep")
        reserved = {"name", "description", "map", "drop", "keep"}
        if d and not set(d) & reserved and all(isinstance(v, str) for v in d.values()):
            # The short form ``FROM: TO`` (e.g. ontonotes_to_conll.yaml): a closed mapping, so a type
            # that is not listed is dropped.
            d = {"map": dict(d), "keep": sorted(set(d.values()))}
        unknown = set(d) - reserved
        if unknown:
            raise XlnerError(E_LABELMAP, f"{origin}: unknown keys {sorted(unknown)}",
                             hint="allowed keys: name, description, map, drop, keep")
        mapping = d.get("map") or {}
        drop = d.get("drop") or []
        keep = d.get("keep")
        if not isinstance(mapping, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and v and not re.search(r"\s", v)
                for k, v in mapping.items()):
            raise XlnerError(E_LABELMAP, f"{origin}: 'map' must map type names to non-empty type names")
        for key, value in (("drop", drop), ("keep", keep if keep is not None else [])):
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise XlnerError(E_LABELMAP, f"{origin}: '{key}' must be a list of type names")
        clash = set(mapping) & set(drop)
        if clash:
            raise XlnerError(E_LABELMAP, f"{origin}: types {sorted(clash)} are both mapped and dropped")
        return cls(name=str(d.get("name", Path(origin).stem)), map=mapping, drop=frozenset(drop),
                   keep=None if keep is None else frozenset(keep),
                   description=str(d.get("description", "")))


def available_label_maps() -> list[str]:
    return sorted(p.stem for p in LABELMAP_DIR.glob("*.yaml"))


def load_label_map(spec: "LabelMap | Mapping[str, Any] | str | Path | None") -> LabelMap | None:
    """A LabelMap from an object, a dict, a bundled name (``masakhaner``) or a YAML path."""
    if spec is None or isinstance(spec, LabelMap):
        return spec
    if isinstance(spec, Mapping):
        return LabelMap.from_dict(spec)
    path = Path(spec)
    if not path.suffix and (LABELMAP_DIR / f"{spec}.yaml").exists():
        path = LABELMAP_DIR / f"{spec}.yaml"
    if not path.exists():
        raise XlnerError(E_LABELMAP, f"label map {str(spec)!r} not found",
                         hint=f"give a YAML file or one of: {', '.join(available_label_maps())}")
    try:
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise XlnerError(E_LABELMAP, f"{path}: not valid YAML ({exc})") from None
    return LabelMap.from_dict(d or {}, origin=str(path))


# --- low-level readers (raw tags) -------------------------------------------------------------

def _read_text(path: Path) -> str:
    """The file as text; broken UTF-8 is reported with its line number."""
    if not path.exists():
        raise XlnerError(E_NOT_FOUND, f"{path}: no such file")
    if path.is_dir():
        raise XlnerError(E_NOT_FOUND, f"{path}: is a directory, expected a data file",
                         hint="give one split, e.g. .../swa/test.txt")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise XlnerError(E_UTF8, f"{where(path, line)}: not valid UTF-8 (byte {data[exc.start]:#04x} "
                                 f"at column {col})",
                         hint="convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise XlnerError(E_EMPTY, f"{path}: the file is empty")
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
            tokens.clear(), tags.clear(), lines.clear()

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
        sent_id = f"{split}:{len(sentences)}"
        if len(cols) < 2:
            raise XlnerError(E_COLUMNS, f"{where(path, lineno, sent_id)}: expected a token and a tag, "
                                        f"found {len(cols)} column: {line!r}",
                             hint="every non-blank line needs `token TAG`; sentences are separated "
                                  "by blank lines")
        if n_columns == 0:
            n_columns, first_columns_line = len(cols), lineno
        elif len(cols) != n_columns:
            raise XlnerError(E_COLUMNS, f"{where(path, lineno, sent_id)}: {len(cols)} columns, but line "
                                        f"{first_columns_line} has {n_columns}: {line!r}",
                             hint="a token with a space in it, or a missing tag?")
        token = cols[0]
        if panx:
            m = _PANX_TOKEN.match(token)
            if m is None or not m.group(2):
                raise XlnerError(E_PANX, f"{where(path, lineno, sent_id)}: PAN-X tokens look like "
                                         f"`lang:token`, found {token!r}")
            langs.add(m.group(1))
            token = m.group(2)
        tokens.append(token)
        tags.append(cols[-1])
        lines.append(lineno)
    flush()
    if not sentences:
        raise XlnerError(E_EMPTY, f"{path}: no sentences (only blank or -DOCSTART- lines)")
    if len(langs) > 1:
        warnings.warn(f"{path}: PAN-X file mixes languages {sorted(langs)}", stacklevel=3)
    return sentences, (langs.pop() if len(langs) == 1 else None)


def _read_jsonl(path: Path, split: str) -> list[TaggedSentence]:
    text = _read_text(path)
    sentences: list[TaggedSentence] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        fallback_id = f"{split}:{len(sentences)}"
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise XlnerError(E_JSON, f"{where(path, lineno, fallback_id)}: invalid JSON ({exc.msg} at "
                                     f"column {exc.colno})") from None
        sentences.append(_record_to_tagged(rec, path, lineno, split, fallback_id))
    if not sentences:
        raise XlnerError(E_EMPTY, f"{path}: no JSON records")
    return _unique_ids(sentences, str(path), split)


def _unique_ids(sentences: list[TaggedSentence], origin: str, split: str) -> list[TaggedSentence]:
    """Fall back to positional ids when the file's own ids repeat (BasqueGLUE's out-of-domain
    train concatenates two sources, each with idx from 0); ids must identify one sentence."""
    seen: dict[str, int] = {}
    for k, sent in enumerate(sentences):
        if sent.id in seen:
            warnings.warn(f"{where(origin, sent.line)}: sentence id {sent.id!r} repeats (first at line "
                          f"{sentences[seen[sent.id]].line}); using positional ids {split}:0.."
                          f"{len(sentences) - 1} for this file", stacklevel=4)
            for i, s in enumerate(sentences):
                s.id = f"{split}:{i}"
            break
        seen[sent.id] = k
    return sentences


def _record_to_tagged(rec: Any, path: Path | str, lineno: int, split: str,
                      fallback_id: str) -> TaggedSentence:
    if not isinstance(rec, dict):
        raise XlnerError(E_RECORD, f"{where(path, lineno, fallback_id)}: expected a JSON object, "
                                   f"found {type(rec).__name__}")
    if "id" in rec:
        sent_id = str(rec["id"])
    elif "idx" in rec:
        sent_id = f"{split}:{rec['idx']}"
    else:
        sent_id = fallback_id
    loc = where(path, lineno, sent_id)
    tokens = rec.get("tokens")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise XlnerError(E_RECORD, f"{loc}: 'tokens' must be a list of strings",
                         hint='each line looks like {"tokens": [...], "tags": [...]}')
    tags = rec.get("tags", rec.get("ner_tags"))
    if tags is None and "spans" in rec:
        try:
            spans = [Span.from_dict(s) for s in rec["spans"]]
            tags = spans_to_tags(spans, len(tokens))
        except (KeyError, TypeError, ValueError) as exc:
            raise XlnerError(E_RECORD, f"{loc}: bad 'spans' ({exc})",
                             hint='spans look like {"start": 0, "end": 2, "label": "PER"}, end exclusive') from None
    if tags is None:
        raise XlnerError(E_RECORD, f"{loc}: no 'tags' field (nor 'ner_tags' or 'spans'); keys are "
                                   f"{sorted(rec)}", hint='each line looks like {"tokens": [...], "tags": [...]}')
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise XlnerError(E_RECORD, f"{loc}: 'tags' must be a list of tag strings such as 'B-PER'",
                         hint="integer ner_tags need the label names: read hub data with hf:<name>")
    if len(tags) != len(tokens):
        raise XlnerError(E_LENGTH, f"{loc}: {len(tokens)} tokens but {len(tags)} tags")
    return TaggedSentence(sent_id, tokens, tags, str(path), lineno)


def _sniff_format(path: Path) -> str:
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    with open(path, "rb") as fh:
        head = fh.read(65536).decode("utf-8", errors="replace")
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
        return read_hub_records(spec)
    path = Path(path)
    if format not in FORMATS:
        raise XlnerError(E_FORMAT, f"unknown format {format!r}",
                         hint=f"use one of {', '.join(FORMATS)} or hf:<dataset>[:<config>]:<split>")
    if not path.exists():
        raise XlnerError(E_NOT_FOUND, f"{path}: no such file")
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
        warnings.warn(f"{where(path, sent.line_of(i), sent.id)}: token {tok!r} looks double-encoded "
                      f"(mojibake for {fixed!r}); at least {len(suspects)} such tokens",
                      MojibakeWarning, stacklevel=3)


def to_sentences(records: Sequence[TaggedSentence], *, scheme: str = "auto",
                 label_map: LabelMap | None = None) -> tuple[list[Sentence], str]:
    """Validate raw tags, decode them with the scheme, apply the label map."""
    try:
        scheme = normalise_scheme(scheme)
    except TagError as exc:
        raise XlnerError(E_SCHEME, str(exc)) from None
    # Validate every tag first so that the error names the exact line.
    for rec in records:
        for i, tag in enumerate(rec.tags):
            try:
                parse_tag(tag)
            except TagError as exc:
                raise XlnerError(E_TAG, f"{where(rec.path, rec.line_of(i), rec.id)}: {exc}",
                                 hint="tags look like O, B-PER, I-LOC (or E-/S- in BIOES)") from None
    if scheme == "auto":
        scheme = detect_scheme(r.tags for r in records)
    sentences = []
    for rec in records:
        try:
            check_scheme(rec.tags, scheme)
        except TagError as exc:
            bad = next(i for i, t in enumerate(rec.tags) if parse_tag(t)[0] not in ("O", "B", "I"))
            raise XlnerError(E_SCHEME, f"{where(rec.path, rec.line_of(bad), rec.id)}: {exc}",
                             hint="pass scheme='auto' (or --scheme auto) to detect it") from None
        spans = tags_to_spans(rec.tags)
        if label_map is not None:
            spans = label_map.apply(spans)
        sentences.append(Sentence(rec.id, list(rec.tokens), spans, rec.source))
    return sentences, scheme


def read_dataset(path: str | Path, *, format: str = "auto", lang: str | None = None,
                 name: str | None = None, label_map: Any = None, scheme: str = "auto") -> Dataset:
    """Read a dataset file (or ``hf:...`` hub split) into spans normalised to IOB2.

    ``label_map``: a :class:`LabelMap`, a dict, a bundled name (``masakhaner``) or a YAML path.
    ``scheme``: ``auto`` (detect), ``iob1``, ``iob2`` or ``bioes``.
    """
    records, facts = read_records(path, format=format)
    check_mojibake(records, str(path))
    sentences, detected = to_sentences(records, scheme=scheme, label_map=load_label_map(label_map))
    spec = str(path)
    if spec.startswith("hf:"):
        default_name, guessed = spec[3:], facts.get("lang")
    else:
        p = Path(path)
        default_name, guessed = f"{p.parent.name}/{p.stem}", facts.get("lang") or _guess_lang(p)
    ds = Dataset(name or default_name, lang or guessed or "und", sentences, spec)
    ds.scheme = detected  # type: ignore[attr-defined]  # informative; spans are scheme-free
    return ds


# --- Hugging Face hub ---------------------------------------------------------------------------

def parse_hub_spec(spec: str) -> tuple[str, str | None, str]:
    """``hf:masakhane/masakhaner2:swa:test`` -> (``masakhane/masakhaner2``, ``swa``, ``test``)."""
    parts = spec[3:].split(":") if spec.startswith("hf:") else spec.split(":")
    if len(parts) == 2 and all(parts):
        return parts[0], None, parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    raise XlnerError(E_HUB_SPEC, f"bad hub dataset {spec!r}",
                     hint="use hf:<dataset>[:<config>]:<split>, e.g. hf:masakhane/masakhaner2:swa:test")


def _label_names(split: Any, column: str) -> list[str] | None:
    feature = getattr(split, "features", {}).get(column)
    inner = getattr(feature, "feature", None)  # Sequence(ClassLabel) / List(ClassLabel)
    if inner is None and isinstance(feature, (list, tuple)) and feature:
        inner = feature[0]
    names = getattr(inner, "names", None)
    return list(names) if names else None


def hub_split_to_records(split: Any, *, split_name: str, origin: str) -> list[TaggedSentence]:
    """Convert a ``datasets`` split (rows with tokens + ClassLabel tags) into raw tagged sentences.

    Works on anything shaped like a split: ``.features`` and iteration over row dicts.
    """
    columns = set(getattr(split, "column_names", None) or getattr(split, "features", {}).keys())
    tag_col = next((c for c in ("ner_tags", "tags", "labels") if c in columns), None)
    if "tokens" not in columns or tag_col is None:
        raise XlnerError(E_HUB_LOAD, f"{origin}: expected columns 'tokens' and 'ner_tags'/'tags', "
                                     f"found {sorted(columns)}")
    names = _label_names(split, tag_col)
    out = []
    for i, row in enumerate(split):
        rec = {"tokens": list(row["tokens"])}
        if "id" in row:
            rec["id"] = f"{split_name}:{row['id']}"
        elif "idx" in row:
            rec["idx"] = row["idx"]
        tags = list(row[tag_col])
        if tags and not isinstance(tags[0], str):
            if names is None:
                raise XlnerError(E_HUB_LOAD, f"{origin}: integer tags without ClassLabel names")
            try:
                tags = [names[int(t)] for t in tags]
            except (IndexError, ValueError):
                raise XlnerError(E_HUB_LOAD, f"{where(origin, None, f'{split_name}:{i}')}: tag id out "
                                             f"of range for labels {names}") from None
        rec["tags"] = tags
        out.append(_record_to_tagged(rec, origin, i + 1, split_name, f"{split_name}:{i}"))
    if not out:
        raise XlnerError(E_EMPTY, f"{origin}: the split is empty")
    return _unique_ids(out, origin, split_name)


def read_hub_records(spec: str) -> tuple[list[TaggedSentence], dict[str, Any]]:
    name, config, split = parse_hub_spec(spec)
    try:
        import datasets  # noqa: PLC0415 - optional extra, imported only when asked for
    except ImportError:
        raise XlnerError(E_HUB_MISSING, f"{spec}: reading from the Hugging Face hub needs the "
                                        "`datasets` package, which is not installed",
                         hint="pip install 'xlner[hub]' (and network access to huggingface.co), or "
                              "download the split and read the local file") from None
    try:
        ds = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # network, unknown name/config/split: all surface as one clear error
        raise XlnerError(E_HUB_LOAD, f"{spec}: could not load from the hub ({type(exc).__name__}: {exc})",
                         hint="check the name/config/split and your network; offline, read local files") from None
    lang = None
    if config:
        m = re.search(r"(?:^|[.\-_])([a-z]{2,3})$", config)
        lang = m.group(1) if m else None
    return hub_split_to_records(ds, split_name=split, origin=spec), {"format": "hf", "lang": lang}


# --- writers ------------------------------------------------------------------------------------

def _sentences(sentences: Any) -> list[Sentence]:
    return list(sentences.sentences if isinstance(sentences, Dataset) else sentences)


def write_conll(sentences: Any, path: str | Path, *, scheme: str = "iob2", sep: str = " ") -> None:
    """Write ``token TAG`` lines with a blank line after each sentence."""
    out = []
    for sent in _sentences(sentences):
        if not sent.tokens:
            raise XlnerError(E_WRITE, f"sentence {sent.id} has no tokens; CoNLL cannot hold an empty "
                                      "sentence (it would vanish on reading)", hint="write JSON lines instead")
        try:
            tags = spans_to_tags(sent.spans, len(sent.tokens), scheme)
        except TagError as exc:
            raise XlnerError(E_WRITE, f"sentence {sent.id}: {exc}") from None
        for tok, tag in zip(sent.tokens, tags):
            if not tok or re.search(r"[ \t\n\r]", tok) or tok == "-DOCSTART-":
                raise XlnerError(E_WRITE, f"sentence {sent.id}: token {tok!r} is empty, contains "
                                          "whitespace or is -DOCSTART-; CoNLL cannot hold it",
                                 hint="write JSON lines instead (write_jsonl)")
            out.append(f"{tok}{sep}{tag}\n")
        out.append("\n")
    Path(path).write_text("".join(out), encoding="utf-8")


def write_jsonl(sentences: Any, path: str | Path, *, scheme: str = "iob2") -> None:
    """Write ``{"id", "tokens", "tags"}`` per line (UTF-8, not ASCII-escaped)."""
    with open(path, "w", encoding="utf-8") as fh:
        for sent in _sentences(sentences):
            try:
                tags = spans_to_tags(sent.spans, len(sent.tokens), scheme)
            except TagError as exc:
                raise XlnerError(E_WRITE, f"sentence {sent.id}: {exc}") from None
            fh.write(json.dumps({"id": sent.id, "tokens": sent.tokens, "tags": tags},
                                ensure_ascii=False) + "\n")


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
