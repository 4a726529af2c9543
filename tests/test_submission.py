"""The submission format: export then ``eval --scores`` reproduces a run's per-class AP exactly.

Malformed files (one sentence naming what differs, exit 2, nothing written) are in tests/test_errors.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import table1_run
from ltbench.cli import main
from ltbench.evaluation import evaluate
from ltbench.fileio.atomic import finite
from ltbench.metrics import evaluate_metrics
from ltbench.metrics.scored import Scored
from ltbench.reports import build_table, collect_runs
from ltbench.reports.reference import METRICS
from ltbench.runs.run_dir import RunDir
from ltbench.submissions.format import ENTRIES, read_submission
from ltbench.submissions.record import score_file


@pytest.mark.slow
def test_round_trip_reproduces_per_class_ap_exactly(exported_submission: Path, results_in_tmp: Path, capsys) -> None:
    run = RunDir(table1_run())
    metrics = run.metrics()
    assert main(["eval", "--scores", str(exported_submission), "--dataset", "mnist_lt"]) == 0
    printed = capsys.readouterr().out
    assert f"{metrics['map']['total']:6.2f}" in printed
    [recorded] = (results_in_tmp / "submissions" / "mnist_lt").iterdir()
    again = RunDir(recorded).metrics()
    assert again["per_class_ap"] == metrics["per_class_ap"]  # float for float, not approximately
    assert again["map"] == metrics["map"]
    scores, targets, score = run.scores()
    assert again["per_class_ap"] == evaluate(scores, targets, {})["per_class_ap"]
    assert again["submission"]["checkpoint"] == "last" and again["submission"]["method"] == metrics["label"]
    scored = Scored(scores, targets, metrics["groups"], score)
    assert again["metrics"] == finite(evaluate_metrics(scored))  # every other metric (NaN stored as null)


def test_image_order_does_not_matter(exported_submission: Path, tmp_path: Path) -> None:
    arrays = dict(np.load(exported_submission))
    order = np.random.default_rng(0).permutation(len(arrays["image_ids"]))
    arrays["image_ids"], arrays["scores"] = arrays["image_ids"][order], arrays["scores"][order]
    shuffled = tmp_path / "shuffled.npz"
    np.savez(shuffled, **arrays)
    assert score_file(shuffled, "mnist_lt").metrics["per_class_ap"] == \
        score_file(exported_submission, "mnist_lt").metrics["per_class_ap"]


@pytest.mark.slow
def test_printed_interval_is_the_tables_interval(exported_submission: Path, results_in_tmp: Path) -> None:
    scored = score_file(exported_submission, "mnist_lt")
    assert main(["eval", "--scores", str(exported_submission), "--dataset", "mnist_lt"]) == 0
    frame = build_table(collect_runs(results_in_tmp / "submissions"))
    row = frame.iloc[0]
    for metric in METRICS:
        assert (row[f"{metric}_low"], row[f"{metric}_high"]) == pytest.approx(scored.intervals[metric], abs=1e-9)
        assert row[f"{metric}_low"] <= row[f"{metric}_mean"] <= row[f"{metric}_high"]


def test_exported_file_holds_the_documented_entries(exported_submission: Path, mnist_lt_test_split) -> None:
    with np.load(exported_submission, allow_pickle=False) as saved:
        assert sorted(saved.files) == sorted(ENTRIES)
    submission = read_submission(exported_submission)
    split = mnist_lt_test_split
    assert submission.image_ids == split.image_ids and submission.class_names == split.class_names
    assert submission.split_digest == split.digest and submission.scores.dtype == np.float32
    assert submission.metadata["ltbench"]["run"] == table1_run().name
