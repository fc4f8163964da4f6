"""Many datasets as one job: ``xlner pipeline translate-test --datasets LIST.yaml``.

The file is a YAML list, one entry per dataset (or a mapping with such a list under ``datasets``)::

    - {data: ../shared/data/conll02-es/test.txt, lang: es, out: runs/es}
    - {data: ../shared/data/basque-nerc/in_domain/val.jsonl, lang: eu, out: runs/eu, limit: 200}

Relative paths are read from the list file's folder. Every entry is checked before the first one
runs (E795 for an unreadable file, E761 naming the entry and key). The entries run one after
another on one engine: with ``--engine ray`` one cluster for the whole list, each step's shards
spread over its actor pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Sequence

from annotated_types import Ge, MinLen

from xlner.errors import XlnerError
from xlner.registry import Int, Origin, check_params

__all__ = ["DatasetEntry", "read_datasets"]


@dataclass(kw_only=True)
class DatasetEntry:
    """One dataset of a list: what ``--data``, ``--lang``, ``--out`` and their companions say."""

    data: Annotated[str, MinLen(1)]
    lang: Annotated[str, MinLen(1)]
    out: Annotated[str, MinLen(1)]
    format: str = "auto"
    limit: Annotated[Int, Ge(1)] | None = None
    method: str | None = None
    labels: Sequence[str] | None = None
    profile: str | None = None  # None: the command line's --profile


def read_datasets(path: str | Path) -> list[DatasetEntry]:
    """The checked entries of a dataset list, with paths made absolute."""
    import yaml

    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise XlnerError("E795", path=path, problem=f"cannot read it ({exc.strerror or exc})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise XlnerError("E795", path=path, problem=f"not YAML: {str(exc).splitlines()[0]}") from None
    if isinstance(raw, dict) and "datasets" in raw:
        raw = raw["datasets"]
    if not isinstance(raw, list) or not raw:
        raise XlnerError("E795", path=path, problem="it holds no list of datasets")
    folder = path.parent
    entries = []
    outs: dict[str, int] = {}
    for i, given in enumerate(raw, 1):
        entry: DatasetEntry = check_params(f"{path}, dataset {i}", DatasetEntry, given, Origin(), "key")
        entry.data = str((folder / Path(entry.data).expanduser()).resolve())
        entry.out = str((folder / Path(entry.out).expanduser()).resolve())
        if entry.out in outs:
            raise XlnerError("E796", path=path, first=outs[entry.out], second=i, out=entry.out)
        outs[entry.out] = i
        entries.append(entry)
    return entries

