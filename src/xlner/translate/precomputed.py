"""Translations made elsewhere, read from a file by sentence id (or by source text)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Sequence

from annotated_types import MinLen

from xlner.errors import XlnerError, where
from xlner.registry import PathText
from xlner.translate.base import check_texts


@dataclass(kw_only=True)
class PrecomputedParams:
    """``path``: a jsonl file of ``{"id", "translation"}`` (optionally ``"source"``) or a tsv file of
    ``id<TAB>translation`` lines."""

    path: Annotated[PathText, MinLen(1)]


@dataclass
class PrecomputedTranslator(PrecomputedParams):
    """Translations made elsewhere (parameters: :class:`PrecomputedParams`). ``translate(texts, ids)``
    looks up by id; without ids, by source text."""

    src_lang: str
    tgt_lang: str
    name: ClassVar[str] = "precomputed"

    def __post_init__(self) -> None:
        p = Path(os.path.expanduser(str(self.path)))
        if not p.is_file():
            raise XlnerError("E406", path=self.path)
        self._by_id: dict[str, str] = {}
        self._by_source: dict[str, str] = {}
        tsv = p.suffix.lower() in (".tsv", ".txt")
        try:
            lines = p.read_text(encoding="utf-8").split("\n")
        except UnicodeDecodeError as exc:
            raise XlnerError("E424", path=p, byte=exc.start) from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if tsv:
                cols = line.rstrip("\r").split("\t")
                if n == 1 and [c.strip().lower() for c in cols[:2]] == ["id", "translation"]:
                    continue  # header
                if len(cols) != 2:
                    raise XlnerError("E407", where=where(p, n), n_columns=len(cols))
                sid, trans, src = cols[0], cols[1], None
            else:
                try:
                    rec = json.loads(line)
                    sid, trans, src = str(rec["id"]), rec["translation"], rec.get("source")
                except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                    raise XlnerError("E419", where=where(p, n),
                                     reason=f"{type(exc).__name__}: {exc}") from None
                if not isinstance(trans, str):
                    raise XlnerError("E420", where=where(p, n, sid))
            if sid in self._by_id:
                raise XlnerError("E413", where=where(p, n, sid))
            self._by_id[sid] = trans
            if src is not None:
                self._by_source[str(src)] = trans
        self._path = p

    def translate(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
        texts = check_texts(texts, ids)
        out = []
        for i, text in enumerate(texts):
            if ids is not None:
                sid = str(ids[i])
                if sid not in self._by_id:
                    raise XlnerError("E408", path=self._path, id=sid)
                out.append(self._by_id[sid])
            elif text in self._by_source:
                out.append(self._by_source[text])
            else:
                raise XlnerError("E421", path=self._path, index=i, text=text[:60])
        return out

    def fingerprint(self) -> dict[str, Any]:
        st = self._path.stat()
        return {"name": self.name, "path": str(self._path.resolve()), "size": st.st_size,
                "mtime": int(st.st_mtime)}
