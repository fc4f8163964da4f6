"""Translate-test F1 with the real offline aligner (simalign e5-small layer 8 + identity), comparing
English NER variants. Usage: python bench_real_align.py SPLIT N"""
import json, sys, time
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
from seqeval.metrics import f1_score, precision_score, recall_score
from xlner.align import get_aligner
from xlner.datamodel import spans_to_tags, tags_to_spans
from xlner.ner import get_tagger
from xlner.project import project
from xlner.text import detokenize, split_marked, split_words
from xlner.translate import get_translator
split, N = sys.argv[1], int(sys.argv[2])
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data from the repo root
rows = [json.loads(l) for l in open(DATA / "basque-nerc" / split / "val.jsonl")][:N]
tgt = [r["tokens"] for r in rows]
mt = get_translator("apertium", "eu", "en").translate([detokenize(t) for t in tgt])
words = [split_marked(m)[0] for m in mt]; marked = [split_words(m, keep_marks=True) for m in mt]
t0 = time.perf_counter()
aligns = get_aligner("simalign+identity").align(words, tgt)
print(f"align {N / (time.perf_counter() - t0):.1f} sent/s", flush=True)
outs = {"spacy": get_tagger("spacy").tag(words), "mt-marks": get_tagger("mt-marks", lang="eu").tag(marked)}
for labels in (("PER", "ORG", "LOC", "MISC"), ("PER", "ORG", "LOC")):
    gold = [spans_to_tags([s for s in tags_to_spans(r["tags"]) if s.label in labels], len(r["tokens"])) for r in rows]
    preds = {}
    for name, o in outs.items():
        for method in ("match-greedy", "heuristic"):
            pred = [spans_to_tags(project(method, w, t, [s for s in x.spans if s.label in labels], a).spans(), len(t))
                    for w, t, x, a in zip(words, tgt, o, aligns)]
            preds[(name, method)] = pred
            line = f"{'/'.join(labels):16s} {name:9s} {method:13s} F1 {100*f1_score(gold, pred):.1f} (P {100*precision_score(gold, pred):.1f} R {100*recall_score(gold, pred):.1f})"
            if name == "mt-marks":
                rng = np.random.default_rng(0); d = []
                base = preds[("spacy", method)]
                for _ in range(500):
                    idx = rng.integers(0, N, N); g = [gold[i] for i in idx]
                    d.append(f1_score(g, [pred[i] for i in idx]) - f1_score(g, [base[i] for i in idx]))
                lo, hi = np.percentile(d, [2.5, 97.5]) * 100; line += f"  diff vs spacy [{lo:+.1f}, {hi:+.1f}]"
            print(line, flush=True)
