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
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from xlner.errors import warn

__all__ = ["fingerprint", "file_fingerprint", "atomic_write_bytes", "atomic_write_text",
           "atomic_write_table", "default_cache_dir", "StepCache"]

FINGERPRINT_CHARS = 16  # 64 bits, as HF datasets does: collisions are not a practical concern


def default_cache_dir() -> Path:
    """The shared cache directory of built models and expensive artefacts."""
    return Path(os.environ.get("XLNER_CACHE", "~/.cache/xlner")).expanduser()


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


# --- atomic writes ------------------------------------------------------------------------------

def _atomic(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:  # flush to disk before the rename makes the file visible
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    _atomic(Path(path), lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_table(path: str | os.PathLike, table: pa.Table) -> None:
    _atomic(Path(path), lambda tmp: pq.write_table(table, tmp))


# --- the step cache ----------------------------------------------------------------------------

_SHARD_RE = re.compile(r"^(\d{5})\.parquet$")


class StepCache:
    """Step outputs of one run, stored as ``<directory>/<step>-<key>.parquet``.

    ``shared`` (optional) is a second directory that other runs also use: a step found there is
    linked into this run's directory instead of being recomputed (three projection methods on the
    same data then translate, tag and align once).
    """

    def __init__(self, directory: str | os.PathLike, shared: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory)
        self.shared = Path(shared) if shared else None

    def path(self, step: str, key: str) -> Path:
        return self.directory / f"{step}-{key}.parquet"

    def parts_dir(self, step: str, key: str) -> Path:
        return self.directory / f"{step}-{key}.parts"

    # reading -----------------------------------------------------------------------------------
    def _read_checked(self, path: Path, columns: Iterable[str], n_rows: int | None) -> pa.Table | None:
        """The table at ``path`` if it is readable and has the expected shape; else None (and
        the file is removed with a warning, so that it gets recomputed)."""
        try:
            table = pq.read_table(path)
            missing = [c for c in columns if c not in table.column_names]
            if missing:
                raise ValueError(f"columns {missing} missing")
            if n_rows is not None and table.num_rows != n_rows:
                raise ValueError(f"{table.num_rows} rows instead of {n_rows}")
        except Exception as exc:  # any unreadable file is recomputed, whatever the reader says
            warn("E703", path=str(path), problem=(str(exc).splitlines() or [type(exc).__name__])[0][:200])
            path.unlink(missing_ok=True)
            return None
        return table

    def load(self, step: str, key: str, columns: Iterable[str] = (), n_rows: int | None = None
             ) -> pa.Table | None:
        """The cached output of ``step`` under ``key``, or None if it has to be computed."""
        columns = list(columns)
        path = self.path(step, key)
        if path.exists():
            return self._read_checked(path, columns, n_rows)
        if self.shared is not None:
            shared_path = self.shared / path.name
            if shared_path.exists():
                table = self._read_checked(shared_path, columns, n_rows)
                if table is not None:
                    self._link(shared_path, path)
                return table
        return None

    def load_shards(self, step: str, key: str, columns: Iterable[str], sizes: list[int]
                    ) -> dict[int, pa.Table]:
        """Finished shards of an interrupted step: ``{shard index: table}``, each checked against
        the expected row count ``sizes[index]``."""
        parts = self.parts_dir(step, key)
        done: dict[int, pa.Table] = {}
        if not parts.is_dir():
            return done
        columns = list(columns)
        for file in sorted(parts.iterdir()):
            m = _SHARD_RE.match(file.name)
            if not m:
                continue  # a temporary file left by an interrupted write
            i = int(m.group(1))
            if i >= len(sizes):
                file.unlink(missing_ok=True)  # shard plan changed (other shard size): start over
                continue
            table = self._read_checked(file, columns, sizes[i])
            if table is not None:
                done[i] = table
        return done

    # writing -----------------------------------------------------------------------------------
    def save_shard(self, step: str, key: str, index: int, table: pa.Table) -> None:
        atomic_write_table(self.parts_dir(step, key) / f"{index:05d}.parquet", table)

    def save(self, step: str, key: str, table: pa.Table) -> Path:
        """Write the complete output, then drop the shards it was merged from."""
        path = self.path(step, key)
        atomic_write_table(path, table)
        shutil.rmtree(self.parts_dir(step, key), ignore_errors=True)
        if self.shared is not None:
            self._link(path, self.shared / path.name)
        return path

    @staticmethod
    def _link(src: Path, dst: Path) -> None:
        """Make ``dst`` the same file as ``src`` (hard link, or an atomic copy across devices)."""
        if dst.exists():
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            atomic_write_bytes(dst, src.read_bytes())
