"""A tiny random encoder for tests and smoke runs."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def word_piece_vocab(words: Iterable[str], vocab_size: int) -> dict[str, int]:
    """A WordPiece vocabulary decided by counting alone: the special tokens, every character (as a
    word start and as a ``##`` continuation, so that no word is unknown), then the most frequent
    words (ties broken alphabetically) up to ``vocab_size``.

    ``tokenizers``' WordPiece trainer breaks ties between equally frequent pieces in an order that
    changes from one process to the next, which made runs on the tiny encoder irreproducible.
    """
    counts = Counter(words)
    chars = sorted({c for w in counts for c in w})
    pieces = list(SPECIALS) + chars + [f"##{c}" for c in chars]
    known = set(pieces)
    frequent = sorted((w for w in counts if w not in known), key=lambda w: (-counts[w], w))
    pieces += frequent[:max(0, vocab_size - len(pieces))]
    return {p: i for i, p in enumerate(pieces)}


def build_tiny_encoder(sentences: Iterable[Sequence[str]], out_dir: str | Path, *, hidden: int = 32,
                       layers: int = 2, heads: int = 2, vocab_size: int = 2000, seed: int = 0) -> Path:
    """A randomly initialised small BERT + a WordPiece tokenizer built from ``sentences``.

    For tests and smoke runs where a real encoder is too slow; it learns only what the training
    data teaches it. Saved as a standard Hugging Face folder. The same sentences and seed give the
    same folder in every process (:func:`word_piece_vocab`).
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    out = Path(out_dir)
    if (out / "config.json").exists() and (out / "tokenizer.json").exists():
        return out
    normalizer = normalizers.BertNormalizer(lowercase=False)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words = (w for s in sentences
             for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(" ".join(s))))
    tok = Tokenizer(models.WordPiece(word_piece_vocab(words, vocab_size), unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
                     num_attention_heads=heads, intermediate_size=hidden * 4, max_position_embeddings=512)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    BertModel(cfg).save_pretrained(tmp)
    fast.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out
