"""Speed of Apertium eu->en and the English NER taggers, and a tiny translate-test F1 that compares
English NER variants (identical/near-identical token links + match-greedy projection), on the first
N sentences of a Basque val split. Run with pinned threads:
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench_translate_ner.py in_domain 300 [PER,ORG,LOC]
"""
import json, sys, time
from pathlib import Path
import numpy as np
import torch
from seqeval.metrics import f1_score, precision_score, recall_score
from xlner.datamodel import Alignment, spans_to_tags, tags_to_spans
from xlner.ner import get_tagger
from xlner.project import project
from xlner.text import detokenize, split_marked, split_words
from xlner.translate import get_translator

torch.set_num_threads(1)
split, N = sys.argv[1], int(sys.argv[2])
LABELS = tuple(sys.argv[3].split(",")) if len(sys.argv) > 3 else ("PER", "ORG", "LOC", "MISC")
data = Path(__file__).resolve().parents[2] / "shared" / "data" if len(sys.argv) < 5 else Path(sys.argv[4])
rows = [json.loads(l) for l in open(data / "basque-nerc" / split / "val.jsonl")][:N]
tgt = [r["tokens"] for r in rows]
gold = [spans_to_tags([s for s in tags_to_spans(r["tags"]) if s.label in LABELS], len(r["tokens"])) for r in rows]
texts = [detokenize(t) for t in tgt]

def timed(f, *a):
    t0 = time.perf_counter(); out = f(*a); return out, time.perf_counter() - t0

tr = get_translator("apertium", "eu", "en")  # keeps '*' marks
tr.translate(texts[:2])
mt, dt = timed(tr.translate, texts)
print(f"apertium eu-en: {N / dt:.0f} sentences/s")
pairs = [split_marked(m) for m in mt]
words = [w for w, _ in pairs]
marked = [split_words(m, keep_marks=True) for m in mt]

def near_identical(src, tgt, k=4):
    """Links between identical words or where one is a prefix (>= k chars) of the other."""
    return Alignment.from_pairs([(i, j) for i, s in enumerate(src) if any(c.isalnum() for c in s)
                                 for j, t in enumerate(tgt)
                                 if s.lower() == t.lower() or (min(len(s), len(t)) >= k and (
                                     t.lower().startswith(s.lower()) or s.lower().startswith(t.lower())))])
aligns = [near_identical(w, t) for w, t in zip(words, tgt)]

def f1_of(outputs):
    pred = [spans_to_tags(project("match-greedy", w, t, o.spans, a).spans(), len(t))
            for w, t, o, a in zip(words, tgt, outputs, aligns)]
    return pred, f1_score(gold, pred), precision_score(gold, pred), recall_score(gold, pred)

def paired_ci(pa, pb, n=500, seed=0):
    rng = np.random.default_rng(seed); d = []
    for _ in range(n):
        idx = rng.integers(0, N, N); g = [gold[i] for i in idx]
        d.append(f1_score(g, [pb[i] for i in idx]) - f1_score(g, [pa[i] for i in idx]))
    return np.percentile(d, [2.5, 97.5]) * 100

variants = [
    ("spacy, marks stripped (= apertium -u)", "spacy", {"labels": list(LABELS)}, words),
    ("spacy, marks kept in its input", "spacy", {"labels": list(LABELS)}, marked),
    ("mt-marks (strip endings, retype, add unknown)", "mt-marks",
     {"lang": "eu", "base_params": {"labels": list(LABELS)}}, marked),
]
base_pred = None
for name, tagger_name, params, inputs in variants:
    tagger = get_tagger(tagger_name, **params)
    tagger.tag(inputs[:2])  # load the model first
    outs, dt = timed(tagger.tag, inputs)
    pred, f, p, r = f1_of(outs)
    line = f"{name:48s} {N / dt:5.0f} sent/s  F1 {100 * f:.1f} (P {100 * p:.1f} R {100 * r:.1f})"
    if base_pred is None:
        base_pred = pred
    else:
        lo, hi = paired_ci(base_pred, pred); line += f"  diff [{lo:+.1f}, {hi:+.1f}]"
    print(line, flush=True)
