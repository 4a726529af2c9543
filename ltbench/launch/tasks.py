"""One suite task = one (row, seed) of a suite: built and run wherever a launcher puts it.

A task is a few strings and numbers, so it pickles to a pool worker or a SLURM
job; the worker resolves the config itself and finds the run directory by its
config hash, so the same run is recognised everywhere: finished runs are
reused, a run locked by a live process elsewhere is not trained twice, and each
worker records its own result in the suite manifest (merged under a lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ltbench.config.layering import Config, deep_merge
from ltbench.data.base import LTDataset
from ltbench.errors import LtbenchError
from ltbench.experiment import format_map, run_config
from ltbench.fileio.locks import RunInProgress
from ltbench.progress import console
from ltbench.config.resolve import resolve_config
from ltbench.runs.run_dir import RunDir, run_dir_of
from ltbench.launch.suites import Manifest, Suite, failure_prefix, load_suite


@dataclass(frozen=True)
class SuiteTask:
    suite: str
    dataset: str
    label: str
    seed: int
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskResult:
    task: SuiteTask
    status: str  # "trained", "reused", "failed", "busy" (locked by a live process elsewhere), "submitted"
    run_dir: str | None = None
    message: str = ""  # why it failed, or a submitted job's id


def suite_tasks(suite: Suite, dataset: str, seeds: Sequence[int], overrides: Sequence[str] = (),
                rows: Sequence[str] | None = None) -> list[SuiteTask]:
    """Every (row, seed) asked for, row by row; an unknown row label is an error."""
    return [SuiteTask(suite.name, dataset, row.label, seed, tuple(overrides))
            for row in suite.select(rows) for seed in seeds]


_WORKER_DATASETS: dict[str, LTDataset] = {}  # a worker process builds each dataset once, for all its tasks


def task_config(task: SuiteTask) -> Config:
    """The task's resolved config: its row's config with the suite's overrides and the task's seed."""
    row = load_suite(task.suite).select([task.label])[0]
    return resolve_config(row.method, task.dataset, row.config_file(task.dataset),
                          overrides=[*task.overrides, f"seed={task.seed}"],
                          extra=deep_merge(row.overrides_for(task.dataset), {"label": row.label}))


def run_task(task: SuiteTask, wait: bool = False, datasets: dict[str, LTDataset] | None = None) -> TaskResult:
    """Train (or resume, or reuse) one task's run and record it in the manifest.

    A run that another live process holds is left alone: ``busy`` (or, with
    ``wait``, waited for and then reused). A clear failure (missing weights, a
    diverging loss) is recorded and returned, never raised.
    """
    suite = load_suite(task.suite)
    row = suite.select([task.label])[0]
    manifest = Manifest(suite, task.dataset)
    try:
        config = task_config(task)
        console.print(f"[bold]{task.suite}[/] {task.label} seed {task.seed} -> {run_dir_of(config)}")
        result = run_config(config, wait=wait, datasets=_WORKER_DATASETS if datasets is None else datasets)
    except RunInProgress as exc:
        console.print(f"[yellow]later[/] {task.label} seed {task.seed}: {exc}")
        return TaskResult(task, "busy", str(exc.run_dir), str(exc))
    except LtbenchError as exc:
        manifest.record(row, task.seed, None, str(exc))
        console.print(f"[red]skipped[/] {task.label} seed {task.seed}: {exc}")
        return TaskResult(task, "failed", None, failure_prefix(row, task.seed) + str(exc))
    console.print(f"  {format_map(result.metrics)}")
    manifest.record(row, task.seed, result.run_dir, overrides=task.overrides)
    return TaskResult(task, "reused" if result.reused else "trained", str(result.run_dir))


def reuse_finished(task: SuiteTask) -> TaskResult | None:
    """A task whose run has finished (here or anywhere on this results disk), recorded without building
    anything; None when it has to run (or fails to resolve, which ``run_task`` then records)."""
    try:
        run_dir = run_dir_of(task_config(task))
    except LtbenchError:
        return None
    if not RunDir(run_dir).finished:
        return None
    suite = load_suite(task.suite)
    Manifest(suite, task.dataset).record(suite.select([task.label])[0], task.seed, run_dir, overrides=task.overrides)
    console.print(f"[green]already finished[/] {task.label} seed {task.seed}: {run_dir}")
    return TaskResult(task, "reused", str(run_dir))


def plan_task(task: SuiteTask) -> TaskResult:
    """What running the task would do, from its resolved config alone: nothing is built, trained or written."""
    try:
        rundir = RunDir(run_dir_of(task_config(task)))
    except LtbenchError as exc:
        return TaskResult(task, "cannot run", None, str(exc))
    holder = rundir.lock_holder()
    if rundir.finished:
        status = "done"
    elif holder:
        status = f"in progress ({holder})"
    elif rundir.started:
        status = "to do (resumes)"
    else:
        status = "to do"
    return TaskResult(task, status, str(rundir.path))
