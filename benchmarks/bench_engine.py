"""The execution engines on the alignment step: local vs Ray with 1 and 2 actors, plus Ray's fixed costs.

Data: the first N (600) Basque NERC in-domain validation sentences and their English from Apertium
(one local translate-test run with the ``identity`` aligner prepares the pairs; not timed). Then, in
one run and on the same pairs, the offline profile's ``align`` step (SimAlign itermax on e5-small
layer 8, 1 torch thread per worker) runs through the pipeline's runner with an empty step cache:

- ``local``: today's loop in this process (model load reported apart);
- ``ray-1`` / ``ray-2``: a local 2-CPU Ray cluster, an actor pool of 1 / 2 actors (1 CPU each),
  each actor loading e5-small once (inside the wall time: that is what a user waits for);

and checks that the three give identical alignments. Fixed costs of the Ray engine: starting the
local cluster, and the per-shard cost of a trivial step (detokenise) as Ray tasks and on a 1-actor
pool, from 1 vs 40 one-sentence shards after a warm-up call (the 1-shard time is the cost of one
Ray Data job: planning, starting its tasks or actor, collecting the result).

    OMP_NUM_THREADS=1 python benchmarks/bench_engine.py --n 600 --shard-size 100 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BASQUE = DATA / "basque-nerc" / "in_domain" / "val.jsonl"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pairs(n: int, work: Path) -> pa.Table:
    """``(id, src_tokens, tgt_tokens)`` of the first ``n`` sentences (English from Apertium)."""
    from xlner.pipeline import Options, translate_test

    run = translate_test(Options(data=str(BASQUE), lang="eu", out=str(work / "prepare"), limit=n,
                                 settings={"aligner": {"name": "identity"}}, shared_cache=False,
                                 progress=False))
    return pa.table({"id": [r.id for r in run.records],
                     "src_tokens": [list(r.src_tokens) for r in run.records],
                     "tgt_tokens": [list(r.tgt_tokens) for r in run.records]})


def align_step(table: pa.Table, engine, shard_size: int, work: Path, name: str) -> tuple[float, float, pa.Table]:
    """Wall seconds of the align step on an empty cache, model loading (local only) and its output."""
    from xlner.cache import StepCache
    from xlner.pipeline.components import build_components
    from xlner.pipeline.profiles import load_profile
    from xlner.pipeline.tasks import _projection_steps

    profile = load_profile("offline", {"shard_size": shard_size,
                                       "engine.pools.aligner.actors": getattr(engine, "actors", 1)})
    components = build_components(profile, "eu", "en")
    [align] = [s for s in _projection_steps(profile, []) if s.name == "align"]
    runner = engine.runner(StepCache(work / name), components, shard_size=shard_size, progress=False,
                           profile=profile, dataset="basque-val")
    keys = {c: "bench" for c in table.column_names}
    start = time.perf_counter()
    out, [report] = runner.run(table, keys, [align])
    return time.perf_counter() - start, report.load_seconds, out.select(["alignment", "alignment_scores"])


def per_shard(engine, actor: bool, shards: int) -> float:
    """Wall seconds to detokenise ``shards`` one-sentence shards through the engine."""
    import xlner.text as text
    from xlner.engine.base import engine_section
    from xlner.engine.shards import ShardWork
    from xlner.pipeline import steps as S

    work = ShardWork("detokenize", S.detokenize, {}, ("text",), lambda: text)
    blocks = [(i, pa.table({"tokens": pa.array([["Kaixo", "mundua", str(i)]], S.TOKENS)}))
              for i in range(shards)]
    start = time.perf_counter()
    got = list(engine.map_shards(work, "translator" if actor else "text", engine_section({}), blocks))
    assert len(got) == shards and all(e is None for _, _, e in got)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--shard-size", type=int, default=100)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from xlner.engine import LocalEngine
    from xlner.engine.ray_engine import RayEngine

    result: dict = {"n": args.n, "shard_size": args.shard_size, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        table = pairs(args.n, work)
        log(f"{table.num_rows} pairs ready")
        wall, load, local_out = align_step(table, LocalEngine(), args.shard_size, work, "local")
        result["local"] = {"seconds": wall, "model_load_seconds": load}
        log(f"local: {wall:.1f} s (model load {load:.1f} s)")
        ray_engine = RayEngine(num_cpus=2, object_store_mb=200)
        start = time.perf_counter()
        ray_engine.connect()
        result["ray_start_seconds"] = time.perf_counter() - start
        try:
            for actors in (1, 2):
                ray_engine.actors = actors  # type: ignore[attr-defined]  (read by align_step)
                wall, _, out = align_step(table, ray_engine, args.shard_size, work, f"ray{actors}")
                result[f"ray-{actors}"] = {"seconds": wall, "identical": out.equals(local_out)}
                log(f"ray {actors} actor(s): {wall:.1f} s, identical to local: {out.equals(local_out)}")
            for kind, actor in (("task", False), ("actor", True)):
                per_shard(ray_engine, actor, 2)  # warm-up: worker processes started, xlner imported
                one, many = per_shard(ray_engine, actor, 1), per_shard(ray_engine, actor, 40)
                result[f"per_shard_{kind}"] = {"1_shard_seconds": one, "40_shards_seconds": many,
                                               "seconds_per_extra_shard": (many - one) / 39}
                log(f"{kind}: 1 shard {one:.2f} s, 40 shards {many:.2f} s")
        finally:
            ray_engine.close()
    for name in ("local", "ray-1", "ray-2"):
        result[name]["sentences_per_second"] = args.n / result[name]["seconds"]
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
