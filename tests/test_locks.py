"""Run locks and manifest locks between real processes: one trainer per run, no lost manifest rows."""

import os
import signal
import subprocess
import sys
import time

import pytest

from ltbench.errors import LtbenchError
from ltbench.fileio.locks import RUN_LOCK_FILE, RunInProgress, run_lock, run_lock_holder
from ltbench.launch.suites import Manifest, Suite, SuiteRow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOLD = """
import sys, time
from pathlib import Path
from ltbench.fileio.locks import run_lock
with run_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(run_dir, seconds):
    """A child process that holds ``run_dir``'s lock for ``seconds``; returns once it holds it."""
    env = {**os.environ, "PYTHONPATH": REPO}
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir), str(seconds)], stdout=subprocess.PIPE,
                             text=True, env=env)
    assert child.stdout.readline().strip() == "locked"
    return child


def test_a_run_locked_by_a_live_process_is_refused_in_one_sentence(tmp_path):
    child = hold_lock(tmp_path / "run", 60)
    try:
        with pytest.raises(RunInProgress) as caught:
            with run_lock(tmp_path / "run"):
                pytest.fail("two processes held one run's lock")
        message = str(caught.value)
        assert isinstance(caught.value, LtbenchError) and f"pid {child.pid}" in message
        assert "in progress elsewhere" in message and message.count(". ") == 0
        assert run_lock_holder(tmp_path / "run").startswith(f"pid {child.pid}")
    finally:
        child.kill()
        child.wait()


def test_the_lock_of_a_killed_process_does_not_block(tmp_path):
    child = hold_lock(tmp_path / "run", 60)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert (tmp_path / "run" / RUN_LOCK_FILE).is_file()  # the file stays; the kernel dropped the lock
    assert run_lock_holder(tmp_path / "run") is None
    with run_lock(tmp_path / "run"):
        assert (tmp_path / "run" / RUN_LOCK_FILE).read_text().startswith(f"pid {os.getpid()}")


def test_waiting_for_a_run_takes_its_lock_when_the_holder_ends(tmp_path):
    child = hold_lock(tmp_path / "run", 1.5)
    started = time.monotonic()
    with run_lock(tmp_path / "run", wait=True):
        assert time.monotonic() - started > 1.0  # it waited for the holder's 1.5 s
    assert child.wait() == 0


def test_a_dry_run_check_creates_nothing(tmp_path):
    assert run_lock_holder(tmp_path / "never") is None
    assert not (tmp_path / "never").exists()


RECORD = """
import sys
from pathlib import Path
from ltbench.launch.suites import Manifest, Suite, SuiteRow
rows = [SuiteRow(f"row{i}", "erm") for i in range(2)]
manifest = Manifest(Suite("race", "", rows), "mnist_lt")
row = rows[int(sys.argv[1])]
for seed in range(1, 16):
    manifest.record(row, seed, Path(f"/runs/{row.label}_s{seed}_abc"))
"""


def test_two_processes_recording_into_one_manifest_keep_every_row(tmp_path, monkeypatch):
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path))
    env = {**os.environ, "PYTHONPATH": REPO}
    writers = [subprocess.Popen([sys.executable, "-c", RECORD, str(i)], env=env) for i in range(2)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    rows = [SuiteRow(f"row{i}", "erm") for i in range(2)]
    data = Manifest(Suite("race", "", rows), "mnist_lt")._read()
    assert data["seeds"] == list(range(1, 16))
    for row in data["rows"]:
        assert row["run_dirs"] == [f"/runs/{row['label']}_s{seed}_abc" for seed in range(1, 16)]


@pytest.mark.slow
def test_ltbench_run_refuses_a_run_another_process_is_training(tmp_path, capsys):
    from ltbench.cli import main
    from ltbench.runs.run_dir import run_dir_of
    from ltbench.config.resolve import resolve_config

    argv = ["--train.epochs", "1", "--dataset.max_count", "100", "--dataset.num_test", "200",
            "--output.root", str(tmp_path)]
    overrides = [f"{argv[i][2:]}={argv[i + 1]}" for i in range(0, len(argv), 2)]
    run_dir = run_dir_of(resolve_config("erm", "mnist_lt", overrides=overrides))
    child = hold_lock(run_dir, 60)
    try:
        assert main(["run", "--method", "erm", "--dataset", "mnist_lt", *argv]) == 2
    finally:
        child.kill()
        child.wait()
    err = capsys.readouterr().err
    assert f"is in progress elsewhere (pid {child.pid}" in err and "Traceback" not in err
    assert sorted(p.name for p in run_dir.iterdir()) == [RUN_LOCK_FILE]  # nothing trained, nothing written
