"""A Hugging Face seq2seq translator (NLLB-200, M2M-100, Marian) loaded by hub name or local folder,
batched and sorted by length."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Sequence

from annotated_types import Ge

from xlner.devices import resolve_device
from xlner.errors import XlnerError
from xlner.hub import load_seq2seq
from xlner.registry import Int, PathText
from xlner.translate.base import check_texts, label
from xlner.translate.languages import ISO1, nllb_code, normalise_lang


def lang_tokens(vocab: dict[str, int], src_lang: str, tgt_lang: str,
                model_type: str = "") -> tuple[str | None, str | None, str]:
    """Find how a seq2seq vocabulary names languages: NLLB (``eus_Latn``), M2M-100 (``__eu__``),
    or a Marian multi-target prefix (``>>eus<<``). Returns ``(src_token, tgt_token, family)``."""
    tgt3 = normalise_lang(tgt_lang)
    candidates = [] if model_type == "marian" else [
        ("nllb", lambda c: nllb_code(c)),
        ("m2m", lambda c: f"__{ISO1.get(normalise_lang(c), normalise_lang(c))}__"),
    ]
    for family, code in candidates:
        try:
            s, t = code(src_lang), code(tgt_lang)
        except XlnerError:
            continue
        if t in vocab:
            return (s if s in vocab else None), t, family
    for prefix in (f">>{tgt3}<<", f">>{ISO1.get(tgt3, tgt3)}<<"):
        if prefix in vocab:
            return None, prefix, "marian-multi"
    return None, None, "plain"


@dataclass(kw_only=True)
class HFTranslatorParams:
    """``model`` (hub name or local folder), ``revision``, ``batch_size``, ``num_beams``,
    ``max_length`` (new tokens), ``device`` (auto/cpu/cuda), ``src_code``/``tgt_code`` (override the
    language tokens), ``local_files_only``, ``truncate`` (cut inputs longer than ``max_length``
    sub-tokens instead of refusing them: the end of such a sentence would be lost)."""

    model: PathText = "facebook/nllb-200-3.3B"
    revision: str | None = None
    batch_size: Annotated[Int, Ge(1)] = 16
    num_beams: Annotated[Int, Ge(1)] = 4
    max_length: Annotated[Int, Ge(1)] = 256
    device: str | None = "auto"
    src_code: str | None = None
    tgt_code: str | None = None
    local_files_only: bool = False
    truncate: bool = False


@dataclass
class HFTranslator(HFTranslatorParams):
    """A transformers seq2seq translator (parameters: :class:`HFTranslatorParams`)."""

    src_lang: str
    tgt_lang: str
    name: ClassVar[str] = "hf"
    _model: Any = field(default=None, init=False, repr=False)
    _tok: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        normalise_lang(self.src_lang), normalise_lang(self.tgt_lang)  # fail early on bad codes
        self.device = resolve_device(self.device)

    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            self._tok, self._model = load_seq2seq(self.model, revision=self.revision,
                                                  local_files_only=self.local_files_only)
        except (OSError, ValueError) as exc:
            raise XlnerError("E409", model=self.model, reason=str(exc).splitlines()[0][:300]) from None
        self._model.to(self.device).eval()
        src, tgt, self.family = lang_tokens(self._tok.get_vocab(), self.src_lang, self.tgt_lang,
                                            getattr(self._model.config, "model_type", ""))
        self._src_token = self.src_code or src
        self._tgt_token = self.tgt_code or tgt
        if self.family in ("nllb", "m2m") and self._tgt_token is None:
            raise XlnerError("E415", code=self.tgt_lang, model=f"model {self.model!r}")
        if self._src_token is not None and hasattr(self._tok, "src_lang"):
            self._tok.src_lang = self._src_token  # NLLB/M2M tokenizers prepend the source code

    def translate(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
        import torch

        texts = check_texts(texts, ids)
        self._load()
        prefix = f"{self._tgt_token} " if self.family == "marian-multi" else ""
        forced = None
        if self.family in ("nllb", "m2m"):
            forced = self._tok.convert_tokens_to_ids(self._tgt_token)
        lengths = [len(ids_) for ids_ in self._tok([prefix + t for t in texts])["input_ids"]]
        too_long = [i for i, n in enumerate(lengths) if n > self.max_length and texts[i].strip()]
        if too_long and not self.truncate:
            i = too_long[0]
            raise XlnerError("E414", text=label(i, ids), n_tokens=lengths[i], max_length=self.max_length,
                             n_long=len(too_long))
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
