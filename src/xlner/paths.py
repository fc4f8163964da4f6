"""Checks of output paths given on the command line, shared by every command that writes.

``output_dir(path)`` for a folder to write into (a run directory, ``--out``), ``output_file(path)``
for one file. Missing parent folders are created, as ``mkdir -p`` would; a path of the wrong kind
(a file where a folder is expected, or the reverse) or one that cannot be created is a catalogued
error naming the path and the option (E700, E716, E717), never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from xlner.errors import XlnerError

__all__ = ["output_dir", "output_file"]


def _mkdir(folder: Path, path: Path, option: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent is a file, no permission, read-only file system ...
        raise XlnerError("E717", path=str(path), option=option,
                         problem=exc.strerror or type(exc).__name__) from None


def output_dir(path: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """``path`` as a folder to write into, created (with its parents) if it does not exist."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise XlnerError("E700", path=str(p), option=option)
    _mkdir(p, p, option)
    return p


def output_file(path: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """``path`` as a file to (over)write; its folder is created if it does not exist."""
    p = Path(path)
    if p.is_dir():
        raise XlnerError("E716", path=str(p), option=option)
    _mkdir(p.parent, p, option)
    return p
