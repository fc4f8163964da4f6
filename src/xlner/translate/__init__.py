"""Machine translation backends behind one small interface, plus marker-preserving back-translation.

``get_translator(name, src_lang, tgt_lang, **params)`` returns an object with
``translate(texts, ids=None) -> list[str]`` and ``fingerprint() -> dict``. Backends, registered in
:mod:`xlner.registry` with their parameter dataclasses (one module each):

- ``apertium`` (:mod:`.apertium`): the Debian rule-based system, one subprocess per batch, sentences
  kept apart by blank lines.
- ``hf`` (:mod:`.hf`): a Hugging Face seq2seq model (NLLB-200, M2M-100, Marian) by hub name or path.
- ``precomputed`` (:mod:`.precomputed`): translations produced elsewhere, by sentence id.
- ``lexicon`` (:mod:`xlner.lexicon`): word by word with a FreeDict bilingual dictionary, names and
  unknown words kept (``*``-marked), for languages with no MT system (Swahili -> English).

:mod:`.languages` maps language codes, :mod:`.markers` does back-translation with ``[ ]`` markers.
Errors are E4xx (``xlner errors``).
"""

from __future__ import annotations

from typing import Any

from xlner import registry
from xlner.hub import from_pretrained, hub_reachable
from xlner.translate.apertium import (ApertiumParams, ApertiumTranslator, apertium_direction_note,
                                      apertium_pairs, split_apertium_output)
from xlner.translate.base import Translator
from xlner.translate.hf import HFTranslator, HFTranslatorParams, lang_tokens
from xlner.translate.languages import nllb_code, normalise_lang
from xlner.translate.markers import (MARKERS, MarkedTranslation, assign_marked_classes,
                                     back_translate_with_markers, mark_entities,
                                     recover_back_translation, recover_marked_spans, wrap_entities)
from xlner.translate.precomputed import PrecomputedParams, PrecomputedTranslator
from xlner.lexicon import LexiconParams, LexiconTranslator  # noqa: E402  (after the translators it mirrors)

__all__ = [
    "Translator", "get_translator", "TRANSLATORS", "UNAVAILABLE_CODES", "normalise_lang", "nllb_code",
    "ApertiumTranslator", "HFTranslator", "PrecomputedTranslator", "LexiconTranslator", "ApertiumParams",
    "HFTranslatorParams", "PrecomputedParams", "LexiconParams", "apertium_pairs", "apertium_direction_note",
    "split_apertium_output", "lang_tokens", "from_pretrained", "hub_reachable",
    "wrap_entities", "mark_entities", "recover_marked_spans", "assign_marked_classes",
    "recover_back_translation", "MarkedTranslation", "back_translate_with_markers", "MARKERS",
]

registry.register("translator", "apertium", ApertiumParams, "xlner.translate.apertium:ApertiumTranslator")
registry.register("translator", "hf", HFTranslatorParams, "xlner.translate.hf:HFTranslator")
registry.register("translator", "precomputed", PrecomputedParams,
                  "xlner.translate.precomputed:PrecomputedTranslator")
# "cheap translation" word by word with a FreeDict lexicon (Swahili: dict-freedict-swh-eng)
registry.register("translator", "lexicon", LexiconParams, "xlner.lexicon:LexiconTranslator")

#: Name -> class of every translator (the registry holds their parameters).
TRANSLATORS = {"apertium": ApertiumTranslator, "hf": HFTranslator, "precomputed": PrecomputedTranslator,
               "lexicon": LexiconTranslator}

#: Codes that mean "no translator for this direction here" (an unknown or unsupported language, no
#: Apertium system or package for the direction, a model that cannot be loaded, no FreeDict
#: dictionary for the direction), as opposed to a bug or bad input: back-translation stored for the
#: explorer is then skipped, with the reason.
UNAVAILABLE_CODES = ("E401", "E403", "E409", "E415", "E417", "E480")


def get_translator(name: str, src_lang: str, tgt_lang: str, *, origin: registry.Origin | None = None,
                   **params: Any) -> Translator:
    """A translator by name (``apertium``, ``hf``, ``precomputed``) with its parameters, checked
    (E760 unknown name, E761 bad parameter; ``origin`` says where they were written)."""
    return registry.build("translator", name, src_lang, tgt_lang, origin=origin, **params)
