"""Profiles: named YAML configuration files that choose the pipeline's components.

``offline`` (default), ``offline-e5ner`` and ``paper`` ship inside the package
(``xlner/profiles/*.yaml``); any other YAML file with the same keys can be given by path.
``--set key.sub=value`` overrides one key (or a mapping ``{"key.sub": value}`` from Python): one
reader (:func:`parse_settings`), one applier (:func:`apply_settings`) and one check
(:func:`parse_profile`) serve the CLI, the pipeline and the experiment runner.

A profile is parsed once into typed sections (:class:`Profile`: :class:`Settings`, the
``translator``/``tagger``/``aligner`` components, :class:`ProjectionSection`,
:class:`RefineSection`, :class:`BackTranslationSection`). Every value is checked there, components'
parameters by :mod:`xlner.registry`, so that a mistake is refused before any work with an error
naming the profile file and key, or the ``--set`` override that wrote it. :func:`load_profile`
returns the checked mapping as written (what the pipeline's cache keys are computed from).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Iterable, Mapping, Sequence

import yaml
from annotated_types import Ge, Interval, MinLen

from xlner import registry
from xlner.errors import XlnerError
from xlner.registry import Int, Origin, check_params

__all__ = ["DEFAULT_PROFILE", "Profile", "Settings", "ComponentSection", "ProjectionSection",
           "RefineSection", "BackTranslationSection", "TargetTaggerSection", "NMTScorerSection",
           "TARGET_TAGGER_REF",
           "target_tagger_refs", "builtin_profiles", "profile_path",
           "load_profile", "read_profile", "parse_profile", "parse_settings", "apply_settings",
           "component_params", "tagger_types"]

DEFAULT_PROFILE = "offline"
COMPONENT_KEYS = ("translator", "tagger", "aligner")
REQUIRED_KEYS = (*COMPONENT_KEYS, "projection")
#: A projection "method" that is a refinement of translate-test, not a registered method.
BACK_TRANSLATION = "back-translation"

Positive = Annotated[Int, Ge(1)]
Section = Mapping[str, Any]


# --- typed sections -----------------------------------------------------------------------------

@dataclass(kw_only=True)
class Settings:
    """The profile's top-level keys (the sections are checked on their own)."""

    name: str | None = None
    description: str = ""
    threads: Positive | None = None
    shard_size: Positive | None = None
    translate_shard_size: Positive | None = None
    max_words: Positive | None = None
    keep_similarity: bool = True
    labels: Sequence[Annotated[str, MinLen(1)]] | None = None
    translator: Section
    tagger: Section
    aligner: Section
    projection: Section
    refine: Section | None = None
    back_translation: Section | None = None
    target_tagger: Section | None = None
    nmt_scorer: Section | None = None  # NMTScore for the fused methods' nmt weight (NMTScorerSection)
    engine: Section | None = None  # where steps run (--engine ray): xlner.engine.EngineSection
    cache_dir: Annotated[str, MinLen(1)] | None = None  # the shared step cache: a folder or a URI


@dataclass(frozen=True)
class ComponentSection:
    """``name`` and its parameters as written (checked by the registry)."""

    name: str
    params: dict[str, Any]


@dataclass(kw_only=True)
class _Named:
    name: Annotated[str, MinLen(1)]


@dataclass(kw_only=True)
class ProjectionSection:
    """``method`` (a projection method, or ``back-translation``), its ``options``, the
    target-side ``target_scores`` (name -> weight) matching methods add, and ``type_vote``: one
    type per surface form over the run for spans seen at least that often (null: off;
    :mod:`xlner.project.consistency`)."""

    method: Annotated[str, MinLen(1)]
    options: Section | None = None
    target_scores: Mapping[str, float] | None = None
    type_vote: Annotated[int, Ge(2)] | None = None


@dataclass(kw_only=True)
class RefineSection:
    """Clean-ups of the English entities (:func:`xlner.pipeline.steps.refine_entities`)."""

    trim_edges: bool = False
    unknown_names: str | None = None
    retype_unknown: Mapping[str, Mapping[str, str] | None] | None = None


