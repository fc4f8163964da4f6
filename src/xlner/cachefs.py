"""Where a step cache lives: a local folder, or a folder on any ``pyarrow.fs`` filesystem by URI.

:class:`xlner.cache.StepCache` reads and writes through one of two stores with the same small
interface (names relative to the cache folder, e.g. ``align-<key>.parts/00000.parquet``):

- :class:`LocalStore`, a plain path: ``os`` calls, temporary file + ``fsync`` + ``os.replace``,
  hard links into a shared cache (what the cache always did, at the same speed).
- :class:`ArrowStore`, a URI (``s3://bucket/prefix``, ``gs://…``, ``hdfs://…``, ``file:///…``)
  opened with ``pyarrow.fs.FileSystem.from_uri``, or any ``pyarrow.fs.FileSystem`` given directly
  (e.g. a ``SubTreeFileSystem``). Parquet goes through the filesystem's streams; the file names
  and the layout are those of the local store, so a cache copied between the two is read back.

Atomicity on object stores. An ``ArrowStore`` writes every file under a temporary key in the same
folder (``.<name>.<random>.tmp``) and then moves it to its name. On S3 and GCS an object becomes
visible only when its upload is complete, and a copy (what ``move`` is there) creates the target
object in one piece, so a reader sees the whole file or none. Writing straight to the final key
would not be enough: when a writer fails half-way, pyarrow closes the output stream, which
*completes* the upload of the part written so far. Under a temporary key such a remnant is never
read (shard listings take only ``NNNNN.parquet`` names, lookups only exact names), and it is
deleted when the failure is caught or with the step's shard folder. On HDFS and local disks the
move is a rename, atomic as ``os.replace``.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Protocol, TypeVar

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from xlner.errors import XlnerError

__all__ = ["Store", "LocalStore", "ArrowStore", "is_uri", "open_store", "join_uri", "local_path_of",
           "copy_file", "atomic_write_bytes", "atomic_write_text", "atomic_write_table", "OPEN_TIMEOUT_S"]

#: Opening a URI (resolving an S3 bucket's region, a first listing) gives up after this long.
OPEN_TIMEOUT_S = float(os.environ.get("XLNER_CACHE_TIMEOUT_S", "30"))

T = TypeVar("T")
Writer = Callable[[pafs.FileSystem, str], None]


def is_uri(location: object) -> bool:
    """``scheme://…`` text (a plain path, even one with a colon, is not a URI)."""
    return isinstance(location, str) and "://" in location and not location.startswith("/")


def join_uri(uri: str, name: str) -> str:
    """``uri`` + ``/name``, the query (``?endpoint_override=…``) kept at the end."""
    base, sep, query = uri.partition("?")
    return f"{base.rstrip('/')}/{name}{sep}{query}"


def _display(uri: str) -> str:
    """The URI for messages: without its query and user info (``s3://KEY:SECRET@bucket/…`` and
    a query may hold credentials)."""
    base = uri.partition("?")[0]
    scheme, sep, rest = base.partition("://")
    netloc, slash, path = rest.partition("/")
    return f"{scheme}{sep}{netloc.rpartition('@')[2]}{slash}{path}"


class Store(Protocol):
    """Files of one cache folder, by name relative to it (``a/b`` reaches into a subfolder)."""

    def where(self, name: str = "") -> str | Path: ...
    def exists(self, name: str) -> bool: ...
    def is_dir(self, name: str) -> bool: ...
    def list_files(self, name: str) -> list[str]: ...
    def read_table(self, name: str) -> pa.Table: ...
    def write_table(self, name: str, table: pa.Table) -> None: ...
    def delete(self, name: str) -> None: ...
    def delete_dir(self, name: str) -> None: ...
    def arrow(self, name: str) -> tuple[pafs.FileSystem, str]: ...
    def write_with(self, name: str, write: Writer) -> None: ...


# --- atomic writes of local files (xlner.cache re-exports them) ------------------------------------

def _read_umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it: put it back at once
    os.umask(mask)
    return mask


# mkstemp makes files readable by their owner only (0600); written results are shared (a team's run
# folders, Ray workers, the explorer's server), so they get the mode any new file gets: 0666 - umask
FILE_MODE = 0o666 & ~_read_umask()


