"""Cost of ``ltbench leaderboard`` over 1,000 runs: the committed mnist_lt runs, copied and perturbed.

Each committed run (``results/mnist_lt``) is copied under new seeds, round robin,
until the folder holds 1,000 runs: the copy's test scores get Gaussian noise
(sd 0.05), its metrics.json the mAP and per-class AP of those scores (the
shared evaluator) and its config the new seed, and every suite manifest lists
the copies of its runs. So the site has the committed boards, with tens of
seeds per row, and every run's numbers are new. Every run, the committed ones
included, is written through the run-end writer (``RunDir.write_results``), so
each holds its bootstrap replicates (replicates.npz) as a run made now does.

``ltbench leaderboard`` then runs in a fresh process (imports included): cold
(an empty cache: the first build of a site, every figure drawn) and warm (the
figures and resolved recipes kept by an earlier build). The target is under 10 s
on 2 cores. A cold build of the committed runs alone (the same boards and
figures, 81 runs) is measured beside it: the part of the cost that does not
grow with the number of runs. A build uses both cores (``leaderboard.parallel``:
one worker resolves configs, two draw figures), so its wall time is below its CPU
time, which counts every process; a cold build in one process (``LTBENCH_SERIAL=1``)
is measured beside it. Wall and CPU seconds are both recorded, with the load
average, because the machine may be shared; each build is repeated ``--repeats``
times and the best (least wall time) is the result.

Writes ``results/benchmarks/leaderboard-1000runs-<hardware>.json``.

    python benchmarks/bench_leaderboard.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import cycle
from pathlib import Path

import numpy as np
import torch

from hardware import environment, result_path
from ltbench.config.layering import dump_yaml
from ltbench.evaluation import evaluate
from ltbench.fileio.atomic import write_json
from ltbench.leaderboard.parallel import SERIAL
from ltbench.reports.collect import manifest_run_dir
from ltbench.reports.run_replicates import run_end_replicates
from ltbench.runs.run_dir import RunDir

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "results" / "mnist_lt"
RUNS = 1000
NOISE = 0.05


def make_results(root: Path, total: int = RUNS) -> int:
    """``root``: the committed results plus perturbed copies under new seeds, ``total`` runs in all."""
    shutil.copytree(COMMITTED, root, symlinks=False, ignore=shutil.ignore_patterns(".lock"))
    originals = sorted(path.parent for path in (root / "runs").rglob("metrics.json"))
    for original in originals:  # as a run made now leaves its directory
        run = RunDir(original)
        scores, targets, score = run.scores()
        run.write_results(run.metrics(), scores, targets, score,
                          run_end_replicates(scores, targets, score, run.metrics()))
    copies_of: dict[Path, list[Path]] = {path: [] for path in originals}
    rng = np.random.default_rng(0)
    count, seed_step = len(originals), {path: 0 for path in originals}
    for original in cycle(originals):
        if count >= total:
            break
        seed_step[original] += 1
        copies_of[original].append(_perturbed_copy(RunDir(original), seed_step[original], rng))
        count += 1
    for manifest in (root / "suites").glob("*.json"):
        data = json.loads(manifest.read_text())
        for row in data["rows"]:
            extra = [copy for entry in row["run_dirs"]
                     for copy in copies_of.get(manifest_run_dir(manifest, entry).resolve(), [])]
            row["run_dirs"] += [str(path.relative_to(root)) for path in extra]
        write_json(manifest, data)
    return count


def _perturbed_copy(run: RunDir, step: int, rng: np.random.Generator) -> Path:
    record = run.record()
    seed = int(record.metrics["seed"]) + 1000 * step
    method, _, config = run.path.name.rsplit("_", 2)  # <method>_s<seed>_<config hash>
    target = run.path.with_name(f"{method}_s{seed}_{config}")
    shutil.copytree(run.path, target, ignore=shutil.ignore_patterns(".lock"))
    scores, targets, score = run.scores()
    noisy = (scores + rng.normal(0, NOISE, scores.shape)).astype(np.float32)
    result = evaluate(noisy, targets, record.metrics["groups"])
    metrics = {**record.metrics, "seed": seed, "map": {m: result[m] for m in ("total", "head", "medium", "tail")},
               "per_class_ap": result["per_class_ap"]}
    metrics.pop("metrics", None)  # other metrics would be stale; tables recompute them from the scores if asked
    (target / "config.yaml").write_text(dump_yaml({**record.config, "seed": seed}))
    RunDir(target).write_results(metrics, noisy, targets, score, run_end_replicates(noisy, targets, score, metrics))
    return target.resolve()


def timed_build(root: Path, cache: Path, out: Path, serial: bool = False) -> dict[str, float]:
    """Wall and CPU seconds (its worker processes included) of one ``ltbench leaderboard`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "LTBENCH_CACHE": str(cache), SERIAL: "1" if serial else "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ltbench", "leaderboard", "--results", str(root), "--out", str(out)],
                          env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_seconds": round(wall, 2),
            "cpu_seconds": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 2),
            "output": done.stdout.strip()}


def best(builds: list[dict[str, float]]) -> dict:
    """The build with the least wall time, and every build's seconds."""
    return {**min(builds, key=lambda b: b["wall_seconds"]),
            "all": [{k: b[k] for k in ("wall_seconds", "cpu_seconds")} for b in builds]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="builds of each kind; the best is reported")
    repeats = parser.parse_args().repeats
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "results"
        runs = make_results(root)
        committed = Path(work) / "committed"
        committed_runs = make_results(committed, total=0)  # the committed runs alone, as a run made now leaves them
        site = Path(work) / "site"
        cold, warm, fixed, serial = [], [], [], []
        for attempt in range(repeats):
            cache = Path(work) / f"cache{attempt}"
            serial.append(timed_build(root, Path(work) / f"serial-cache{attempt}", site, serial=True))
            cold.append(timed_build(root, cache, site))
            warm.append(timed_build(root, cache, site))
            fixed.append(timed_build(committed, Path(work) / f"committed-cache{attempt}", Path(work) / "committed-site"))
        pages = sum(1 for _ in site.rglob("*.html"))
    result = {
        "command": "ltbench leaderboard --results <1,000 runs> --out <site>", "runs": runs, "pages": pages,
        "runs_hold_replicates": True, "repeats": repeats,
        "cores_used": "both: one worker process resolves configs while the main process reads runs, two draw "
                      "figures (ltbench.leaderboard.parallel); cpu_seconds counts every process",
        "cold": best(cold), "warm": best(warm), "cold_one_process": best(serial), "target_seconds": 10,
        "committed_runs_cold": {"runs": committed_runs, **best(fixed)},
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
        "environment": environment(torch.device("cpu")),
    }
    path = result_path("leaderboard-1000runs", torch.device("cpu"))
    write_json(path, result)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
