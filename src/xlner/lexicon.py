"""Word-by-word "cheap translation" with a bilingual dictionary (Mayhew, Tsai and Roth, EMNLP 2017).

For languages without a machine translation system, translate-test can still run: every word (or
phrase of up to ``max_phrase`` words) found in a bilingual lexicon is replaced by its first
English sense, and every other word is kept as it is. Unknown words are mostly names, which is
exactly what NER needs to see; like Apertium, the translator marks them with ``*`` (``mark_unknown``)
so that the pipeline's unknown-word handling applies unchanged.

The lexicon is a FreeDict dictionary in the dictd format as Debian installs it
(``apt-get install dict-freedict-swh-eng`` gives ``/usr/share/dictd/freedict-swh-eng.index`` and
``.dict.dz``). An entry reads ``headword /pron/ <pos> (pl: {plural})`` followed by numbered senses;
the first phrase of the first sense is the translation, and the plural forms listed in the entry
are keys too. Where one headword has several entries, grammatical words come first (``la`` is
"eat" as a verb but far more often "of"), because they are the frequent readings in running text.

Interface: the same as :mod:`xlner.translate`'s translators, ``translate(texts, ids=None)`` and
``fingerprint()``. Rules for case: a capitalised word inside a sentence is kept as a name unless
the lexicon lists it capitalised (``Afrika`` -> ``Africa``); the first word of a sentence is also
looked up in lower case (and its translation capitalised).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Sequence

from annotated_types import Ge

from xlner.errors import XlnerError
from xlner.registry import Int, PathText
from xlner.text import detokenize, split_words

__all__ = ["LexiconTranslator", "LexiconParams", "load_dictd", "dictd_path", "FREEDICT_DIR"]

FREEDICT_DIR = Path("/usr/share/dictd")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {c: i for i, c in enumerate(_B64)}
# Which part of speech wins when one headword has several entries (lower first).
_POS_RANK = {"prep": 0, "prt": 0, "conj": 0, "pron": 0, "cop": 0, "adv": 1, "n": 2, "adj": 2, "v": 3,
             "num": 3, "interj": 4}
# FreeDict names languages by ISO 639-3, Swahili as its individual-language code swh.
_FREEDICT_CODE = {"swa": "swh"}
_POS = re.compile(r"<([^>]*)>")
_PLURALS = re.compile(r"\{([^}]+)\}")
_PLURAL_OF = re.compile(r"^(?:Plural|Singular) of \{[^}]*\}:\s*", re.IGNORECASE)


def _b64(text: str) -> int:
    """dictd's base-64 numbers (most significant digit first)."""
    value = 0
    for ch in text:
        value = value * 64 + _B64_VALUE[ch]
    return value


def dictd_path(src_lang: str, tgt_lang: str) -> Path:
    """Where Debian puts the FreeDict dictionary for a language pair (``.index``)."""
    from xlner.translate import normalise_lang

    a, b = (normalise_lang(x) for x in (src_lang, tgt_lang))
    return FREEDICT_DIR / f"freedict-{_FREEDICT_CODE.get(a, a)}-{_FREEDICT_CODE.get(b, b)}.index"


def _first_sense(body: list[str]) -> str | None:
    """The first phrase of the first sense: the first content line, cut at a comma or semicolon."""
    for line in body:
        text = line.strip()
        if not text or re.fullmatch(r"\d+\.", text) or text.startswith(("See also", "Synonym", "Note")):
            continue
        text = re.sub(r"\([^)]*\)", "", text.lstrip(";")).strip()
        text = _PLURAL_OF.sub("", text).strip()  # "Plural of {mwaka}: year"
        first = re.split(r"[,;]", text)[0].strip()
        first = re.sub(r"\b(?:sth|sb)\b", "", first).strip()
        if first:
            return first
    return None


def _parse_entry(text: str) -> tuple[list[str], str, str | None]:
    """(headwords and listed plurals, part of speech, translation) of one dictd entry."""
    lines = text.split("\n")
    header = lines[0].strip()
    head = re.split(r"\s+[/<(\[]", header, maxsplit=1)[0]
    pos_match = _POS.search(header)
    pos = pos_match.group(1).split(",")[0].strip() if pos_match else ""
    keys = [h.strip() for h in head.split(",") if h.strip()]
    keys += [p.strip() for p in _PLURALS.findall(header)]
    return keys, pos, _first_sense(lines[1:])


