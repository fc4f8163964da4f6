"""The NMT score in the pipeline (issue 11, points 3-4): the ``nmt_scorer`` profile section, the
cached ``nmt_score`` step and ``lambda_nmt * NMT`` in the fused projection.

Everything runs on real components and real sentences: Apertium (spa -> eng), spaCy English NER,
the Spanish demo sentences, and two tiny models built in the test (a BART seq2seq scorer with a
WordPiece vocabulary counted from real Spanish and English text, a BERT token classifier as target
tagger; both with random weights: the test checks the arithmetic and the plumbing, not quality).
Expected NMT values come from :meth:`xlner.nmtscore.NMTScorer.direct` called pair by pair; the
fused score is recomputed from the stored parts, and Dice from the stored alignment.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from xlner.datamodel import Alignment, ScoredSpan, Span
from xlner.errors import XlnerError
from xlner.nmtscore import NMTScorer
from xlner.pipeline import Options, load_profile, translate_test
from xlner.project import project_records
from xlner.project.fused import TargetNer
from xlner.project.fusion import fusion_candidates
from xlner.record import RunRecord

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo"
DATA = ROOT.parent / "shared" / "data"
WEIGHTS = {"align": 0.5, "ner": 1.0, "nmt": 1.0}
THRESHOLD = 0.6  # the tiny scorer's values lie around 0.5-1.1: some fall under it


def _texts() -> list[list[str]]:
    """Real Spanish (the demo) and English (CoNLL-03 when present) sentences for the vocabularies."""
    spanish = [json.loads(line)["tokens"] for line in (DEMO / "es.jsonl").read_text(encoding="utf-8").splitlines()]
    english = []
    conll = DATA / "conll03-en" / "train.txt"
    if conll.exists():
        from xlner.data import read_dataset

        english = [list(s.tokens) for s in read_dataset(conll).sentences[:300]]
    return spanish + english


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """(tiny BART scorer folder, tiny BERT target tagger folder), built here."""
    import torch
    from tokenizers import Tokenizer, models as tok_models, pre_tokenizers, processors
    from transformers import (BartConfig, BartForConditionalGeneration, BertForTokenClassification,
                              PreTrainedTokenizerFast)

    from xlner.ner import iob_columns
    from xlner.train import build_tiny_encoder
    from xlner.train.tiny import SPECIALS, word_piece_vocab

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("nmt-models")
    texts = _texts()
    # seq2seq: a WordPiece vocabulary with every character, so no word of either language is unknown
    pre = pre_tokenizers.BertPreTokenizer()
    vocab = word_piece_vocab((w for s in texts for w, _ in pre.pre_tokenize_str(" ".join(s))), 1500)
    tok = Tokenizer(tok_models.WordPiece(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre
    tok.post_processor = processors.TemplateProcessing(single="$A [SEP]", special_tokens=[("[SEP]", vocab["[SEP]"])])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", bos_token="[CLS]", eos_token="[SEP]",
                                   unk_token="[UNK]")
    assert SPECIALS[:4] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    torch.manual_seed(0)
    cfg = BartConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                     encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                     max_position_embeddings=128, pad_token_id=vocab["[PAD]"], bos_token_id=vocab["[CLS]"],
                     eos_token_id=vocab["[SEP]"], decoder_start_token_id=vocab["[SEP]"], forced_eos_token_id=None,
                     init_std=0.3)  # BART's 0.02 leaves a random decoder deaf to its source: every score ~1
    scorer = root / "tiny-bart"
    BartForConditionalGeneration(cfg).save_pretrained(scorer)
    fast.save_pretrained(scorer)
    # target tagger: a tiny BERT with a PER/ORG/LOC token-classification head
    encoder = build_tiny_encoder(texts, root / "tiny-bert")
    labels = iob_columns(["PER", "ORG", "LOC"])
    tagger = root / "tagger"
    BertForTokenClassification.from_pretrained(
        encoder, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={x: i for i, x in enumerate(labels)}).save_pretrained(tagger)
    (tagger / "tokenizer.json").write_bytes((encoder / "tokenizer.json").read_bytes())
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (encoder / name).exists():
            (tagger / name).write_bytes((encoder / name).read_bytes())
    return scorer, tagger


def _data(tmp_path: Path, n: int = 6) -> Path:
    path = tmp_path / "es.jsonl"
    path.write_text("\n".join((DEMO / "es.jsonl").read_text(encoding="utf-8").splitlines()[:n]) + "\n",
                    encoding="utf-8")
    return path


def _options(tmp_path: Path, models, out: str = "run", **settings) -> Options:
    scorer, tagger = models
    return Options(data=str(_data(tmp_path)), lang="es", out=str(tmp_path / out), shared_cache=False,
                   progress=False, profile="offline-fusion", method="match-fused", labels=["PER", "ORG", "LOC"],
                   settings={"target_tagger.model": str(tagger), "tagger": load_profile("offline")["tagger"],
                             "aligner": {"name": "identity"}, "projection.target_scores": {},
                             "projection.options.weights": WEIGHTS, "nmt_scorer.model": str(scorer),
                             "nmt_scorer.device": "cpu", "nmt_scorer.threshold": THRESHOLD, **settings})


def _dice(record: RunRecord, entity: Span, start: int, end: int) -> float:
    pairs = record.alignment.pairs
    inside = ((pairs[:, 0] >= entity.start) & (pairs[:, 0] < entity.end)
              & (pairs[:, 1] >= start) & (pairs[:, 1] < end))
    return 2 * int(inside.sum()) / (entity.end - entity.start + end - start)


@pytest.mark.slow
def test_nmt_weight_in_the_pipeline_stores_the_scorers_values_and_caches_them(tmp_path, models):
    run = translate_test(_options(tmp_path, models))
    assert run.config["components"]["nmt_scorer"]["model"] == str(models[0])
    assert {"target_tag", "nmt_score", "project"} <= set(run.metrics["seconds"])
    scorer = NMTScorer(model=str(models[0]), device="cpu", threshold=THRESHOLD)
    listed = [(r, c) for r in run.records for c in r.projection.candidates]
    assert len(listed) >= 10, "six news sentences with names give candidates"
    for r, c in listed:
        assert set(c.components) == set(WEIGHTS)
        entity = r.src_spans[c.source]
        # the parts: Dice from the stored alignment, NMT from the scorer called on this one pair
        assert c.components["align"] == pytest.approx(_dice(r, entity, c.start, c.end), abs=1e-6)
        raw = float(scorer.direct([" ".join(r.src_tokens[entity.start:entity.end])],
                                  [" ".join(r.tgt_tokens[c.start:c.end])], "en", "es")[0])
        assert c.components["nmt"] == pytest.approx(raw if raw >= scorer.threshold else 0.0, rel=1e-4, abs=1e-6)
        # the fused score is the weighted sum of its stored parts
        assert c.score == pytest.approx(sum(WEIGHTS[k] * v for k, v in c.components.items()), abs=1e-5)
    nmt = [c.components["nmt"] for _, c in listed]
    assert len(set(np.round(nmt, 3))) > 5  # the scorer tells candidates apart
    # the whole cached matrix of each sentence: every (entity, fused candidate) pair, thresholded
    steps = tmp_path / "run" / "steps"
    stored = pq.read_table(next(steps.glob("nmt_score-*.parquet")))["nmt_scores"].to_pylist()
    tagged = pq.read_table(next(steps.glob("target_tag-*.parquet")))["tgt_ner_entities"].to_pylist()
    all_values = []
    for r, matrix, ner in zip(run.records, stored, tagged):
        if not r.src_spans:
            assert matrix == []
            continue
        cands, _ = fusion_candidates(r.tgt_tokens, [Span(e["start"], e["end"], e["label"]) for e in ner], "ngram+ner")
        ents = [" ".join(r.src_tokens[e.start:e.end]) for e in r.src_spans]
        texts = [" ".join(r.tgt_tokens[a:b]) for a, b in cands]
        raw = scorer.direct([e for e in ents for _ in texts], [t for _ in ents for t in texts], "en", "es")
        expected = np.where(raw < THRESHOLD, 0.0, raw).reshape(len(ents), len(texts))
        np.testing.assert_allclose(np.asarray(matrix), expected, rtol=1e-4, atol=1e-6)
        all_values += list(expected.ravel())
    assert 0 < sum(v > 0 for v in all_values) < len(all_values)  # the threshold zeroes some, not all
    # a projected entity's score is its candidate's fused score (when that candidate is among the
    # three listed per entity: after a collision greedy may take a lower one)
    matched = [(p, c) for r in run.records for p in r.projection.projected for c in r.projection.candidates
               if (c.source, c.start, c.end) == (p.source, p.span.start, p.span.end)]
    assert matched and all(p.score == pytest.approx(c.score, abs=1e-5) for p, c in matched)

    # a rerun scores nothing again and loads no scorer
    rerun = translate_test(_options(tmp_path, models))
    assert "nmt_score" in rerun.metrics["cached_steps"] and "nmt_score" not in rerun.metrics["model_load_seconds"]
    # another nmt weight reprojects with the cached scores
    heavier = translate_test(_options(tmp_path, models, **{"projection.options.weights": {**WEIGHTS, "nmt": 2.0}}))
    assert "nmt_score" in heavier.metrics["cached_steps"] and "project" not in heavier.metrics["cached_steps"]
    assert heavier.metrics["step_keys"]["nmt_score"] == run.metrics["step_keys"]["nmt_score"]
    for r in heavier.records:
        for c in r.projection.candidates:
            assert c.score == pytest.approx(0.5 * c.components["align"] + c.components["ner"]
                                            + 2.0 * c.components["nmt"], abs=1e-5)
    # the same step serves the ensemble method
    ens = translate_test(dataclasses.replace(_options(tmp_path, models), method="match-fused+ensemble"))
    assert "nmt_score" in ens.metrics["cached_steps"]


@pytest.mark.slow
def test_without_an_nmt_weight_no_scorer_runs(tmp_path, models):
    run = translate_test(_options(tmp_path, models, **{"projection.options.weights": {"align": 0.5, "ner": 1.0}}))
    assert "nmt_score" not in run.metrics["seconds"] and "nmt_score" not in run.metrics["model_load_seconds"]
    assert all("nmt" not in c.components for r in run.records for c in r.projection.candidates)


def test_bad_nmt_settings_are_refused_before_any_work(tmp_path, models):
    cases = [({"nmt_scorer.model": None}, "E686", "nmt_scorer.model"),
             ({"nmt_scorer": None}, "E686", "nmt=1.0"),
             ({"nmt_scorer.model": str(models[1])}, "E690", str(models[1])),  # a token classifier
             ({"nmt_scorer.model": str(tmp_path)}, "E690", "no readable config.json"),
             ({"nmt_scorer.model": str(tmp_path / "missing")}, "E691", "missing"),
             ({"nmt_scorer.batch_size": 0}, "E761", "batch_size"),
             ({"nmt_scorer.threshold": 1.5}, "E761", "threshold"),
             ({"nmt_scorer.beams": 4}, "E761", "beams")]
    for k, (settings, code, named) in enumerate(cases):
        out = f"bad-{k}"
        with pytest.raises(XlnerError) as err:
            translate_test(_options(tmp_path, models, out, **settings))
        assert err.value.code == code and named in err.value.message, (settings, err.value.message)
        assert not (tmp_path / out / "steps").exists()


def _record() -> RunRecord:
    """John lives in Paris / Jon Parisen bizi da, with Paris left unaligned."""
    return RunRecord("s1", ["Jon", "Parisen", "bizi", "da"], None, src_tokens=["John", "lives", "in", "Paris"],
                     src_entities=[ScoredSpan(Span(0, 1, "PER")), ScoredSpan(Span(3, 4, "LOC"))],
                     alignment=Alignment(np.array([[0, 0]])))


def test_nmt_scores_from_python_hand_computed():
    rec = _record()
    ner = TargetNer([], [], np.zeros((4, 1)), ["O"])  # no tagger signal: alignment and NMT only
    cands, _ = fusion_candidates(rec.tgt_tokens, [], "ngram")
    col = {(int(s), int(e)): j for j, (s, e) in enumerate(cands)}
    nmt = np.zeros((2, len(cands)))
    nmt[1, col[(1, 2)]] = 0.8   # the translation model finds Paris in "Parisen"
    nmt[0, col[(0, 2)]] = 0.2
    options = {"options": {"weights": {"align": 1.0, "ner": 0.0, "nmt": 0.5}, "candidates": "ngram"}}
    res = project_records([rec], "match-fused", options, [ner], [nmt])[0]
    # John: Jon 1.0 (Dice 1), Jon Parisen 2/3 + 0.5 * 0.2 = 0.767 -> Jon; Paris: Dice 0 everywhere,
    # Parisen 0.5 * 0.8 = 0.4 -> Parisen (unprojected without the NMT score)
    assert [(p.span, p.source) for p in res.projected] == [(Span(0, 1, "PER"), 0), (Span(1, 2, "LOC"), 1)]
    assert [p.score for p in res.projected] == pytest.approx([1.0, 0.4])
    parts = {(c.source, c.start, c.end): c.components for c in res.candidates}
    assert parts[(1, 1, 2)] == pytest.approx({"align": 0.0, "nmt": 0.8})
    assert parts[(0, 0, 2)] == pytest.approx({"align": 2 / 3, "nmt": 0.2})
    without = project_records([rec], "match-fused", {"options": {**options["options"], "weights": {"ner": 0.0}}},
                              [ner])[0]
    assert [u.source for u in without.unprojected] == [1]
    with pytest.raises(XlnerError) as err:  # an nmt weight without scores
        project_records([rec], "match-fused", options, [ner])
    assert err.value.code == "E686" and "nmt=0.5" in err.value.message
    with pytest.raises(XlnerError) as err:  # scores over other candidates
        project_records([rec], "match-fused", options, [ner], [nmt[:, :-1]])
    assert err.value.code == "E692" and "s1" in err.value.message
    with pytest.raises(XlnerError) as err:  # no matrix for a sentence with entities and candidates
        project_records([rec], "match-fused", options, [ner], [None])
    assert err.value.code == "E692" and "none" in err.value.message
    with pytest.raises(XlnerError) as err:
        project_records([rec], "match-fused", options, [ner], [nmt, nmt])
    assert err.value.code == "E693"


def test_paper_profile_names_nllb_and_loads_it_only_when_asked(monkeypatch):
    from xlner.pipeline.components import build_components
    from xlner.pipeline.nmt import check_nmt_scorer, nmt_step

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plain = load_profile("paper")
    assert plain["nmt_scorer"]["model"] == "facebook/nllb-200-distilled-600M"
    assert nmt_step(plain, "eu") is None  # match-greedy: no NMT step, nothing loaded
    fused = load_profile("paper", {"target_tagger.model": "FacebookAI/xlm-roberta-large-finetuned-conll03-english",
                                   "projection.options.weights": {"align": 0.5, "ner": 0.5, "nmt": 1.0},
                                   "nmt_scorer.local_files_only": True}, method="match-fused")
    fused["projection"]["method"] = "match-fused"
    check_nmt_scorer(fused)  # a hub name is not checked before the run: the loader reports it
    step = nmt_step(fused, "eu")
    assert step is not None and step.params == {"candidates": "ngram+ner", "max_candidate_length": 10,
                                                "entity_lang": "en", "candidate_lang": "eu"}
    components = build_components(fused, "eu", "en")
    assert components.config("nmt_scorer")["identity"]["model"] == "facebook/nllb-200-distilled-600M"
    with pytest.raises(XlnerError) as err:  # no model hub on this machine: a clear error naming it
        components.get("nmt_scorer").likelihood(["a"], ["b"])
    assert err.value.code == "E482" and "nllb-200-distilled-600M" in err.value.message
