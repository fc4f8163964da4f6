"""Profiles: named YAML configuration files that choose the pipeline's components.

``offline`` (default), ``offline-e5ner`` and ``paper`` ship inside the package
(``xlner/profiles/*.yaml``); any other YAML file with the same keys can be given by path.
``--set key.sub=value`` overrides one key (or a mapping ``{"key.sub": value}`` from Python).

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
from typing import Annotated, Any, Mapping, Sequence

import yaml
from annotated_types import Ge, Interval, MinLen

from xlner import registry
from xlner.errors import XlnerError
from xlner.registry import Int, Origin, check_params

__all__ = ["DEFAULT_PROFILE", "Profile", "Settings", "ComponentSection", "ProjectionSection",
           "RefineSection", "BackTranslationSection", "builtin_profiles", "profile_path",
           "load_profile", "read_profile", "parse_profile", "apply_override", "component_params"]

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
    engine: Section | None = None  # where steps run (--engine ray): xlner.engine.EngineSection


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
    """``method`` (a projection method, or ``back-translation``), its ``options`` and the
    target-side ``target_scores`` (name -> weight) matching methods add."""

    method: Annotated[str, MinLen(1)]
    options: Section | None = None
    target_scores: Mapping[str, float] | None = None


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
    written: dict[str, str] = {}
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            set_key(profile, str(key), value, f"setting {key}={value!r}")
            written[str(key)] = f"setting {key}={value!r}"
    else:
        for item in overrides or []:
            written[apply_override(profile, item)] = f"--set {item}"
    profile = _expand_cache_paths(profile)
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


def apply_override(profile: dict, item: str) -> str:
    """Set ``a.b.c=value`` in ``profile`` (value parsed as YAML: numbers, lists, null...); returns
    the key it set."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise XlnerError("E711", item=item)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise XlnerError("E767", item=item, reason=exc) from exc
    set_key(profile, key.strip(), value, f"--set {item}")
    return key.strip()


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
                   components["aligner"], projection, refine, bt, dict(profile))


def _component(kind: str, section: Mapping[str, Any], origin: Origin) -> ComponentSection:
    named: _Named = check_params(f"section {origin.key!r}", _Named, {"name": section.get("name")}
                                 if "name" in section else {}, origin, "key")
    name, params = component_params(section)
    registry.validate(kind, named.name, params, origin)
    return ComponentSection(name, params)


def check_profile(profile: Mapping[str, Any]) -> None:
    """Refuse a profile mapping with a mistake (see :func:`parse_profile`)."""
    parse_profile(profile)


def component_params(section: Mapping[str, Any]) -> tuple[str, dict]:
    """``{"name": "spacy", "model": ...}`` -> ``("spacy", {"model": ...})``."""
    params = {k: v for k, v in section.items() if k != "name"}
    return section["name"], params
