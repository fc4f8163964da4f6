"""Label maps: renaming and dropping entity types, declared as data (``labelmaps/*.yaml``).

``load_label_map`` is the one loader of label maps in xlner: a :class:`LabelMap`, a dict, the name
of a bundled map (``masakhaner``) or the path of a YAML file. Errors (E114, E132-E137) name the map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from xlner.datamodel import Span
from xlner.errors import XlnerError

__all__ = ["LabelMap", "LABELMAP_DIR", "available_label_maps", "load_label_map"]

LABELMAP_DIR = Path(__file__).parent / "labelmaps"
_RESERVED = frozenset({"name", "description", "map", "drop", "keep"})


@dataclass(frozen=True)
class LabelMap:
    """Type renaming / dropping declared as data (``labelmaps/*.yaml``).

    YAML keys: ``name``, ``description``, ``map`` (``{FROM: TO}``), ``drop`` (types set to O) and
    ``keep`` (optional whitelist: every type not listed, after mapping, is set to O).
    A file holding only ``FROM: TO`` pairs is a closed mapping: unlisted types are set to O.
    """

    name: str = "custom"
    map: Mapping[str, str] = None  # type: ignore[assignment]
    drop: frozenset[str] = frozenset()
    keep: frozenset[str] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "map", dict(self.map or {}))

    def label(self, label: str) -> str | None:
        """The mapped label, or None when the entity is dropped."""
        if label in self.drop:
            return None
        new = self.map.get(label, label)
        if new in self.drop or (self.keep is not None and new not in self.keep):
            return None
        return new

    def apply(self, spans: Iterable[Span]) -> list[Span]:
        out = []
        for s in spans:
            new = self.label(s.label)
            if new is not None:
                out.append(s if new == s.label else Span(s.start, s.end, new))
        return out

    @classmethod
    def from_dict(cls, d: Any, origin: str = "label map") -> "LabelMap":
        if not isinstance(d, Mapping):
            raise XlnerError("E114", origin=origin, found=type(d).__name__)
        if d and not set(d) & _RESERVED and all(isinstance(v, str) for v in d.values()):
            # The short form ``FROM: TO`` (e.g. ontonotes_to_conll.yaml): a closed mapping, so a type
            # that is not listed is dropped.
            d = {"map": dict(d), "keep": sorted(set(d.values()))}
        unknown = set(map(str, d)) - _RESERVED
        if unknown:
            raise XlnerError("E132", origin=origin, keys=sorted(unknown))
        mapping = d.get("map") or {}
        drop = d.get("drop") or []
        keep = d.get("keep")
        if not isinstance(mapping, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and v and not re.search(r"\s", v)
                for k, v in mapping.items()):
            raise XlnerError("E133", origin=origin)
        for key, value in (("drop", drop), ("keep", keep if keep is not None else [])):
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise XlnerError("E134", origin=origin, key=key)
        clash = set(mapping) & set(drop)
        if clash:
            raise XlnerError("E135", origin=origin, types=sorted(clash))
        return cls(name=str(d.get("name", Path(origin).stem)), map=mapping, drop=frozenset(drop),
                   keep=None if keep is None else frozenset(keep),
                   description=str(d.get("description", "")))


def available_label_maps() -> list[str]:
    return sorted(p.stem for p in LABELMAP_DIR.glob("*.yaml"))


def load_label_map(spec: "LabelMap | Mapping[str, Any] | str | Path | None") -> LabelMap | None:
    """A LabelMap from an object, a dict, a bundled name (``masakhaner``) or a YAML path."""
    if spec is None or isinstance(spec, LabelMap):
        return spec
    if isinstance(spec, Mapping):
        return LabelMap.from_dict(spec)
    path = Path(spec)
    if not path.suffix and (LABELMAP_DIR / f"{spec}.yaml").exists():
        path = LABELMAP_DIR / f"{spec}.yaml"
    if not path.is_file():
        raise XlnerError("E136", spec=str(spec), available=", ".join(available_label_maps()))
    try:
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise XlnerError("E137", path=str(path), problem=str(exc).splitlines()[0]) from None
    return LabelMap.from_dict(d or {}, origin=str(path))