def _atomic(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
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



# --- a local folder: today's code -----------------------------------------------------------------

class LocalStore:
    """A local folder through ``os`` (atomic writes: temporary file, fsync, ``os.replace``)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    def where(self, name: str = "") -> Path:
        return self.directory / name if name else self.directory

    def exists(self, name: str) -> bool:
        return self.where(name).exists()

    def is_dir(self, name: str) -> bool:
        return self.where(name).is_dir()

    def list_files(self, name: str) -> list[str]:
        folder = self.where(name)
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def read_table(self, name: str) -> pa.Table:
        return pq.read_table(self.where(name))

    def write_table(self, name: str, table: pa.Table) -> None:
        atomic_write_table(self.where(name), table)

    def delete(self, name: str) -> None:
        self.where(name).unlink(missing_ok=True)

    def delete_dir(self, name: str) -> None:
        import shutil

        shutil.rmtree(self.where(name), ignore_errors=True)

    def arrow(self, name: str) -> tuple[pafs.FileSystem, str]:
        return pafs.LocalFileSystem(), str(self.where(name).resolve())

    def write_with(self, name: str, write: Writer) -> None:
        _atomic(self.where(name), lambda tmp: write(pafs.LocalFileSystem(), str(tmp)))

    def link_from(self, src: LocalStore, name: str) -> None:
        """Make ``name`` here the same file as ``name`` in ``src`` (hard link, else atomic copy)."""
        dst = self.where(name)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src.where(name), dst)
        except OSError:
            atomic_write_bytes(dst, src.where(name).read_bytes())


# --- any pyarrow filesystem ---------------------------------------------------------------------

class ArrowStore:
    """A folder ``root`` on a ``pyarrow.fs.FileSystem``; ``uri`` names it in messages, after
    ``option`` (what the user set it with, e.g. ``--cache-dir``).

    Errors of the filesystem itself (network, permissions, credentials) are ``error[E717]`` with
    pyarrow's text; a file that is there but unreadable is the cache's business (warning E703).
    """

    def __init__(self, fs: pafs.FileSystem, root: str, uri: str | None = None,
                 option: str = "step cache") -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.uri = uri or f"{fs.type_name}://{self.root}"
        self.option = option

    def _path(self, name: str) -> str:
        return f"{self.root}/{name}" if name else self.root

    def where(self, name: str = "") -> str:
        return _display(join_uri(self.uri, name) if name else self.uri)

    def _call(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except OSError as exc:  # pyarrow's IOError: unreachable, denied, no credentials
            raise _unusable(self.option, self.uri, _first_line(exc)) from exc

    def _type(self, name: str) -> pafs.FileType:
        return self._call(lambda: self.fs.get_file_info(self._path(name)).type)

    def exists(self, name: str) -> bool:
        return self._type(name) == pafs.FileType.File

    def is_dir(self, name: str) -> bool:
        return self._type(name) == pafs.FileType.Directory

    def list_files(self, name: str) -> list[str]:
        selector = pafs.FileSelector(self._path(name), allow_not_found=True)
        infos = self._call(lambda: self.fs.get_file_info(selector))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.File)

    def read_table(self, name: str) -> pa.Table:
        # Errors here are left to the caller: a truncated or foreign file is reported and recomputed.
        with self.fs.open_input_file(self._path(name)) as f:
            return pq.read_table(f)

    def write_table(self, name: str, table: pa.Table) -> None:
        def write(fs: pafs.FileSystem, tmp: str) -> None:
            with fs.open_output_stream(tmp) as out:
                pq.write_table(table, out)

        self.write_with(name, write)

    def write_with(self, name: str, write: Writer) -> None:
        """``write(fs, temporary path)``, then the move that makes ``name`` appear whole (see the
        module's docstring for why this is atomic on object stores)."""
        final = self._path(name)
        folder, _, base = final.rpartition("/")
        tmp = f"{folder}/.{base}.{uuid.uuid4().hex[:12]}.tmp"
        self._call(lambda: self.fs.create_dir(folder, recursive=True))
        try:
            self._call(lambda: write(self.fs, tmp))  # a lost connection mid-upload: E717
            self._call(lambda: self.fs.move(tmp, final))
        except BaseException:
            try:
                self.fs.delete_file(tmp)
            except OSError:
                pass  # never written, or the store is gone: the name is never read anyway
            raise

    def delete(self, name: str) -> None:
        try:
            self._call(lambda: self.fs.delete_file(self._path(name)))
        except XlnerError as exc:
            if not isinstance(exc.__cause__, FileNotFoundError):
                raise

    def delete_dir(self, name: str) -> None:
        if self.is_dir(name):
            self._call(lambda: self.fs.delete_dir(self._path(name)))

    def arrow(self, name: str) -> tuple[pafs.FileSystem, str]:
        return self.fs, self._path(name)


def copy_file(src: Store, dst: Store, name: str) -> None:
    """Put ``name`` of ``src`` into ``dst`` unless it is there: a hard link between two local
    folders (as before), else a streamed copy written atomically into ``dst``."""
    if dst.exists(name):
        return
    if isinstance(src, LocalStore) and isinstance(dst, LocalStore):
        dst.link_from(src, name)
        return
    src_fs, src_path = src.arrow(name)

    def write(fs: pafs.FileSystem, tmp: str) -> None:
        pafs.copy_files(src_path, tmp, source_filesystem=src_fs, destination_filesystem=fs,
                        use_threads=False)

    dst.write_with(name, write)


# --- opening a location ---------------------------------------------------------------------------

def _unusable(option: str, uri: str, problem: str) -> XlnerError:
    """E717, the paths' "cannot create the folder" error (its hint: may you write there), with
    pyarrow's reason: an unknown scheme, no such bucket, refused credentials, no answer."""
    return XlnerError("E717", option=option, path=_display(uri), problem=problem.replace(uri, _display(uri)))


def _first_line(exc: BaseException) -> str:
    return ((str(exc).strip().splitlines() or [type(exc).__name__])[0])[:300]


def _bounded(action: Callable[[], T], option: str, uri: str) -> T:
    """``action()`` in a daemon thread, given up after OPEN_TIMEOUT_S: pyarrow's network calls
    (an S3 region lookup, a metadata-server credential probe) must not hang a run."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = action()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="xlner-cache-open", daemon=True)
    thread.start()
    thread.join(OPEN_TIMEOUT_S)
    if thread.is_alive():
        raise _unusable(option, uri, f"no answer within {OPEN_TIMEOUT_S:g} s (XLNER_CACHE_TIMEOUT_S)")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def open_store(location: str | os.PathLike | Store, option: str = "step cache") -> Store:
    """The store of a cache location: a path (local), a URI (pyarrow.fs), or a store as it is.

    A URI is checked, and its folder made, at once: an unknown scheme, a filesystem that cannot
    be reached, refuses the credentials or does not answer within OPEN_TIMEOUT_S is ``E717`` with
    pyarrow's reason, a file where the folder should be ``E700`` (both named after ``option``).
    """
    if isinstance(location, (LocalStore, ArrowStore)):
        return location  # (as it was made: its own option label)
    if not is_uri(location):
        return LocalStore(Path(os.fspath(location)))  # type: ignore[arg-type]
    uri = str(location)

    def connect() -> ArrowStore:
        try:
            fs, path = pafs.FileSystem.from_uri(uri)
        except (OSError, pa.ArrowException) as exc:  # ArrowInvalid: an unknown scheme
            raise _unusable(option, uri, _first_line(exc)) from exc
        store = ArrowStore(fs, path, uri, option)
        if store._type("") == pafs.FileType.File:  # E717 from _call if unreachable
            raise XlnerError("E700", option=option, path=_display(uri))
        # Made now, so that a missing bucket or a store that refuses writes stops the run before
        # its first step rather than after an hour of translation.
        store._call(lambda: fs.create_dir(path, recursive=True))
        return store

    return _bounded(connect, option, uri)


def local_path_of(location: str) -> Path | None:
    """The local folder a location names (a path, or a ``file://`` URI); None for other URIs."""
    if not is_uri(location):
        return Path(location).expanduser()
    if location.lower().startswith("file://"):
        _, path = pafs.FileSystem.from_uri(location)
        return Path(path)
    return None
