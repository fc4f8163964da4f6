"""What ``xlner evaluate`` adds around the scores: reading two files, checking the label names a
user gave against the data, and gold/prediction blocks for reading the errors."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from xlner.datamodel import Sentence
from xlner.errors import XlnerError, warn, where
from xlner.evaluate.report import EvalReport
from xlner.evaluate.scoring import (_as_list, _check_mode, _drop_labels, check_same_tokens,
                                    evaluate_tags)


def check_label_names(names: Iterable[str], present: Iterable[str], *, option: str) -> list[str]:
    """``names`` (given in ``option``) in upper case, as xlner reads types; an error E312 names
    those that no input has, with the types present (a typo must not pass unnoticed)."""
    wanted = [n.strip().upper() for n in names if n.strip()]
    have = set(present)
    unknown = sorted(set(wanted) - have)
    if unknown:
        raise XlnerError("E312", option=option, unknown=", ".join(unknown),
                         present=", ".join(sorted(have)) or "none")
    return wanted


def check_run_labels(names: Iterable[str], *, gold_types: set[str] | None, scored_types: set[str] | None,
                     n_scored: int, tagger_types: Iterable[str] | None, limit: int | None = None,
                     option: str = "--labels") -> list[str]:
    """The types a run keeps (``--labels``, or the profile's ``labels``), in upper case, checked.

    - ``gold_types``: the types of the whole gold input (before ``--limit``), None when there is no
      gold (plain text) or the gold has no entity at all (unlabelled text); ``scored_types``: the
      types of the ``n_scored`` sentences the run scores; ``tagger_types``: what the English tagger
      can emit (None when no tagger takes part, as in translate-train).
    - A name that neither the gold nor the tagger has is a mistake (a typo, another tag set): E313.
    - A gold type the tagger cannot emit can never be projected (recall 0): warning E315.
    - A type with no gold entity in the scored sentences (absent from a ``--limit`` subset, or only
      the tagger's): its projections can only be spurious: warning E314.
    """
    wanted = list(dict.fromkeys(n.strip().upper() for n in names if n.strip()))
    gold = set(gold_types or ())
    tagger = None if tagger_types is None else set(tagger_types)
    unknown = [n for n in wanted if n not in gold and (tagger is None or n not in tagger)]
    if unknown:
        raise XlnerError("E313", option=option, unknown=", ".join(unknown),
                         gold=", ".join(sorted(gold)) or "none",
                         tagger="not used" if tagger is None else ", ".join(sorted(tagger)) or "none")
    if tagger is not None:
        cannot = [n for n in wanted if n not in tagger]
        if cannot:
            warn("E315", option=option, types=", ".join(cannot), tagger=", ".join(sorted(tagger)))
    if gold_types is not None and scored_types is not None:
        absent = [n for n in wanted if n not in scored_types]
        if absent:
            subset = any(n in gold for n in absent) and limit is not None
            why = (f" (the first {limit} sentences, --limit; the whole input has them)" if subset
                   else " (the gold has none)")
            warn("E314", option=option, types=", ".join(absent), n=n_scored, why=why)
    return wanted


def unpredicted_types(gold: Sequence[Sentence], pred: Sequence[Sentence],
                      ignore: Iterable[str] = ()) -> list[str]:
    """Gold entity types that the prediction never has (a tagger that cannot emit ``GPE``)."""
    skip = set(ignore)
    predicted = {sp.label for s in pred for sp in s.spans}
    return sorted({sp.label for s in gold for sp in s.spans} - predicted - skip)


def evaluate_files(gold_path: str, pred_path: str, *, mode: str = "default",
                   ignore_labels: Iterable[str] = (), format: str = "auto",
                   label_map: Any = None) -> tuple[list[Sentence], list[Sentence], EvalReport]:
    """Read and score two files (``xlner evaluate``); in strict mode the prediction's own B/I tags
    are scored. ``ignore_labels`` must name types that the files have (E312); gold types that the
    prediction never has are warned about (E311)."""
    from xlner.data import (check_mojibake, load_label_map, map_type, read_dataset, read_records,
                            to_sentences)
    from xlner.tagging import parse_tag

    _check_mode(mode)
    lmap = load_label_map(label_map)
    gold = read_dataset(gold_path, format=format, label_map=lmap).sentences
    records, _ = read_records(pred_path, format=format)
    check_mojibake(records, pred_path)
    pred, scheme = to_sentences(records, label_map=lmap)
    check_same_tokens(gold, pred)
    present = {sp.label for s in (*gold, *pred) for sp in s.spans}
    ignore = check_label_names(ignore_labels, present, option="--ignore-labels")
    missing = unpredicted_types(gold, pred, ignore)
    if missing:
        warn("E311", where=where(pred_path), types=", ".join(missing))
    if mode == "strict" and scheme != "bioes":
        # Strict IOB2 must see the raw tags: normalising would repair the I- starts it penalises.
        def mapped(tag: str) -> str:
            prefix, typ = parse_tag(tag)
            new = None if prefix == "O" else map_type(typ, lmap)
            return "O" if new is None else f"{prefix}-{new}"

        pred_tags = [[mapped(t) for t in r.tags] for r in records]
    else:
        pred_tags = [s.tags() for s in pred]
    return gold, pred, evaluate_tags([s.id for s in gold], [s.tags() for s in gold], pred_tags,
                                     mode=mode, ignore_labels=ignore)


# --- reading the errors ------------------------------------------------------------------------------

def mismatch_blocks(gold: Any, pred: Any, *, limit: int = 20, ignore_labels: Iterable[str] = ()) -> str:
    """Token / gold / prediction columns for the first ``limit`` sentences where they disagree.

    Rows that differ are marked ``<<<``; this is the quickest way to read what a system gets wrong.
    """
    gold, pred = _as_list(gold), _as_list(pred)
    check_same_tokens(gold, pred)
    ignore = frozenset(ignore_labels)
    blocks: list[str] = []
    for g, p in zip(gold, pred):
        g_tags, p_tags = _drop_labels(g.tags(), ignore), _drop_labels(p.tags(), ignore)
        if g_tags == p_tags:
            continue
        if len(blocks) == limit:
            blocks.append("...")
            break
        width = max(len(t) for t in g.tokens)
        rows = [f"# {g.id}" + (f"  ({g.source})" if g.source else "")]
        rows += [f"{tok:<{width}}  {gt:<10} {pt:<10}" + ("  <<<" if gt != pt else "")
                 for tok, gt, pt in zip(g.tokens, g_tags, p_tags)]
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)
