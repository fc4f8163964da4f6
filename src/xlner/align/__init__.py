"""Word aligners behind one interface: ``get_aligner(name, **params).align(src, tgt)``.

Names: ``simalign`` (SimAlign matching on any encoder, batched), ``awesome`` (softmax
extraction), ``eflomal`` (statistical), ``identity`` (equal / prefix-equal tokens), and
combinations written with an operator: ``a+b`` union, ``a&b`` intersection, ``a>b`` priority
(words linked by ``a`` take no links from ``b``), e.g. ``"simalign+identity"``.

Parameters go to the component they belong to; for combinations either as a per-component
dict (``simalign={"layer": 6}``) or plainly, in which case each component takes the ones it
accepts. Without ``model`` the neural aligners use the offline e5-small
(:func:`xlner.encoder.ensure_e5_small`).
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

from xlner.align.base import Aligner
from xlner.align.combine import MODES, CombinedAligner, combine, combine_alignments
from xlner.errors import XlnerError

__all__ = ["Aligner", "ALIGNERS", "aligner_class", "get_aligner", "combine", "combine_alignments", "CombinedAligner", "MODES"]


#: Base aligner names and the classes implementing them (imported on first use, so that the
#: identity aligner does not pay for importing torch).
ALIGNERS: dict[str, str] = {
    "simalign": "xlner.align.neural:SimAlignAligner",
    "awesome": "xlner.align.neural:AwesomeAligner",
    "eflomal": "xlner.align.statistical:EflomalAligner",
    "identity": "xlner.align.identity:IdentityAligner",
}
_OPERATORS = {"+": "union", "&": "intersection", ">": "priority"}


def aligner_class(name: str) -> type[Aligner]:
    """The class behind base aligner ``name``."""
    if name not in ALIGNERS:
        raise XlnerError("E510", f"unknown aligner {name!r}",
                         hint=f"choose one of {', '.join(ALIGNERS)} or combine them, e.g. 'simalign+identity'")
    module, _, cls = ALIGNERS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def _accepted(name: str) -> set[str]:
    names: set[str] = set()
    for klass in aligner_class(name).__mro__:
        if "__init__" in vars(klass):
            names |= {p for p in inspect.signature(klass.__init__).parameters if p not in ("self", "params", "kwargs")}
    return names


def _make(name: str, params: dict[str, Any]) -> Aligner:
    unknown = set(params) - _accepted(name)
    if unknown:
        raise XlnerError("E511", f"aligner {name!r} has no parameter(s) {', '.join(sorted(unknown))}",
                         hint=f"its parameters: {', '.join(sorted(_accepted(name)))}")
    return aligner_class(name)(**params)


def get_aligner(name: str, **params: Any) -> Aligner:
    """The aligner called ``name`` (see the module docstring), configured with ``params``."""
    name = name.strip().lower()
    ops = set(re.findall(r"[+&>]", name))
    if not ops:
        return _make(name, params)
    if len(ops) > 1:
        raise XlnerError("E510", f"aligner {name!r} mixes combination operators",
                         hint="use one operator per name, or build nested ones with combine()")
    op = ops.pop()
    parts = [p.strip() for p in name.split(op)]
    if len(set(parts)) != len(parts):
        raise XlnerError("E510", f"aligner {name!r} names a component twice")
    for p in parts:
        if p not in ALIGNERS:
            raise XlnerError("E510", f"unknown aligner {p!r} in {name!r}",
                             hint=f"components: {', '.join(ALIGNERS)}")
    per_component = {p: dict(params.pop(p)) for p in parts if isinstance(params.get(p), dict)}
    shared = params
    unused = set(shared) - set().union(*(_accepted(p) for p in parts))
    if unused:
        raise XlnerError("E511", f"no component of {name!r} takes parameter(s) {', '.join(sorted(unused))}")
    aligners = []
    for p in parts:
        mine = {k: v for k, v in shared.items() if k in _accepted(p)}
        mine.update(per_component.get(p, {}))
        aligners.append(_make(p, mine))
    return combine(aligners, _OPERATORS[op])
