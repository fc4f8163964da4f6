"""Pipeline runs started from the browser.

Two kinds of job, one format on disk:
- a data file: a detached ``xlner pipeline translate-test`` subprocess per run (:func:`start_job`); it
  runs in its own session, so it survives the page and even a restart of the Streamlit server;
- typed sentences: a request to the app's long-lived pipeline worker (:func:`start_typed_job`,
  :mod:`xlner.explorer.worker`), which keeps the models loaded between runs, so a sentence is
  projected in a few seconds instead of reloading the translator, NER and aligner every time.

A job is a folder ``<user runs>/.jobs/<job id>/`` holding ``job.json`` (what was started, where it
writes), ``log.txt`` (stdout + stderr, tqdm bars included) and ``rc`` (its exit status, written when
it ends). Everything lives on disk, so the Run page can be left, reloaded or opened in another
browser and still find the job. Everything a user can get wrong (language, word limit, an empty
sentence, a taken name) is checked before anything starts.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
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
    """The words of one typed sentence (split by xlner.text, the pipeline's own splitter)."""
    from xlner.text import split_words

    if not text.strip():
        raise XlnerError("E907")
    tokens = split_words(text)
    if not tokens:
        raise XlnerError("E781", text=text)
    return tokens


def typed_sentences(text: str) -> list[list[str]]:
    """The words of each non-blank line of the text box: one sentence per line (``--format text``)."""
    sentences = [custom_words(line) for line in text.splitlines() if line.strip()]
    if not sentences:
        raise XlnerError("E907")
    return sentences


def custom_sentence_file(tokens: list[str], folder: Path) -> Path:
    """A one-sentence JSON-lines data file; no gold, so every tag is O."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "input.jsonl"
    path.write_text(json.dumps({"id": "custom:1", "tokens": tokens, "tags": ["O"] * len(tokens)},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- what a profile can run ---------------------------------------------------------------------

# Names for the languages Debian's Apertium packages translate into English.
LANGUAGE_NAMES = {"eu": "Basque", "es": "Spanish", "ca": "Catalan", "gl": "Galician", "is": "Icelandic",
                  "mk": "Macedonian", "hbs": "Serbo-Croatian", "eo": "Esperanto", "sw": "Swahili", "swa": "Swahili"}


def profile_settings(profile: str) -> dict[str, Any]:
    """The profile's translator section and word limit (``max_words``)."""
    from xlner.pipeline.profiles import load_profile

    loaded = load_profile(profile)
    return {"translator": dict(loaded.get("translator") or {}), "max_words": loaded.get("max_words")}


def translator_languages(profile: str) -> dict[str, str] | None:
    """``{language code: translator}`` for the languages the profile can translate into English on
    this machine (Apertium: its installed pairs), or ``None`` when the profile's translator is not
    Apertium (a model that knows many languages: any code is tried)."""
    from xlner.translate import apertium_pairs

    translator = profile_settings(profile)["translator"]
    if translator.get("name") != "apertium":
        return None
    try:
        pairs = apertium_pairs()
    except XlnerError:
        return {}
    found: dict[str, str] = {}
    for (src, tgt, variant), mode in sorted(pairs.items()):
        if tgt != "eng" or variant or src == "eng":
            continue
        code = _short_code(src)
        found.setdefault(code, f"Apertium {mode}")
    return dict(sorted(found.items()))


def _short_code(iso3: str) -> str:
    """``eus`` -> ``eu`` (the code the demo and the data use) for the languages named above, else
    the ISO 639-3 code (which the pipeline accepts as well)."""
    from xlner.translate import normalise_lang

    short = {}
    for code in LANGUAGE_NAMES:
        try:
            short[normalise_lang(code)] = code
        except XlnerError:
            continue
    return short.get(iso3, iso3)


def check_typed_input(text: str, lang: str, profile: str) -> list[list[str]]:
    """The typed sentences' words, after the checks a worker job needs (all before it starts):
    a language the profile can translate, some words, none over the profile's word limit."""
    lang = lang.strip()
    if not lang:
        raise XlnerError("E782")
    languages = translator_languages(profile)
    if languages is not None and lang not in languages:
        raise XlnerError("E785", lang=lang, profile=profile, choices=", ".join(languages) or "none installed")
    sentences = typed_sentences(text)
    limit = profile_settings(profile)["max_words"]
    longest = max(len(words) for words in sentences)
    if limit and longest > int(limit):
        raise XlnerError("E786", n=longest, profile=profile, limit=int(limit))
    return sentences


def pipeline_command(*, data: str, lang: str, profile: str, method: str, out: Path,
                     task: str = "translate-test", extra: list[str] | None = None) -> list[str]:
    """The ``xlner pipeline`` command line, run with this interpreter (works in any venv)."""
    return [sys.executable, "-c", "from xlner.cli import main; main()", "pipeline", task,
            "--data", str(data), "--lang", lang, "--profile", profile, "--method", method,
            "--out", str(out), *(extra or [])]


def _new_job(runs_root: Path, name: str | None, lang: str, method: str) -> tuple[str, Path, Path]:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    job_id = _SAFE.sub("-", name or f"{lang}-{method}-{stamp}").strip("-")

    def taken(candidate: str) -> bool:
        return (jobs_root(runs_root) / candidate).exists() or (Path(runs_root) / candidate).exists()

    if taken(job_id):
        if name:  # a name the user chose is never changed behind their back
            raise XlnerError("E783", name=job_id, folder=str(runs_root))
        # two runs started within one second (a warm worker projects a typed sentence in under one)
        base, k = job_id, 2
        while taken(job_id := f"{base}-{k}"):
            k += 1
    return job_id, jobs_root(runs_root) / job_id, Path(runs_root) / job_id


def _write_meta(job_dir: Path, meta: dict[str, Any]) -> None:
    meta = {**meta, "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (job_dir / "job.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")


def start_job(*, runs_root: Path, data: str | None, lang: str, profile: str, method: str,
              custom_text: str | None = None, name: str | None = None, limit: int | None = None) -> str:
    """Start ``xlner pipeline translate-test`` on a data file in the background; returns the job id."""
    lang = lang.strip()
    if not lang:
        raise XlnerError("E782")
    job_id, job_dir, run_dir = _new_job(runs_root, name, lang, method)
    # Validate everything before creating anything, so a refused start leaves no trace.
    tokens = custom_words(custom_text) if custom_text is not None else None
    if tokens is None and (not data or not Path(data).expanduser().is_file()):
        raise XlnerError("E784", path=str(data))
    job_dir.mkdir(parents=True)
    if tokens is not None:
        data = str(custom_sentence_file(tokens, job_dir))
    cmd = pipeline_command(data=str(Path(str(data)).expanduser().resolve()), lang=lang, profile=profile,
                           method=method, out=run_dir, extra=["--limit", str(int(limit))] if limit else None)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1", "TQDM_MININTERVAL": "0.5"}
    # sh records the exit status in a file, so a finished job is recognised even after a restart.
    shell = f"{shlex.join(cmd)}; echo $? > {shlex.quote(str(job_dir / 'rc'))}"
    log = open(job_dir / "log.txt", "wb")
    proc = subprocess.Popen(["sh", "-c", shell], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True, cwd=str(Path(runs_root)))
    log.close()
    _PROCESSES[job_id] = proc
    _write_meta(job_dir, {"id": job_id, "pid": proc.pid, "command": cmd, "run_dir": str(run_dir), "lang": lang,
                          "profile": profile, "method": method, "data": data, "custom_text": custom_text})
    return job_id


# --- the long-lived worker (typed sentences) ----------------------------------------------------

_WORKER: dict[str, subprocess.Popen] = {}  # jobs root -> the worker this server started (one at a time)
_WORKER_LOCK = threading.Lock()  # Streamlit runs each session's script in its own thread


def _worker_alive(root: Path) -> subprocess.Popen | None:
    proc = _WORKER.get(str(root))
    return proc if proc is not None and proc.poll() is None else None


def _close(proc: subprocess.Popen) -> None:
    if proc.stdin is not None and not proc.stdin.closed:
        try:
            proc.stdin.close()  # the worker ends after the request it is answering
        except OSError:
            pass


def ensure_worker(runs_root: Path, *, warm: dict[str, str] | None = None) -> subprocess.Popen:
    """The app's pipeline worker for ``runs_root``, started now if it is not running.

    One worker per server: a worker started for another runs folder is told to end. ``warm``
    (``{"lang", "profile"}``) asks a newly started worker to load those models at once, so that the
    first typed sentence does not wait for them.
    """
    root = jobs_root(runs_root)
    with _WORKER_LOCK:
        proc = _worker_alive(root)
        if proc is not None:
            return proc
        for other in [k for k in _WORKER if k != str(root)]:
            _close(_WORKER.pop(other))
        root.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "1", "TQDM_MININTERVAL": "0.5"}
        with open(root / "worker.log", "ab") as log:
            # Same process group as the server: it stops with it; it also ends when its stdin closes
            # or its parent is gone (xlner.explorer.worker).
            proc = subprocess.Popen([sys.executable, "-m", "xlner.explorer.worker", str(root)], stdin=subprocess.PIPE,
                                    stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(root))
        _WORKER[str(root)] = proc
        if warm:
            _send(proc, {"warm": warm})
        return proc


def _send(proc: subprocess.Popen, request: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode("utf-8"))
    proc.stdin.flush()


def stop_worker(runs_root: Path, timeout: float = 30) -> None:
    """Close the worker's stdin (it ends after the job it is running) and wait for it."""
    with _WORKER_LOCK:
        proc = _WORKER.pop(str(jobs_root(runs_root)), None)
    if proc is None:
        return
    _close(proc)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def worker_state(runs_root: Path) -> dict[str, Any] | None:
    """What the running worker has loaded (``loaded``: component -> seconds) and whether it is busy;
    None when this server has no running worker."""
    root = jobs_root(runs_root)
    if _worker_alive(root) is None:
        return None
    try:
        return dict(json.loads((root / "worker.json").read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError):
        return {"loaded": {}, "busy": "starting"}


def start_typed_job(*, runs_root: Path, text: str, lang: str, profile: str, method: str,
                    name: str | None = None) -> str:
    """Project typed sentences (one per line, no gold) with the app's worker; returns the job id.

    Everything is checked first (:func:`check_typed_input`), so a refused start leaves no trace.
    """
    sentences = check_typed_input(text, lang, profile)
    lang = lang.strip()
    job_id, job_dir, run_dir = _new_job(runs_root, name, lang, method)
    job_dir.mkdir(parents=True)
    data = job_dir / "input.txt"  # the lines as typed: the worker reads them with --format text
    data.write_text("".join(line.strip() + "\n" for line in text.splitlines() if line.strip()), encoding="utf-8")
    request = {"job_dir": str(job_dir), "data": str(data), "lang": lang, "profile": profile, "method": method,
               "out": str(run_dir), "format": "text"}
    for attempt in (1, 2):  # a worker that died since the last job is started again once
        proc = ensure_worker(runs_root)
        _write_meta(job_dir, {"id": job_id, "pid": proc.pid, "worker": True, "run_dir": str(run_dir),
                              "lang": lang, "profile": profile, "method": method, "data": str(data),
                              "custom_text": text, "sentences": len(sentences)})
        try:
            with _WORKER_LOCK:
                _send(proc, request)
            break
        except OSError as exc:  # BrokenPipeError: it died after the check
            proc.wait(5)
            if attempt == 2:
                raise XlnerError("E787", reason=f"{type(exc).__name__}: {exc}") from exc
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
        raise XlnerError("E908", job=job_id, folder=str(job_dir)) from exc
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
