"""Pipeline runs started from the browser: a detached ``xlner pipeline`` subprocess per run.

A job is a folder ``<user runs>/.jobs/<job id>/`` holding ``job.json`` (what was started, where it
writes), ``log.txt`` (the command's stdout + stderr, tqdm bars included) and ``rc`` (its exit
status, written when it ends). Everything lives on disk, so the Run page can be left, reloaded or
opened in another browser and still find the job; the process runs in its own session, so it
survives the page and even a restart of the Streamlit server.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xlner.errors import XlnerError

_TQDM = re.compile(r"(?:^|\s)(?:(?P<desc>[\w .:/-]+?):\s*)?(?P<pct>\d{1,3})%\|")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_PROCESSES: dict[str, subprocess.Popen] = {}  # reaps our own children; the state itself is on disk


def jobs_root(runs_root: Path) -> Path:
    return Path(runs_root) / ".jobs"


@dataclass
class JobStatus:
    id: str
    run_dir: Path
    state: str  # running | finished | failed | stopped
    step: str
    fraction: float  # 0..1, of the current step
    message: str  # the backend's own error lines when failed, else the last log line
    meta: dict[str, Any]

    @property
    def done(self) -> bool:
        return self.state != "running"


def custom_words(text: str) -> list[str]:
    """The words of a sentence typed by the user (split by xlner.text, the pipeline's own splitter)."""
    if not text.strip():
        raise XlnerError("E907", "the custom sentence is empty", hint="type a sentence in the target language")
    try:
        from xlner.text import split_words
    except ImportError:
        tokens = text.split()
    else:
        tokens = split_words(text)
    if not tokens:
        raise XlnerError("E907", f"no words found in the custom sentence {text!r}")
    return tokens


def custom_sentence_file(tokens: list[str], folder: Path) -> Path:
    """A one-sentence JSON-lines data file; no gold, so every tag is O."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "input.jsonl"
    path.write_text(json.dumps({"id": "custom:1", "tokens": tokens, "tags": ["O"] * len(tokens)},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def pipeline_command(*, data: str, lang: str, profile: str, method: str, out: Path,
                     task: str = "translate-test", extra: list[str] | None = None) -> list[str]:
    """The ``xlner pipeline`` command line, run with this interpreter (works in any venv)."""
    return [sys.executable, "-c", "from xlner.cli import main; main()", "pipeline", task,
            "--data", str(data), "--lang", lang, "--profile", profile, "--method", method,
            "--out", str(out), *(extra or [])]


def start_job(*, runs_root: Path, data: str | None, lang: str, profile: str, method: str,
              custom_text: str | None = None, name: str | None = None, limit: int | None = None) -> str:
    """Start ``xlner pipeline translate-test`` in the background; returns the job id."""
    lang = lang.strip()
    if not lang:
        raise XlnerError("E907", "choose the language of the data (e.g. eu, es, swa)")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    job_id = _SAFE.sub("-", name or f"{lang}-{method}-{stamp}").strip("-")
    job_dir = jobs_root(runs_root) / job_id
    run_dir = Path(runs_root) / job_id
    if job_dir.exists() or run_dir.exists():
        raise XlnerError("E907", f"a run named {job_id!r} exists already in {runs_root}",
                         hint="choose another run name")
    # Validate everything before creating anything, so a refused start leaves no trace.
    tokens = custom_words(custom_text) if custom_text is not None else None
    if tokens is None and (not data or not Path(data).expanduser().is_file()):
        raise XlnerError("E907", f"data file {data!r} does not exist",
                         hint="give the path of a CoNLL or JSON-lines file with gold tags")
    job_dir.mkdir(parents=True)
    if tokens is not None:
        data = str(custom_sentence_file(tokens, job_dir))
    cmd = pipeline_command(data=str(Path(data).expanduser().resolve()), lang=lang, profile=profile, method=method,
                           out=run_dir, extra=["--limit", str(int(limit))] if limit else None)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1", "TQDM_MININTERVAL": "0.5"}
    # sh records the exit status in a file, so a finished job is recognised even after a restart.
    shell = f"{shlex.join(cmd)}; echo $? > {shlex.quote(str(job_dir / 'rc'))}"
    log = open(job_dir / "log.txt", "wb")
    proc = subprocess.Popen(["sh", "-c", shell], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True, cwd=str(Path(runs_root)))
    log.close()
    _PROCESSES[job_id] = proc
    meta = {"id": job_id, "pid": proc.pid, "command": cmd, "run_dir": str(run_dir), "lang": lang,
            "profile": profile, "method": method, "data": data, "custom_text": custom_text,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (job_dir / "job.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return job_id


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def parse_progress(log_text: str) -> tuple[str, float]:
    """The current step and its fraction from the last tqdm bar in a log."""
    for chunk in reversed(re.split(r"[\r\n]", log_text)):
        m = _TQDM.search(chunk)
        if m:
            return (m.group("desc") or "").strip(), min(int(m.group("pct")), 100) / 100
    return "", 0.0


def _error_lines(log_text: str) -> str:
    lines = [ln for ln in re.split(r"[\r\n]", log_text) if ln.strip()]
    errors = [ln for i, ln in enumerate(lines) if ln.startswith("error[") or
              (ln.startswith("  hint:") and i and lines[i - 1].startswith("error["))]
    if errors:
        return "\n".join(errors)
    return "\n".join(lines[-8:]) if lines else "the command printed nothing"


def job_status(runs_root: Path, job_id: str) -> JobStatus:
    job_dir = jobs_root(runs_root) / job_id
    try:
        meta = json.loads((job_dir / "job.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise XlnerError("E908", f"job {job_id!r} has no readable job.json in {job_dir}") from exc
    proc = _PROCESSES.get(job_id)
    if proc is not None:
        proc.poll()  # reap it if it ended, so it is not left a zombie
    log_text = (job_dir / "log.txt").read_text(encoding="utf-8", errors="replace") if (job_dir / "log.txt").exists() else ""
    step, frac = parse_progress(log_text)
    run_dir = Path(meta["run_dir"])
    rc_file = job_dir / "rc"
    if rc_file.exists() and rc_file.read_text().strip():
        rc = int(rc_file.read_text().strip() or 1)
        if rc == 0 and (run_dir / "records.jsonl").exists():
            return JobStatus(job_id, run_dir, "finished", step, 1.0, "", meta)
        msg = _error_lines(log_text) if rc else f"the pipeline exited without writing {run_dir / 'records.jsonl'}"
        return JobStatus(job_id, run_dir, "failed", step, frac, msg, meta)
    if _alive(int(meta["pid"])):
        last = next((ln for ln in reversed(re.split(r"[\r\n]", log_text)) if ln.strip()), "starting…")
        return JobStatus(job_id, run_dir, "running", step, frac, last.strip(), meta)
    return JobStatus(job_id, run_dir, "stopped", step, frac,
                     "the process ended without an exit status (killed?)\n" + _error_lines(log_text), meta)


def list_jobs(runs_root: Path) -> list[str]:
    """Job ids, newest first."""
    root = jobs_root(runs_root)
    if not root.is_dir():
        return []
    jobs = [p for p in root.iterdir() if (p / "job.json").exists()]
    return [p.name for p in sorted(jobs, key=lambda p: p.stat().st_mtime, reverse=True)]


def wait(runs_root: Path, job_id: str, timeout: float = 600, poll: float = 0.5) -> JobStatus:
    """Block until the job ends (tests, scripts)."""
    deadline = time.monotonic() + timeout
    while True:
        status = job_status(runs_root, job_id)
        if status.done or time.monotonic() > deadline:
            return status
        time.sleep(poll)


def known_data_files(roots: list[Path]) -> list[Path]:
    """Gold data files the Run page offers (CoNLL ``.txt`` / ``.conll`` and ``.jsonl``), sorted."""
    found: list[Path] = []
    for root in roots:
        if root.is_dir():
            found += [p for ext in ("*.txt", "*.conll", "*.jsonl") for p in root.glob(f"**/{ext}")
                      if len(p.relative_to(root).parts) <= 4 and p.name.lower() != "readme.txt"
                      and ".jobs" not in p.parts and p.name != "records.jsonl"]
    return sorted(set(found))


_LANG_HINTS = {"basque": "eu", "conll02-es": "es", "conll03-en": "en", "spanish": "es"}


def guess_lang(path: str | Path) -> str:
    """The language a data path most likely holds, from its folder names ('' when unknown)."""
    parts = [p.lower() for p in Path(path).parts]
    for i, part in enumerate(parts):
        if part == "masakhaner2" and i + 1 < len(parts):
            return parts[i + 1]
        for hint, lang in _LANG_HINTS.items():
            if hint in part:
                return lang
    return ""


def profile_names() -> list[str]:
    """The pipeline profiles shipped with the package (``offline`` first)."""
    folder = Path(__file__).resolve().parents[1] / "profiles"
    names = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
    return sorted(names, key=lambda n: n != "offline") or ["offline"]
