"""Evaluation: seqeval P/R/F1, projection ratio, SemEval-2013 categories and bootstrap intervals.

- ``mode="default"`` is seqeval's default (conlleval-compatible, lenient) mode; entities are
  decoded and scores divided by seqeval's own functions, so the numbers equal seqeval's exactly.
  ``mode="strict"`` is seqeval's strict IOB2 mode: an entity must start with ``B-``. Spans
  always give well-formed IOB2 tags, so strict mode only differs from default on raw tags
  (``evaluate_tags``; ``xlner evaluate`` passes a prediction file's own IOB2 tags), where stray
  ``I-`` starts are not counted as entities.
- ``ignore_labels``: these types are set to O in gold *and* prediction before scoring
  (the MasakhaNER2 protocol drops DATE; method.md §6).
- ``proj_ratio``: mean over sentences of ``#pred / #gold`` entities. 0 gold and 0 predicted
  counts 1 (nothing to project, nothing projected). With 0 gold and ``k > 0`` predicted the
  ratio is undefined; we count ``1 + k`` (as if the sentence had one virtual entity that was
  projected, plus ``k`` extra), so spurious output raises the ratio above 1 instead of being
  ignored or dividing by zero.
- Categories (SemEval-2013 / MUC): each predicted entity is ``correct`` (same boundaries, same
  type), ``incorrect`` (same boundaries, other type), ``partial`` (overlapping boundaries) or
  ``spurious``; each unmatched gold entity is ``missing``. Matching is nervaluate's.
- Bootstrap: per-sentence true/false positive and false negative counts are computed once;
  each resample of the sentences is one ``bincount`` and a matrix product (percentile intervals).

Gold and prediction must hold the same sentences with the same tokens, in the same order.
With no gold entity at all, recall and F1 are undefined: the report says so (``xlner evaluate``
prints "undefined (no gold entities)", its JSON has null) instead of seqeval's 0.0. A gold type
that the prediction never has (``GPE`` against a PER/ORG/LOC tagger) is warned about (E311).

The package: :mod:`~xlner.evaluate.scoring` (the scores), :mod:`~xlner.evaluate.report` (the
report and its table), :mod:`~xlner.evaluate.resampling` (bootstrap) and :mod:`~xlner.evaluate.files`
(``xlner evaluate``'s files and label-name checks).
"""

from __future__ import annotations

from xlner.evaluate.files import (check_label_names, check_run_labels, evaluate_files, mismatch_blocks,
                                 unpredicted_types)
from xlner.evaluate.report import CATEGORIES, MODES, UNDEFINED, EvalReport
from xlner.evaluate.resampling import (PairedDiff, _f1, _resampled_sums, bootstrap_f1_ci,
                                       paired_bootstrap_diff, percentile_interval, resampled_f1,
                                       scores_from_counts)
from xlner.evaluate.scoring import (check_same_tokens, evaluate, evaluate_tags, proj_ratio,
                                    sentence_categories, sentence_counts, sentence_entities,
                                    sentence_proj_ratios, span_entities, type_counts)

__all__ = ["CATEGORIES", "MODES", "UNDEFINED", "EvalReport", "PairedDiff", "bootstrap_f1_ci",
           "check_label_names", "check_run_labels", "check_same_tokens", "evaluate", "evaluate_files", "evaluate_tags",
           "mismatch_blocks", "paired_bootstrap_diff", "percentile_interval", "proj_ratio",
           "resampled_f1", "scores_from_counts", "sentence_categories", "sentence_counts",
           "sentence_entities", "sentence_proj_ratios", "span_entities", "type_counts",
           "unpredicted_types", "_f1", "_resampled_sums"]
