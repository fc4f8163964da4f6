"""Encoders and tokenizers: words into sub-token windows, model loading, per-word logits."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from xlner.errors import XlnerError
from xlner.train.config import MODEL_SUBDIR


# --- environment ----------------------------------------------------------------------------

def _device(name: str | None):
    import torch

    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --- encoding words into model windows ------------------------------------------------------

@dataclass
class _Window:
    sentence: int  # index in the input list
    word_start: int
    word_end: int
    input_ids: list[int]
    first_pos: np.ndarray  # position of each word's first sub-token in input_ids


def load_tokenizer(model: str | Path):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(model))
    except (OSError, ValueError) as exc:
        raise XlnerError("E802", model=model, reason=str(exc)) from None
    if not getattr(tok, "is_fast", False):
        raise XlnerError("E833", model=model)
    return tok


def encode_windows(tokenizer, sentences: Sequence[Sequence[str]], max_length: int) -> list[_Window]:
    """Cut every sentence into windows of whole words that fit ``max_length`` sub-tokens.

    A word the tokenizer maps to no sub-token at all (e.g. a lone control character) is encoded
    as the unknown token so that it still gets a prediction. A single word longer than the window
    keeps its first sub-tokens (its label lives on the first one anyway).
    """
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    if budget < 1:
        raise XlnerError("E803", max_length=max_length)
    idx = [i for i, s in enumerate(sentences) if len(s)]
    unk = tokenizer.unk_token or "[UNK]"
    plain = tokenizer([list(sentences[i]) for i in idx], is_split_into_words=True,
                      add_special_tokens=False)
    chunks: list[tuple[int, int, int, list[str]]] = []
    for k, i in enumerate(idx):
        words = list(sentences[i])
        counts = np.bincount([w for w in plain.word_ids(k) if w is not None], minlength=len(words))
        words = [w if c else unk for w, c in zip(words, counts)]
        counts = np.minimum(np.maximum(counts, 1), budget)
        start, used = 0, 0
        for w, c in enumerate(counts):
            if used and used + c > budget:
                chunks.append((i, start, w, words[start:w]))
                start, used = w, 0
            used += int(c)
        chunks.append((i, start, len(words), words[start:]))
    windows: list[_Window] = []
    step = 2048  # tokenize in slices to bound memory on large corpora
    for s in range(0, len(chunks), step):
        part = chunks[s:s + step]
        enc = tokenizer([c[3] for c in part], is_split_into_words=True, truncation=True,
                        max_length=max_length)
        for k, (i, a, b, _) in enumerate(part):
            first = np.full(b - a, -1, dtype=np.int64)
            for pos, w in enumerate(enc.word_ids(k)):
                if w is not None and first[w] < 0:
                    first[w] = pos
            if (first < 0).any():  # cannot happen with the budget above; guard against odd tokenizers
                raise XlnerError("E835", index=i, words=np.flatnonzero(first < 0).tolist())
            windows.append(_Window(i, a, b, list(enc["input_ids"][k]), first))
    return windows


def _batch_order(windows: list[_Window], batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Batches of similar-length windows; with ``rng`` the composition and order are shuffled."""
    lengths = np.array([len(w.input_ids) for w in windows])
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:
        # sort by length buckets after a random permutation: batches still pad little,
        # but their composition changes every epoch
        perm = rng.permutation(len(windows))
        order = perm[np.argsort(lengths[perm] // 4, kind="stable")]
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def _collate(windows: list[_Window], pad_id: int):
    import torch

    width = max(len(w.input_ids) for w in windows)
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    rows, cols = [], []
    for b, w in enumerate(windows):
        ids[b, :len(w.input_ids)] = torch.tensor(w.input_ids)
        mask[b, :len(w.input_ids)] = 1
        rows.append(np.full(len(w.first_pos), b))
        cols.append(w.first_pos)
    return ids, mask, torch.from_numpy(np.concatenate(rows)), torch.from_numpy(np.concatenate(cols))


# --- model loading --------------------------------------------------------------------------

def _load_model(model: str | Path, labels: list[str] | None):
    from transformers import AutoModelForTokenClassification
    from transformers.utils import logging as hf_logging

    kwargs = {}
    if labels is not None:
        kwargs = dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                      label2id={l: i for i, l in enumerate(labels)})
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized classifier" is expected here
    try:
        return AutoModelForTokenClassification.from_pretrained(str(model), **kwargs)
    except (OSError, ValueError) as exc:
        raise XlnerError("E834", model=model, reason=str(exc)) from None
    finally:
        hf_logging.set_verbosity(level)


def model_labels(model_dir: str | Path) -> list[str]:
    """The IOB2 label list a trained model predicts (from its config)."""
    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    id2label = cfg.get("id2label") or {}
    return [id2label[str(i)] if str(i) in id2label else id2label[i] for i in range(len(id2label))]


def resolve_model_dir(path: str | Path) -> Path:
    """Accept either a training output folder (``OUT/model``) or a model folder itself."""
    p = Path(path)
    if (p / MODEL_SUBDIR / "config.json").exists():
        return p / MODEL_SUBDIR
    return p


# --- prediction -----------------------------------------------------------------------------

def _logits_per_sentence(model, tokenizer, sentences: Sequence[Sequence[str]], *, max_length: int,
                         batch_size: int, device, progress: bool = False, desc: str = "predict") -> list[np.ndarray]:
    import torch
    from tqdm.auto import tqdm

    n_labels = model.config.num_labels
    out = [np.zeros((len(s), n_labels), dtype=np.float32) for s in sentences]
    windows = encode_windows(tokenizer, sentences, max_length)
    if not windows:
        return out
    model.eval()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for batch in tqdm(_batch_order(windows, batch_size, None), desc=desc, disable=not progress,
                          unit="batch", leave=False):
            ws = [windows[i] for i in batch]
            ids, mask, rows, cols = _collate(ws, pad)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            word_logits = logits[rows.to(device), cols.to(device)].float().cpu().numpy()
            k = 0
            for w in ws:
                n = w.word_end - w.word_start
                out[w.sentence][w.word_start:w.word_end] = word_logits[k:k + n]
                k += n
    return out
