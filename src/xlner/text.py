"""Text utilities: turn gold tokens into text for a translator, and split translated text into words.

The paper used NLTK's ``TreebankWordDetokenizer`` and ``word_tokenize``; NLTK is not a dependency
here, so these are small rule-based equivalents covering what the NER data sets and machine
translation output contain (quotes, guillemets, brackets, clitics, numbers, abbreviations).

Apertium marks words it could not translate with ``*`` (and, rarely, ``#`` for a generation error and
``@`` for a transfer error). Those marks are a useful signal for names, so :func:`split_marked`
returns the clean words together with a per-word "unknown to the translator" flag.
"""

from __future__ import annotations

import re
from typing import Sequence

__all__ = ["detokenize", "split_words", "split_marked", "strip_mark", "UNKNOWN_MARKS",
           "CASE_ENDINGS", "strip_case_ending", "ending_type"]

# Marks that Apertium puts in front of a word (unknown word, generation error, transfer error).
UNKNOWN_MARKS = "*#@"

# --- detokenize -------------------------------------------------------------------------------

# Tokens that attach to the previous token (no space before them).
_NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", "%", ")", "]", "}", "»", "›", "”", "’", "...", "…"}
# Tokens that attach to the next token (no space after them).
_NO_SPACE_AFTER = {"(", "[", "{", "«", "‹", "“", "‘", "$", "£", "€", "¿", "¡"}
# English clitics split off by Treebank tokenisation (``do n't``, ``John 's``).
_CLITICS = {"n't", "'s", "'re", "'ve", "'ll", "'m", "'d", "’s", "n’t", "’re", "’ve", "’ll", "’m", "’d"}
_AMBIGUOUS_QUOTES = {'"', "''", "``"}


def detokenize(tokens: Sequence[str]) -> str:
    """Join word tokens into natural text (Treebank-style rules).

    Straight double quotes alternate between opening and closing; ``` `` ``` opens and ``''``
    closes as in Penn Treebank. Tokens are never changed, only the spaces between them, so
    ``detokenize(t).split()`` gives back the tokens except where punctuation was attached.
    """
    out: list[str] = []
    attach_next = False  # the previous token wants no space after it
    open_quote = False
    for raw in tokens:
        tok = str(raw)
        if not tok or tok.isspace():
            continue  # an empty token has nothing to contribute to the text
        if tok in _AMBIGUOUS_QUOTES:
            is_open = tok == "``" or (tok == '"' and not open_quote)
            open_quote = is_open
            text = '"'
            if is_open:
                out.append((" " if out and not attach_next else "") + text)
                attach_next = True
            else:
                out.append(text)
                attach_next = False
            continue
        space = bool(out) and not attach_next
        if tok in _NO_SPACE_BEFORE or tok.lower() in _CLITICS:
            space = False
        out.append((" " if space else "") + tok)
        attach_next = tok in _NO_SPACE_AFTER
    return "".join(out)


# --- split_words ------------------------------------------------------------------------------

_ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "St.", "Jr.", "Sr.", "Inc.", "Ltd.", "Co.",
                  "Corp.", "vs.", "etc.", "Gen.", "Gov.", "Sen.", "Rep.", "Mt.", "No.")
# One alternative per kind of word; order matters (first match wins at each position).
_WORD_RE = re.compile(
    r"""
    (?P<abbr>(?:%s)(?=\s|$))                           # titles and common abbreviations
  | (?P<initials>(?:[^\W\d_]\.){2,}|[A-Z]\.(?=\s+[A-Z]))  # U.S. , e.g. , a name's initial: J. Smith
  | (?P<clitic>(?i:n['’]t|['’](?:s|re|ve|ll|m|d))(?![^\W_]))  # Treebank clitics: do|n't, John|'s
  | (?P<number>(?<![^\W_])\.?\d+(?:[-.,:/]\d+)*(?:[^\W\d_]+)?(?:-[^\W_]+)*)  # 2.000 3,5 2:00 1996-08-30 1990s 37-run
  | (?P<word>[%s]?[^\W_]+(?:[-'’&.][^\W_]+)*)          # words, hyphenated words, optional mark
  | (?P<ellipsis>\.\.\.|--)
  | (?P<punct>\S)
    """ % ("|".join(re.escape(a) for a in _ABBREVIATIONS), re.escape(UNKNOWN_MARKS)),
    re.VERBOSE,
)
# A word followed by a clitic: split before ``n't`` / ``'s`` so the clitic is its own token.
_CLITIC_SPLIT = re.compile(r"(?i)([^\W_])(n['’]t|['’](?:s|re|ve|ll|m|d))(?![^\W_])")
# An Apertium mark glued inside a word (``*Lasarte-*Oria``, ``PN#chinese``): keep it only at word start.
_INNER_MARK = re.compile(r"(?<=[\w\-'’])[%s](?=[^\W_])" % re.escape(UNKNOWN_MARKS))


