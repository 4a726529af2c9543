"""Wall time of one whole suite on a dataset from cold caches (default: Table 1 on mnist_lt, one seed).

Runs in a temporary results folder and cache, so the embedded dataset, the
backbone features and the text embeddings are all built inside the timed span.
Writes ``results/benchmarks/suite_<name>_<dataset>.json`` (``..._pool<N>.json``
with ``--launcher pool --jobs N``) with the wall time, the machine, and the
resulting table rows.

    python benchmarks/bench_suite.py --suite table1 --dataset mnist_lt --seeds 1
    python benchmarks/bench_suite.py --suite table1 --dataset mnist_lt --seeds 1 --launcher pool --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from ltbench.fileio.atomic import write_json

OUT_DIR = Path(__file__).resolve().parent.parent / "results" / "benchmarks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="table1")
    parser.add_argument("--dataset", default="mnist_lt")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--launcher", choices=("local", "pool"), default="local")
    parser.add_argument("--jobs", type=int, default=2, help="pool workers")
    parser.add_argument("--tag", default="", help="appended to the JSON's name, e.g. the machine")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ltbench-bench-"))
    os.environ["LTBENCH_CACHE"] = str(work / "cache")
    os.environ["LTBENCH_RESULTS"] = str(work / "results")

    import torch

    from ltbench.launch.options import LaunchOptions
    from ltbench.reports import build_table, collect_runs
    from ltbench.launch.launchers import run_suite
    from ltbench.reports.reference import METRICS

    load_before = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    started = time.perf_counter()
    launcher = LaunchOptions(args.launcher, args.jobs)
    outcome = run_suite(args.suite, args.dataset, list(range(1, args.seeds + 1)), launcher=launcher)
    wall = time.perf_counter() - started
    table = build_table(collect_runs(manifests=[outcome.manifest]))
    rows = {row["label"]: {metric: row[f"{metric}_mean"] for metric in METRICS} for _, row in table.iterrows()}
    result = {
        "suite": args.suite, "dataset": args.dataset, "seeds": args.seeds,
        "launcher": args.launcher, "jobs": args.jobs if args.launcher == "pool" else 1, "wall_seconds": round(wall, 1),
        "runs_trained": len(outcome.trained), "runs_failed": outcome.failed,
        "device": "cuda" if torch.cuda.is_available() else "cpu", "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}, "machine": platform.machine(), "map": rows,
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    suffix = (f"_pool{args.jobs}" if args.launcher == "pool" else "") + (f"_{args.tag}" if args.tag else "")
    out = OUT_DIR / f"suite_{args.suite}_{args.dataset}{suffix}.json"
    write_json(out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
