"""Killed runs: SIGKILL at a checkpoint write or between scores.npz and metrics.json, and SIGTERM.

A subprocess runs the CLI with ``os.replace`` wrapped so that the process signals itself at the n-th
rename onto a given file: the temp file is complete but not yet renamed, the worst moment. The run is
then resumed; no temp file may survive, and its results must equal those of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ltbench.cli import main

# head, medium and tail all hold classes, so every group mAP is a number
RUN = ["run", "--method", "erm", "--dataset", "mnist_lt", "--train.epochs", "3", "--input.size", "32",
       "--dataset.max_count", "120", "--dataset.num_test", "100"]
SIGNAL_AT_RENAME = """
import os, signal, sys
from ltbench.cli import main
target, nth, signum = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
real_replace, seen = os.replace, []
def replace(source, destination):
    if os.path.basename(destination) == target:
        seen.append(destination)
        if len(seen) == nth:
            os.kill(os.getpid(), signum)
    real_replace(source, destination)
os.replace = replace
sys.exit(main(sys.argv[4:]))
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory of the same run, never interrupted."""
    root = tmp_path_factory.mktemp("reference")
    assert main([*RUN, "--output.root", str(root)]) == 0
    (run_dir,) = (root / "mnist_lt").iterdir()
    return run_dir


def signalled_run(root: Path, target: str, nth: int, signum: int) -> subprocess.CompletedProcess[str]:
    paths = [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}  # this checkout's ltbench, not an installed one
    return subprocess.run([sys.executable, "-c", SIGNAL_AT_RENAME, target, str(nth), str(signum),
                           *RUN, "--output.root", str(root)], capture_output=True, text=True, env=env, timeout=300)


def temp_files(folder: Path) -> list[Path]:
    return list(folder.rglob("*.tmp"))


def assert_same_results(run_dir: Path, reference: Path) -> None:
    metrics, expected = (json.loads((d / "metrics.json").read_text()) for d in (run_dir, reference))
    assert metrics["status"] == "finished"
    assert metrics["map"] == expected["map"] and metrics["per_class_ap"] == expected["per_class_ap"]
    with np.load(run_dir / "scores.npz") as scores, np.load(reference / "scores.npz") as wanted:
        assert np.array_equal(scores["scores"], wanted["scores"])


@pytest.mark.slow
@pytest.mark.parametrize("target, nth", [("checkpoint.pt", 2), ("metrics.json", 1)])
def test_sigkill_mid_write_leaves_a_temp_file_that_the_resume_sweeps(tmp_path, reference, target, nth):
    killed = signalled_run(tmp_path, target, nth, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (run_dir,) = (tmp_path / "mnist_lt").iterdir()
    assert [p.name.split(".")[1] for p in temp_files(tmp_path)] == [target.split(".")[0]]  # the kill left one
    assert main([*RUN, "--output.root", str(tmp_path)]) == 0
    assert temp_files(tmp_path) == []
    assert_same_results(run_dir, reference)


@pytest.mark.slow
def test_sigterm_ends_like_ctrl_c_and_the_run_resumes(tmp_path, reference):
    terminated = signalled_run(tmp_path, "checkpoint.pt", 2, signal.SIGTERM)
    assert terminated.returncode == 143
    assert "Traceback" not in terminated.stderr
    assert "terminated; run the same command again to resume" in terminated.stderr
    assert temp_files(tmp_path) == []  # unwound like Ctrl-C: the temp file was removed on the way out
    (run_dir,) = (tmp_path / "mnist_lt").iterdir()
    assert not (run_dir / "metrics.json").exists()
    assert main([*RUN, "--output.root", str(tmp_path)]) == 0
    assert_same_results(run_dir, reference)
