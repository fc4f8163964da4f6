"""Dataset readers and writers: CoNLL column files, JSON lines, XTREME PAN-X and the HF hub.

``read_dataset(path)`` returns a :class:`~xlner.datamodel.Dataset` whose sentences carry IOB2-
normalised spans, after an optional label map (drop DATE, map OntoNotes types, ...; see
:mod:`xlner.labelmap`).

Formats
- ``conll``: ``token ... TAG`` per line (the tag is the last column, the token the first),
  columns separated by spaces or tabs, a blank line between sentences, optional ``-DOCSTART-``
  lines (a document boundary, never a token). Every non-blank line must have the same number of
  columns (at least two).
- ``jsonl``: one JSON object per line with ``tokens`` and ``tags`` (or ``ner_tags`` as strings, or
  ``spans``: ``[{"start", "end", "label"}]``), plus an optional ``id`` (kept as is) or ``idx``
  (BasqueGLUE; the sentence id becomes ``<split>:<idx>``).
- ``panx``: XTREME PAN-X, ``lang:token<TAB>TAG``, blank-line separated.
- ``hf:<dataset>[:<config>]:<split>``: the Hugging Face hub (:mod:`xlner.hub`; needs the ``hub``
  extra and network), e.g. ``hf:masakhane/masakhaner2:swa:test``.

Sentence ids are ``<split>:<index>`` (``split`` = file stem, e.g. ``test:12``) unless the file
has its own ids. Where a file's own id repeats (BasqueGLUE's out-of-domain train concatenates two
sources whose ``idx`` both start at 0), the first sentence keeps it and the later ones become
``ID#2``, ``ID#3``, ... (warning E141); every other id is kept. ``Sentence.source`` is
``path:line`` of the sentence's first line.

Tags are read leniently but never silently (warnings print as ``warning[E###]`` in the CLI):
entity types in lower or mixed case (``B-per``) are read in upper case (E143), after the label
map had its chance to map the type as written; an ``I-X`` right after a ``Y`` entity in IOB2 or
BIOES (``B-PER I-ORG``) starts a new X entity, as conlleval reads it (E144).

Errors (E1xx, see docs/errors.md) name the file, the line and the sentence; nothing is ever
skipped silently.

The package: :mod:`~xlner.data.readers` (raw tags as written), :mod:`~xlner.data.checks` (lenient
but never silent tag reading), :mod:`~xlner.data.datasets` (datasets, WNUT-16, plain text) and
:mod:`~xlner.data.writers`.
"""

from __future__ import annotations

from xlner.data.checks import check_mojibake, map_type, to_sentences
from xlner.data.datasets import (WNUT16, WNUT16_TYPE_MAP, dataset_from_records, read_dataset,
                                 read_plain_text, read_sentences, read_wnut16, restrict_types,
                                 strip_labels, wnut16_path)
from xlner.data.readers import FORMATS, TaggedSentence, read_records, record_to_tagged, unique_ids
from xlner.data.writers import WRITE_FORMATS, write_conll, write_jsonl
from xlner.labelmap import LabelMap, available_label_maps, load_label_map

__all__ = ["FORMATS", "WRITE_FORMATS", "WNUT16", "WNUT16_TYPE_MAP", "TaggedSentence", "LabelMap",
           "available_label_maps", "load_label_map", "read_records", "read_dataset",
           "dataset_from_records", "to_sentences", "check_mojibake", "record_to_tagged", "map_type",
           "unique_ids", "write_conll", "write_jsonl", "restrict_types", "strip_labels",
           "wnut16_path", "read_wnut16", "read_sentences", "read_plain_text"]
