"""``xlner errors [CODE] [--markdown]``: look up error and warning codes in the catalogue."""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("errors")
    def errors_cmd(
        code: Optional[str] = typer.Argument(None, help="a code such as E101 (default: every code)"),
        markdown: bool = typer.Option(False, "--markdown",
                                      help="print the whole catalogue as markdown (docs/errors.md)"),
    ) -> None:
        """Print what an error or warning code means and what to do about it."""
        from xlner.errors import catalogue, catalogue_markdown, describe

        if markdown:
            typer.echo(catalogue_markdown(), nl=False)
            return
        if code is None:
            for e in catalogue().values():
                typer.echo(f"{e.code}  {e.kind:<8} {e.message}")
            return
        typer.echo(describe(code))