@dataclass(kw_only=True)
class BackTranslationSection:
    """Method ``back-translation`` (method.md §5): ``translator`` null = the forward one reversed."""

    store: bool = False
    translator: Section | None = None
    method: Annotated[str, MinLen(1)] = "match-greedy"
    min_ratio: Annotated[float, Interval(ge=0, lt=1)] = 0.5


@dataclass(kw_only=True)
class TargetTaggerSection:
    """A token classifier run on the target sentences (any model ``xlner tag`` accepts: a folder
    written by ``xlner train`` or a hub name); its spans and per-word probabilities feed the fused
    projection methods. ``model`` null: no target tagger. Elsewhere in the profile,
    ``{target_tagger}`` stands for the resolved model folder (offline-fusion's English NER)."""

    model: Annotated[str, MinLen(1)] | None = None
    labels: Sequence[Annotated[str, MinLen(1)]] | None = None
    batch_size: Positive = 32
    max_length: Positive = 512
    device: str | None = "auto"


@dataclass(kw_only=True)
class NMTScorerSection:
    """The seq2seq model of the fused methods' NMT score (:class:`xlner.nmtscore.NMTScorer`,
    NMTScore "direct", method.md §4): a hub name (``facebook/nllb-200-distilled-600M``, the thesis'
    scorer) or a local folder. ``model`` null: off (a fused run with ``weights.nmt > 0`` is then
    refused, E686). Computed only when the projection's ``nmt`` weight is above 0."""

    model: Annotated[str, MinLen(1)] | None = None
    revision: str | None = None
    batch_size: Positive = 32
    device: str | None = "auto"
    local_files_only: bool = False
    threshold: Annotated[float, Interval(ge=0, lt=1)] = 0.1
    max_length: Positive = 64


#: Stands for the target tagger's model folder in other sections' string values.
TARGET_TAGGER_REF = "{target_tagger}"


@dataclass
class Profile:
    """A checked profile: its typed sections and the mapping they were read from."""

    path: str
    settings: Settings
    translator: ComponentSection
    tagger: ComponentSection
    aligner: ComponentSection
    projection: ProjectionSection
    refine: RefineSection
    back_translation: BackTranslationSection
    raw: dict[str, Any] = field(repr=False)
    target_tagger: TargetTaggerSection = field(default_factory=TargetTaggerSection)
    nmt_scorer: NMTScorerSection = field(default_factory=NMTScorerSection)

    def as_dict(self) -> dict[str, Any]:
        """The mapping the pipeline reads (``load_profile``'s result), a copy."""
        return copy.deepcopy(self.raw)


# --- finding and reading --------------------------------------------------------------------------

def builtin_profiles() -> dict[str, Path]:
    """Profile name -> file, for the profiles shipped with xlner."""
    folder = resources.files("xlner") / "profiles"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml")}


def profile_path(name_or_path: str) -> Path:
    builtin = builtin_profiles()
    if name_or_path in builtin:
        return builtin[name_or_path]
    path = Path(name_or_path).expanduser()
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    raise XlnerError("E701", name=name_or_path, choices=", ".join(sorted(builtin)))


def read_profile(name_or_path: str = DEFAULT_PROFILE,
                 overrides: Sequence[str] | Mapping[str, Any] | None = None, *,
                 method: str | None = None) -> Profile:
    """The profile, with ``overrides`` (``"aligner.layer=6"`` strings from the command line, or a
    mapping ``{"aligner.layer": 6}``) applied, parsed and checked. ``method``: the projection method
    the run will use instead of the profile's (``--method``): ``projection.options`` are checked
    against it (an unknown name is left to the caller to refuse)."""
    path = profile_path(name_or_path)
    try:
        profile = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise XlnerError("E762", path=path, reason=exc) from exc
    if not isinstance(profile, dict):
        raise XlnerError("E763", path=path)
    profile = copy.deepcopy(profile)
    profile.setdefault("name", path.stem)
    profile["path"] = str(path)
    if isinstance(overrides, Mapping):
        settings = {str(k).strip(): v for k, v in overrides.items()}
        written = {k: f"setting {k}={v!r}" for k, v in settings.items()}
    else:  # --set texts, as typed
        items = list(overrides or [])
        settings = parse_settings(items)
        written = {item.partition("=")[0].strip(): f"--set {item}" for item in items}
    profile = apply_settings(profile, settings, written)
    profile = _expand_cache_paths(_expand_target_tagger(profile, str(path)))
    return parse_profile(profile, overrides=written, method=method)


