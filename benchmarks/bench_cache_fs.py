"""The shared step cache on a local folder vs a ``file://`` URI vs S3 (a local moto server).

Data: the first N sentences of a gold file (default: all 26 of assets/demo/es.jsonl), translate-test
with the offline profile. After one warm-up run (model loading, not counted), per location: one run
that computes the 8 steps and writes them to the shared cache, then R runs in fresh run folders
that take every step from it (the shared cache is read, and each step copied into the run's own
``steps/``). Printed: the step seconds (metrics.json ``seconds`` of the 8 steps) of the first run
and the median, min and max over the reuses. S3 is moto's server on localhost (``pip install
'moto[s3]' flask flask-cors``, the test extra): it shows the protocol's cost per request, not a
real bucket's latency.

    OMP_NUM_THREADS=1 python benchmarks/bench_cache_fs.py [--data FILE --lang es --n 26 --repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "assets" / "demo" / "es.jsonl"))
    ap.add_argument("--lang", default="es")
    ap.add_argument("--n", type=int, default=26)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    import pyarrow.fs as pafs
    from moto.server import ThreadedMotoServer

    from xlner.pipeline import Options, translate_test

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    pafs.S3FileSystem(endpoint_override=f"{host}:{port}", scheme="http", region="us-east-1",
                      allow_bucket_creation=True).create_dir("bench")
    tmp = Path(tempfile.mkdtemp(prefix="bench-cache-fs-"))

    def step_seconds(name: str, cache: str) -> tuple[float, int]:
        run = translate_test(Options(data=args.data, lang=args.lang, out=str(tmp / name), limit=args.n,
                                     cache_dir=cache, progress=False))
        m = run.metrics
        return sum(v for k, v in m["seconds"].items() if k in m["step_keys"]), len(m["cached_steps"])

    step_seconds("warm-up", str(tmp / "warm-up-cache"))
    caches = {"local folder": str(tmp / "local-cache"), "file:// URI": (tmp / "file-cache").as_uri(),
              "s3:// (moto)": f"s3://bench/steps?endpoint_override={host}:{port}&scheme=http&region=us-east-1"}
    first = {k: step_seconds(f"{i}-first", c) for i, (k, c) in enumerate(caches.items())}
    reuse: dict[str, list[float]] = {k: [] for k in caches}
    for r in range(args.repeat):  # interleaved, so that the machine's load hits all three alike
        for i, (k, c) in enumerate(caches.items()):
            seconds, cached = step_seconds(f"{i}-reuse-{r}", c)
            assert cached == 8, f"{k}: {cached} steps cached"
            reuse[k].append(seconds)
    server.stop()
    print(f"{args.n} sentences of {args.data}, offline profile; step seconds (8 steps)")
    for k in caches:
        v = reuse[k]
        print(f"{k:14s} first run (computes) {first[k][0]:6.3f}   reuse: median {statistics.median(v):.3f} "
              f"(min {min(v):.3f}, max {max(v):.3f}, {len(v)} runs)")


if __name__ == "__main__":
    main()
