"""``RunDir``, the one owner of a run directory: what it answers, what it writes, and the trainer's history."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ltbench.experiment import build_experiment, run_experiment
from ltbench.reports import collect_runs
from ltbench.config.resolve import resolve_config
from ltbench.runs.run_dir import RunDir, RunReadError, RunUnfinished
from run_dirs import make_run


def test_finished_unfinished_and_missing_runs_are_told_apart(tmp_path: Path) -> None:
    done = RunDir(make_run(tmp_path, "done", "voc_lt", "erm", 1, (70.0, 80.0, 60.0, 50.0)))
    running = RunDir(make_run(tmp_path, "running", "voc_lt", "erm", 2, (1.0, 1.0, 1.0, 1.0), status="running"))
    gone = RunDir(tmp_path / "gone")
    assert (done.finished, running.finished, gone.finished) == (True, False, False)
    assert done.finished_record().metrics["map"]["total"] == 70.0
    with pytest.raises(RunUnfinished, match="unfinished \\(status 'running'\\)") as unfinished:
        running.finished_record()
    assert unfinished.value.status == "running"
    with pytest.raises(RunReadError, match="missing config.yaml"):
        gone.finished_record()
    (done.path / "metrics.json").write_text("{not json")
    assert not done.finished
    assert collect_runs(tmp_path).problems == [f"{done.path}: unreadable (JSONDecodeError: Expecting property name "
                                               f"enclosed in double quotes: line 1 column 2 (char 1))",
                                               f"{running.path}: unfinished (status 'running')"]


def test_history_and_scores_read_back_what_was_written(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    assert run.history() == [] and not run.started
    rows = [{"epoch": 1, "train_loss": 0.5, "lr": 0.1}, {"epoch": 2, "train_loss": 0.25, "test_map": 33.3}]
    run.write_history(rows)
    assert run.history() == rows and run.started
    assert [json.loads(line) for line in (run.path / "history.jsonl").read_text().splitlines()] == rows
    scores, targets = np.array([[0.25, 0.75]]), np.array([[0, 1]])
    run.write_scores(scores, targets, "log_softmax")
    saved_scores, saved_targets, score = run.scores()
    assert saved_scores.dtype == np.float32 and saved_targets.dtype == np.uint8 and score == "log_softmax"
    assert saved_scores.tolist() == [[0.25, 0.75]] and saved_targets.tolist() == [[0, 1]]
    with pytest.raises(RunReadError, match="missing scores.npz"):
        RunDir(tmp_path / "other").scores()


@pytest.mark.slow
def test_the_trainer_keeps_its_history_and_never_reads_it_back_while_training(tmp_path: Path, monkeypatch) -> None:
    reads: list[Path] = []
    read = RunDir.history
    monkeypatch.setattr(RunDir, "history", lambda self: reads.append(self.path) or read(self))
    config = resolve_config("erm", "mnist_lt", overrides=[
        f"output.root={tmp_path}", "train.epochs=3", "eval.interval=1", "dataset.max_count=60",
        "dataset.num_test=60", "input.size=32"])
    experiment = build_experiment(config)
    metrics = run_experiment(experiment)
    written = [json.loads(line) for line in (experiment.run_dir / "history.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in written] == [1, 2, 3]
    assert written[-1]["test_map"] == metrics["map"]["total"]  # the reported model's mAP, put on the last row
    assert reads == [experiment.run_dir]  # once for 3 epochs: the rows to resume from, when training starts
