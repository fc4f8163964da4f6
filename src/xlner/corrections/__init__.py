"""Annotation of projected entities: the decision store, review queue, agreement and exports.

Library code shared by the explorer's Corrections page and ``xlner corrections``:

- :mod:`.store`     the append-only, versioned SQLite log of decisions (one row per decision, per annotator)
- :mod:`.resolve`   per-annotator states, conflicts, adjudicated and agreed final decisions
- :mod:`.queue`     the review queue (run order, lowest score, error category, a custom key), next undecided
- :mod:`.agreement` span F1 and Cohen's kappa per pair of annotators
- :mod:`.export`    CoNLL, JSON lines, Hugging Face ``datasets`` and spaCy ``DocBin`` exports

Error codes: E905, E950–E999.
"""

from xlner.corrections.store import ACTIONS, SCHEMA_VERSION, CorrectionStore, added_key, default_db_path, entity_key

__all__ = ["ACTIONS", "SCHEMA_VERSION", "CorrectionStore", "added_key", "default_db_path", "entity_key"]
