"""What ``xlner data`` does, as library functions: :func:`dataset_info` (counts that tell whether
a file was read as expected) and :func:`convert_dataset` (CoNLL <-> JSON lines, any scheme, saying
which tags it wrote differently from the input)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlner.data import (WRITE_FORMATS, dataset_from_records, read_dataset, read_records, write_conll,
                        write_jsonl)
from xlner.errors import XlnerError, where
from xlner.tagging import normalise_scheme, spans_to_tags

__all__ = ["dataset_info", "Conversion", "convert_dataset"]


def dataset_info(path: str | Path, *, format: str = "auto", label_map: Any = None,
                 scheme: str = "auto") -> dict[str, Any]:
    """Counts that tell whether a file was read as expected (``xlner data info``)."""
    ds = read_dataset(path, format=format, label_map=label_map, scheme=scheme)
    per_type = Counter(s.label for sent in ds.sentences for s in sent.spans)
    lengths = [len(s.tokens) for s in ds.sentences]
    return {
        "path": str(path), "name": ds.name, "lang": ds.lang, "scheme": ds.scheme or None,
        "sentences": len(ds), "tokens": sum(lengths), "entities": sum(per_type.values()),
        "per_type": dict(sorted(per_type.items())), "max_sentence_length": max(lengths, default=0),
        "sentences_over_512_tokens": sum(n > 512 for n in lengths),
        "first_id": ds.sentences[0].id if ds.sentences else None,
    }


@dataclass
class Conversion:
    """What :func:`convert_dataset` wrote, and which input tags it wrote differently."""

    n_sentences: int
    target: str
    scheme: str
    in_scheme: str
    changed: int  # tags written differently from the input file's own tag on that token
    first_change: str = ""  # ``path:line (sentence ID): 'I-ORG' -> 'B-ORG'``


def convert_dataset(src: str | Path, dst: str | Path, *, format: str = "auto", to: str | None = None,
                    label_map: Any = None, scheme: str = "auto", out_scheme: str = "iob2") -> Conversion:
    """Read ``src`` and write it to ``dst`` (CoNLL or JSON lines) in ``out_scheme``; report every
    tag that the output writes differently from the input (scheme change, repaired I- starts,
    upper-cased or mapped types), so that no rewrite goes unsaid."""
    from xlner.paths import output_file

    dst = Path(dst)
    target = to or ("jsonl" if dst.suffix in (".jsonl", ".json") else "conll")
    if target not in WRITE_FORMATS:
        raise XlnerError("E128", format=target, formats=", ".join(WRITE_FORMATS))
    output_file(dst, option="OUT")
    records, facts = read_records(src, format=format)
    ds = dataset_from_records(src, records, facts, lang=None, name=None, label_map=label_map, scheme=scheme)
    (write_jsonl if target == "jsonl" else write_conll)(ds, dst, scheme=out_scheme)
    changed, first = 0, ""
    for rec, sent in zip(records, ds.sentences):
        for i, (old, new) in enumerate(zip(rec.tags, spans_to_tags(sent.spans, len(sent.tokens),
                                                                   out_scheme))):
            if old != new:
                if not changed:
                    first = f"{where(rec.path, rec.line_of(i), rec.id)}: {old!r} -> {new!r}"
                changed += 1
    return Conversion(len(ds), target, normalise_scheme(out_scheme), ds.scheme, changed, first)
