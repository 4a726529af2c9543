"""Cost of the intervals: ``ltbench table --suite table1`` on the committed mnist_lt runs, and one COCO-LT-sized run.

1. ``ltbench table --suite table1`` in a fresh process (imports included) with
   ``LTBENCH_RESULTS=results/mnist_lt``: 13 rows x 3 seeds, 1,000 test images,
   every interval and the best-set tests; the target is under 5 s on 2 cores.
   Cold: an empty cache, so every run is bootstrapped; warm: the runs'
   replicates cached by the cold call (``<cache>/bootstrap``).
   Wall and CPU seconds are both recorded, with the load average, because the
   machine may be shared (wall time then counts other people's work too).
2. The bootstrap of one run on a COCO-LT-sized test set (5,000 images x 80
   classes, random scores, 5% positives), 1,000 resamples.

Writes ``results/benchmarks/reports_table1_mnist_lt.json``.

    python benchmarks/bench_reports.py
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ltbench.fileio.atomic import write_json

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "results" / "benchmarks" / "reports_table1_mnist_lt.json"
REPEATS = 3


def timed_table(cache: str, out: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ``ltbench table --suite table1`` in a fresh process."""
    env = {**os.environ, "LTBENCH_RESULTS": str(REPO / "results" / "mnist_lt"), "PYTHONPATH": str(REPO),
           "LTBENCH_CACHE": cache}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ltbench", "table", "--suite", "table1", "--out", out],
                   env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def table_command() -> dict[str, dict[str, float]]:
    """Medians over REPEATS: cold (empty cache, every interval computed) and warm (replicates cached)."""
    result = {}
    with tempfile.TemporaryDirectory() as work:
        for kind in ("cold", "warm"):
            times = [timed_table(f"{work}/cache{i if kind == 'cold' else ''}", work) for i in range(REPEATS)]
            walls, cpus = zip(*times)
            result[kind] = {"wall_seconds_median": round(float(np.median(walls)), 2),
                            "cpu_seconds_median": round(float(np.median(cpus)), 2)}
    return result


def coco_sized_run() -> dict[str, float]:
    """Seconds to bootstrap one run of 5,000 test images x 80 classes (1,000 resamples)."""
    from ltbench.reports.bootstrap import RESAMPLES, RunSample, bootstrap_runs

    rng = np.random.default_rng(0)
    targets = (rng.random((5000, 80)) < 0.05).astype(np.uint8)
    scores = (targets + rng.normal(0, 1.0, targets.shape)).astype(np.float32)
    groups = {"head": list(range(20)), "medium": list(range(20, 50)), "tail": list(range(50, 80))}
    started, cpu = time.perf_counter(), time.process_time()
    bootstrap_runs({Path("coco"): RunSample(scores, targets, groups)})
    return {"images": 5000, "classes": 80, "resamples": RESAMPLES, "wall_seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(time.process_time() - cpu, 2)}


def main() -> None:
    load_before = os.getloadavg()[0]
    result = {
        "command": "LTBENCH_RESULTS=results/mnist_lt ltbench table --suite table1",
        "table1_mnist_lt": table_command(),
        "coco_lt_sized_run": coco_sized_run(),
        "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }
    write_json(OUT, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
