"""The pipeline's components, built lazily from a profile's sections.

Each component is ``(config, build)``: ``config`` is what the step cache keys see (the profile
section as written, never a loaded model), ``build()`` constructs it through the component registry
on first use, so a fully cached run loads no model. Parameters were checked when the profile was
read (:mod:`xlner.pipeline.profiles`); ``build()`` turns the failures only a real load can show (a
missing package or model) into one catalogued error naming the component.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import xlner
from xlner.errors import XlnerError
from xlner.pipeline.framework import Components
from xlner.pipeline.nmt import nmt_scorer_component
from xlner.pipeline.profiles import component_params

__all__ = ["build_components", "guarded", "target_tagger_component"]


def guarded(kind: str, name: str, params: Mapping[str, Any], build: Callable[[], Any]) -> Callable[[], Any]:
    """``build`` whose unexpected failures become E771 (a package is missing) or E708 (the
    component could not be loaded), naming the component and its parameters."""
    def wrapped() -> Any:
        try:
            return build()
        except XlnerError:
            raise
        except ImportError as exc:
            raise XlnerError("E771", kind=kind, name=name, reason=exc) from exc
        except Exception as exc:  # a model that is not there, a broken installation
            raise XlnerError("E708", kind=kind, name=name, params=dict(params),
                             reason=f"{type(exc).__name__}: {exc}") from exc
    return wrapped


def build_components(profile: Mapping[str, Any], src_lang: str, tgt_lang: str,
                     back_translator: Mapping[str, Any] | None = None) -> Components:
    """Component configs (what the cache keys see) and their lazy builders.

    ``back_translator``: the translator section for ``tgt_lang -> src_lang`` (back-translation).
    """
    import xlner.text as text

    t_name, t_params = component_params(profile["translator"])
    # ``lang: auto`` in the tagger section: the language the English was translated from.
    tagger_section = {k: (src_lang if k == "lang" and v == "auto" else v)
                      for k, v in profile["tagger"].items()}
    n_name, n_params = component_params(tagger_section)
    a_name, a_params = component_params(profile["aligner"])

    def translator() -> Any:
        from xlner.translate import get_translator

        return get_translator(t_name, src_lang, tgt_lang, **t_params)

    def tagger() -> Any:
        from xlner.ner import get_tagger

        return get_tagger(n_name, **n_params)

    def aligner() -> Any:
        from xlner.align import get_aligner

        return get_aligner(a_name, **a_params)

    def projector() -> Any:
        from xlner.project import project_batch

        return project_batch

    version = xlner.__version__
    extra = target_tagger_component(profile)
    for name, (config, build) in nmt_scorer_component(profile).items():
        extra[name] = (config, guarded("NMT scorer", "nmtscore", config, build))
    if back_translator is not None:
        b_name, b_params = component_params(back_translator)

        def back() -> Any:
            from xlner.translate import get_translator

            return get_translator(b_name, tgt_lang, src_lang, **b_params)

        extra["back_translator"] = ({**back_translator, "src": tgt_lang, "tgt": src_lang},
                                    guarded("back-translator", b_name, b_params, back))
    return Components({
        **extra,
        "text": ({"module": "xlner.text", "version": version}, lambda: text),
        "translator": ({**profile["translator"], "src": src_lang, "tgt": tgt_lang},
                       guarded("translator", t_name, t_params, translator)),
        "tagger": (tagger_section, guarded("NER tagger", n_name, n_params, tagger)),
        "aligner": (dict(profile["aligner"]), guarded("aligner", a_name, a_params, aligner)),
        "projector": ({"function": "xlner.project.project_batch", "version": version},
                      guarded("projection", "xlner.project", {}, projector)),
    })


def target_tagger_component(profile: Mapping[str, Any]) -> dict[str, tuple[dict, Callable[[], Any]]]:
    """``{"target_tagger": (config, build)}`` when the profile names a target tagger model, else
    ``{}``. The config the cache keys see is the section plus the model's identity (its resolved
    folder and files' sizes and times, :func:`xlner.tag.model_identity`): retraining into the
    same folder reruns the step, an unchanged model never loads."""
    from xlner.tag import model_identity

    section = dict(profile.get("target_tagger") or {})
    model = section.get("model")
    if not model:
        return {}
    params = {k: v for k, v in section.items() if k != "model"}

    def build() -> Any:
        from xlner.tag import load_tagger

        return load_tagger(model, params.get("labels"), batch_size=int(params.get("batch_size") or 32),
                           max_length=int(params.get("max_length") or 512), device=params.get("device", "auto"))

    return {"target_tagger": ({**section, "identity": model_identity(model)},
                              guarded("target tagger", "hf", section, build))}
