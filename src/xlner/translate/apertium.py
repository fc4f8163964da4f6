"""Rule-based translation with the Debian ``apertium`` command, one subprocess per batch.

Sentences are separated by a blank line: Apertium's transfer rules reorder words across a single
newline (``the red\\ncar`` -> ``el coche\\nrojo``) but never across a blank line, so one blank line
per sentence boundary both survives translation and keeps sentences independent. The number of
output paragraphs is checked against the input.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Sequence

from annotated_types import Ge, Gt

from xlner.errors import XlnerError
from xlner.registry import Int
from xlner.translate.base import check_texts
from xlner.translate.languages import HBS_VARIANT, ISO3, normalise_lang

# Debian package that provides each language pair (both directions where they exist).
APERTIUM_PACKAGES = {
    frozenset({"eus", "eng"}): "apertium-eu-en", frozenset({"spa", "eng"}): "apertium-eng-spa",
    frozenset({"cat", "eng"}): "apertium-eng-cat", frozenset({"glg", "eng"}): "apertium-en-gl",
    frozenset({"isl", "eng"}): "apertium-isl-eng", frozenset({"mkd", "eng"}): "apertium-mkd-eng",
    frozenset({"hbs", "eng"}): "apertium-hbs-eng", frozenset({"epo", "eng"}): "apertium-eo-en",
}
# Pairs whose Debian package translates in one direction only (``apertium -l`` lists ``eu-en``
# but no ``en-eu``): there is no offline English -> Basque/Icelandic/Macedonian system.
_APERTIUM_ONE_WAY = {("eus", "eng"), ("isl", "eng"), ("mkd", "eng")}
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def apertium_direction_note(src_lang: str, tgt_lang: str) -> str | None:
    """Why no Apertium package can translate ``src_lang -> tgt_lang`` although one exists for the
    reverse direction (``en -> eu``: apertium-eu-en translates Basque into English only); None when
    Debian has a package for this direction (installed or not) or none for the pair at all."""
    src, _ = _apertium_side(normalise_lang(src_lang))
    tgt, _ = _apertium_side(normalise_lang(tgt_lang))
    if (tgt, src) in _APERTIUM_ONE_WAY:
        package = APERTIUM_PACKAGES.get(frozenset({src, tgt}))
        return f"Apertium's {package} translates {tgt}->{src} only; no Apertium system translates {src}->{tgt}"
    return None


@functools.lru_cache(maxsize=None)
def apertium_pairs(binary: str = "apertium") -> dict[tuple[str, str, str], str]:
    """Installed Apertium modes as ``{(src_iso3, tgt_iso3, variant): mode}`` (from ``apertium -l``).

    Only plain ``a-b`` and ``a-b_VARIANT`` modes are listed (debug modes such as ``en-eo-bytecode``
    are not translation directions); pass ``pair=`` to use any mode by its exact name.
    """
    exe = shutil.which(binary)
    if exe is None:
        raise XlnerError("E402", binary=binary)
    proc = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=60)
    pairs: dict[tuple[str, str, str], str] = {}
    for line in proc.stdout.splitlines():
        mode = line.strip()
        parts = mode.split("-")
        if len(parts) != 2:
            continue
        src, (tgt, _, variant) = parts[0], parts[1].partition("_")
        if src.lower() in ISO3 and tgt.lower() in ISO3:
            pairs[(ISO3[src.lower()], ISO3[tgt.lower()], variant)] = mode
    return pairs


def _apertium_side(iso3: str) -> tuple[str, str]:
    """Apertium treats sr/hr/bs as one language ``hbs`` with an output variant."""
    if iso3 in HBS_VARIANT:
        return "hbs", HBS_VARIANT[iso3]
    return iso3, ""


def _dpkg_version(package: str) -> str | None:
    if shutil.which("dpkg-query") is None:
        return None
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                          capture_output=True, text=True)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def split_apertium_output(output: str, n_expected: int, *, batch: int = 0,
                          ids: Sequence[str] | None = None) -> list[str]:
    """Split Apertium's output on blank lines and check that there is one paragraph per sentence."""
    body = output.strip("\n")
    parts = [p.replace("\n", " ").strip() for p in _BLANK_LINE.split(body)] if body.strip() else []
    if len(parts) != n_expected:
        raise XlnerError("E405", n_got=len(parts), n_expected=n_expected, batch=batch,
                         first=ids[0] if ids else "#0")
    return parts


