"""The ``xlner`` command line. Each sub-command group lives in its own module of this package."""

from __future__ import annotations

import sys
import warnings

import typer

from xlner.errors import XlnerError, format_warning

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__,
                  pretty_exceptions_enable=False)


@app.callback()
def _root() -> None:
    """Projection-based cross-lingual NER: project, evaluate, run pipelines and experiments."""


@app.command()
def version() -> None:
    """Print the xlner version."""
    from xlner import __version__

    typer.echo(__version__)


def _register() -> None:
    # Each module of this package adds its own sub-commands; discovered so that adding a module is
    # all it takes. Imported here so that `xlner --help` stays fast.
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # __main__ (python -m xlner.cli) is not a sub-command module
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(app)


def main() -> None:
    # Catalogued warnings print as ``warning[E###]: message``, without Python's source line.
    warnings.formatwarning = format_warning  # type: ignore[assignment]
    _register()
    try:
        app()  # click handles usage errors itself and exits with status 2
    except XlnerError as exc:
        typer.echo(exc.render(), err=True)
        sys.exit(2)
