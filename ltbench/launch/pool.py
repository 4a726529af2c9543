"""The ``pool`` launcher: N worker processes on one machine (``concurrent.futures``), one GPU each when there are GPUs.

Workers are spawned (not forked), so each starts CUDA afresh on the GPU named
by its ``CUDA_VISIBLE_DEVICES``; with more workers than GPUs they share GPUs
round robin. Without GPUs the machine's cores are split between the workers
(``torch.set_num_threads``), so N workers do not fight over the same cores.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

from ltbench.errors import LtbenchError
from ltbench.launch.tasks import SuiteTask, TaskResult, run_task


def visible_gpus() -> list[str]:
    """GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else every CUDA device."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [gpu.strip() for gpu in listed.split(",") if gpu.strip() and gpu.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def worker_settings(jobs: int, gpus: Sequence[str], cores: int) -> list[tuple[str | None, int]]:
    """(CUDA_VISIBLE_DEVICES, CPU threads) of each of ``jobs`` workers."""
    threads = max(1, cores // jobs)
    return [(gpus[i % len(gpus)] if gpus else None, threads) for i in range(jobs)]


def _start_worker(settings: "multiprocessing.Queue[tuple[str | None, int]]") -> None:
    """Pool initializer: take one worker's settings before torch touches a device."""
    gpu, threads = settings.get()
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    import torch

    torch.set_num_threads(threads)


def run_pool(tasks: Sequence[SuiteTask], jobs: int, wait: bool) -> list[TaskResult]:
    """Run ``tasks`` on ``jobs`` spawned workers; results in task order."""
    if jobs < 1:
        raise LtbenchError(f"--jobs must be at least 1, not {jobs}.")
    if not tasks:
        return []
    context = multiprocessing.get_context("spawn")
    settings = context.Queue()
    for setting in worker_settings(jobs, visible_gpus(), os.cpu_count() or 1):
        settings.put(setting)
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(settings,))
    try:
        results = list(pool.map(functools.partial(run_task, wait=wait), tasks))
    except BaseException:  # Ctrl-C: drop the queued tasks; a killed worker's run lock dies with it
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results
