"""The ``slurm`` launcher: one submitit job array per suite call, one (row, seed) per array job.

A job that SLURM preempts or that reaches its time limit is requeued by
submitit's checkpointing hook (``Checkpointable``) and calls the same task
again, which resumes the run from its last epoch checkpoint in the run
directory. Logs go under ``<results>/slurm/<suite>_<dataset>/<job id>``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Sequence

from ltbench.errors import LtbenchError

try:
    import submitit
except ModuleNotFoundError as exc:
    if exc.name != "submitit":
        raise
    raise LtbenchError('The slurm launcher needs submitit; install it with '
                       'pip install -c constraints.txt -e ".[slurm]".') from None

from ltbench.launch.options import SlurmOptions
from ltbench.launch.tasks import SuiteTask, TaskResult, run_task
from ltbench.progress import console


class SuiteJob(submitit.helpers.Checkpointable):
    """An array job's callable; on preemption or timeout submitit requeues it with the same task."""

    def __call__(self, task: SuiteTask) -> TaskResult:
        cpus = os.environ.get("SLURM_CPUS_PER_TASK")
        if cpus:  # torch would otherwise count every core of the node, not the job's share
            import torch

            torch.set_num_threads(int(cpus))
        return run_task(task, wait=True)  # a run held by another job is waited for, then reused


def executor_parameters(options: SlurmOptions, name: str) -> dict[str, Any]:
    """submitit's parameters for ``options`` (a ``SlurmOptions``); ``extra`` keys gain the ``slurm_`` prefix."""
    parameters: dict[str, Any] = {
        "name": name, "timeout_min": options.time_min, "gpus_per_node": options.gpus_per_job,
        "cpus_per_task": options.cpus_per_job, "mem_gb": options.mem_gb, "tasks_per_node": 1, "nodes": 1,
        "slurm_partition": options.partition, "slurm_array_parallelism": options.array_parallelism,
    }
    for key, value in options.extra.items():
        parameters[key if key.startswith("slurm_") else f"slurm_{key}"] = value
    return parameters


def submit_array(tasks: Sequence[SuiteTask], options: SlurmOptions, log_root: Path) -> list[TaskResult]:
    """Submit ``tasks`` as one job array; with ``options.wait`` return their results, else their job ids."""
    cluster = options.cluster or "slurm"
    if cluster == "slurm" and shutil.which("sbatch") is None:
        raise LtbenchError("--launcher slurm needs SLURM's sbatch on PATH; run the suite from a cluster's login node.")
    if not tasks:
        return []
    first = tasks[0]
    folder = log_root / "slurm" / f"{first.suite}_{first.dataset}"
    executor = submitit.AutoExecutor(folder=folder / "%j", cluster=cluster)
    try:
        executor.update_parameters(**executor_parameters(options, f"ltbench-{first.suite}-{first.dataset}"))
    except NameError as exc:  # submitit lists every valid parameter; the first line names the bad one
        raise LtbenchError(f"submitit refused a SLURM parameter: {str(exc).splitlines()[0]}") from None
    jobs = executor.map_array(SuiteJob(), tasks)
    console.print(f"submitted {len(jobs)} jobs as array {jobs[0].job_id.split('_')[0]}; logs in {folder}")
    if not options.wait:
        return [TaskResult(task, "submitted", None, job.job_id) for job, task in zip(jobs, tasks)]
    return [_result(job, task) for job, task in zip(jobs, tasks)]


def _result(job: Any, task: SuiteTask) -> TaskResult:
    """A job's result; a job that crashed (not a clear ltbench error) is a failure naming its log."""
    try:
        return job.result()
    except Exception as exc:  # submitit re-raises the job's exception with its traceback as text
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return TaskResult(task, "failed", None, f"{task.label} (seed {task.seed}): job {job.job_id} failed "
                                                f"({last}); see {job.paths.stderr}")
