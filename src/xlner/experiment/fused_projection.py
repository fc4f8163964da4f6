"""Fused translate-test projection as an experiment method (``projection-fused``, issue 11).

The experiment's projection pipeline (``projection.profile`` with ``projection.set``) with the seed's
English teacher as the English NER and as the **target tagger** (as in the ``offline-fusion`` profile):
its spans become matching candidates, its probabilities the NER score, and it corrects the projected
types (``match-fused+ensemble``, or ``projection.fused_method: match-fused``), with the settings of the ``offline-fusion`` profile
(its options and its run-level ``type_vote``) unless ``projection.fused_options`` /
``projection.fused_type_vote`` give others. A cell or pipeline run made with other fused settings is
redone, not reused: the settings are in the cell's config and their fingerprint in the run's folder name. One cell per seed and test set, since the tagger is the
seed's teacher; translation and alignment come from the shared step cache of the ``projection``
method's runs (same profile, same sentences).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Sequence

from xlner.datamodel import Sentence
from xlner.experiment.cells import CellPrediction
from xlner.experiment.config import DataSpec
from xlner.experiment.methods import TransferMethod, PipelineSettings

__all__ = ["FusedProjection"]


class FusedProjection(PipelineSettings, TransferMethod):
    """Translate-test with fused matching and the seed's teacher as target tagger."""

    name: ClassVar[str] = "projection-fused"
    seeded = True
    needs_teacher = True

    @property
    def timing_key(self) -> str:
        return "projection/fused"

    def train(self, seed: int | None, language: str) -> None:
        """The target tagger is the seed's English teacher (trained on first use)."""
        assert seed is not None
        self.ctx.teacher(seed)

    def settings(self, seed: int, language: str) -> dict[str, Any]:
        """The pipeline settings of this method's runs on ``language``: the experiment's, plus the
        seed's teacher as the target tagger *and* as the English NER (as in the ``offline-fusion``
        profile: one model reads both sides, so fusion is compared with model transfer by the same
        model; the profile's own English NER, spaCy in ``offline``, would make it a different
        comparison), and the fused method with its options."""
        from xlner.pipeline.profiles import TARGET_TAGGER_REF

        fused = self.fused_settings()
        return {**self.ctx.cfg.settings_for(language), "target_tagger.model": str(self.ctx.teacher(seed)),
                "tagger": {"name": "hf", "model": TARGET_TAGGER_REF, "local_files_only": True},
                "projection.method": fused["method"], "projection.options": fused["options"],
                "projection.type_vote": fused["type_vote"]}

    def fused_settings(self) -> dict[str, Any]:
        """The fused method, its options and the run-level type vote: the config's, else the
        ``offline-fusion`` profile's."""
        from xlner.pipeline import load_profile

        projection = self.ctx.cfg.projection
        profile = load_profile("offline-fusion")["projection"]
        return {"method": str(projection.get("fused_method") or "match-fused+ensemble"),
                "options": dict(projection.get("fused_options") or profile["options"]),
                "type_vote": projection["fused_type_vote"] if "fused_type_vote" in projection
                else profile.get("type_vote")}

    def cell_settings(self, language: str) -> dict[str, Any]:
        return {**super().cell_settings(language), "fused_settings": self.fused_settings()}

    def predict(self, seed: int | None, test: DataSpec, gold: Sequence[Sentence]) -> CellPrediction:
        from xlner.cache import fingerprint
        from xlner.experiment.config import original_file
        from xlner.experiment.pipeline_runs import checked_records, projected_sentences
        from xlner.pipeline import Options, translate_test
        from xlner.runs import load_run

        assert seed is not None
        ctx = self.ctx
        key = f"test-{test.name}"
        fused = fingerprint(self.fused_settings())[:8]
        out = ctx.exp / "pipeline" / f"translate-test-fused__{key}-s{seed}-{fused}{ctx.cfg.run_suffix(test.language)}"
        original: Path | None = original_file(test, ctx.root)
        given: dict[str, Any] = ({"data": str(original)} if original is not None
                                 else {"sentences": list(gold), "dataset": key})
        run = load_run(out) if (out / "metrics.json").exists() else translate_test(Options(
            lang=test.language, out=str(out), labels=list(ctx.cfg.types), profile=ctx.cfg.profile,
            settings=self.settings(seed, test.language), progress=ctx.progress, **given))
        records = checked_records(run, out, gold, "tgt", "fused translate-test run", "sentences")
        pred, scores = projected_sentences(gold, records, ctx.cfg.types)
        return CellPrediction(pred, scores, {"pipeline": str(out), "profile": ctx.cfg.profile,
                                             "target_tagger": str(ctx.teacher(seed)),
                                             "english_ner": "the target tagger",
                                             **self.cell_settings(test.language)},
                              records)
