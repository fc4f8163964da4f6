"""Profiles: named YAML configuration files that choose the pipeline's components.

``offline`` (default) and ``paper`` ship inside the package (``xlner/profiles/*.yaml``); any other
YAML file with the same keys can be given by path. ``--set key.sub=value`` overrides one key.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from xlner.errors import XlnerError

DEFAULT_PROFILE = "offline"
COMPONENT_KEYS = ("translator", "tagger", "aligner")
REQUIRED_KEYS = (*COMPONENT_KEYS, "projection")


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
    raise XlnerError("E701", f"unknown profile {name_or_path!r}",
                     hint=f"use one of {', '.join(sorted(builtin))} or the path of a YAML file "
                          "(`xlner pipeline profiles` lists them; copy one to start)")


def load_profile(name_or_path: str = DEFAULT_PROFILE, overrides: list[str] | None = None) -> dict:
    """The profile as a dict, with ``overrides`` (``"aligner.layer=6"``) applied and checked."""
    path = profile_path(name_or_path)
    try:
        profile = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise XlnerError("E701", f"profile {path} is not valid YAML: {exc}") from exc
    if not isinstance(profile, dict):
        raise XlnerError("E701", f"profile {path} must be a mapping of keys to values")
    profile = copy.deepcopy(profile)
    profile.setdefault("name", path.stem)
    profile["path"] = str(path)
    for item in overrides or []:
        apply_override(profile, item)
    profile = _expand_cache_paths(profile)
    check_profile(profile)
    return profile


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


def apply_override(profile: dict, item: str) -> None:
    """Set ``a.b.c=value`` in ``profile`` (value parsed as YAML: numbers, lists, null...)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise XlnerError("E711", f"cannot read the override {item!r}",
                         hint="write it as key=value, e.g. --set aligner.layer=6")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise XlnerError("E711", f"cannot read the value of override {item!r}: {exc}") from exc
    node = profile
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise XlnerError("E711", f"override {item!r}: {part!r} is not a section of the profile")
        node = child
    node[parts[-1]] = value


def check_profile(profile: dict) -> None:
    where = profile.get("path", "profile")
    for key in REQUIRED_KEYS:
        section = profile.get(key)
        if not isinstance(section, dict):
            raise XlnerError("E701", f"profile {where} has no {key!r} section",
                             hint="copy a built-in profile (`xlner pipeline profiles --show "
                                  "offline`) and edit it")
    for key in COMPONENT_KEYS:
        if not profile[key].get("name"):
            raise XlnerError("E701", f"profile {where}: {key}.name is missing")
    if not profile["projection"].get("method"):
        raise XlnerError("E701", f"profile {where}: projection.method is missing")
    for key in ("threads", "shard_size", "translate_shard_size", "max_words"):
        value = profile.get(key)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise XlnerError("E701", f"profile {where}: {key} must be a positive integer, not {value!r}")
    labels = profile.get("labels")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        raise XlnerError("E701", f"profile {where}: labels must be null or a list like [PER, ORG, LOC]")


def component_params(section: dict[str, Any]) -> tuple[str, dict]:
    """``{"name": "spacy", "model": ...}`` -> ``("spacy", {"model": ...})``."""
    params = {k: v for k, v in section.items() if k != "name"}
    return section["name"], params
