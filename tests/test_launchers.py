"""Launchers agree: a pool of workers and a submitit job array give the local launcher's runs, manifest and table."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ltbench.launch.options import LaunchOptions, SlurmOptions
from ltbench.launch.pool import _start_worker, worker_settings
from ltbench.errors import LtbenchError
from ltbench.reports import build_table, collect_runs, render_csv
from ltbench.launch.launchers import run_suite
from ltbench.reports.collect import manifest_run_dir
from ltbench.launch.suites import manifest_path

REPO = Path(__file__).resolve().parent.parent
SUITE = """
description: two rows for launcher tests
rows:
  - {label: ERM, method: erm}
  - {label: Focal, method: focal}
"""
SMALL = ["train.epochs=2", "dataset.max_count=100", "dataset.num_test=200"]  # a small mnist_lt draw
SEEDS = [1, 2]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A working directory whose configs/ is the repository's plus a two-row suite (workers read it too)."""
    root = tmp_path_factory.mktemp("launch")
    shutil.copytree(REPO / "configs", root / "configs")
    (root / "configs" / "suites" / "tiny.yaml").write_text(SUITE)
    return root


@pytest.fixture
def in_workdir(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # spawned workers import this checkout

    def results(name):
        monkeypatch.setenv("LTBENCH_RESULTS", str(workdir / name))
        return workdir / name
    return results


@pytest.fixture(scope="module")
def local_reference(workdir):
    """The tiny suite run by the local launcher, once for the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        patch.setenv("LTBENCH_RESULTS", str(workdir / "local"))
        outcome = run_suite("tiny", "mnist_lt", SEEDS, SMALL)
        assert len(outcome.trained) == 4 and not outcome.failed
        return summary(workdir / "local")


def summary(results_root):
    """What must agree between launchers: the manifest (run ids per row), each run's metrics, and the table."""
    os.environ["LTBENCH_RESULTS"] = str(results_root)
    manifest = json.loads(manifest_path("tiny", "mnist_lt").read_text())
    rows = {row["label"]: [Path(d).name for d in row["run_dirs"]] for row in manifest["rows"]}
    runs = {}
    for row in manifest["rows"]:
        for run_dir in row["run_dirs"]:
            run_path = manifest_run_dir(manifest_path("tiny", "mnist_lt"), run_dir)  # a run id under the results root
            metrics = json.loads((run_path / "metrics.json").read_text())
            runs[Path(run_dir).name] = (metrics["map"], metrics["per_class_ap"])
    table = render_csv(build_table(collect_runs(manifests=[manifest_path("tiny", "mnist_lt")])))
    return {"rows": rows, "seeds": manifest["seeds"], "failed": manifest["failed"], "runs": runs, "table": table}


@pytest.mark.slow
def test_pool_of_two_workers_gives_the_local_runs(local_reference, in_workdir):
    root = in_workdir("pool")
    outcome = run_suite("tiny", "mnist_lt", SEEDS, SMALL, launcher=LaunchOptions("pool", jobs=2))
    assert len(outcome.trained) == 4 and not outcome.failed
    assert summary(root) == local_reference  # same run ids and bit-identical metrics
    again = run_suite("tiny", "mnist_lt", SEEDS, SMALL, launcher=LaunchOptions("pool", jobs=2))
    assert not again.trained and len(again.reused) == 4


@pytest.mark.slow
def test_submitit_job_array_gives_the_local_manifest_and_table(local_reference, in_workdir):
    pytest.importorskip("submitit")
    root = in_workdir("slurm")
    options = LaunchOptions("slurm", slurm=SlurmOptions(gpus_per_job=0, cpus_per_job=1, wait=True, cluster="local"))
    outcome = run_suite("tiny", "mnist_lt", SEEDS, SMALL, launcher=options)
    assert len(outcome.trained) == 4 and not outcome.failed
    assert summary(root) == local_reference
    assert list((root / "slurm" / "tiny_mnist_lt").glob("*/*_log.out"))  # logs under the results root


@pytest.mark.slow
def test_two_suite_processes_on_one_manifest_train_each_run_once(workdir, in_workdir):
    root = in_workdir("twice")
    command = [sys.executable, "-m", "ltbench", "suite", "tiny", "--dataset", "mnist_lt", "--seeds", "2",
               *(f"--{o.replace('=', ' ').split()[0]}={o.split('=')[1]}" for o in SMALL)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    counts = [re.search(r"(\d+) trained, (\d+) already finished, 0 skipped", out).groups() for out, _ in outputs]
    trained, finished = zip(*[(int(t), int(f)) for t, f in counts])
    assert sum(trained) == 4 and [t + f for t, f in zip(trained, finished)] == [4, 4]  # each run trained once
    manifest = json.loads(manifest_path("tiny", "mnist_lt").read_text())
    assert manifest["seeds"] == SEEDS and all(len(row["run_dirs"]) == 2 for row in manifest["rows"])
    for run_dir in (root / "runs" / "mnist_lt").iterdir():
        epochs = [json.loads(line)["epoch"] for line in (run_dir / "history.jsonl").read_text().splitlines()]
        assert epochs == [1, 2]


@pytest.mark.slow
def test_dry_run_lists_done_and_to_do_and_writes_nothing(local_reference, in_workdir, capsys):
    from ltbench.cli import main

    root = in_workdir("local")
    before = sorted(p for p in root.rglob("*"))
    assert main(["suite", "tiny", "--dataset", "mnist_lt", "--seeds", "3", "--dry-run", *SMALL]) == 0
    out = capsys.readouterr().out
    assert out.count("│ done") == 4 and out.count("│ to do") == 2  # seeds 1-2 finished, seed 3 of both rows not
    assert "4 done, 2 to do or in progress" in out
    for run_id in local_reference["runs"]:
        assert run_id in out
    assert sorted(p for p in root.rglob("*")) == before


def test_pool_workers_split_gpus_round_robin_and_cores_evenly():
    assert worker_settings(2, ["0", "1"], 16) == [("0", 8), ("1", 8)]
    assert worker_settings(3, ["4", "6"], 2) == [("4", 1), ("6", 1), ("4", 1)]
    assert worker_settings(2, [], 2) == [(None, 1), (None, 1)]


def test_a_pool_worker_takes_its_gpu_and_thread_share(monkeypatch):
    import queue

    import torch

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    threads = torch.get_num_threads()
    settings = queue.Queue()
    settings.put(("3", 1))
    try:
        _start_worker(settings)
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "3" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_slurm_without_submitit_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)
    monkeypatch.delitem(sys.modules, "ltbench.launch.slurm", raising=False)
    with pytest.raises(LtbenchError, match=r'pip install -c constraints.txt -e "\.\[slurm\]"'):
        import ltbench.launch.slurm  # noqa: F401


def test_slurm_without_sbatch_is_one_sentence(monkeypatch, tmp_path):
    pytest.importorskip("submitit")
    from ltbench.launch.slurm import submit_array

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LtbenchError, match="needs SLURM's sbatch on PATH"):
        submit_array([], SlurmOptions(), tmp_path)


def test_a_preempted_array_job_requeues_the_same_task():
    pytest.importorskip("submitit")
    from ltbench.launch.slurm import SuiteJob
    from ltbench.launch.tasks import SuiteTask

    task = SuiteTask("tiny", "mnist_lt", "ERM", 1, tuple(SMALL))
    job = SuiteJob()
    requeued = job.checkpoint(task)  # what submitit calls on SIGUSR2 (preemption) or the time limit
    assert requeued.function is job and requeued.args == (task,)
