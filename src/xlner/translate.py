"""Machine translation backends behind one small interface, plus marker-preserving back-translation.

``get_translator(name, src_lang, tgt_lang, **params)`` returns an object with
``translate(texts, ids=None) -> list[str]`` and ``fingerprint() -> dict`` (what the pipeline cache
keys on). Backends:

- ``apertium``: the Debian rule-based system, run as one subprocess per batch. Sentences are
  separated by a blank line: Apertium's transfer rules reorder words across a single newline
  (``the red\\ncar`` -> ``el coche\\nrojo``) but never across a blank line, so one blank line per
  sentence boundary both survives translation and keeps sentences independent. The number of
  output paragraphs is checked against the input.
- ``hf``: a Hugging Face seq2seq model (NLLB-200, M2M-100, Marian) loaded by hub name or local path.
- ``precomputed``: translations produced elsewhere, read from a jsonl or tsv file by sentence id.

Errors are E4xx (see ``xlner.errors``).
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

from xlner.datamodel import Reason, Span, Unprojected
from xlner.errors import XlnerError, where
from xlner.text import detokenize, split_words

__all__ = [
    "Translator", "get_translator", "TRANSLATORS", "normalise_lang", "nllb_code",
    "ApertiumTranslator", "HFTranslator", "PrecomputedTranslator", "apertium_pairs",
    "wrap_entities", "mark_entities", "recover_marked_spans", "assign_marked_classes",
    "recover_back_translation", "MarkedTranslation", "back_translate_with_markers", "MARKERS",
    "apertium_direction_note",
]

# --- language codes -----------------------------------------------------------------------------

# ISO 639-1 / 639-3 / common variants -> one canonical ISO 639-3 code.
_ISO3 = {
    "en": "eng", "eng": "eng", "eu": "eus", "eus": "eus", "baq": "eus",
    "es": "spa", "spa": "spa", "ca": "cat", "cat": "cat", "gl": "glg", "glg": "glg",
    "is": "isl", "isl": "isl", "ice": "isl", "mk": "mkd", "mkd": "mkd", "mac": "mkd",
    "hbs": "hbs", "sh": "hbs", "sr": "srp", "srp": "srp", "hr": "hrv", "hrv": "hrv",
    "bs": "bos", "bos": "bos", "eo": "epo", "epo": "epo",
    "sw": "swa", "swa": "swa", "swh": "swa", "de": "deu", "deu": "deu", "fr": "fra", "fra": "fra",
    "pt": "por", "por": "por", "it": "ita", "ita": "ita", "nl": "nld", "nld": "nld",
    "ru": "rus", "rus": "rus", "ja": "jpn", "jpn": "jpn", "th": "tha", "tha": "tha",
    "fa": "fas", "fas": "fas", "pes": "fas", "bn": "ben", "ben": "ben", "tl": "tgl", "tgl": "tgl",
    "zh": "zho", "zho": "zho", "ar": "ara", "ara": "ara", "hi": "hin", "hin": "hin",
    "tr": "tur", "tur": "tur", "fi": "fin", "fin": "fin", "et": "est", "est": "est",
    "yo": "yor", "yor": "yor", "ha": "hau", "hau": "hau", "ig": "ibo", "ibo": "ibo",
    "rw": "kin", "kin": "kin", "lg": "lug", "lug": "lug", "ny": "nya", "nya": "nya",
    "sn": "sna", "sna": "sna", "wo": "wol", "wol": "wol", "tn": "tsn", "tsn": "tsn",
    "tw": "twi", "twi": "twi", "xh": "xho", "xho": "xho", "zu": "zul", "zul": "zul",
    "bm": "bam", "bam": "bam", "ee": "ewe", "ewe": "ewe", "fon": "fon", "luo": "luo",
    "mos": "mos", "bbj": "bbj", "pcm": "pcm",
}
# Serbian, Croatian and Bosnian are one Apertium system (hbs) with orthographic variants.
_HBS_VARIANT = {"srp": "SR", "hrv": "HR", "bos": "BS", "hbs": ""}

# NLLB-200 codes where they are not simply ``<iso3>_Latn`` (method.md §2).
_NLLB = {
    "swa": "swh_Latn", "mkd": "mkd_Cyrl", "srp": "srp_Cyrl", "rus": "rus_Cyrl", "jpn": "jpn_Jpan",
    "tha": "tha_Thai", "fas": "pes_Arab", "ben": "ben_Beng", "zho": "zho_Hans", "ara": "arb_Arab",
    "hin": "hin_Deva", "est": "est_Latn", "hbs": "hrv_Latn",
}
_NLLB_UNSUPPORTED = {"bbj", "pcm"}  # not in NLLB-200 (method.md §2)
# ISO 639-1 codes used by M2M-100 (``__en__``) and Marian multi-target prefixes (``>>spa<<``).
_ISO1 = {v: k for k, v in _ISO3.items() if len(k) == 2 and k not in ("sh",)}


def normalise_lang(code: str) -> str:
    """Canonical ISO 639-3 code for ``code`` (``eu`` -> ``eus``); XlnerError E401 if unknown."""
    key = str(code).strip().lower().replace("_", "-").split("-")[0]
    if key not in _ISO3:
        raise XlnerError("E401", f"unknown language code {code!r}",
                         hint="use an ISO 639-1 or 639-3 code such as eu, eus, es, spa, sw, swa")
    return _ISO3[key]


def nllb_code(code: str) -> str:
    """NLLB-200 language code (``eu`` -> ``eus_Latn``, ``swa`` -> ``swh_Latn``)."""
    if "_" in code and len(code.split("_")[1]) == 4:
        return code  # already an NLLB code such as ``eng_Latn``
    iso3 = normalise_lang(code)
    if iso3 in _NLLB_UNSUPPORTED:
        raise XlnerError("E401", f"language {code!r} is not supported by NLLB-200",
                         hint="use a precomputed translation or another translator for it")
    return _NLLB.get(iso3, f"{iso3}_Latn")


# --- the interface ------------------------------------------------------------------------------

class Translator(Protocol):
    name: str
    src_lang: str
    tgt_lang: str

    def translate(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[str]: ...

    def fingerprint(self) -> dict[str, Any]: ...


def _check_texts(texts: Sequence[str], ids: Sequence[str] | None) -> list[str]:
    if isinstance(texts, str):
        raise XlnerError("E411", "translate() takes a list of texts, got a single string",
                         hint="wrap it: translate([text])")
    texts = list(texts)
    if ids is not None and len(ids) != len(texts):
        raise XlnerError("E411", f"{len(texts)} texts but {len(ids)} ids")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise XlnerError("E411", f"text {_label(i, ids)} is {type(t).__name__}, not str")
    return texts


def _label(i: int, ids: Sequence[str] | None) -> str:
    return f"id {ids[i]!r} (#{i})" if ids is not None else f"#{i}"


# --- Apertium -----------------------------------------------------------------------------------

# Debian package that provides each language pair (both directions where they exist).
_APERTIUM_PACKAGES = {
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
        package = _APERTIUM_PACKAGES.get(frozenset({src, tgt}))
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
        raise XlnerError("E402", f"the {binary!r} program is not installed",
                         hint="sudo apt-get install apertium apertium-eu-en (plus the pairs you need)")
    proc = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=60)
    pairs: dict[tuple[str, str, str], str] = {}
    for line in proc.stdout.splitlines():
        mode = line.strip()
        parts = mode.split("-")
        if len(parts) != 2:
            continue
        src, (tgt, _, variant) = parts[0], parts[1].partition("_")
        if src.lower() in _ISO3 and tgt.lower() in _ISO3:
            pairs[(_ISO3[src.lower()], _ISO3[tgt.lower()], variant)] = mode
    return pairs


def _apertium_side(iso3: str) -> tuple[str, str]:
    """Apertium treats sr/hr/bs as one language ``hbs`` with an output variant."""
    if iso3 in _HBS_VARIANT:
        return "hbs", _HBS_VARIANT[iso3]
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
        first = ids[0] if ids else "#0"
        raise XlnerError(
            "E405",
            f"Apertium returned {len(parts)} sentences for {n_expected} in batch {batch} "
            f"(first sentence {first})",
            hint="a sentence probably contains text that Apertium turns into a paragraph break",
        )
    return parts


@dataclass
class ApertiumTranslator:
    """Rule-based translation with the Debian ``apertium`` command.

    Parameters: ``pair`` (exact mode name, overrides the language lookup), ``mark_unknown``
    (keep Apertium's ``*`` marks on unknown words: useful for finding names; default True),
    ``batch_size`` (sentences per subprocess call), ``timeout`` (seconds per call).
    """

    src_lang: str
    tgt_lang: str
    pair: str | None = None
    mark_unknown: bool = True
    batch_size: int = 2000
    timeout: float = 600.0
    binary: str = "apertium"
    name: str = "apertium"

    def __post_init__(self) -> None:
        self.mode = self.pair or self._find_mode()

    def _find_mode(self) -> str:
        src, _ = _apertium_side(normalise_lang(self.src_lang))
        tgt, variant = _apertium_side(normalise_lang(self.tgt_lang))
        pairs = apertium_pairs(self.binary)
        mode = pairs.get((src, tgt, variant)) or pairs.get((src, tgt, ""))
        if mode is None:
            package = _APERTIUM_PACKAGES.get(frozenset({src, tgt}))
            installed = ", ".join(sorted(set(pairs.values()))) or "none"
            one_way = apertium_direction_note(self.src_lang, self.tgt_lang)
            if one_way:
                raise XlnerError("E403", f"no Apertium pair for {self.src_lang}->{self.tgt_lang}: {one_way}",
                                 hint="use the hf translator (NLLB-200, e.g. the paper profile, with "
                                      "the model hub or a local copy) or a precomputed translation")
            hint = (f"sudo apt-get install {package}" if package else
                    "no Debian Apertium package is known for this direction; use the hf or "
                    "precomputed translator")
            raise XlnerError("E403", f"no Apertium pair for {self.src_lang}->{self.tgt_lang} "
                             f"is installed (installed: {installed})", hint=hint)
        return mode

    def translate(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
        texts = _check_texts(texts, ids)
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
            raise XlnerError("E402", f"the {self.binary!r} program is not installed",
                             hint="sudo apt-get install apertium") from None
        except subprocess.TimeoutExpired:
            raise XlnerError("E404", f"Apertium {self.mode} took longer than {self.timeout:.0f} s "
                             f"on the batch starting at sentence {first_id}",
                             hint="lower batch_size or raise timeout") from None
        if proc.returncode != 0:
            raise XlnerError("E404", f"Apertium {self.mode} failed on the batch starting at sentence "
                             f"{first_id}: {proc.stderr.strip()[:500]}")
        return proc.stdout

    def fingerprint(self) -> dict[str, Any]:
        src, _ = _apertium_side(normalise_lang(self.src_lang))
        tgt, _ = _apertium_side(normalise_lang(self.tgt_lang))
        packages = ["apertium"] + [p for p in [_APERTIUM_PACKAGES.get(frozenset({src, tgt}))] if p]
        return {"name": self.name, "pair": self.mode, "mark_unknown": self.mark_unknown,
                "separator": "blank-line", "versions": {p: _dpkg_version(p) for p in packages}}


# --- Hugging Face seq2seq -------------------------------------------------------------------------

def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the model hub's host resolves and accepts a connection (a machine without network
    fails here at once instead of in transformers' minute of retries)."""
    import socket
    from urllib.parse import urlparse

    try:
        from huggingface_hub import constants

        host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
        if constants.HF_HUB_OFFLINE:
            return False
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        host = "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def from_pretrained(loader: Any, model: str, *, revision: str | None, local_files_only: bool) -> Any:
    """``loader.from_pretrained`` that looks in the local cache first and only goes to the hub when
    it can be reached; raises OSError (the caller turns it into its own coded error)."""
    if Path(model).expanduser().is_dir() or local_files_only:
        return loader.from_pretrained(str(Path(model).expanduser()) if Path(model).expanduser().is_dir()
                                      else model, revision=revision, local_files_only=True)
    try:
        return loader.from_pretrained(model, revision=revision, local_files_only=True)
    except (OSError, ValueError):
        if not hub_reachable():
            raise OSError(f"{model!r} is neither a local folder nor in the Hugging Face cache, "
                          "and the model hub cannot be reached") from None
        return loader.from_pretrained(model, revision=revision)


def _resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise XlnerError("E412", f"device {device!r} was asked for but no CUDA GPU is available",
                         hint="use device: auto or cpu")
    return str(device)


def lang_tokens(vocab: dict[str, int], src_lang: str, tgt_lang: str,
                model_type: str = "") -> tuple[str | None, str | None, str]:
    """Find how a seq2seq vocabulary names languages: NLLB (``eus_Latn``), M2M-100 (``__eu__``),
    or a Marian multi-target prefix (``>>eus<<``). Returns ``(src_token, tgt_token, family)``."""
    tgt3 = normalise_lang(tgt_lang)
    candidates = [] if model_type == "marian" else [
        ("nllb", lambda c: nllb_code(c)),
        ("m2m", lambda c: f"__{_ISO1.get(normalise_lang(c), normalise_lang(c))}__"),
    ]
    for family, code in candidates:
        try:
            s, t = code(src_lang), code(tgt_lang)
        except XlnerError:
            continue
        if t in vocab:
            return (s if s in vocab else None), t, family
    for prefix in (f">>{tgt3}<<", f">>{_ISO1.get(tgt3, tgt3)}<<"):
        if prefix in vocab:
            return None, prefix, "marian-multi"
    return None, None, "plain"


@dataclass
class HFTranslator:
    """A transformers seq2seq translator (NLLB-200, M2M-100, Marian), batched, sorted by length.

    Parameters: ``model`` (hub name or local folder), ``revision``, ``batch_size``, ``num_beams``,
    ``max_length`` (new tokens), ``device`` (auto/cpu/cuda), ``src_code``/``tgt_code`` (override the
    language tokens), ``local_files_only``, ``truncate`` (cut inputs longer than ``max_length``
    sub-tokens instead of refusing them: the end of such a sentence would be lost).
    """

    src_lang: str
    tgt_lang: str
    model: str = "facebook/nllb-200-3.3B"
    revision: str | None = None
    batch_size: int = 16
    num_beams: int = 4
    max_length: int = 256
    device: str | None = "auto"
    src_code: str | None = None
    tgt_code: str | None = None
    local_files_only: bool = False
    truncate: bool = False
    name: str = "hf"
    _model: Any = field(default=None, repr=False)
    _tok: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        normalise_lang(self.src_lang), normalise_lang(self.tgt_lang)  # fail early on bad codes
        self.device = _resolve_device(self.device)

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        try:
            self._tok = from_pretrained(AutoTokenizer, self.model, revision=self.revision,
                                        local_files_only=self.local_files_only)
            self._model = from_pretrained(AutoModelForSeq2SeqLM, self.model, revision=self.revision,
                                          local_files_only=self.local_files_only)
        except (OSError, ValueError) as exc:
            raise XlnerError("E409", f"cannot load translation model {self.model!r}: "
                             f"{str(exc).splitlines()[0][:300]}",
                             hint="give a local folder with config.json, weights and tokenizer files "
                                  "(there is no model hub on this machine), or use the apertium "
                                  "or precomputed translator") from None
        self._model.to(self.device).eval()
        src, tgt, self.family = lang_tokens(self._tok.get_vocab(), self.src_lang, self.tgt_lang,
                                            getattr(self._model.config, "model_type", ""))
        self._src_token = self.src_code or src
        self._tgt_token = self.tgt_code or tgt
        if self.family in ("nllb", "m2m") and self._tgt_token is None:
            raise XlnerError("E401", f"model {self.model!r} has no token for target {self.tgt_lang!r}")
        if self._src_token is not None and hasattr(self._tok, "src_lang"):
            self._tok.src_lang = self._src_token  # NLLB/M2M tokenizers prepend the source code

    def translate(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
        import torch

        texts = _check_texts(texts, ids)
        self._load()
        prefix = self._tgt_token + " " if self.family == "marian-multi" else ""
        forced = None
        if self.family in ("nllb", "m2m"):
            forced = self._tok.convert_tokens_to_ids(self._tgt_token)
        lengths = [len(ids_) for ids_ in self._tok([prefix + t for t in texts])["input_ids"]]
        too_long = [i for i, n in enumerate(lengths) if n > self.max_length and texts[i].strip()]
        if too_long and not self.truncate:
            i = too_long[0]
            raise XlnerError("E414", f"sentence {_label(i, ids)} has {lengths[i]} sub-tokens, more than "
                             f"max_length={self.max_length} ({len(too_long)} such sentences)",
                             hint="raise max_length, split the sentence, or set truncate: true")
        # Longest first: padding is smallest when similar lengths share a batch.
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        out = [""] * len(texts)
        for start in range(0, len(order), self.batch_size):
            idx = [i for i in order[start:start + self.batch_size] if texts[i].strip()]
            if not idx:
                continue
            enc = self._tok([prefix + texts[i] for i in idx], return_tensors="pt", padding=True,
                            truncation=True, max_length=self.max_length).to(self.device)
            with torch.inference_mode():
                gen = self._model.generate(**enc, num_beams=self.num_beams,
                                           max_new_tokens=self.max_length,
                                           forced_bos_token_id=forced)
            for i, text in zip(idx, self._tok.batch_decode(gen, skip_special_tokens=True)):
                out[i] = text.strip()
        return out

    def fingerprint(self) -> dict[str, Any]:
        path = Path(self.model)
        ident: dict[str, Any] = {"model": self.model, "revision": self.revision}
        if path.is_dir():  # a local folder: key on its weights' size and time, not just its name
            ident["files"] = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime))
                                    for p in path.iterdir() if p.is_file())
        return {"name": self.name, "src": self.src_lang, "tgt": self.tgt_lang, **ident,
                "num_beams": self.num_beams, "max_length": self.max_length,
                "src_code": self.src_code, "tgt_code": self.tgt_code}


