"""The step cache and the step runner: keys, reruns, resume, corruption, atomic writes."""

from __future__ import annotations

import os
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xlner.cache import StepCache, atomic_write_table, atomic_write_text, fingerprint
from xlner.errors import XlnerError, XlnerWarning
from xlner.pipeline.framework import Components, Runner, Step, shard_sizes


# Plain transforms of the kind the pipeline uses (these are the units under test's inputs, not
# stand-ins for models: the runner is tested on real, deterministic computations).
CALLS: list[tuple[str, int]] = []


def upper(table, component, params):
    CALLS.append(("upper", table.num_rows))
    return pa.table({"out": [[w.upper() for w in ws] for ws in table["tokens"].to_pylist()]})


def suffix(table, component, params):
    CALLS.append(("suffix", table.num_rows))
    return pa.table({"out": [[w + component + params["mark"] for w in ws]
                             for ws in table["words"].to_pylist()]})


class Interrupt(Exception):
    pass


def failing_after(n_ok: int):
    """A transform that works for ``n_ok`` batches, then fails (a crash mid-step)."""
    state = {"n": 0}

    def transform(table, component, params):
        state["n"] += 1
        if state["n"] > n_ok:
            raise Interrupt("simulated crash")
        return upper(table, component, params)
    transform.__qualname__ = "upper"  # same key as the real transform: a resumed run reuses shards
    return transform


def _table(n: int = 10) -> pa.Table:
    return pa.table({"id": [f"s{i}" for i in range(n)],
                     "tokens": [[f"w{i}", "x"] for i in range(n)]})


def _steps(mark: str = "!", upper_fn=upper) -> list[Step]:
    return [Step("upper", upper_fn, {"tokens": "tokens"}, {"out": "upper"}),
            Step("suffix", suffix, {"words": "upper"}, {"out": "final"}, "sfx", {"mark": mark})]


def _runner(tmp_path, shard_size=4, component="-") -> Runner:
    comps = Components({"sfx": ({"suffix": component}, lambda: component)})
    return Runner(StepCache(tmp_path / "steps"), comps, shard_size=shard_size, progress=False)


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def test_fingerprint_is_deterministic_and_order_independent():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert len(fingerprint("x")) == 16


def test_shard_sizes_cover_all_rows():
    assert shard_sizes(10, 4) == [4, 4, 2]
    assert shard_sizes(0, 4) == [0]
    assert sum(shard_sizes(1000, 64)) == 1000


def test_runs_steps_and_second_run_is_fully_cached(tmp_path):
    table, reports = _runner(tmp_path).run(_table(), {"id": "k0", "tokens": "k0"}, _steps())
    assert table["final"].to_pylist()[3] == ["W3-!", "X-!"]
    assert [r.cached for r in reports] == [False, False]
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "steps").glob("*.parquet")) == ["suffix", "upper"]
    assert not list((tmp_path / "steps").glob("*.parts"))  # shards merged and removed
    CALLS.clear()
    table2, reports2 = _runner(tmp_path).run(_table(), {"id": "k0", "tokens": "k0"}, _steps())
    assert CALLS == []
    assert [r.cached for r in reports2] == [True, True]
    assert table2["final"].to_pylist() == table["final"].to_pylist()


def test_param_change_reruns_only_the_affected_step(tmp_path):
    _runner(tmp_path).run(_table(), {"id": "k0", "tokens": "k0"}, _steps("!"))
    CALLS.clear()
    table, reports = _runner(tmp_path).run(_table(), {"id": "k0", "tokens": "k0"}, _steps("?"))
    assert {name for name, _ in CALLS} == {"suffix"}
    assert [r.cached for r in reports] == [True, False]
    assert table["final"].to_pylist()[0] == ["W0-?", "X-?"]


def test_component_config_change_reruns_the_step(tmp_path):
    _runner(tmp_path, component="-").run(_table(), {"id": "k0", "tokens": "k0"}, _steps())
    CALLS.clear()
    table, _ = _runner(tmp_path, component="+").run(_table(), {"id": "k0", "tokens": "k0"}, _steps())
    assert {name for name, _ in CALLS} == {"suffix"}
    assert table["final"].to_pylist()[0] == ["W0+!", "X+!"]


def test_input_change_reruns_downstream_steps(tmp_path):
    _runner(tmp_path).run(_table(), {"id": "k0", "tokens": "k0"}, _steps())
    CALLS.clear()
    _runner(tmp_path).run(_table(), {"id": "k1", "tokens": "k1"}, _steps())
    assert {name for name, _ in CALLS} == {"upper", "suffix"}


