"""Run a suite (``run_suite``): its tasks with the chosen launcher, or their plan for ``--dry-run``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ltbench.data.base import LTDataset
from ltbench.errors import LtbenchError
from ltbench.launch.options import LAUNCHERS, LaunchOptions
from ltbench.launch.tasks import SuiteTask, TaskResult, plan_task, reuse_finished, run_task, suite_tasks
from ltbench.paths import results_root
from ltbench.plugins import load_plugins
from ltbench.registry import DATASETS
from ltbench.launch.suites import load_suite, manifest_path


@dataclass
class SuiteOutcome:
    manifest: Path
    trained: list[Path]
    reused: list[Path]
    failed: list[str]  # one line per (row, seed) that could not run, e.g. missing weights
    submitted: list[str] = field(default_factory=list)  # SLURM job ids, when the call does not wait for them


def run_suite(name: str, dataset: str, seeds: Sequence[int], overrides: Sequence[str] = (),
              rows: Sequence[str] | None = None, launcher: LaunchOptions | None = None) -> SuiteOutcome:
    """Run what is missing of suite ``name`` on ``dataset`` for ``seeds``; finished runs are reused.

    ``launcher`` says where the (row, seed) tasks run (this process by default).
    A (row, seed) that fails with a clear error (missing weights, a diverging
    loss) is recorded and skipped; the others still run.
    """
    suite = load_suite(name)
    tasks = suite_tasks(suite, dataset, seeds, overrides, rows)
    load_plugins()
    DATASETS.entry(dataset)  # an unknown dataset is refused before a manifest is written for it
    outcome = SuiteOutcome(manifest_path(name, dataset), [], [], [])
    for result in launch(tasks, launcher or LaunchOptions(), results_root()):
        if result.status == "failed":
            outcome.failed.append(result.message)
        elif result.status == "submitted":
            outcome.submitted.append(result.message)
        elif result.run_dir:  # only runs that ended well
            (outcome.trained if result.status == "trained" else outcome.reused).append(Path(result.run_dir))
    return outcome


def launch(tasks: Sequence[SuiteTask], options: LaunchOptions, log_root: Path) -> list[TaskResult]:
    """Run ``tasks`` with the chosen launcher; results in task order (``submitted`` ones for SLURM without wait).

    Runs that have finished are recorded here, from their config hash alone, so
    no worker, job or GPU is spent on them.
    """
    if options.launcher not in LAUNCHERS:
        raise LtbenchError(f"Unknown launcher {options.launcher!r}; use one of {', '.join(LAUNCHERS)}.")
    reused = [reuse_finished(task) for task in tasks]
    todo = [task for task, result in zip(tasks, reused) if result is None]
    ran = iter(_run(todo, options, log_root) if todo else [])
    return [result or next(ran) for result in reused]


def _run(tasks: list[SuiteTask], options: LaunchOptions, log_root: Path) -> list[TaskResult]:
    if options.launcher == "local":
        datasets: dict[str, LTDataset] = {}
        results = [run_task(task, datasets=datasets) for task in tasks]
        return _wait_for_busy(results, lambda busy: [run_task(t, wait=True, datasets=datasets) for t in busy])
    if options.launcher == "pool":
        from ltbench.launch.pool import run_pool

        results = run_pool(tasks, options.jobs, wait=False)
        return _wait_for_busy(results, lambda busy: run_pool(busy, options.jobs, wait=True))
    from ltbench.launch.slurm import submit_array

    return submit_array(tasks, options.slurm, log_root)


def _wait_for_busy(results: list[TaskResult],
                   rerun: Callable[[list[SuiteTask]], list[TaskResult]]) -> list[TaskResult]:
    """Tasks whose run was busy elsewhere go last, waiting for it, so no run is trained twice and none is left out."""
    busy = [r.task for r in results if r.status == "busy"]
    if not busy:
        return results
    again = iter(rerun(busy))
    return [next(again) if r.status == "busy" else r for r in results]


def print_plan(name: str, dataset: str, seeds: Sequence[int], overrides: Sequence[str] = (),
               rows: Sequence[str] | None = None) -> int:
    """``ltbench suite --dry-run``: each run's method, row, seed, run id and state; nothing is run or written."""
    from rich.console import Console
    from rich.table import Table

    suite = load_suite(name)
    methods = {row.label: row.method for row in suite.rows}
    table = Table(title=f"suite {name} on {dataset}, seeds {list(seeds)}", title_justify="left")
    for column in ("row", "method", "seed", "run id", "state"):
        table.add_column(column)
    states = []
    for task in suite_tasks(suite, dataset, seeds, overrides, rows):
        result = plan_task(task)
        state = f"{result.status}: {result.message}" if result.message else result.status
        run_id = Path(result.run_dir).name if result.run_dir else "-"
        table.add_row(task.label, methods[task.label], str(task.seed), run_id, state)
        states.append(result.status)
    Console().print(table)
    print(f"{states.count('done')} done, {len(states) - states.count('done')} to do or in progress")
    return 0
