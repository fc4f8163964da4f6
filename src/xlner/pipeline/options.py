"""What a pipeline task is given: its input (a data file or sentences) and its settings.

``Options.settings`` maps profile keys to values, applied on top of the profile: a dotted key
sets one value (``{"aligner.layer": 6}``), a plain key replaces a section
(``{"aligner": {"name": "identity"}}``). The values are Python values, used as they are; only
the command line reads ``--set key=value`` text, once, with
:func:`xlner.pipeline.profiles.parse_settings`; the profile applies and checks them
(:func:`~xlner.pipeline.profiles.read_profile`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from xlner.datamodel import Sentence
from xlner.errors import XlnerError

if TYPE_CHECKING:
    from xlner.cachefs import Store


@dataclass
class Options:
    """Everything a task needs besides the profile (the CLI's arguments).

    The gold input is either ``data`` (a file the pipeline reads) or ``sentences`` (already read,
    e.g. a subset an experiment chose); ``dataset`` names the latter in config.json.
    """

    lang: str
    out: str
    data: str | None = None
    sentences: Sequence[Sentence] | None = None
    dataset: str | None = None
    profile: str = "offline"
    settings: Mapping[str, Any] = field(default_factory=dict)
    method: str | None = None
    labels: list[str] | None = None
    limit: int | None = None
    data_format: str = "auto"
    shared_cache: bool = True      # also look up / store step outputs in a cache shared by runs
    # that shared cache: a folder, a pyarrow.fs URI or a xlner.cachefs store on any pyarrow
    # filesystem (default: the profile's cache_dir, else $XLNER_CACHE/steps)
    cache_dir: str | Store | None = None
    progress: bool = True
    drop_incomplete: bool = False  # translate-train: leave out sentences with unprojected entities
    # where steps run (xlner.engine): "local" (this process), "ray", or an Engine instance shared
    # by several runs; ray_address: an existing Ray cluster (default $RAY_ADDRESS, else a local one)
    engine: Any = "local"
    ray_address: str | None = None
    # ``key=value`` texts as typed on a command line (scripts, tests): read once, into ``settings``
    overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.data is None) == (self.sentences is None):
            raise XlnerError("E744")
        if self.overrides:
            from xlner.pipeline.profiles import parse_settings

            self.settings = {**parse_settings(self.overrides), **self.settings}
            self.overrides = ()


def sentences_fingerprint(sentences: Sequence[Sentence]) -> str:
    """Digest of sentences as xlner's JSON lines (``{"id", "tokens", "tags"}``, IOB2).

    It equals :func:`xlner.cache.file_fingerprint` of the same sentences written by
    :func:`xlner.data.write_jsonl`, so that sentences given directly keep the step-cache keys
    they had when callers wrote them to a file for the pipeline to read back.
    """
    from xlner.cache import FINGERPRINT_CHARS
    from xlner.tagging import TagError, spans_to_tags

    h = hashlib.sha256()
    for s in sentences:
        try:
            tags = spans_to_tags(s.spans, len(s.tokens), "iob2")
        except TagError as exc:
            raise XlnerError("E745", id=s.id, reason=str(exc)) from None
        h.update((json.dumps({"id": s.id, "tokens": s.tokens, "tags": tags}, ensure_ascii=False)
                  + "\n").encode("utf-8"))
    return h.hexdigest()[:FINGERPRINT_CHARS]