# --- precomputed -------------------------------------------------------------------------------

@dataclass
class PrecomputedTranslator:
    """Translations made elsewhere: jsonl ``{"id", "translation"}`` (optionally ``"source"``) or tsv
    ``id<TAB>translation``. ``translate(texts, ids)`` looks up by id; without ids, by source text."""

    src_lang: str
    tgt_lang: str
    path: str = ""
    name: str = "precomputed"

    def __post_init__(self) -> None:
        p = Path(os.path.expanduser(str(self.path)))
        if not self.path or not p.is_file():
            raise XlnerError("E406", f"precomputed translation file {str(self.path)!r} not found",
                             hint="set path: to a .jsonl or .tsv file of id and translation")
        self._by_id: dict[str, str] = {}
        self._by_source: dict[str, str] = {}
        tsv = p.suffix.lower() in (".tsv", ".txt")
        with p.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                if tsv:
                    cols = line.rstrip("\n").split("\t")
                    if n == 1 and [c.strip().lower() for c in cols[:2]] == ["id", "translation"]:
                        continue  # header
                    if len(cols) != 2:
                        raise XlnerError("E407", f"{where(p, n)}: expected 2 tab-separated columns "
                                         f"(id, translation), found {len(cols)}")
                    sid, trans, src = cols[0], cols[1], None
                else:
                    try:
                        rec = json.loads(line)
                        sid, trans, src = str(rec["id"]), rec["translation"], rec.get("source")
                    except (json.JSONDecodeError, KeyError, TypeError) as exc:
                        raise XlnerError("E407", f"{where(p, n)}: not a JSON object with \"id\" and "
                                         f"\"translation\" ({type(exc).__name__}: {exc})") from None
                    if not isinstance(trans, str):
                        raise XlnerError("E407", f"{where(p, n, sid)}: translation is not a string")
                if sid in self._by_id:
                    raise XlnerError("E413", f"{where(p, n, sid)}: id appears twice")
                self._by_id[sid] = trans
                if src is not None:
                    self._by_source[str(src)] = trans
        self._path = p

    def translate(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
        texts = _check_texts(texts, ids)
        out = []
        for i, text in enumerate(texts):
            if ids is not None:
                sid = str(ids[i])
                if sid not in self._by_id:
                    raise XlnerError("E408", f"{self._path}: no translation for sentence id {sid!r}",
                                     hint="the file must have one line per sentence id of the data")
                out.append(self._by_id[sid])
            elif text in self._by_source:
                out.append(self._by_source[text])
            else:
                raise XlnerError("E408", f"{self._path}: no translation for sentence #{i} "
                                 f"{text[:60]!r} (no ids given and no matching \"source\" field)",
                                 hint="pass ids=, or add a \"source\" field to each line")
        return out

    def fingerprint(self) -> dict[str, Any]:
        st = self._path.stat()
        return {"name": self.name, "path": str(self._path.resolve()), "size": st.st_size,
                "mtime": int(st.st_mtime)}


TRANSLATORS = {"apertium": ApertiumTranslator, "hf": HFTranslator, "precomputed": PrecomputedTranslator}


def get_translator(name: str, src_lang: str, tgt_lang: str, **params: Any) -> Translator:
    """A translator by name (``apertium``, ``hf``, ``precomputed``) with its parameters."""
    if name not in TRANSLATORS:
        raise XlnerError("E410", f"unknown translator {name!r}",
                         hint=f"choose one of {', '.join(TRANSLATORS)}")
    cls = TRANSLATORS[name]
    known = set(cls.__dataclass_fields__) - {"src_lang", "tgt_lang", "name"}
    unknown = sorted(k for k in params if k not in known or k.startswith("_"))
    if unknown:
        raise XlnerError("E410", f"unknown parameter(s) {unknown} for translator {name!r}",
                         hint=f"known: {sorted(k for k in known if not k.startswith('_'))}")
    return cls(src_lang, tgt_lang, **params)


# --- marker-preserving back-translation (method.md §5) ----------------------------------------------

MARKERS = ("[", "]")


def _escape_markers(token: str, markers: tuple[str, str]) -> str:
    """A marker character that is part of the sentence itself becomes a parenthesis, so that every
    marker in the translation was put there for an entity."""
    return token.replace(markers[0], "(").replace(markers[1], ")")


def wrap_entities(tokens: Sequence[str], spans: Sequence[Span], markers: tuple[str, str] = MARKERS) -> str:
    """Detokenized text with each entity wrapped in markers: ``[Barack Obama] visited [Paris]``
    (marker characters already in the words are written as parentheses)."""
    opens = {s.start for s in spans}
    closes = {s.end - 1 for s in spans}
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if i in opens:
            out.append(markers[0])
        out.append(_escape_markers(tok, markers))
        if i in closes:
            out.append(markers[1])
    return detokenize(out)


def mark_entities(sentences: Sequence[Sequence[str]], entities: Sequence[Sequence[Span]],
                  markers: tuple[str, str] = MARKERS) -> tuple[list[str], list[list[str]]]:
    """The marked text of each sentence (``""`` for a sentence without entities: nothing to
    back-translate) and the surface string of each of its entities, to be translated alone."""
    texts, surfaces = [], []
    for toks, ents in zip(sentences, entities):
        texts.append(wrap_entities(toks, ents, markers) if ents else "")
        surfaces.append([detokenize([_escape_markers(t, markers) for t in toks[s.start:s.end]])
                         for s in ents])
    return texts, surfaces


def recover_marked_spans(text: str, markers: tuple[str, str] = MARKERS) -> tuple[list[str], list[tuple[int, int]], int]:
    """Split a translated marked sentence into words without markers and the word ranges that were
    bracketed. Returns ``(words, ranges, n_broken)``; ``n_broken`` counts unmatched or nested
    markers and empty brackets, whose content is kept as plain words."""
    words: list[str] = []
    ranges: list[tuple[int, int]] = []
    broken = 0
    start: int | None = None
    for w in split_words(text):
        if w == markers[0]:
            if start is not None:
                broken += 1  # nested or unclosed: the earlier open marker is lost
            start = len(words)
        elif w == markers[1]:
            if start is None or start == len(words):
                broken += 1
            else:
                ranges.append((start, len(words)))
            start = None
        else:
            words.append(w)
    if start is not None:
        broken += 1
    return words, ranges, broken


def _similarities(words: Sequence[str], ranges: Sequence[tuple[int, int]],
                  entity_translations: Sequence[str]) -> list[tuple[float, int, int]]:
    """``(ratio, range index, entity index)`` for every pair, by ``difflib.SequenceMatcher``."""
    out = []
    for r, (s, e) in enumerate(ranges):
        surface = " ".join(words[s:e]).lower()
        for k, trans in enumerate(entity_translations):
            other = " ".join(split_words(trans)).lower()
            out.append((difflib.SequenceMatcher(None, surface, other).ratio(), r, k))
    return out


def _best_pairs(scored: list[tuple[float, int, int]], min_ratio: float | None) -> list[tuple[float, int, int]]:
    """Best pairs first, one range per entity and one entity per range (ties: lower range, then
    lower entity index); only ratios above ``min_ratio`` when it is given."""
    chosen, used_r, used_k = [], set(), set()
    for ratio, r, k in sorted(scored, key=lambda x: (-x[0], x[1], x[2])):
        if (min_ratio is not None and ratio <= min_ratio) or r in used_r or k in used_k:
            continue
        used_r.add(r)
        used_k.add(k)
        chosen.append((ratio, r, k))
    return chosen


def assign_marked_classes(words: Sequence[str], ranges: Sequence[tuple[int, int]],
                          entity_translations: Sequence[str], labels: Sequence[str],
                          *, min_ratio: float = 0.5) -> tuple[list[Span], list[int]]:
    """Give each bracketed range the class of the entity whose separate translation it resembles.

    Each range goes to the most similar entity by ``difflib.SequenceMatcher`` ratio (> ``min_ratio``),
    best pairs first, one range per entity. Returns the spans and, for each, the entity index.
    """
    chosen = _best_pairs(_similarities(words, ranges, entity_translations), min_ratio)
    pairs = sorted((Span(ranges[r][0], ranges[r][1], labels[k]), k) for _, r, k in chosen)
    return [s for s, _ in pairs], [k for _, k in pairs]


@dataclass
class MarkedTranslation:
    """A back-translated sentence with the entities recovered from markers."""

    text: str
    words: list[str]
    spans: list[Span]
    sources: list[int]              # entity index each span came from
    lost: list[Unprojected]         # entities not recovered: marker_lost / _unbalanced / _moved
    broken_markers: int = 0
    scores: list[float] = field(default_factory=list)  # difflib ratio of each span to its entity

    def to_dict(self) -> dict[str, Any]:
        scores = self.scores or [1.0] * len(self.spans)
        return {"text": self.text, "words": self.words,
                "spans": [{**s.to_dict(), "source": k, "score": sc}
                          for s, k, sc in zip(self.spans, self.sources, scores)],
                "lost": [u.to_dict() for u in self.lost], "broken_markers": self.broken_markers}


def recover_back_translation(text: str, entity_translations: Sequence[str], labels: Sequence[str], *,
                             min_ratio: float = 0.5, markers: tuple[str, str] = MARKERS) -> MarkedTranslation:
    """Typed spans of one marked back-translation, and why each entity that got none got none.

    A bracketed range takes the class of the entity whose separate translation it resembles
    (ratio > ``min_ratio``, best pairs first). An entity left over is ``marker_moved`` when a
    bracketed range is left over too (its markers came back around other words: the leftovers are
    paired best first), else ``marker_unbalanced`` when the text has unpaired or nested markers,
    else ``marker_lost`` (its markers were dropped).
    """
    words, ranges, broken = recover_marked_spans(text, markers)
    scored = _similarities(words, ranges, entity_translations)
    chosen = _best_pairs(scored, min_ratio)
    pairs = sorted((Span(ranges[r][0], ranges[r][1], labels[k]), k, ratio) for ratio, r, k in chosen)
    used_r = {r for _, r, _ in chosen}
    used_k = {k for _, _, k in chosen}
    moved = {k for _, _, k in _best_pairs([x for x in scored if x[1] not in used_r and x[2] not in used_k], None)}
    lost = []
    for k in range(len(labels)):
        if k in used_k:
            continue
        reason = (Reason.MARKER_MOVED if k in moved else
                  Reason.MARKER_UNBALANCED if broken else Reason.MARKER_LOST)
        lost.append(Unprojected(k, reason))
    return MarkedTranslation(text, words, [s for s, _, _ in pairs], [k for _, k, _ in pairs], lost,
                             broken, [float(r) for _, _, r in pairs])


def back_translate_with_markers(translator: Translator, sentences: Sequence[Sequence[str]],
                                entities: Sequence[Sequence[Span]], *,
                                markers: tuple[str, str] = MARKERS, min_ratio: float = 0.5,
                                ids: Sequence[str] | None = None) -> list[MarkedTranslation]:
    """Translate English sentences with marked entities back into the target language (one batch),
    translate every entity string alone (one more batch), and recover the typed target spans.
    Sentences without entities are not sent (their result is empty)."""
    marked, surfaces = mark_entities(sentences, entities, markers)
    todo = [i for i, t in enumerate(marked) if t]
    out = translator.translate([marked[i] for i in todo],
                               ids=None if ids is None else [ids[i] for i in todo]) if todo else []
    translated = [""] * len(marked)
    for i, t in zip(todo, out):
        translated[i] = t
    flat = [x for xs in surfaces for x in xs]
    entity_trans = translator.translate(flat) if flat else []
    results = []
    k0 = 0
    for text, ents in zip(translated, entities):
        results.append(recover_back_translation(text, entity_trans[k0:k0 + len(ents)],
                                                [s.label for s in ents], min_ratio=min_ratio,
                                                markers=markers))
        k0 += len(ents)
    return results