def load_profile(name_or_path: str = DEFAULT_PROFILE,
                 overrides: Sequence[str] | Mapping[str, Any] | None = None, *,
                 method: str | None = None) -> dict:
    """The profile as a dict, with ``overrides`` applied and everything checked (:func:`read_profile`)."""
    return read_profile(name_or_path, overrides, method=method).raw


def _expand_cache_paths(node: Any) -> Any:
    """Replace ``{cache}`` in string values by the xlner cache folder (``$XLNER_CACHE``), so that a
    profile can name models built into the cache (e.g. an English NER trained by ``xlner train``)."""
    if isinstance(node, dict):
        return {k: _expand_cache_paths(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_cache_paths(v) for v in node]
    if isinstance(node, str) and "{cache}" in node:
        from xlner.cache import default_cache_dir

        return node.replace("{cache}", str(default_cache_dir()))
    return node


def parse_settings(items: Iterable[str]) -> dict[str, Any]:
    """``["aligner.layer=6", "labels=[PER, LOC]"]`` -> ``{"aligner.layer": 6, "labels": [...]}``.

    The one reader of ``--set key=value`` text (the CLI, scripts, tests). Values are read as YAML
    (numbers, lists, null, quoted strings), as a user types them; keys are checked against the
    profile when the settings are applied (:func:`read_profile`).
    """
    settings: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise XlnerError("E741", item=item)
        try:
            settings[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise XlnerError("E742", item=item, reason=str(exc).splitlines()[0]) from None
    return settings


def apply_settings(profile: Mapping[str, Any], settings: Mapping[str, Any],
                   written: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A copy of ``profile`` with ``settings`` applied: a dotted key sets one value
    (``{"aligner.layer": 6}``), a plain key replaces a section (``{"aligner": {...}}``).

    The one applier of settings (``--set``, ``Options.settings``, an experiment's
    ``projection.set``); ``written`` says how each key was given, for messages (default
    ``setting KEY=VALUE``). Nothing is checked here but the path: :func:`read_profile` checks
    the result, naming the key and how it was written.
    """
    out = copy.deepcopy(dict(profile))
    for key, value in settings.items():
        key = str(key).strip()
        said = (written or {}).get(key) or f"setting {key}={value!r}"
        set_key(out, key, copy.deepcopy(value), said)
    return out


def _expand_target_tagger(profile: dict, where: str) -> dict:
    """Replace ``{target_tagger}`` in other sections' strings by the target tagger's resolved model
    folder (one model trained once serves as English NER and target tagger). Without
    ``target_tagger.model`` the placeholder stays: the profile still loads and lists, and the
    pipeline refuses to run it (E684, :func:`target_tagger_refs`)."""
    section = profile.get("target_tagger")
    model = section.get("model") if isinstance(section, dict) else None
    if not model:
        return profile
    from xlner.tag import resolve_tag_model

    resolved = resolve_tag_model(str(model))

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return node.replace(TARGET_TAGGER_REF, resolved)
        return node
    return walk(profile)


def target_tagger_refs(node: Any, key: str = "") -> list[str]:
    """The dotted keys whose values still hold ``{target_tagger}`` (no target tagger model set)."""
    if isinstance(node, dict):
        return [k_ for k, v in node.items() for k_ in target_tagger_refs(v, f"{key}.{k}" if key else str(k))]
    if isinstance(node, list):
        return [k_ for v in node for k_ in target_tagger_refs(v, key)]
    return [key] if isinstance(node, str) and TARGET_TAGGER_REF in node else []


def set_key(profile: dict, key: str, value: Any, written: str) -> None:
    """``profile[a][b][c] = value`` for ``key`` ``a.b.c``, creating sections on the way."""
    node = profile
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise XlnerError("E768", written=written, section=part)
        node = child
    node[parts[-1]] = value


# --- checking -----------------------------------------------------------------------------------

def parse_profile(profile: Mapping[str, Any], *, overrides: Mapping[str, str] | None = None,
                  method: str | None = None) -> Profile:
    """Check a profile mapping section by section and return its typed form. ``overrides``: dotted
    key -> how it was written (``--set aligner.layer=6``), for messages; ``method``: see
    :func:`read_profile`."""
    path = str(profile.get("path") or "(settings)")
    top = Origin(path=path, overrides=dict(overrides or {}))
    given = {k: v for k, v in profile.items() if k != "path"}
    settings: Settings = check_params("profile", Settings, given, top, "key")
    components = {}
    for kind, key in (("translator", "translator"), ("tagger", "tagger"), ("aligner", "aligner")):
        components[key] = _component(kind, getattr(settings, key), top.child(key))
    projection: ProjectionSection = check_params("section 'projection'", ProjectionSection,
                                                 settings.projection, top.child("projection"), "key")
    refine: RefineSection = check_params("section 'refine'", RefineSection, settings.refine or {},
                                         top.child("refine"), "key")
    bt: BackTranslationSection = check_params("section 'back_translation'", BackTranslationSection,
                                              settings.back_translation or {},
                                              top.child("back_translation"), "key")
    target_tagger: TargetTaggerSection = check_params("section 'target_tagger'", TargetTaggerSection,
                                                      settings.target_tagger or {},
                                                      top.child("target_tagger"), "key")
    nmt_scorer: NMTScorerSection = check_params("section 'nmt_scorer'", NMTScorerSection,
                                                settings.nmt_scorer or {}, top.child("nmt_scorer"), "key")
    if bt.translator is not None:
        _component("translator", bt.translator, top.child("back_translation.translator"))
    registry.lookup("projection", bt.method, top.child("back_translation"), name_key="method")
    where = top.child("projection")
    chosen = method or projection.method
    if chosen != BACK_TRANSLATION and method is None:
        registry.lookup("projection", chosen, where, name_key="method")
    options_for = bt.method if chosen == BACK_TRANSLATION else chosen
    if options_for in registry.names("projection"):
        registry.validate("projection", options_for, projection.options or {}, where.child("options"))
    return Profile(path, settings, components["translator"], components["tagger"],
                   components["aligner"], projection, refine, bt, dict(profile), target_tagger, nmt_scorer)


def _component(kind: str, section: Mapping[str, Any], origin: Origin) -> ComponentSection:
    named: _Named = check_params(f"section {origin.key!r}", _Named, {"name": section.get("name")}
                                 if "name" in section else {}, origin, "key")
    name, params = component_params(section)
    registry.validate(kind, named.name, params, origin)
    return ComponentSection(name, params)


def component_params(section: Mapping[str, Any]) -> tuple[str, dict]:
    """``{"name": "spacy", "model": ...}`` -> ``("spacy", {"model": ...})``."""
    params = {k: v for k, v in section.items() if k != "name"}
    return section["name"], params


def tagger_types(profile: Mapping[str, Any]) -> tuple[str, ...]:
    """The entity types the profile's English tagger can emit (its ``labels``; ``mt-marks`` emits
    its base tagger's), read from the checked parameters: no model is loaded."""
    name, params = component_params(profile["tagger"])
    resolved = registry.resolve("tagger", name, params)
    while "labels" not in resolved and resolved.get("base"):
        resolved = registry.resolve("tagger", resolved["base"], resolved.get("base_params") or {})
    return tuple(str(x).upper() for x in resolved.get("labels") or ())
