"""``xlner project``: project entity spans for a JSON-lines file of sentence pairs.

The file format and the work are :mod:`xlner.project.io`; this module only parses the options.
"""

from __future__ import annotations

from typing import Any, Optional

import typer

from xlner.errors import XlnerError


def register(app: typer.Typer) -> None:
    from xlner.project import METHODS

    @app.command("project")
    def project_cmd(
        input: str = typer.Argument(..., help="input JSON lines (one sentence pair per line; '-' = stdin)"),
        output: str = typer.Option("-", "-o", "--output", help="output JSON lines ('-' = stdout)"),
        method: str = typer.Option("heuristic", "-m", "--method", help=f"one of: {', '.join(METHODS)}"),
        merge_distance: Optional[int] = typer.Option(None, help="(heuristic) merge ranges at most this many "
                                                     "unaligned words apart (default 1)"),
        min_length_ratio: Optional[float] = typer.Option(None, help="(heuristic) keep ranges with "
                                                         "len(range)/len(entity) strictly above this "
                                                         "(heuristic 0.8, largest-group 0)"),
        top_k: Optional[int] = typer.Option(None, help="(heuristic) keep the k longest ranges per entity "
                                            "(0 = all; largest-group 1)"),
        only_i: Optional[bool] = typer.Option(None, "--only-i/--no-only-i", help="(heuristic) do not merge "
                                              "a range that starts on a word aligned to the entity's first word"),
        order: Optional[str] = typer.Option(None, help="(heuristic) entity order: input | shortest"),
        collision: Optional[str] = typer.Option(None, help="(heuristic) overwrite | skip | merge"),
        drop_punctuation: Optional[bool] = typer.Option(None, "--drop-punctuation/--keep-punctuation",
                                                        help="(heuristic) ignore links to punctuation tokens"),
        max_candidate_length: Optional[int] = typer.Option(None, help="(match) longest n-gram candidate "
                                                           "(0 = unlimited, the default)"),
        min_score: Optional[float] = typer.Option(None, help="(match) only scores above this are assigned (0)"),
        weight: list[str] = typer.Option([], help="(match) NAME=W score weight, repeatable "
                                         "(align = the Dice alignment score; others name extra_scores)"),
        exact_solver: Optional[str] = typer.Option(None, help="(match-exact) auto | dp | milp"),
        target_labels: Optional[str] = typer.Option(None, help="comma-separated labels of the target tag set; "
                                                    "other entities are reported label_not_in_target"),
        with_candidates: bool = typer.Option(False, help="also write the top scored candidates per entity"),
        n_candidates: Optional[int] = typer.Option(None, help="(match) candidates kept per entity (3)"),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="no progress bar or summary"),
    ) -> None:
        """Project source entities onto target tokens (heuristic or candidate matching)."""
        params: dict[str, Any] = {k: v for k, v in dict(
            merge_distance=merge_distance, min_length_ratio=min_length_ratio, top_k=top_k, only_i=only_i,
            order=order, collision=collision, drop_punctuation=drop_punctuation,
            max_candidate_length=max_candidate_length, min_score=min_score, exact_solver=exact_solver,
            n_candidates=n_candidates).items() if v is not None}
        if weight:
            weights = {}
            for item in weight:
                name, sep, value = item.partition("=")
                try:
                    weights[name.strip()] = float(value)
                except ValueError:
                    sep = ""
                if not sep or not name.strip():
                    raise XlnerError("E209", item=item)
            params["weights"] = weights
        if target_labels is not None:
            params["target_labels"] = [x.strip() for x in target_labels.split(",") if x.strip()]
        from xlner.project.io import project_file

        counts = project_file(input, output, method, params, with_candidates=with_candidates,
                              progress=not quiet)
        if not quiet:
            typer.echo(f"{counts['sentences']} sentences, {counts['source_entities']} source entities: "
                       f"{counts['projected']} projected, {counts['unprojected']} unprojected"
                       + ("" if output == "-" else f" -> {output}"), err=True)
