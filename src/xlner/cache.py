"""Fingerprints and an on-disk cache of step outputs (Arrow/Parquet), in the manner of HF datasets.

A step's output is keyed by a fingerprint of what determines it: the fingerprints of its inputs, the
configuration of the component that computes it and its parameters. Change any of those and the key
changes, so only the affected steps are recomputed; keep them and the cached file is read back.

Guarantees:
- Writes are atomic: a file is written under a temporary name in the same directory and moved into
  place with ``os.replace``, so a half-written file is never read back as complete.
- Long steps are written in shards of N rows while they run (``<step>-<key>.parts/00000.parquet``),
  so an interrupted run resumes from the last finished shard. When every shard is done they are
  merged into ``<step>-<key>.parquet`` and the shard folder is removed.
- A corrupt or mismatching cache file is reported (warning ``E703``), deleted and recomputed; it
  never crashes a run.
- The step cache may also live on any ``pyarrow.fs`` URI (``s3://bucket/prefix``, ``file:///…``):
  same names, layout and guarantees (:mod:`xlner.cachefs`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, TypeAlias, Union

import pyarrow as pa
import pyarrow.parquet as pq

from xlner.cachefs import (Store, atomic_write_bytes, atomic_write_table,  # noqa: F401
                           atomic_write_text, copy_file, is_uri, join_uri, local_path_of, open_store)
from xlner.errors import XlnerError, warn

__all__ = ["fingerprint", "file_fingerprint", "atomic_write_bytes", "atomic_write_text",
           "atomic_write_table", "default_cache_dir", "default_steps_cache", "StepCache"]

FINGERPRINT_CHARS = 16  # 64 bits, as HF datasets does: collisions are not a practical concern


def default_cache_dir() -> Path:
    """The shared cache directory of built models and expensive artefacts (a local folder:
    ``$XLNER_CACHE`` as a path or a ``file://`` URI, default ``~/.cache/xlner``)."""
    location = os.environ.get("XLNER_CACHE", "~/.cache/xlner")
    local = local_path_of(location)
    if local is None:  # models are read from local folders (from_pretrained, spaCy, eflomal)
        raise XlnerError("E717", option="XLNER_CACHE", path=location.partition("?")[0],
                         problem="built models need a local folder, not a remote store; keep XLNER_CACHE "
                                 "local and give a remote step cache with --cache-dir or the profile's cache_dir")
    return local


def default_steps_cache() -> Path | str:
    """The step cache shared by runs: ``$XLNER_CACHE/steps``, a URI's ``…/steps`` if XLNER_CACHE
    is one (only the step cache can live on a remote store)."""
    location = os.environ.get("XLNER_CACHE")
    if location and is_uri(location):
        return join_uri(location, "steps")
    return default_cache_dir() / "steps"


def _canonical(obj: Any) -> Any:
    """A JSON-serialisable, order-independent form of ``obj`` (dict keys sorted by json.dumps)."""
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_canonical(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


def fingerprint(*parts: Any) -> str:
    """Deterministic hex digest of JSON-like ``parts`` (same parts, same key, on every machine)."""
    blob = json.dumps(_canonical(list(parts)), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:FINGERPRINT_CHARS]


def file_fingerprint(path: str | os.PathLike) -> str:
    """Digest of a file's bytes (not its name or time stamp: a copied file keeps its key)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:FINGERPRINT_CHARS]


# --- atomic writes: xlner.cachefs (the local store's primitives), imported above ---------------


# --- the step cache ----------------------------------------------------------------------------

_SHARD_RE = re.compile(r"^(\d{5})\.parquet$")
Location: TypeAlias = Union[str, "os.PathLike[str]", Store]


class StepCache:
    """Step outputs of one run, stored as ``<directory>/<step>-<key>.parquet``.

    ``shared`` (optional) is a second directory that other runs also use: a step found there is
    linked into this run's directory instead of being recomputed (three projection methods on the
    same data then translate, tag and align once).

    Either may be a local path (plain files, as always), a ``pyarrow.fs`` URI such as
    ``s3://bucket/prefix`` or ``file:///shared/cache`` (:mod:`xlner.cachefs`: same names and layout,
    atomic writes there too), or a store built on any ``pyarrow.fs.FileSystem``. A URI is opened
    here, so a bad one fails before any work (E717, E700; ``option`` names the shared one in
    messages: ``--cache-dir``, the profile's ``cache_dir``, ``XLNER_CACHE``).
    """

    def __init__(self, directory: Location, shared: Location | None = None, *,
                 option: str = "shared step cache") -> None:
        self.store = open_store(directory)
        self.shared_store = open_store(shared, option) if shared else None

    @property
    def directory(self) -> Path | str:
        return self.store.where()

    @property
    def shared(self) -> Path | str | None:
        return self.shared_store.where() if self.shared_store is not None else None

    @staticmethod
    def file_name(step: str, key: str) -> str:
        return f"{step}-{key}.parquet"

    @staticmethod
    def _parts_name(step: str, key: str) -> str:
        return f"{step}-{key}.parts"

    def path(self, step: str, key: str) -> Path | str:
        """Where the merged output is (a path; a URI for a cache on a pyarrow filesystem)."""
        return self.store.where(self.file_name(step, key))

    def parts_dir(self, step: str, key: str) -> Path | str:
        return self.store.where(self._parts_name(step, key))

    # reading -----------------------------------------------------------------------------------
    def _read_checked(self, store: Store, name: str, columns: Iterable[str], n_rows: int | None
                      ) -> pa.Table | None:
        """The table ``name`` of ``store`` if it is readable and has the expected shape; else None
        (and the file is removed with a warning, so that it gets recomputed)."""
        try:
            table = store.read_table(name)
            missing = [c for c in columns if c not in table.column_names]
            if missing:
                raise ValueError(f"columns {missing} missing")
            if n_rows is not None and table.num_rows != n_rows:
                raise ValueError(f"{table.num_rows} rows instead of {n_rows}")
        except XlnerError:
            raise  # the store itself failed (E717): nothing to conclude about the file
        except Exception as exc:  # any unreadable file is recomputed, whatever the reader says
            warn("E703", path=str(store.where(name)),
                 problem=(str(exc).splitlines() or [type(exc).__name__])[0][:200])
            store.delete(name)
            return None
        return table

    def load(self, step: str, key: str, columns: Iterable[str] = (), n_rows: int | None = None
             ) -> pa.Table | None:
        """The cached output of ``step`` under ``key``, or None if it has to be computed."""
        columns = list(columns)
        name = self.file_name(step, key)
        if self.store.exists(name):
            return self._read_checked(self.store, name, columns, n_rows)
        if self.shared_store is not None and self.shared_store.exists(name):
            table = self._read_checked(self.shared_store, name, columns, n_rows)
            if table is not None:
                copy_file(self.shared_store, self.store, name)
            return table
        return None

    def load_shards(self, step: str, key: str, columns: Iterable[str], sizes: list[int]
                    ) -> dict[int, pa.Table]:
        """Finished shards of an interrupted step: ``{shard index: table}``, each checked against
        the expected row count ``sizes[index]``."""
        parts = self._parts_name(step, key)
        done: dict[int, pa.Table] = {}
        if not self.store.is_dir(parts):  # (an object store lists no folder without files)
            return done
        columns = list(columns)
        for file_name in self.store.list_files(parts):
            m = _SHARD_RE.match(file_name)
            if not m:
                continue  # a temporary file left by an interrupted write
            i = int(m.group(1))
            name = f"{parts}/{file_name}"
            if i >= len(sizes):
                self.store.delete(name)  # shard plan changed (other shard size): start over
                continue
            table = self._read_checked(self.store, name, columns, sizes[i])
            if table is not None:
                done[i] = table
        return done

    # writing -----------------------------------------------------------------------------------
    def save_shard(self, step: str, key: str, index: int, table: pa.Table) -> None:
        self.store.write_table(f"{self._parts_name(step, key)}/{index:05d}.parquet", table)

    def save(self, step: str, key: str, table: pa.Table) -> Path | str:
        """Write the complete output, then drop the shards it was merged from."""
        name = self.file_name(step, key)
        self.store.write_table(name, table)
        self.store.delete_dir(self._parts_name(step, key))
        if self.shared_store is not None:
            copy_file(self.store, self.shared_store, name)
        return self.store.where(name)
