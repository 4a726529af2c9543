"""Wall time of small cached-feature runs with 1 vs 2 torch threads, interleaved and repeated.

A head trained on cached features does tiny matrix products; a second thread
mostly waits for a core, and on a machine shared with other jobs that wait can
cost more than the work. Each run is a fresh ``ltbench run`` process (features
already cached by a warm-up run) with ``OMP_NUM_THREADS`` set, which torch reads
at start-up for its intra-op pool.

    python benchmarks/bench_threads.py [--methods erm cprfl] [--threads 1 2] [--repeats 3]

Writes ``results/benchmarks/threads-<torch>-<device>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from hardware import environment, result_path
from ltbench.fileio.atomic import write_json


def one_run(method: str, threads: int, root: Path, cache: Path, extra: list[str]) -> dict:
    """One fresh ``ltbench run`` process: its wall time and the trainer's own train_seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "LTBENCH_CACHE": str(cache)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ltbench", "run", "--method", method, "--dataset", "mnist_lt",
                    f"--output.root={root}", *extra], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    metrics = json.loads(next(root.rglob("metrics.json")).read_text())
    return {"wall_s": round(wall, 2), "train_s": round(metrics["train_seconds"], 2),
            "threads_seen": metrics["machine"]["threads"], "map": round(metrics["map"]["total"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["erm", "cprfl"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="config overrides for every run, e.g. train.epochs=10")
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        for method in args.methods:  # warm-up: builds mnist_lt and caches the backbone's features
            one_run(method, 1, Path(tmp) / f"warm_{method}", cache, args.overrides)
        for repeat in range(args.repeats):
            for method in args.methods:
                order = args.threads if repeat % 2 == 0 else args.threads[::-1]
                for threads in order:
                    root = Path(tmp) / f"{method}_{threads}_{repeat}"
                    row = one_run(method, threads, root, cache, args.overrides)
                    rows.setdefault(f"{method}/threads={threads}", []).append(row)
                    print(method, threads, row, flush=True)
                    write_result(rows, args.overrides)  # after every run, so a stopped benchmark keeps its rows


def write_result(rows: dict[str, list[dict]], overrides: list[str], note: str = "") -> None:
    summary = {key: {"median_wall_s": statistics.median(r["wall_s"] for r in runs),
                     "median_train_s": statistics.median(r["train_s"] for r in runs), "runs": runs}
               for key, runs in rows.items()}
    result = {"what": "ltbench run on mnist_lt with cached features, OMP_NUM_THREADS 1 vs 2",
              "note": "2-core machine shared with other jobs; interleaved, repeated; compare medians. " + note,
              "overrides": overrides, "environment": environment(torch.device("cpu")), "results": summary}
    write_json(result_path("threads", torch.device("cpu")), result)


if __name__ == "__main__":
    main()