@dataclass(kw_only=True)
class ApertiumParams:
    """``pair``: an exact mode name (overrides the language lookup); ``mark_unknown``: keep
    Apertium's ``*`` marks on unknown words (useful for finding names); ``batch_size``: sentences
    per subprocess call; ``timeout``: seconds per call; ``binary``: the program."""

    pair: str | None = None
    mark_unknown: bool = True
    batch_size: Annotated[Int, Ge(1)] = 2000
    timeout: Annotated[float, Gt(0)] = 600.0
    binary: str = "apertium"


@dataclass
class ApertiumTranslator(ApertiumParams):
    """Rule-based translation with the Debian ``apertium`` command (parameters: :class:`ApertiumParams`)."""

    src_lang: str
    tgt_lang: str
    name: ClassVar[str] = "apertium"

    def __post_init__(self) -> None:
        self.mode = self.pair or self._find_mode()

    def _find_mode(self) -> str:
        src, _ = _apertium_side(normalise_lang(self.src_lang))
        tgt, variant = _apertium_side(normalise_lang(self.tgt_lang))
        pairs = apertium_pairs(self.binary)
        mode = pairs.get((src, tgt, variant)) or pairs.get((src, tgt, ""))
        if mode is None:
            package = APERTIUM_PACKAGES.get(frozenset({src, tgt}))
            installed = ", ".join(sorted(set(pairs.values()))) or "none"
            direction = f"{self.src_lang}->{self.tgt_lang}"
            one_way = apertium_direction_note(self.src_lang, self.tgt_lang)
            if package and not one_way:
                raise XlnerError("E417", direction=direction, package=package, installed=installed)
            why = one_way or "Debian has no Apertium package for this pair"
            raise XlnerError("E403", direction=direction, why=why, installed=installed)
        return mode

    def translate(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
        texts = check_texts(texts, ids)
        # A newline inside a sentence would be read as a sentence boundary: make it a space.
        clean = [" ".join(t.split()) for t in texts]
        todo = [i for i, t in enumerate(clean) if t]  # empty sentences translate to ""
        out = [""] * len(texts)
        for b, start in enumerate(range(0, len(todo), self.batch_size)):
            idx = todo[start:start + self.batch_size]
            batch_ids = [ids[i] if ids is not None else f"#{i}" for i in idx]
            result = self._run("\n\n".join(clean[i] for i in idx) + "\n", batch_ids[0])
            try:
                parts = split_apertium_output(result, len(idx), batch=b, ids=batch_ids)
            except XlnerError:
                parts = self._one_by_one([clean[i] for i in idx], batch_ids)
            for i, p in zip(idx, parts):
                out[i] = p
        return out

    def _one_by_one(self, texts: list[str], ids: list[str]) -> list[str]:
        """Find the sentence that broke a batch's line count (rare, so slow is fine)."""
        parts = []
        for text, sid in zip(texts, ids):
            got = split_apertium_output(self._run(text + "\n", sid), 1, ids=[sid])
            parts.extend(got)
        return parts

    def _run(self, text: str, first_id: str) -> str:
        cmd = [self.binary] + ([] if self.mark_unknown else ["-u"]) + [self.mode]
        try:
            proc = subprocess.run(cmd, input=text, capture_output=True, text=True,
                                  timeout=self.timeout)
        except FileNotFoundError:
            raise XlnerError("E402", binary=self.binary) from None
        except subprocess.TimeoutExpired:
            raise XlnerError("E418", mode=self.mode, seconds=f"{self.timeout:.0f}", first=first_id) from None
        if proc.returncode != 0:
            raise XlnerError("E404", mode=self.mode, first=first_id, stderr=proc.stderr.strip()[:500])
        return proc.stdout

    def fingerprint(self) -> dict[str, Any]:
        src, _ = _apertium_side(normalise_lang(self.src_lang))
        tgt, _ = _apertium_side(normalise_lang(self.tgt_lang))
        packages = ["apertium"] + [p for p in [APERTIUM_PACKAGES.get(frozenset({src, tgt}))] if p]
        return {"name": self.name, "pair": self.mode, "mark_unknown": self.mark_unknown,
                "separator": "blank-line", "versions": {p: _dpkg_version(p) for p in packages}}
