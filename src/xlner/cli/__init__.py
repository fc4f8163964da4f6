"""The ``xlner`` command line. Each sub-command group lives in its own module of this package.

Every command ends the same way on bad input: ``error[E###]: message`` and a hint on stderr, exit
status 2, no traceback (the codes are in docs/errors.md, ``xlner errors CODE``). Warnings print as
``warning[E###]: message`` above any progress bar. Ctrl-C prints ``interrupted — rerun the same
command to resume`` and exits with status 130 (long steps keep what they finished).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, TextIO

import typer

from xlner.errors import XlnerError, format_warning

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__,
                  pretty_exceptions_enable=False)

INTERRUPTED = "interrupted — rerun the same command to resume"
_INTERRUPT_STATUS = 130  # 128 + SIGINT, what shells report for Ctrl-C (typer's Exit(130) too)


@app.callback()
def _root() -> None:
    """Projection-based cross-lingual NER: project, evaluate, run pipelines and experiments."""


@app.command()
def version() -> None:
    """Print the xlner version."""
    from xlner import __version__

    typer.echo(__version__)


_registered = False


def _register() -> None:
    # Each module of this package adds its own sub-commands; discovered so that adding a module is
    # all it takes. Imported here so that `xlner --help` stays fast. Once per process.
    global _registered
    if _registered:
        return
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # __main__ (python -m xlner.cli) is not a sub-command module
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(app)
    _registered = True


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """``warnings.showwarning`` for the CLI: ``warning[E###]: ...`` written above progress bars."""
    from tqdm.auto import tqdm

    tqdm.write(format_warning(message, category, filename, lineno, line).rstrip("\n"), file=sys.stderr)


def main(args: list[str] | None = None) -> None:
    """Run the command line (``args`` default to ``sys.argv[1:]``); always ends with ``sys.exit``."""
    warnings.showwarning = _show_warning
    status: Any = 0
    try:
        _register()
        # standalone_mode=False: errors come back here to be printed one way (typer turns Ctrl-C
        # inside a command into exit status 130, which it returns).
        status = app(args=args, standalone_mode=False)
    except XlnerError as exc:
        typer.echo(exc.render(), err=True)
        sys.exit(2)
    except KeyboardInterrupt:  # outside a command (while importing one, say)
        status = _INTERRUPT_STATUS
    except typer.Abort:  # end of input at a prompt
        typer.echo("aborted", err=True)
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors: shown with the usage line, as typer does
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    if status == _INTERRUPT_STATUS:
        typer.echo(INTERRUPTED, err=True)
    sys.exit(status if isinstance(status, int) else 0)
