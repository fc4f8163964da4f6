"""The Hugging Face hub, on a machine that may have no network.

- Labelled splits: ``hf:<dataset>[:<config>]:<split>``. Needs the ``hub`` extra (``datasets``) and
  network; :func:`xlner.data.read_records` calls :func:`read_hub_records` for specs that start with
  ``hf:``. Rows become the same :class:`~xlner.data.TaggedSentence` objects as local files, checked by
  the same code.
- Models by hub name or local folder: the local cache first, the hub only when it can be reached (no
  minute of retries offline).
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from xlner.errors import XlnerError, where

if TYPE_CHECKING:  # xlner.data imports this module lazily; translators import it without the readers
    from xlner.data import TaggedSentence

__all__ = ["parse_hub_spec", "hub_split_to_records", "read_hub_records", "hub_reachable", "from_pretrained",
           "load_seq2seq"]


def parse_hub_spec(spec: str) -> tuple[str, str | None, str]:
    """``hf:masakhane/masakhaner2:swa:test`` -> (``masakhane/masakhaner2``, ``swa``, ``test``)."""
    parts = spec[3:].split(":") if spec.startswith("hf:") else spec.split(":")
    if len(parts) == 2 and all(parts):
        return parts[0], None, parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    raise XlnerError("E113", spec=spec)


def _label_names(split: Any, column: str) -> list[str] | None:
    feature = getattr(split, "features", {}).get(column)
    inner = getattr(feature, "feature", None)  # Sequence(ClassLabel) / List(ClassLabel)
    if inner is None and isinstance(feature, (list, tuple)) and feature:
        inner = feature[0]
    names = getattr(inner, "names", None)
    return list(names) if names else None


def hub_split_to_records(split: Any, *, split_name: str, origin: str) -> list[TaggedSentence]:
    """Convert a ``datasets`` split (rows with tokens + ClassLabel tags) into raw tagged sentences.

    Works on anything shaped like a split: ``.features`` and iteration over row dicts.
    """
    from xlner.data import record_to_tagged, unique_ids

    columns = set(getattr(split, "column_names", None) or getattr(split, "features", {}).keys())
    tag_col = next((c for c in ("ner_tags", "tags", "labels") if c in columns), None)
    if "tokens" not in columns or tag_col is None:
        raise XlnerError("E112", origin=origin, columns=sorted(columns))
    names = _label_names(split, tag_col)
    out = []
    for i, row in enumerate(split):
        rec: dict[str, Any] = {"tokens": list(row["tokens"])}
        if "id" in row:
            rec["id"] = f"{split_name}:{row['id']}"
        elif "idx" in row:
            rec["idx"] = row["idx"]
        tags = list(row[tag_col])
        if tags and not isinstance(tags[0], str):
            if names is None:
                raise XlnerError("E129", origin=origin, column=tag_col)
            try:
                tags = [names[int(t)] for t in tags]
            except (IndexError, ValueError):
                raise XlnerError("E130", where=where(origin, None, f"{split_name}:{i}"),
                                 labels=names) from None
        rec["tags"] = tags
        out.append(record_to_tagged(rec, origin, i + 1, split_name, f"{split_name}:{i}"))
    if not out:
        raise XlnerError("E120", origin=origin)
    return unique_ids(out, origin)


def read_hub_records(spec: str) -> tuple[list[TaggedSentence], dict[str, Any]]:
    name, config, split = parse_hub_spec(spec)
    try:
        import datasets  # optional extra, imported only when asked for
    except ImportError:
        raise XlnerError("E111", spec=spec) from None
    try:
        ds = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # network, unknown name/config/split: all surface as one clear error
        raise XlnerError("E131", spec=spec, problem=f"{type(exc).__name__}: {exc}") from None
    lang = None
    if config:
        m = re.search(r"(?:^|[.\-_])([a-z]{2,3})$", config)
        lang = m.group(1) if m else None
    return hub_split_to_records(ds, split_name=split, origin=spec), {"format": "hf", "lang": lang}



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


def load_seq2seq(model: str, *, revision: str | None, local_files_only: bool) -> tuple[Any, Any]:
    """``(tokenizer, model)`` of a seq2seq model (translators, NMT scores) through
    :func:`from_pretrained`; raises OSError/ValueError, which callers turn into their own code."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = from_pretrained(AutoTokenizer, model, revision=revision, local_files_only=local_files_only)
    network = from_pretrained(AutoModelForSeq2SeqLM, model, revision=revision, local_files_only=local_files_only)
    return tokenizer, network
