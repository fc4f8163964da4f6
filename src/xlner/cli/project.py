"""``xlner project``: project entity spans for a JSON-lines file of sentence pairs.

Input line::

    {"id": ..., "src_tokens": [...], "tgt_tokens": [...],
     "src_entities": [{"start": i, "end": j, "label": "PER"}], "alignment": [[src_i, tgt_j], ...]}

optionally with ``"tgt_candidates"`` (spans, matching methods only) and ``"extra_scores"``
(``{name: [[...] per source entity]}``, matching only). Output line: the input plus
``"tgt_entities"`` (``start, end, label, source, score``) and ``"unprojected"`` (``source, reason``),
and ``"candidates"`` with ``--with-candidates``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from xlner.errors import XlnerError, where

REQUIRED = ("src_tokens", "tgt_tokens", "src_entities", "alignment")
CHUNK = 4096  # records projected per call to project_batch


def _bad(path: str, line: int, rid: object, what: str, code: str = "E211") -> XlnerError:
    return XlnerError(code, f"{where(path, line, rid)}: {what}",
                      hint="each line must be a JSON object with src_tokens, tgt_tokens, src_entities "
                           "([{start, end, label}], end exclusive) and alignment ([[src_i, tgt_j], ...])")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_spans(spans: Any, n: int, key: str, path: str, line: int, rid: object) -> list:
    from xlner.datamodel import Span

    if not isinstance(spans, list):
        raise _bad(path, line, rid, f"{key!r} must be a list of {{start, end, label}} objects")
    out = []
    for k, s in enumerate(spans):
        if not isinstance(s, dict) or not _is_int(s.get("start")) or not _is_int(s.get("end")):
            raise _bad(path, line, rid, f"{key}[{k}] must be an object with integer start and end, got {s!r}")
        label = s.get("label", "")
        if not isinstance(label, str) or (key == "src_entities" and not label):
            raise _bad(path, line, rid, f"{key}[{k}] needs a string label, got {label!r}")
        if not 0 <= s["start"] < s["end"] <= n:
            raise _bad(path, line, rid, f"{key}[{k}] = [{s['start']}, {s['end']}) is not a span of the "
                       f"{n} tokens (need 0 <= start < end <= {n}; end is exclusive)", "E212")
        out.append(Span(s["start"], s["end"], label))
    return out


def parse_record(text: str, path: str, line: int) -> dict[str, Any]:
    """Validate one input line; every problem is an ``XlnerError`` naming the file and line."""
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise XlnerError("E210", f"{where(path, line)}: not valid JSON ({exc.msg} at column {exc.colno})",
                         hint="one JSON object per line") from None
    if not isinstance(rec, dict):
        raise _bad(path, line, None, f"expected a JSON object, got {type(rec).__name__}")
    rid = rec.get("id")
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise _bad(path, line, rid, f"missing key(s) {', '.join(missing)}")
    for key in ("src_tokens", "tgt_tokens"):
        toks = rec[key]
        if not isinstance(toks, list) or not all(isinstance(t, str) for t in toks):
            raise _bad(path, line, rid, f"{key!r} must be a list of strings")
    n_src, n_tgt = len(rec["src_tokens"]), len(rec["tgt_tokens"])
    entities = _check_spans(rec["src_entities"], n_src, "src_entities", path, line, rid)
    pairs = rec["alignment"]
    if not isinstance(pairs, list):
        raise _bad(path, line, rid, "'alignment' must be a list of [src_i, tgt_j] pairs")
    for k, p in enumerate(pairs):
        if not (isinstance(p, list) and len(p) == 2 and _is_int(p[0]) and _is_int(p[1])):
            raise _bad(path, line, rid, f"alignment[{k}] must be a pair of integers, got {p!r}", "E213")
        if not (0 <= p[0] < n_src and 0 <= p[1] < n_tgt):
            raise _bad(path, line, rid, f"alignment[{k}] = {p} is outside {n_src} source x {n_tgt} "
                       "target tokens (pairs are [src_index, tgt_index], 0-based)", "E213")
    parsed: dict[str, Any] = {"id": rid if rid is not None else f"line {line}", "src_tokens": rec["src_tokens"],
                              "tgt_tokens": rec["tgt_tokens"], "src_entities": entities, "alignment": pairs}
    if "tgt_candidates" in rec:
        parsed["tgt_candidates"] = _check_spans(rec["tgt_candidates"], n_tgt, "tgt_candidates", path, line, rid)
    if "extra_scores" in rec:
        extra = rec["extra_scores"]
        if not isinstance(extra, dict):
            raise _bad(path, line, rid, "'extra_scores' must map a score name to a matrix "
                       "(one row per source entity, one column per candidate)", "E214")
        try:
            import numpy as np

            parsed["extra_scores"] = {str(k): np.asarray(v, dtype=float).reshape(len(entities), -1)
                                      for k, v in extra.items()}
        except (TypeError, ValueError) as exc:
            raise _bad(path, line, rid, f"'extra_scores' is not a numeric matrix per name ({exc})", "E214") from None
    return {"raw": rec, "line": line, "record": parsed}


def _read(path: str) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers; bytes are decoded per line to name a bad one."""
    stream = sys.stdin.buffer if path == "-" else open(path, "rb")
    try:
        for line, raw in enumerate(stream, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise XlnerError("E215", f"{where(path, line)}: not UTF-8 ({exc.reason} at byte {exc.start})",
                                 hint="re-encode the file as UTF-8") from None
            if text.strip():
                yield line, text
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def project_file(input_path: str, output_path: str, method: str, params: dict[str, Any], *,
                 with_candidates: bool = False, progress: bool = True) -> dict[str, int]:
    """Project every line of ``input_path`` into ``output_path``; returns simple counts.

    The output is written to a temporary file and moved into place only when every line has been
    projected, so a bad line never leaves a half-written output behind.
    """
    from tqdm import tqdm

    from xlner.project import project_batch, resolve_params

    resolve_params(method, params)  # fail on bad options before reading anything
    if input_path != "-" and not Path(input_path).is_file():
        raise XlnerError("E216", f"input file {input_path} does not exist")
    counts = {"sentences": 0, "source_entities": 0, "projected": 0, "unprojected": 0}
    to_stdout = output_path == "-"
    if to_stdout:
        out, tmp = sys.stdout, None
    else:
        out_dir = Path(output_path).resolve().parent
        if not out_dir.is_dir():
            raise XlnerError("E216", f"output folder {out_dir} does not exist")
        fd, tmp = tempfile.mkstemp(prefix=".xlner-project-", suffix=".jsonl", dir=out_dir)
        out = os.fdopen(fd, "w", encoding="utf-8")
    try:
        bar = tqdm(unit=" sent", desc=f"project ({method})", disable=not progress, file=sys.stderr)
        chunk: list[dict[str, Any]] = []

        def flush() -> None:
            results = project_batch(method, [c["record"] for c in chunk], **params)
            for c, res in zip(chunk, results):
                row = dict(c["raw"])
                row["tgt_entities"] = [p.to_dict() for p in res.projected]
                row["unprojected"] = [u.to_dict() for u in res.unprojected]
                if with_candidates:
                    row["candidates"] = [x.to_dict() for x in res.candidates]
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                counts["projected"] += len({p.source for p in res.projected})
                counts["unprojected"] += len(res.unprojected)
                counts["source_entities"] += len(c["record"]["src_entities"])
            counts["sentences"] += len(chunk)
            bar.update(len(chunk))
            chunk.clear()

        for line, text in _read(input_path):
            chunk.append(parse_record(text, input_path, line))
            if len(chunk) >= CHUNK:
                flush()
        if chunk:
            flush()
        bar.close()
    except BaseException:
        if tmp:
            out.close()
            os.unlink(tmp)
        raise
    if tmp:
        out.close()
        os.replace(tmp, output_path)
    return counts


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
                    raise XlnerError("E203", f"--weight {item!r} is not NAME=NUMBER", hint="e.g. --weight align=0.5")
            params["weights"] = weights
        if target_labels is not None:
            params["target_labels"] = [x.strip() for x in target_labels.split(",") if x.strip()]
        counts = project_file(input, output, method, params, with_candidates=with_candidates,
                              progress=not quiet)
        if not quiet:
            typer.echo(f"{counts['sentences']} sentences, {counts['source_entities']} source entities: "
                       f"{counts['projected']} projected, {counts['unprojected']} unprojected"
                       + ("" if output == "-" else f" -> {output}"), err=True)
