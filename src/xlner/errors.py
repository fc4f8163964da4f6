"""One catalogue of coded, greppable errors (in the manner of spaCy's ``Errors``).

Every error a user can cause raises :class:`XlnerError` with a code and a message that names the
file, line or sentence id involved and says what to fix. The CLI prints ``error[E###]: message``
and exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations


class XlnerError(Exception):
    """A user-facing error: bad input, a missing component, a broken cache."""

    def __init__(self, code: str, message: str, *, hint: str | None = None) -> None:
        self.code = code
        self.message = message
        self.hint = hint
        super().__init__(f"[{code}] {message}" + (f"\n  hint: {hint}" if hint else ""))


def where(path: object, line: int | None = None, sentence: object | None = None) -> str:
    """Format a location as ``path:line (sentence ID)`` for error messages."""
    loc = str(path)
    if line is not None:
        loc += f":{line}"
    if sentence is not None:
        loc += f" (sentence {sentence})"
    return loc


# Codes, grouped by stage. Keep the list in sync with the modules that raise them.
#   E1xx  data reading (data.py)
#   E2xx  projection input (project/, cli project)
#   E3xx  evaluation (evaluate.py)
#   E4xx  translation (translate.py)
#   E5xx  encoders and alignment (encoder.py, align.py)
#   E6xx  NER backends (ner.py)
#   E7xx  pipeline, profiles and cache (pipeline.py, cache.py)
#   E8xx  training and experiments (train.py, experiment.py)
#   E9xx  explorer and corrections (explorer/)
