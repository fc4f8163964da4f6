"""Apply a token-classification model to a dataset: model transfer as one function (``xlner tag``).

``tag_dataset(model, data)`` reads any dataset xlner reads, runs the model through
:class:`xlner.ner.HFTagger` (the same per-word IOB2 probabilities the pipeline uses, first
sub-token of each word, long sentences split into windows), and returns the predicted sentences,
the per-word probabilities and, when the data carries gold tags, the same report as
``xlner evaluate``. Results are cached in ``$XLNER_CACHE/tag/`` under a fingerprint of the model
files, the tagger settings and the data file's bytes, so tagging the same data twice is a read.

``model`` is a folder written by ``xlner train`` (``OUT`` or ``OUT/model``), any local
Hugging Face token-classification folder, or a hub name for users who have the model. A folder
that holds a model without a token-classification head is refused (E680): loading it would give
a randomly initialised classifier and silently random tags.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from xlner.cache import StepCache, default_cache_dir, file_fingerprint, fingerprint
from xlner.datamodel import Dataset, Sentence, Span
from xlner.errors import XlnerError

__all__ = ["TagResult", "resolve_tag_model", "check_token_classifier", "load_tagger", "model_identity",
           "tag_dataset", "tag_sentences", "write_predictions", "OUTPUT_FORMATS"]

OUTPUT_FORMATS = ("conll", "jsonl")
CACHE_STEP = "tag"
CHUNK = 256  # sentences per tagger call: the progress bar's unit and the memory bound


@dataclass
class TagResult:
    """Predictions on a dataset: sentences with predicted spans (same ids and tokens as the data),
    one confidence per span, per-word probabilities over ``columns`` and the evaluation report
    (None without gold or with ``score=False``)."""

    dataset: Dataset
    predicted: list[Sentence]
    scores: list[list[float]]
    probs: list[np.ndarray]
    columns: list[str]
    report: Any = None
    cached: bool = False
    seconds: float = 0.0
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sentences_per_second(self) -> float:
        return len(self.predicted) / self.seconds if self.seconds > 0 else 0.0


def resolve_tag_model(model: str | Path) -> str:
    """A local folder as given or its ``model`` sub-folder (``xlner train --out OUT`` writes
    ``OUT/model``); anything that is not a local path is passed on as a hub name."""
    text = str(model)
    path = Path(text).expanduser()
    if (path / "model" / "config.json").is_file():
        return str(path / "model")
    if path.exists() or text.startswith(("/", "./", "../", "~")):
        return str(path)
    return text


def check_token_classifier(model: str) -> None:
    """Refuse a local folder that is not a token-classification model (E680, naming the folder)."""
    path = Path(model)
    if not path.exists():
        if model.startswith(("/", "./", "../", "~")):
            raise XlnerError("E681", model=model)
        return  # a hub name: the tagger reports what it cannot load
    config = path / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise XlnerError("E680", model=model, found="no readable config.json") from None
    archs = [str(a) for a in data.get("architectures") or []]
    labels = [str(v) for v in (data.get("id2label") or {}).values()]
    if not any(a.endswith("ForTokenClassification") for a in archs):
        found = f"architectures {archs}" if archs else "no architectures"
        raise XlnerError("E680", model=model, found=found)
    if not any(label.startswith(("B-", "I-")) for label in labels):
        raise XlnerError("E680", model=model, found=f"labels {labels} without B-/I- tags")


def model_identity(model: str | Path) -> dict[str, Any]:
    """What a cache key needs to know of a model without loading it: the resolved name and, for a
    local folder, its files' names, sizes and times (retraining into the same folder changes it)."""
    resolved = resolve_tag_model(model)
    path = Path(resolved)
    ident: dict[str, Any] = {"model": resolved}
    if path.is_dir():
        ident["files"] = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime))
                                for p in path.iterdir() if p.is_file())
    return ident


def load_tagger(model: str | Path, labels: Sequence[str] | None = None, *, batch_size: int = 32,
                max_length: int = 512, device: str | None = "auto") -> Any:
    """The :class:`xlner.ner.HFTagger` ``xlner tag`` uses for ``model`` (resolved and checked: E680,
    E681); ``labels`` default to every type the model predicts."""
    return _tagger(resolve_tag_model(model), labels, batch_size, max_length, device)


def _tagger(model: str, labels: Sequence[str] | None, batch_size: int, max_length: int, device: str | None) -> Any:
    from xlner.ner import HFTagger

    check_token_classifier(model)
    if labels is None:
        from xlner.train import model_labels

        path = Path(model)
        found = model_labels(path) if (path / "config.json").is_file() else []
        labels = sorted({lab[2:] for lab in found if lab[:2] in ("B-", "I-")}) or ["PER", "ORG", "LOC", "MISC"]
    return HFTagger(model=model, labels=list(labels), batch_size=batch_size, max_length=max_length,
                    device=device, local_files_only=Path(model).exists())


def tag_sentences(tagger: Any, sentences: Sequence[Sequence[str]], *, progress: bool = False,
                  desc: str = "tag") -> list[Any]:
    """``tagger.tag`` over chunks of sentences with a progress bar (one tick per sentence)."""
    from tqdm.auto import tqdm

    out: list[Any] = []
    with tqdm(total=len(sentences), desc=desc, unit="sent", disable=not progress, leave=False) as bar:
        for lo in range(0, len(sentences), CHUNK):
            chunk = [list(s) for s in sentences[lo:lo + CHUNK]]
            nonempty = [k for k, s in enumerate(chunk) if s]
            tagged = tagger.tag([chunk[k] for k in nonempty]) if nonempty else []
            results: list[Any] = [None] * len(chunk)
            for k, res in zip(nonempty, tagged):
                results[k] = res
            out.extend(results)
            bar.update(len(chunk))
    return out


