"""Word aligners behind one interface: ``get_aligner(name, **params).align(src, tgt)``.

Names: ``simalign`` (SimAlign matching on any encoder, batched), ``awesome`` (softmax
extraction), ``eflomal`` (statistical), ``identity`` (equal / prefix-equal tokens), and
combinations written with an operator: ``a+b`` union, ``a&b`` intersection, ``a>b`` priority
(words linked by ``a`` take no links from ``b``), e.g. ``"simalign+identity"``.

Each base aligner is registered in :mod:`xlner.registry` with its parameter dataclass
(``SimAlignParams``, ``AwesomeParams``, ``EflomalParams``, ``IdentityParams``), which checks them.
For combinations, parameters go either as a per-component dict (``simalign={"layer": 6}``) or
plainly, in which case each component takes the ones it accepts. Without ``model`` the neural
aligners use the offline e5-small (:func:`xlner.encoder.ensure_e5_small`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Mapping

from xlner import registry
from xlner.align.base import Aligner
from xlner.align.combine import MODES, CombinedAligner, combine, combine_alignments
from xlner.align.identity import IdentityParams
from xlner.align.neural import AwesomeParams, SimAlignParams
from xlner.align.statistical import EflomalParams
from xlner.errors import XlnerError

__all__ = ["Aligner", "ALIGNERS", "aligner_class", "get_aligner", "combine", "combine_alignments",
           "CombinedAligner", "MODES"]


#: Base aligner names and the classes implementing them (imported on first use).
ALIGNERS: dict[str, str] = {
    "simalign": "xlner.align.neural:SimAlignAligner",
    "awesome": "xlner.align.neural:AwesomeAligner",
    "eflomal": "xlner.align.statistical:EflomalAligner",
    "identity": "xlner.align.identity:IdentityAligner",
}
for _name, _params in (("simalign", SimAlignParams), ("awesome", AwesomeParams),
                       ("eflomal", EflomalParams), ("identity", IdentityParams)):
    registry.register("aligner", _name, _params, ALIGNERS[_name])
_OPERATORS = {"+": "union", "&": "intersection", ">": "priority"}


def aligner_class(name: str) -> type[Aligner]:
    """The class behind base aligner ``name``."""
    return registry.lookup("aligner", name).constructor()  # type: ignore[return-value]


def _plan(name: str, params: Mapping[str, Any], origin: registry.Origin
          ) -> tuple[str | None, list[tuple[str, dict[str, Any], registry.Origin]]]:
    """``(mode, parts)`` of a combination (``mode`` None for a base aligner): each component's name,
    its parameters (shared ones it accepts + its own dict) and where they were written."""
    ops = set(re.findall(r"[+&>]", name))
    if not ops:
        return None, [(name, dict(params), origin)]
    if len(ops) > 1:
        raise XlnerError("E510", source=origin.source("name"), name=name)
    op = ops.pop()
    parts = [p.strip() for p in name.split(op)]
    if len(set(parts)) != len(parts):
        raise XlnerError("E516", source=origin.source("name"), name=name)
    accepted = {p: {f.name for f in dataclasses.fields(registry.lookup("aligner", p, origin).params)}
                for p in parts}
    own = {p: params[p] for p in parts if isinstance(params.get(p), Mapping)}
    shared = {k: v for k, v in params.items() if k not in own}
    unused = sorted(set(shared) - set().union(*accepted.values()))
    if unused:
        raise XlnerError("E761", source=origin.source(unused[0]), component=f"aligner {name!r}",
                         problem=f"no component takes parameter(s) {', '.join(map(repr, unused))}",
                         accepted=", ".join(sorted(set().union(*accepted.values()))))
    plan = []
    for p in parts:
        mine = {k: v for k, v in shared.items() if k in accepted[p]}
        if p in own:  # its own dict: messages name aligner.<component>.<parameter>
            plan.append((p, {**mine, **own[p]}, origin.child(p) if not mine else origin))
        else:
            plan.append((p, mine, origin))
    return _OPERATORS[op], plan


def _split(name: str, params: Mapping[str, Any], origin: registry.Origin
           ) -> list[tuple[str, dict[str, Any], registry.Origin]] | None:
    mode, parts = _plan(name.strip().lower(), params, origin)
    return None if mode is None else parts


registry.register_composite("aligner", _split)


def get_aligner(name: str, *, origin: registry.Origin | None = None, **params: Any) -> Aligner:
    """The aligner called ``name`` (see the module docstring), configured with ``params``, checked
    (E760 unknown name, E761 bad parameter; ``origin`` says where they were written)."""
    origin = origin or registry.Origin()
    mode, parts = _plan(name.strip().lower(), params, origin)
    aligners = [registry.build("aligner", part, origin=where, **mine) for part, mine, where in parts]
    return aligners[0] if mode is None else combine(aligners, mode)