def test_interrupted_step_resumes_from_finished_shards(tmp_path):
    with pytest.raises(XlnerError) as err:
        _runner(tmp_path).run(_table(10), {"id": "k0", "tokens": "k0"}, _steps(upper_fn=failing_after(2)))
    assert err.value.code == "E704" and "s8" in err.value.message  # names the failing batch
    parts = list((tmp_path / "steps").glob("upper-*.parts/*.parquet"))
    assert len(parts) == 2  # the two finished shards survived the crash
    CALLS.clear()
    table, reports = _runner(tmp_path).run(_table(10), {"id": "k0", "tokens": "k0"}, _steps())
    assert ("upper", 2) in CALLS and ("upper", 4) not in CALLS  # only the last shard recomputed
    assert reports[0].resumed_rows == 8
    assert table["upper"].to_pylist()[9] == ["W9", "X"]


def test_corrupt_cache_file_is_reported_and_recomputed(tmp_path):
    _runner(tmp_path).run(_table(), {"id": "k0", "tokens": "k0"}, _steps())
    [upper_file] = (tmp_path / "steps").glob("upper-*.parquet")
    upper_file.write_bytes(b"PAR1 this is not parquet")
    CALLS.clear()
    with pytest.warns(XlnerWarning, match=r"warning\[E703\].*" + re.escape(upper_file.name)):
        table, reports = _runner(tmp_path).run(_table(), {"id": "k0", "tokens": "k0"}, _steps())
    assert [r.cached for r in reports] == [False, True]
    assert table["upper"].to_pylist()[0] == ["W0", "X"]
    assert pq.read_table(upper_file).num_rows == 10  # rewritten whole


def test_cache_file_with_wrong_row_count_is_recomputed(tmp_path):
    _runner(tmp_path).run(_table(), {"id": "k0", "tokens": "k0"}, _steps())
    [upper_file] = (tmp_path / "steps").glob("upper-*.parquet")
    pq.write_table(pq.read_table(upper_file).slice(0, 3), upper_file)
    with pytest.warns(XlnerWarning, match="3 rows instead of 10"):
        table, _ = _runner(tmp_path).run(_table(), {"id": "k0", "tokens": "k0"}, _steps())
    assert table.num_rows == 10


def test_corrupt_shard_is_recomputed(tmp_path):
    with pytest.raises(XlnerError):
        _runner(tmp_path).run(_table(10), {"id": "k0", "tokens": "k0"}, _steps(upper_fn=failing_after(2)))
    first = sorted((tmp_path / "steps").glob("upper-*.parts/*.parquet"))[0]
    first.write_bytes(b"garbage")
    CALLS.clear()
    with pytest.warns(XlnerWarning, match=r"warning\[E703\]"):
        table, _ = _runner(tmp_path).run(_table(10), {"id": "k0", "tokens": "k0"}, _steps())
    assert sorted(n for name, n in CALLS if name == "upper") == [2, 4]  # shard 0 and shard 2
    assert table["upper"].to_pylist()[0] == ["W0", "X"]


def test_shared_cache_is_reused_by_another_run(tmp_path):
    shared = tmp_path / "shared"
    comps = Components({"sfx": ({"suffix": "-"}, lambda: "-")})
    Runner(StepCache(tmp_path / "a", shared), comps, progress=False).run(
        _table(), {"id": "k", "tokens": "k"}, _steps())
    CALLS.clear()
    _, reports = Runner(StepCache(tmp_path / "b", shared), comps, progress=False).run(
        _table(), {"id": "k", "tokens": "k"}, _steps())
    assert CALLS == [] and all(r.cached for r in reports)
    assert len(list((tmp_path / "b").glob("*.parquet"))) == 2  # linked into the second run


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "t.parquet"
    atomic_write_table(target, pa.table({"a": [1, 2]}))

    class Broken:  # not a table: the writer raises half-way
        schema = None

    with pytest.raises(Exception):
        atomic_write_table(target, Broken())  # type: ignore[arg-type]
    assert pq.read_table(target)["a"].to_pylist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temporary left behind


def test_atomic_write_text_replaces_in_one_step(tmp_path):
    target = tmp_path / "m.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["m.json"]


def test_step_reading_an_unknown_column_is_refused(tmp_path):
    bad = [Step("suffix", suffix, {"words": "nope"}, {"out": "final"}, "sfx", {"mark": "!"})]
    with pytest.raises(XlnerError) as err:
        _runner(tmp_path).run(_table(), {"id": "k", "tokens": "k"}, bad)
    assert err.value.code == "E707"


def test_atomic_writes_give_files_the_usual_mode_not_owner_only(tmp_path):
    """mkstemp's files are 0600; written results must be readable as any new file is (0666 - umask)."""
    import os
    import stat

    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / "result.json"
    atomic_write_text(target, "{}")
    atomic_write_table(tmp_path / "t.parquet", pa.table({"a": [1]}))
    for path in (target, tmp_path / "t.parquet"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
