"""The end-to-end pipeline: cached batch steps from gold data to projected, evaluated entities.

>>> from xlner.pipeline import Options, translate_test
>>> run = translate_test(Options(data="val.jsonl", lang="eu", out="runs/eu"))  # doctest: +SKIP
>>> run.metrics["overall"]["f1"]                                               # doctest: +SKIP

Sentences already in memory and settings as a mapping go in directly::

    translate_test(Options(sentences=sents, lang="eu", out="runs/eu",
                           settings={"aligner": {"name": "identity"}}))
"""

from xlner.pipeline.framework import Components, Runner, Step, StepReport
from xlner.pipeline.options import Options
from xlner.pipeline.profiles import apply_settings, builtin_profiles, load_profile, parse_settings
from xlner.pipeline.tasks import pin_threads, translate_test, translate_train

__all__ = ["Components", "Options", "Runner", "Step", "StepReport", "apply_settings", "builtin_profiles",
           "load_profile", "parse_settings", "pin_threads", "translate_test", "translate_train"]