@lru_cache(maxsize=8)
def load_dictd(index_path: str) -> dict[str, str]:
    """``{headword: translation}`` from a dictd ``.index`` and its ``.dict.dz`` (or ``.dict``)."""
    index = Path(index_path)
    data_path = next((p for p in (index.with_suffix(".dict.dz"), index.with_suffix(".dict")) if p.is_file()), None)
    if not index.is_file() or data_path is None:
        raise XlnerError("E480", path=str(index), package=f"dict-{index.stem}")
    raw = gzip.open(data_path).read() if data_path.suffix == ".dz" else data_path.read_bytes()
    best: dict[str, tuple[int, str]] = {}
    for n, line in enumerate(index.read_text(encoding="utf-8").splitlines(), 1):
        cols = line.split("\t")
        if len(cols) != 3 or cols[0].startswith("00database") or cols[0].startswith("00-database"):
            continue
        try:
            entry = raw[_b64(cols[1]):_b64(cols[1]) + _b64(cols[2])].decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            raise XlnerError("E481", path=str(index), line=n) from None
        keys, pos, translation = _parse_entry(entry)
        if translation is None:
            continue
        rank = _POS_RANK.get(pos, 5)
        for key in {cols[0], *keys}:
            if key not in best or rank < best[key][0]:
                best[key] = (rank, translation)
    if not best:
        raise XlnerError("E481", path=str(index), line=0)
    return {k: v for k, (_, v) in best.items()}


@dataclass(kw_only=True)
class LexiconParams:
    """The ``lexicon`` translator's parameters (registered in :mod:`xlner.registry` by
    :mod:`xlner.translate`): ``path`` a dictd ``.index`` (null: Debian's FreeDict file of the pair),
    ``mark_unknown`` (``*`` before words kept untranslated), ``max_phrase`` (words per lookup)."""

    path: PathText | None = None
    mark_unknown: bool = True
    max_phrase: Annotated[Int, Ge(1)] = 3


@dataclass
class LexiconTranslator:
    """Word-by-word translation with a FreeDict dictd lexicon (see the module docstring).

    Parameters: ``path`` (a dictd ``.index``; default: the Debian FreeDict file of the language
    pair), ``mark_unknown`` (``*`` before every word kept untranslated), ``max_phrase`` (longest
    dictionary phrase looked up, in words).
    """

    src_lang: str
    tgt_lang: str
    path: str | None = None
    mark_unknown: bool = True
    max_phrase: int = 3
    name: str = "lexicon"
    _lexicon: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        index = Path(self.path).expanduser() if self.path else dictd_path(self.src_lang, self.tgt_lang)
        self._index = index
        self._lexicon = load_dictd(str(index))
        self._longest = max(1, min(self.max_phrase, max(len(k.split()) for k in self._lexicon)))

    def _lookup(self, words: list[str], first: bool) -> str | None:
        phrase = " ".join(words)
        if phrase in self._lexicon:
            return self._lexicon[phrase]
        capital = words[0][:1].isupper()
        if not capital or first or phrase.isupper():
            low = self._lexicon.get(phrase.lower())
            if low is not None and capital:
                return low[:1].upper() + low[1:]
            return low
        return None  # a capitalised word inside the sentence: a name

    def translate_words(self, words: Sequence[str]) -> list[str]:
        """Translate one sentence given as words; returns English words (unknown ones marked)."""
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                found = self._lookup(list(words[i:i + n]), first=i == 0)
                if found is not None:
                    out.extend(found.split())
                    i += n
                    break
            else:
                word = words[i]
                known = not any(ch.isalpha() for ch in word)  # numbers and punctuation pass through
                out.append(word if known or not self.mark_unknown else "*" + word)
                i += 1
        return out

    def translate(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts) or \
                (ids is not None and len(ids) != len(texts)):
            raise XlnerError("E484", n_texts=1 if isinstance(texts, str) else len(texts),
                             n_ids="no" if ids is None else len(ids))
        return [detokenize(self.translate_words(split_words(t))) if t.strip() else "" for t in texts]

    def fingerprint(self) -> dict[str, Any]:
        st = self._index.stat()
        return {"name": self.name, "path": str(self._index), "size": st.st_size, "mtime": int(st.st_mtime),
                "entries": len(self._lexicon), "mark_unknown": self.mark_unknown, "max_phrase": self.max_phrase}
