"""Translation-based similarity of an entity and a target candidate (NMTScore "direct", method.md §4).

Vamvas and Sennrich (2022) score two texts A and B with a translation model by forced decoding:

    P(y | x)        = exp(mean over y's tokens of log p(y_t | y_<t, x))   (length-normalised)
    direct(A <- B)  = P(A | B) / P(A | A)                                 (normalised by A's self-score)
    sim(A, B)       = (direct(A <- B) + direct(B <- A)) / 2               (symmetrised)

The thesis uses it as a matching score between an English entity and every target candidate
(NLLB-200-600M, scores below a threshold of 0.1 set to 0). :class:`NMTScorer` computes it with any
Hugging Face seq2seq model: NLLB-200 or M2M-100 by name for users who have them (language tokens are
found as in :mod:`xlner.translate`), or a local folder; a model without language tokens scores
plain text. The forced target-language token of NLLB/M2M is given, not predicted, so it is not part
of the mean. Pairs are deduplicated and scored in length-sorted batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import json

import numpy as np

from xlner.errors import XlnerError

__all__ = ["NMTScorer", "NMT_THRESHOLD", "check_seq2seq"]

NMT_THRESHOLD = 0.1  # thesis: NMT scores below this count as 0


@dataclass
class NMTScorer:
    """NMTScore "direct" with a seq2seq model (default NLLB-200 distilled 600M, as in the thesis).

    Parameters: ``model`` (hub name or local folder), ``revision``, ``batch_size``, ``device``
    (auto/cpu/cuda), ``local_files_only``, ``threshold`` (scores below it are 0 in
    :meth:`score_matrix`), ``max_length`` (sub-tokens per text; entities and candidates are short).
    """

    model: str = "facebook/nllb-200-distilled-600M"
    revision: str | None = None
    batch_size: int = 32
    device: str | None = "auto"
    local_files_only: bool = False
    threshold: float = NMT_THRESHOLD
    max_length: int = 64
    _model: Any = field(default=None, repr=False)
    _tok: Any = field(default=None, repr=False)

    def _load(self) -> None:
        if self._model is not None:
            return
        from xlner.devices import resolve_device
        from xlner.hub import load_seq2seq

        self.device = resolve_device(self.device)
        try:
            self._tok, self._model = load_seq2seq(self.model, revision=self.revision,
                                                  local_files_only=self.local_files_only)
        except (OSError, ValueError) as exc:
            raise XlnerError("E482", model=self.model, reason=str(exc).splitlines()[0][:300]) from None
        self._model.to(self.device).eval()

    def _lang_token(self, lang: str | None) -> str | None:
        """The model's token for ``lang`` (``eus_Latn``, ``__eu__``), or None for plain models."""
        if lang is None:
            return None
        from xlner.translate import lang_tokens

        _, token, family = lang_tokens(self._tok.get_vocab(), "eng", lang,
                                       getattr(self._model.config, "model_type", ""))
        return token if family in ("nllb", "m2m") else None

    def likelihood(self, sources: Sequence[str], targets: Sequence[str], src_lang: str | None = None,
                   tgt_lang: str | None = None) -> np.ndarray:
        """Length-normalised forced-decoding probability ``P(target | source)`` of each pair."""
        import torch

        self._load()
        if len(sources) != len(targets):
            raise XlnerError("E483", n_sources=len(sources), n_targets=len(targets))
        out = np.zeros(len(sources))
        if not len(sources):
            return out
        src_token, tgt_token = self._lang_token(src_lang), self._lang_token(tgt_lang)
        if src_token is not None and hasattr(self._tok, "src_lang"):
            self._tok.src_lang = src_token
        if tgt_token is not None and hasattr(self._tok, "tgt_lang"):
            self._tok.tgt_lang = tgt_token
        forced = None if tgt_token is None else self._tok.convert_tokens_to_ids(tgt_token)
        pad = self._tok.pad_token_id
        order = sorted(range(len(sources)), key=lambda i: -len(targets[i]) - len(sources[i]))
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo:lo + self.batch_size]
            enc = self._tok([sources[i] for i in idx], text_target=[targets[i] for i in idx],
                            return_tensors="pt", padding=True, truncation=True, max_length=self.max_length)
            labels = enc.pop("labels")
            scored = labels != pad
            if forced is not None:  # the language token is forced, not predicted
                scored &= labels != forced
            labels = labels.masked_fill(labels == pad, -100)
            with torch.inference_mode():
                logits = self._model(**{k: v.to(self.device) for k, v in enc.items()},
                                     labels=labels.to(self.device)).logits.float()
            logp = torch.log_softmax(logits, dim=-1).cpu()
            token_logp = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            mean = (token_logp * scored).sum(-1) / scored.sum(-1).clamp(min=1)
            out[idx] = torch.exp(mean).numpy()
        return out

    def direct(self, a: Sequence[str], b: Sequence[str], a_lang: str | None = None,
               b_lang: str | None = None) -> np.ndarray:
        """Symmetrised, normalised NMTScore direct similarity of each pair ``(a[i], b[i])``.

        Each distinct text's self-score ``P(A | A)`` is computed once, however many pairs it is in
        (an entity is paired with every candidate of its sentence)."""
        a, b = list(a), list(b)
        self_a = self._self_scores(a, a_lang)
        self_b = self._self_scores(b, b_lang)
        a_given_b = self.likelihood(b, a, b_lang, a_lang) / self_a
        b_given_a = self.likelihood(a, b, a_lang, b_lang) / self_b
        return (a_given_b + b_given_a) / 2

    def _self_scores(self, texts: list[str], lang: str | None) -> np.ndarray:
        """``P(t | t)`` of each text, each distinct text scored once."""
        distinct = sorted(set(texts))
        lookup = dict(zip(distinct, self.likelihood(distinct, distinct, lang, lang)))
        return np.array([lookup[t] for t in texts], dtype=np.float64)

    def pair_scores(self, entities: Sequence[str], candidates: Sequence[str], entity_lang: str | None = None,
                    candidate_lang: str | None = None) -> np.ndarray:
        """The matching score of each pair ``(entities[i], candidates[i])``: :meth:`direct`, each
        distinct pair scored once, values below ``threshold`` set to 0."""
        pairs = sorted(set(zip(entities, candidates)))
        if not pairs:
            return np.zeros(0)
        values = self.direct([e for e, _ in pairs], [c for _, c in pairs], entity_lang, candidate_lang)
        values[values < self.threshold] = 0.0
        lookup = dict(zip(pairs, values))
        return np.array([lookup[p] for p in zip(entities, candidates)], dtype=np.float64)

    def score_matrix(self, entities: Sequence[str], candidates: Sequence[str], entity_lang: str | None = None,
                     candidate_lang: str | None = None) -> np.ndarray:
        """``(n_entities, n_candidates)`` similarities, each distinct pair scored once, values below
        ``threshold`` set to 0 (a matching score, method.md §4)."""
        flat = self.pair_scores([e for e in entities for _ in candidates], [c for _ in entities for c in candidates],
                                entity_lang, candidate_lang)
        return flat.reshape(len(entities), len(candidates))

    def fingerprint(self) -> dict[str, Any]:
        path = Path(self.model)
        ident: dict[str, Any] = {"model": self.model, "revision": self.revision}
        if path.is_dir():
            ident["files"] = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime))
                                    for p in path.iterdir() if p.is_file())
        return {"name": "nmtscore-direct", **ident, "threshold": self.threshold, "max_length": self.max_length}


_PATH_PREFIXES = ("/", "./", "../", "~")


def check_seq2seq(model: str) -> None:
    """Refuse a local folder that is not a seq2seq (encoder-decoder) model before any work (E690),
    or a path that does not exist (E691); a hub name is left to the loader (E482)."""
    path = Path(model).expanduser()
    if not path.exists():
        if model.startswith(_PATH_PREFIXES):
            raise XlnerError("E691", model=model)
        return
    try:
        data = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise XlnerError("E690", model=model, found="no readable config.json") from None
    if not isinstance(data, dict) or not data.get("is_encoder_decoder"):
        archs = [str(a) for a in (data.get("architectures") or [])] if isinstance(data, dict) else []
        found = f"architectures {archs}, not an encoder-decoder" if archs else "not an encoder-decoder config"
        raise XlnerError("E690", model=model, found=found)
