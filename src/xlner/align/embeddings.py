"""Batched contextual subword embeddings of pre-tokenised sentences, from any HF encoder.

SimAlign encodes one sentence pair per forward pass; here many sentences share each pass:
sentences are tokenised word by word in one call, sorted by length, packed into padded batches
under a token budget, and only the encoder layers up to the requested one are run. Sentences
longer than the model window are cut into half-overlapping windows; each subword keeps the
vector from the window in which it sits most centrally, so no sentence is truncated.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from xlner.devices import resolve_device, resolve_dtype
from xlner.errors import XlnerError


@dataclass
class EncodedSentence:
    """Subword vectors of one sentence and, per word, the ``[start, end)`` range of its subwords."""

    vectors: np.ndarray      # (n_subwords, dim) float32
    word_starts: np.ndarray  # (n_words,) int64
    word_ends: np.ndarray    # (n_words,) int64

    @property
    def n_words(self) -> int:
        return len(self.word_starts)

    def word_vectors(self) -> np.ndarray:
        """Mean of each word's subword vectors (SimAlign's ``word`` unit)."""
        if self.n_words == 0:
            return np.zeros((0, self.vectors.shape[1]), dtype=np.float32)
        sums = np.add.reduceat(self.vectors, self.word_starts, axis=0)
        return (sums / (self.word_ends - self.word_starts)[:, None]).astype(np.float32)

    def subword_to_word(self) -> np.ndarray:
        """Word index of every subword."""
        return np.repeat(np.arange(self.n_words), self.word_ends - self.word_starts)


def resolve_model(model: str | os.PathLike | None) -> str:
    """``None``/``"e5-small"`` → the offline e5-small folder; otherwise a path or a hub name."""
    if model is None or str(model) in ("e5-small", "multilingual-e5-small", "offline"):
        from xlner.encoder import ensure_e5_small

        return str(ensure_e5_small())
    return str(model)


def model_depth(model: str) -> int:
    """Number of transformer layers of ``model`` (read from its config only)."""
    config = _load_config(model)
    depth = getattr(config, "num_hidden_layers", None)
    if depth is None:
        raise XlnerError("E525", model=model)
    return int(depth)


def check_layer(model: str, layer: int) -> int:
    """Validate ``layer`` (0 = embeddings, depth = last layer; negative counts from the end)."""
    depth = model_depth(model)
    if not isinstance(layer, (int, np.integer)) or isinstance(layer, bool):
        raise XlnerError("E519", layer=layer, model=model, depth=depth)
    resolved = depth + 1 + layer if layer < 0 else int(layer)
    if not 0 <= resolved <= depth:
        raise XlnerError("E519", layer=layer, model=model, depth=depth)
    return resolved


def _load_config(model: str):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise XlnerError("E513", model=model, reason=str(exc).splitlines()[0]) from exc


_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _load(model: str, layer: int, device: str, dtype: str = "float32"):
    """Tokenizer and a copy of the encoder truncated to its first ``layer`` layers (so its last
    hidden state is SimAlign's ``hidden_states[layer]`` and the unused top layers cost nothing)."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    config = _load_config(model)
    config.num_hidden_layers = layer
    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # dropping the top layers' weights is intended
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
        encoder = AutoModel.from_pretrained(model, config=config)
    except (OSError, ValueError) as exc:
        raise XlnerError("E513", model=model, reason=str(exc).splitlines()[0]) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    if not getattr(tokenizer, "is_fast", False):
        raise XlnerError("E526", model=model)
    encoder.eval().to(device=torch.device(device), dtype=getattr(torch, dtype))
    return tokenizer, encoder


def _special_layout(tokenizer) -> tuple[list[int], list[int]]:
    """The special token ids a single sentence gets before and after its content."""
    enc = tokenizer([["x"]], is_split_into_words=True, add_special_tokens=True)
    ids, word_ids = enc["input_ids"][0], enc.word_ids(0)
    first = word_ids.index(0)
    last = len(word_ids) - 1 - word_ids[::-1].index(0)
    return ids[:first], ids[last + 1:]


def _model_window(tokenizer, encoder) -> int:
    limits = [int(getattr(encoder.config, "max_position_embeddings", 512) or 512)]
    if getattr(encoder.config, "model_type", "") in ("xlm-roberta", "roberta", "camembert"):
        limits[0] -= 2  # RoBERTa-style position ids start after the padding index
    if 0 < getattr(tokenizer, "model_max_length", 0) < 100_000:
        limits.append(int(tokenizer.model_max_length))
    return min(limits)


def _windows(n: int, width: int) -> list[tuple[int, int]]:
    """Half-overlapping ``[a, b)`` windows covering ``range(n)``; one if it fits."""
    if n <= width:
        return [(0, n)]
    stride = max(1, width // 2)
    starts = list(range(0, n - width, stride)) + [n - width]
    return [(a, a + width) for a in starts]


def default_threads() -> int:
    """Torch threads for encoding: ``$XLNER_THREADS``, else ``$OMP_NUM_THREADS``, else 1.

    One thread by default because on a shared machine two torch threads competing with other
    busy processes ran 8x slower than one (2.6 vs 20.4 sentences/s, benchmarks/bench_align.py);
    raise it on an idle multi-core machine."""
    for var in ("XLNER_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


class SubwordEncoder:
    """Embeds pre-tokenised sentences with layer ``layer`` of ``model``, many per forward pass."""

    def __init__(self, model: str | os.PathLike | None = None, layer: int = 8, *, device: str = "auto",
                 batch_tokens: int = 8192, max_batch: int = 64, max_length: int | None = None,
                 threads: int | None = None, dtype: str = "auto") -> None:
        self.model = resolve_model(model)
        self.layer = check_layer(self.model, layer)
        device = resolve_device(device)
        self.device = device
        self.dtype = resolve_dtype(dtype, device)
        self.batch_tokens, self.max_batch = int(batch_tokens), int(max_batch)
        self.threads = default_threads() if threads is None else int(threads)
        with _LOAD_LOCK:
            self.tokenizer, self.encoder = _load(self.model, self.layer, device, self.dtype)
        self.prefix, self.suffix = _special_layout(self.tokenizer)
        window = _model_window(self.tokenizer, self.encoder) if max_length is None else int(max_length)
        self.content_width = window - len(self.prefix) - len(self.suffix)
        if self.content_width < 2:
            raise XlnerError("E520", window=window, model=self.model)

    # -- tokenisation ---------------------------------------------------------------------
    def _subwords(self, sentences: list[list[str]]) -> list[tuple[list[int], np.ndarray, np.ndarray]]:
        """Per sentence: content subword ids and each word's subword range. A word that the
        tokenizer reduces to nothing (e.g. a lone control character) gets the unknown token, so
        that every word has a vector."""
        unk = self.tokenizer.unk_token_id
        if unk is None:
            unk = self.tokenizer.pad_token_id or 0
        # Tokenizers reject empty word lists; give such sentences a placeholder and drop it below.
        enc = self.tokenizer([s if s else ["x"] for s in sentences], is_split_into_words=True,
                             add_special_tokens=False)
        out: list[tuple[list[int], np.ndarray, np.ndarray]] = []
        for i, sent in enumerate(sentences):
            if not sent:
                out.append(([], np.zeros(0, np.int64), np.zeros(0, np.int64)))
                continue
            ids, word_ids = enc["input_ids"][i], enc.word_ids(i)
            per_word: list[list[int]] = [[] for _ in sent]
            for tok_id, w in zip(ids, word_ids):
                if w is not None:
                    per_word[w].append(tok_id)
            flat: list[int] = []
            starts = np.empty(len(sent), np.int64)
            ends = np.empty(len(sent), np.int64)
            for w, pieces in enumerate(per_word):
                starts[w] = len(flat)
                flat.extend(pieces or [unk])
                ends[w] = len(flat)
            out.append((flat, starts, ends))
        return out

    # -- encoding -------------------------------------------------------------------------
    def encode(self, sentences: Sequence[Sequence[str]]) -> list[EncodedSentence]:
        """Subword vectors for every sentence (word lists), computed in padded batches."""
        import torch

        sentences = [list(s) for s in sentences]
        tokenised = self._subwords([list(s) for s in sentences])
        segments: list[tuple[int, int, int]] = []  # (sentence index, window start, window end)
        for i, (ids, _, _) in enumerate(tokenised):
            if ids:
                segments.extend((i, a, b) for a, b in _windows(len(ids), self.content_width))
        order = sorted(range(len(segments)), key=lambda k: segments[k][2] - segments[k][1])
        seg_vectors: list[np.ndarray | None] = [None] * len(segments)
        threads_before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                for batch in self._batches(order, segments):
                    self._run(batch, segments, tokenised, seg_vectors)
        finally:
            torch.set_num_threads(threads_before)
        return self._assemble(tokenised, segments, seg_vectors)

    def _batches(self, order: list[int], segments: list[tuple[int, int, int]]):
        """Length-sorted segments in batches under the token budget. On CPU a batch holds segments
        of one length only: no padding, so no attention mask (the fast attention path) and
        results identical to encoding each sentence alone. On GPU, padded batches are faster."""
        batch: list[int] = []
        extra = len(self.prefix) + len(self.suffix)
        exact = not self.device.startswith("cuda")
        for k in order:
            length = segments[k][2] - segments[k][1] + extra
            if batch and ((len(batch) + 1) * length > self.batch_tokens or len(batch) >= self.max_batch
                          or exact and segments[batch[-1]][2] - segments[batch[-1]][1] + extra != length):
                yield batch
                batch = []
            batch.append(k)
        if batch:
            yield batch

    def _run(self, batch, segments, tokenised, seg_vectors) -> None:
        import torch

        rows = [self.prefix + tokenised[segments[k][0]][0][segments[k][1]:segments[k][2]] + self.suffix
                for k in batch]
        width = max(len(r) for r in rows)
        if all(len(r) == width for r in rows):
            inputs = {"input_ids": torch.tensor(rows, dtype=torch.long, device=self.device)}
        else:
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
            input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, row in enumerate(rows):
                input_ids[r, :len(row)] = torch.tensor(row)
                mask[r, :len(row)] = 1
            inputs = {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device)}
        hidden = self.encoder(**inputs).last_hidden_state.float().cpu().numpy()
        p = len(self.prefix)
        for r, k in enumerate(batch):
            n = segments[k][2] - segments[k][1]
            seg_vectors[k] = hidden[r, p:p + n]

    def _assemble(self, tokenised, segments, seg_vectors) -> list[EncodedSentence]:
        dim = int(self.encoder.config.hidden_size)
        by_sentence: dict[int, list[int]] = {}
        for k, (i, _, _) in enumerate(segments):
            by_sentence.setdefault(i, []).append(k)
        out = []
        for i, (ids, starts, ends) in enumerate(tokenised):
            ks = by_sentence.get(i, [])
            if not ks:
                vectors = np.zeros((0, dim), np.float32)
            elif len(ks) == 1:
                vectors = seg_vectors[ks[0]]
            else:  # each subword from the window whose centre is nearest to it
                pos = np.arange(len(ids))
                centres = np.array([(segments[k][1] + segments[k][2] - 1) / 2 for k in ks])
                best = np.abs(pos[:, None] - centres[None, :]).argmin(axis=1)
                vectors = np.empty((len(ids), dim), np.float32)
                for w, k in enumerate(ks):
                    take = best == w
                    vectors[take] = seg_vectors[k][pos[take] - segments[k][1]]
            out.append(EncodedSentence(np.ascontiguousarray(vectors, dtype=np.float32), starts, ends))
        return out


@lru_cache(maxsize=4)
def shared_encoder(model: str, layer: int, device: str = "auto", batch_tokens: int = 8192,
                   max_length: int | None = None, threads: int | None = None,
                   dtype: str = "auto") -> SubwordEncoder:
    """One :class:`SubwordEncoder` per configuration, shared by every aligner in the process."""
    return SubwordEncoder(model, layer, device=device, batch_tokens=batch_tokens,
                          max_length=max_length, threads=threads, dtype=dtype)


def model_key(model: str | os.PathLike | None) -> str:
    """A stable name for cache keys: the offline default is recorded as ``e5-small``."""
    if model is None:
        return "e5-small"
    p = Path(str(model))
    return str(p.resolve()) if p.exists() else str(model)
