"""One run on several processes: batches split by rank, and torchrun on CPU (gloo) against one process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from ltbench.data.loading import make_loader
from ltbench.data.samplers import ClassAwareSampler
from ltbench.engine.distributed import Distributed, RankSlice, shard_loader
from ltbench.errors import LtbenchError


def test_each_rank_takes_its_share_of_every_global_batch_and_the_partial_one_is_dropped():
    base = list(range(14))  # global batch 6 = 2 ranks x 3: batches [0..5], [6..11]; [12, 13] is dropped
    assert list(RankSlice(base, 0, 2, 3)) == [0, 1, 2, 6, 7, 8]
    assert list(RankSlice(base, 1, 2, 3)) == [3, 4, 5, 9, 10, 11]
    assert len(RankSlice(base, 1, 2, 3)) == 6


@pytest.mark.parametrize("sampler", ["random", "class_aware"])
def test_ranks_together_draw_the_single_process_batches(sampler):
    rng = np.random.default_rng(0)
    targets = (rng.random((40, 5)) < np.array([0.6, 0.3, 0.1, 0.05, 0.3])).astype(np.float32)
    dataset = TensorDataset(torch.arange(40), torch.from_numpy(targets))

    def loader():
        class_aware = ClassAwareSampler(targets, seed=3) if sampler == "class_aware" else None
        return make_loader(dataset, 8, shuffle=True, sampler=class_aware, seed=3, drop_last=True)

    def epochs(train_loader, n=2):
        batches = []
        for epoch in range(1, n + 1):
            train_loader.generator.manual_seed(3000 + epoch)  # as the trainer seeds each epoch
            batches += [x.tolist() for x, _ in train_loader]
        return batches

    single = epochs(loader())
    ranks = [epochs(shard_loader(loader(), Distributed(rank, 2, rank, "off"))) for rank in range(2)]
    assert [a + b for a, b in zip(*ranks)] == single  # rank 0's half then rank 1's half of each global batch
    assert len(ranks[0]) == len(single)


def test_a_global_batch_that_does_not_split_evenly_is_refused():
    dataset = TensorDataset(torch.arange(20), torch.zeros(20, 2))
    with pytest.raises(LtbenchError, match="multiple of the 3 processes"):
        shard_loader(make_loader(dataset, 8, shuffle=True), Distributed(0, 3, 0, "off"))


REPO = Path(__file__).resolve().parent.parent
SMALL = ["--method", "erm", "--dataset", "mnist_lt", "--train.epochs", "4", "--dataset.max_count", "100",
         "--dataset.num_test", "200"]
KILL_AFTER_EPOCH_2 = """
import os, signal, sys
import ltbench.experiment
from ltbench.engine import checkpoint
from ltbench.cli import main
save = checkpoint.save_checkpoint
def save_then_die(path, position, *args, **kwargs):
    save(path, position, *args, **kwargs)
    if position.epoch == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # rank 0, right after writing epoch 2's checkpoint
for module in list(sys.modules.values()):  # wherever save_checkpoint was imported by name
    if getattr(module, "save_checkpoint", None) is save:
        module.save_checkpoint = save_then_die
sys.exit(main(sys.argv[1:]))
"""


def ltbench(*argv, root):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *argv, f"--output.root={root}"], env=env, capture_output=True,
                          text=True, timeout=300)


def run_files(root):
    (run_dir,) = (root / "mnist_lt").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return run_dir, metrics, history, np.load(run_dir / "scores.npz")["scores"]


@pytest.fixture(scope="module")
def single_and_two_processes(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    one = ltbench("-m", "ltbench", "run", *SMALL, root=root / "one")
    two = ltbench("-m", "ltbench", "run", "--nproc", "2", *SMALL, root=root / "two")
    assert one.returncode == 0 and two.returncode == 0, one.stderr[-2000:] + two.stderr[-2000:]
    return root, run_files(root / "one"), run_files(root / "two")


@pytest.mark.slow
def test_two_gloo_processes_train_the_single_process_run_with_the_same_global_batch(single_and_two_processes):
    _, (dir1, metrics1, history1, scores1), (dir2, metrics2, history2, scores2) = single_and_two_processes
    assert dir1.name == dir2.name  # the same run: its id is its config hash, whatever the process count
    # tolerance: only the order of float sums differs (gradients averaged over two halves of each batch)
    assert np.abs(scores1 - scores2).max() < 1e-5
    assert np.allclose(metrics1["per_class_ap"], metrics2["per_class_ap"], atol=0.01)
    assert [h["train_loss"] for h in history1] == pytest.approx([h["train_loss"] for h in history2], rel=1e-6)
    assert [h["epoch"] for h in history2] == [1, 2, 3, 4]  # rank 0 alone wrote the history
    assert metrics1["map"]["total"] > 26.0  # chance on this draw is about 25


@pytest.mark.slow
def test_a_killed_two_process_run_resumes_bit_identical(single_and_two_processes, tmp_path):
    root, _, (_, metrics2, history2, scores2) = single_and_two_processes
    script = tmp_path / "kill_after_epoch_2.py"
    script.write_text(KILL_AFTER_EPOCH_2)
    killed = ltbench("-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(script), "run",
                     *SMALL, root=tmp_path / "run")
    assert killed.returncode != 0
    (run_dir,) = (tmp_path / "run" / "mnist_lt").iterdir()
    assert not (run_dir / "metrics.json").exists() and len((run_dir / "history.jsonl").read_text().splitlines()) == 2
    resumed = ltbench("-m", "ltbench", "run", "--nproc", "2", *SMALL, root=tmp_path / "run")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _, metrics, history, scores = run_files(tmp_path / "run")
    assert np.array_equal(scores, scores2) and metrics["per_class_ap"] == metrics2["per_class_ap"]
    assert [h["train_loss"] for h in history] == [h["train_loss"] for h in history2]


@pytest.mark.slow
def test_a_run_in_progress_elsewhere_is_refused_by_every_rank(single_and_two_processes):
    from ltbench.fileio.locks import run_lock

    root, (run_dir, *_), _ = single_and_two_processes
    with run_lock(run_dir):
        busy = ltbench("-m", "ltbench", "run", "--nproc", "2", *SMALL, root=root / "one")
    assert busy.returncode == 2 and "Traceback" not in busy.stderr
    assert busy.stderr.count(f"is in progress elsewhere (pid {os.getpid()}") == 1  # said once, by rank 0
