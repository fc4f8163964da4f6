"""Loading Hugging Face models by hub name or local folder, on a machine that may have no network:
the local cache first, the hub only when it can be reached (no minute of retries offline)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

__all__ = ["hub_reachable", "from_pretrained"]


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the model hub's host resolves and accepts a connection (a machine without network
    fails here at once instead of in transformers' minute of retries)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def from_pretrained(loader: Any, model: str, *, revision: str | None, local_files_only: bool) -> Any:
    """``loader.from_pretrained`` that looks in the local cache first and only goes to the hub when
    it can be reached; raises OSError (the caller turns it into its own coded error)."""
    folder = Path(model).expanduser()
    if folder.is_dir() or local_files_only:
        return loader.from_pretrained(str(folder) if folder.is_dir() else model, revision=revision,
                                      local_files_only=True)
    try:
        return loader.from_pretrained(model, revision=revision, local_files_only=True)
    except (OSError, ValueError):
        if not hub_reachable():
            raise OSError(f"{model!r} is neither a local folder nor in the Hugging Face cache, "
                          "and the model hub cannot be reached") from None
        return loader.from_pretrained(model, revision=revision)
