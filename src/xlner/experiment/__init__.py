"""The experiment runner: model transfer vs teacher–student vs projection vs translate-train,
in and out of domain.

A YAML config (:mod:`.config`) names datasets, domains, methods, seeds and hyper-parameters;
:func:`plan_methods` (:mod:`.planning`) decides which test languages each method applies to;
each method is one class with ``train``/``predict`` (:mod:`.methods`); the runner (:mod:`.runner`)
trains what must be trained and writes one standard run directory per cell (:mod:`.cells`) into
EXP_DIR/runs; :func:`summarize` (:mod:`.summary`) turns the cells into

- ``results.csv`` — one row per method x test set x seed with P/R/F1 and a 95% bootstrap CI;
- ``per_type.csv``, ``aggregate.csv`` (mean over seeds, seed spread, CI), ``drops.csv`` (in-domain
  minus out-of-domain F1 with CIs), ``comparisons.csv`` (difference of drops between methods) and
  ``method_comparisons.csv`` (difference of F1 between methods on each test set, paired CI);
- ``summary.md`` (:mod:`.report`) and ``plots/`` (:mod:`.plots`: HTML, and PNG when a Chromium is
  found for kaleido).

It has no reader, statistic or run writer of its own: data comes from :mod:`xlner.data`, scores
and bootstrap resamples from :mod:`xlner.evaluate`, run directories go through :mod:`xlner.runs`,
and the projection methods hand sentences and settings to :mod:`xlner.pipeline` directly.
"""

from xlner.experiment.cells import CellPrediction, cell_name, write_cell
from xlner.experiment.config import (KNOWN_METHODS, PIPELINE_METHODS, TRANSLATE_TRAIN_KEYS, DataSpec,
                                     ExperimentConfig, default_data_root, load_config, load_spec,
                                     resolve_config_path, shipped_configs)
from xlner.experiment.methods import METHODS, Context, TransferMethod, teacher_dir
from xlner.experiment.pipeline_runs import checked_records, spans_of
from xlner.experiment.planning import MethodPlan, plan_methods, projection_profile
from xlner.experiment.plots import degradation_figure, find_browser, write_plots
from xlner.experiment.results import find_experiments, load_experiment
from xlner.experiment.runner import run_domain_shift
from xlner.experiment.summary import RESULT_COLUMNS, method_comparisons, summarize

__all__ = ["CellPrediction", "Context", "DataSpec", "ExperimentConfig", "KNOWN_METHODS", "METHODS", "MethodPlan",
           "PIPELINE_METHODS", "RESULT_COLUMNS", "TRANSLATE_TRAIN_KEYS", "TransferMethod", "cell_name",
           "checked_records", "default_data_root", "degradation_figure", "find_browser", "find_experiments",
           "load_config", "load_experiment", "load_spec", "method_comparisons", "plan_methods",
           "projection_profile", "resolve_config_path", "run_domain_shift", "shipped_configs", "spans_of",
           "summarize", "teacher_dir", "write_cell", "write_plots"]