def split_words(text: str, *, keep_marks: bool = False) -> list[str]:
    """Split English text into words and punctuation (Treebank-like).

    Numbers keep their separators (``2.000``, ``2:00``), hyphenated words stay whole, clitics are
    split (``PNB's`` -> ``PNB``, ``'s``), sentence-final periods are separated. With
    ``keep_marks=True`` an Apertium mark stays attached to its word (``*Frankfurteko``); otherwise
    the marks in front of words are removed (a lone ``*`` surrounded by spaces stays a token).
    """
    text = _INNER_MARK.sub("", text)
    text = _CLITIC_SPLIT.sub(r"\1 \2", text)
    words: list[str] = []
    for m in _WORD_RE.finditer(text):
        tok = m.group(0)
        if m.lastgroup == "word" and not keep_marks and tok[0] in UNKNOWN_MARKS:
            tok = tok[1:]
        words.append(tok)
    return words


def strip_mark(word: str) -> tuple[str, bool]:
    """``"*Frankfurteko"`` -> ``("Frankfurteko", True)``.

    Every mark is removed, but only ``*`` (not in the dictionary: names, rare words) flags the word
    as unknown; ``#`` and ``@`` mark known words whose generation or transfer failed. A lone mark
    is punctuation, not a marked word.
    """
    if len(word) > 1 and word[0] in UNKNOWN_MARKS and word[1].isalnum():
        return word[1:], word[0] == "*"
    return word, False


def split_marked(text: str) -> tuple[list[str], list[bool]]:
    """Split translated text into clean words plus a flag per word: did the translator leave it
    untranslated (``*``)?"""
    pairs = [strip_mark(w) for w in split_words(text, keep_marks=True)]
    return [w for w, _ in pairs], [m for _, m in pairs]


# --- case endings of untranslated names ------------------------------------------------------------

# A name the translator does not know passes through with its source-language case ending
# (Basque ``Frankfurteko`` = "of/from Frankfurt", ``Durangon`` = "in Durango", ``Otegik`` = ergative),
# which hides it from an English NER model. Each ending maps to the entity type it implies (None: no
# type implied). Basque: locative-family endings (-ko, -tik, -ra, -n, ...) are used with places.
CASE_ENDINGS: dict[str, dict[str, str | None]] = {
    "eus": {
        **dict.fromkeys("ko eko go tik etik dik ra era rantz erantz raino n an ean koa koak ekoa ekoak"
                        .split(), "LOC"),
        **dict.fromkeys("rekin arekin ekin ren aren en ri ari k ak ek ok entzat rentzat tzat "
                        "tarra tarrak".split(), None),
    },
}
_CASE_LANG = {"eu": "eus", "eus": "eus", "baq": "eus"}


def strip_case_ending(word: str, lang: str | None, *, min_stem: int = 3) -> tuple[str, str]:
    """Remove the longest known case ending of ``lang`` that leaves at least ``min_stem`` characters
    (two for an upper-case acronym: ``EHko`` -> ``EH``): ``("Frankfurteko", "eu")`` ->
    ``("Frankfurt", "eko")``. Languages without a table: unchanged."""
    endings = CASE_ENDINGS.get(_CASE_LANG.get(str(lang).lower(), str(lang).lower()), {})
    lower = word.lower()
    for ending in sorted(endings, key=len, reverse=True):
        stem = word[:len(word) - len(ending)]
        if lower.endswith(ending) and (len(stem) >= min_stem or (len(stem) >= 2 and stem.isupper())):
            return word[:len(word) - len(ending)], ending
    return word, ""


def ending_type(ending: str, lang: str | None) -> str | None:
    """The entity type a case ending implies (``"eko"`` in Basque -> ``"LOC"``), or None."""
    return CASE_ENDINGS.get(_CASE_LANG.get(str(lang).lower(), str(lang).lower()), {}).get(ending)
