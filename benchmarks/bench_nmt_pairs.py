"""What the pipeline's ``nmt_score`` step costs: pairs per sentence and NMTScorer pairs per second.

The step scores every (English entity, fused candidate) pair of a sentence (:mod:`xlner.pipeline.nmt`).
This counts the pairs on a gold dataset, with the gold PER/ORG/LOC spans standing in for the English
entities (a translate-test run has about as many) and n-gram candidates up to 10 words, and times
:meth:`xlner.nmtscore.NMTScorer.pair_scores` (the step's one call per shard) on the pairs of the first
``--sentences`` sentences, CPU time (``time.process_time``) and wall time.

``--model`` is any seq2seq folder or hub name you have; ``--random-shape nllb-600m`` builds a model with
NLLB-200-distilled-600M's dimensions (M2M-100 architecture, 256,206-entry vocabulary, random weights)
and a word-level vocabulary of the data: the arithmetic of the real model, not its scores, and
whole words where NLLB's pieces split some words in two (an underestimate of sequence length).

    PYTHONPATH=src python benchmarks/bench_nmt_pairs.py --data ../shared/data/basque-nerc/in_domain/val.jsonl \\
        --random-shape nllb-600m --sentences 2 --threads 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

NLLB_600M = dict(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
                 decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, vocab_size=256206)


def _random_model(sentences: list[list[str]], folder: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import M2M100Config, M2M100ForConditionalGeneration, PreTrainedTokenizerFast

    from xlner.train.tiny import word_piece_vocab

    pre = pre_tokenizers.BertPreTokenizer()
    vocab = word_piece_vocab((w for s in sentences for w, _ in pre.pre_tokenize_str(" ".join(s))),
                             NLLB_600M["vocab_size"])
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre
    tok.post_processor = processors.TemplateProcessing(single="$A [SEP]", special_tokens=[("[SEP]", vocab["[SEP]"])])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", bos_token="[CLS]", eos_token="[SEP]",
                                   unk_token="[UNK]")
    torch.manual_seed(0)
    cfg = M2M100Config(**NLLB_600M, max_position_embeddings=1024, pad_token_id=vocab["[PAD]"],
                       bos_token_id=vocab["[CLS]"], eos_token_id=vocab["[SEP]"],
                       decoder_start_token_id=vocab["[SEP]"])
    M2M100ForConditionalGeneration(cfg).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def main() -> None:
    import torch

    from xlner.data import read_dataset
    from xlner.nmtscore import NMTScorer
    from xlner.project.fusion import fusion_candidates

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", help="a seq2seq folder or hub name")
    ap.add_argument("--random-shape", choices=["nllb-600m"])
    ap.add_argument("--sentences", type=int, default=2, help="sentences whose pairs are scored")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    types = {"PER", "ORG", "LOC"}
    sentences = read_dataset(args.data).sentences
    per_sentence = []
    for s in sentences:
        tokens = list(s.tokens)
        ents = [" ".join(tokens[e.start:e.end]) for e in s.spans or [] if e.label in types]
        cands, _ = fusion_candidates(tokens, [], "ngram")
        per_sentence.append((ents, [" ".join(tokens[a:b]) for a, b in cands]))
    n_pairs = sum(len(e) * len(c) for e, c in per_sentence)
    print(f"{args.data}: {len(sentences)} sentences, {sum(len(e) for e, _ in per_sentence)} PER/ORG/LOC "
          f"entities, {n_pairs} (entity, candidate) pairs, {n_pairs / len(sentences):.0f} per sentence")
    picked = [x for x in per_sentence if x[0]][:args.sentences]
    flat_e = [e for ents, cands in picked for e in ents for _ in cands]
    flat_c = [c for ents, cands in picked for _ in ents for c in cands]
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(_random_model([list(s.tokens) for s in sentences], Path(tmp) / "model"))
        scorer = NMTScorer(model=model, device=args.device, batch_size=args.batch_size)
        scorer.likelihood(["warm up"], ["warm up"])  # loading is not timed
        cpu, wall = time.process_time(), time.perf_counter()
        scorer.pair_scores(flat_e, flat_c)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n_seq = 2 * len(set(zip(flat_e, flat_c))) + len(set(flat_e)) + len(set(flat_c))
    print(f"scored {len(flat_e)} pairs of {len(picked)} sentences ({n_seq} forced decodings) on {args.device}, "
          f"{args.threads} thread(s): {wall:.1f} s wall, {cpu:.1f} s CPU = {len(flat_e) / wall:.1f} pairs/s, "
          f"{len(flat_e) / max(cpu, 1e-9):.1f} pairs per CPU-second")


if __name__ == "__main__":
    main()