_SCHEMA = pa.schema([("id", pa.string()), ("spans", pa.list_(pa.struct([
    ("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()), ("score", pa.float32())]))),
    ("probs", pa.list_(pa.list_(pa.float32())))])


def tag_dataset(model: str | Path, data: str | Path | Dataset, *, labels: Sequence[str] | None = None,
                data_format: str = "auto", label_map: Any = None, batch_size: int = 32,
                max_length: int = 512, device: str | None = "auto", score: bool = True,
                ignore_labels: Sequence[str] = (), cache_dir: str | Path | None = None,
                use_cache: bool = True, progress: bool = False) -> TagResult:
    """Tag every sentence of ``data`` with ``model`` (see the module docstring).

    ``labels``: entity types to keep (default: every type the model predicts); gold types outside
    them are ignored in the score as well, so that a PER/ORG/LOC model is not charged for MISC.
    """
    from xlner.data import read_dataset
    from xlner.evaluate import evaluate
    from xlner.ner import iob_columns

    t0 = time.perf_counter()
    model_id = resolve_tag_model(model)
    dataset = data if isinstance(data, Dataset) else read_dataset(data, format=data_format, label_map=label_map)
    tagger = _tagger(model_id, labels, batch_size, max_length, device)
    data_key = (file_fingerprint(dataset.path) if dataset.path and Path(dataset.path).is_file()
                else fingerprint([[s.id, s.tokens] for s in dataset.sentences]))
    cache = StepCache(Path(cache_dir) if cache_dir else default_cache_dir() / "tag")
    sentences = dataset.sentences
    cached_table = None
    key = ""
    if use_cache:
        key = fingerprint(tagger.fingerprint(), data_key, data_format, str(label_map), len(sentences))
        cached_table = cache.load(CACHE_STEP, key, _SCHEMA.names, len(sentences))
    columns = iob_columns(tagger.labels)
    if cached_table is not None:
        rows = cached_table.to_pylist()
        spans = [[Span(d["start"], d["end"], d["label"]) for d in r["spans"]] for r in rows]
        scores = [[float(d["score"]) for d in r["spans"]] for r in rows]
        probs = [np.asarray(r["probs"], dtype=np.float32).reshape(-1, len(columns)) for r in rows]
    else:
        outputs = tag_sentences(tagger, [s.tokens for s in sentences], progress=progress)
        spans = [o.spans if o else [] for o in outputs]
        scores = [list(o.scores) if o else [] for o in outputs]
        probs = [o.probs if o else np.zeros((0, len(columns)), np.float32) for o in outputs]
        if use_cache:
            cache.save(CACHE_STEP, key, pa.table({
                "id": [s.id for s in sentences],
                "spans": [[{**sp.to_dict(), "score": c} for sp, c in zip(ss, cs)] for ss, cs in zip(spans, scores)],
                "probs": [p.tolist() for p in probs]}, schema=_SCHEMA))
    predicted = [Sentence(s.id, list(s.tokens), list(sp), s.source) for s, sp in zip(sentences, spans)]
    report = None
    if score:
        kept = set(tagger.labels)
        ignored = sorted(set(ignore_labels) | {sp.label for s in sentences for sp in s.spans} - kept)
        report = evaluate(sentences, predicted, ignore_labels=ignored)
    return TagResult(dataset, predicted, scores, probs, columns, report, cached_table is not None,
                     time.perf_counter() - t0, model_id)


def write_predictions(result: TagResult, path: str | Path, *, output_format: str = "auto",
                      with_probs: bool = False) -> str:
    """Write the predictions as CoNLL (``token TAG``) or JSON lines (``{"id", "tokens", "tags"}``,
    plus ``"spans"`` with scores and, with ``with_probs``, ``"probs"``: one row per word over
    ``"columns"``). Returns the format written."""
    from xlner.data import write_conll, write_jsonl

    path = Path(path)
    fmt = output_format
    if fmt == "auto":
        fmt = "jsonl" if path.suffix in (".jsonl", ".json", ".ndjson") else "conll"
    if fmt not in OUTPUT_FORMATS:
        raise XlnerError("E682", fmt=output_format, formats=", ".join(OUTPUT_FORMATS))
    if with_probs and fmt != "jsonl":
        raise XlnerError("E683", path=str(path))
    if fmt == "conll":
        write_conll(result.predicted, path)
        return fmt
    if not with_probs:
        write_jsonl(result.predicted, path)
        return fmt
    from xlner.datamodel import spans_to_tags

    with open(path, "w", encoding="utf-8") as fh:
        for sent, scores, probs in zip(result.predicted, result.scores, result.probs):
            rec = {"id": sent.id, "tokens": sent.tokens, "tags": spans_to_tags(sent.spans, len(sent.tokens)),
                   "spans": [{**sp.to_dict(), "score": round(float(c), 4)} for sp, c in zip(sent.spans, scores)],
                   "columns": result.columns, "probs": np.round(probs, 4).tolist()}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return fmt
