"""The end-to-end pipeline: cached batch steps from gold data to projected, evaluated entities.

>>> from xlner.pipeline import Options, translate_test
>>> run = translate_test(Options(data="val.jsonl", lang="eu", out="runs/eu"))  # doctest: +SKIP
>>> run.metrics["overall"]["f1"]                                               # doctest: +SKIP
"""

from xlner.pipeline.framework import Components, Runner, Step, StepReport
from xlner.pipeline.profiles import builtin_profiles, load_profile
from xlner.pipeline.tasks import Options, pin_threads, translate_test, translate_train

__all__ = ["Components", "Options", "Runner", "Step", "StepReport", "builtin_profiles",
           "load_profile", "pin_threads", "translate_test", "translate_train"]
