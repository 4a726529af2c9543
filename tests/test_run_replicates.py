"""The bootstrap replicates a finished run stores (replicates.npz): the same intervals as computed fresh, still
paired with every other run of the test set, and ignored (recomputed) once stale."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ltbench.evaluation import evaluate
from ltbench.reports import build_table, collect_runs
from ltbench.reports import evidence
from ltbench.reports.bootstrap import bootstrap_runs, read_sample
from ltbench.reports.reference import METRICS
from ltbench.reports.run_replicates import run_end_replicates, stored_replicates
from ltbench.runs.run_dir import REPLICATES_FILE, RunDir, read_run
from run_dirs import GROUPS, make_run

N_TEST = 200


def _targets() -> np.ndarray:
    found = (np.random.default_rng(0).random((N_TEST, 5)) < np.array([0.4, 0.3, 0.2, 0.15, 0.1])).astype(np.uint8)
    found[:5] |= np.eye(5, dtype=np.uint8)
    return found


def _runs(root: Path, finished_by_the_run_end_writer: bool) -> list[Path]:
    """Two rows of two seeds on one test set; with the run-end writer, each run stores its replicates."""
    runs = []
    for draw, (label, noise) in enumerate((("Near", 0.6), ("Far", 1.2))):
        for seed in (1, 2):
            scores = (_targets() + np.random.default_rng(seed + 10 * draw).normal(0, noise, _targets().shape))
            scores = scores.astype(np.float32)
            result = evaluate(scores, _targets(), {g: np.array(v) for g, v in GROUPS.items()})
            run = make_run(root, f"{label.lower()}_s{seed}_0123abcd", "mnist_lt", "erm", seed,
                           tuple(result[m] for m in METRICS), label=label, per_class_ap=result["per_class_ap"],
                           config={"train": {"noise": noise}})
            rundir = RunDir(run)
            if finished_by_the_run_end_writer:
                metrics = rundir.metrics()
                rundir.write_results(metrics, scores, _targets(), "logit",
                                     run_end_replicates(scores, _targets(), "logit", metrics))
            else:
                rundir.write_scores(scores, _targets(), "logit")
            runs.append(run)
    return runs


def _table_csv(root: Path) -> str:
    return build_table(collect_runs(root), None).to_csv(index=False)


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LTBENCH_CACHE", str(cache))
    return cache


def test_a_tables_intervals_from_written_replicates_equal_those_computed_fresh(
        tmp_path: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _table_csv(_runs(tmp_path / "fresh", False)[0].parent)
    assert (fresh_cache / "bootstrap").is_dir()  # computed, and cached as before
    written = _runs(tmp_path / "written", True)
    assert all((run / REPLICATES_FILE).is_file() for run in written)
    monkeypatch.setattr(evidence, "bootstrap_runs", lambda *a, **k: pytest.fail("a stored replicate was recomputed"))
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "another cache"))
    assert _table_csv(written[0].parent) == fresh
    assert not (tmp_path / "another cache").exists()


def test_a_runs_stored_replicates_are_paired_with_the_other_runs_of_its_test_set(tmp_path: Path) -> None:
    runs = _runs(tmp_path, True)
    samples = {run: read_sample(read_run(run)) for run in runs}
    together = bootstrap_runs(samples).values  # one call over all four runs: the same resamples for each
    for run in runs:
        np.testing.assert_array_equal(stored_replicates(run, samples[run]), together[run])


def test_stale_replicates_are_never_used(tmp_path: Path, fresh_cache: Path) -> None:
    first, second, *_ = _runs(tmp_path / "runs", True)
    scores, targets, score = RunDir(first).scores()
    RunDir(first).write_scores(scores[:, ::-1].copy(), targets, score)  # other scores: the stored key no longer fits
    metrics = json.loads((second / "metrics.json").read_text())
    metrics["groups"] = {"head": [0, 1], "medium": [2], "tail": [3, 4]}  # other groups: other group mAPs
    (second / "metrics.json").write_text(json.dumps(metrics))
    for run in (first, second):
        assert stored_replicates(run, read_sample(read_run(run))) is None
    stale = _table_csv(first.parent)
    for run in (first, second):
        (run / REPLICATES_FILE).unlink()
    assert _table_csv(first.parent) == stale  # the table of the stale runs is the one computed without their files


def test_an_unreadable_replicates_file_is_recomputed(tmp_path: Path, fresh_cache: Path) -> None:
    runs = _runs(tmp_path / "runs", True)
    expected = _table_csv(runs[0].parent)
    (runs[0] / REPLICATES_FILE).write_bytes(b"not an npz")
    assert RunDir(runs[0]).replicates() == {}
    assert _table_csv(runs[0].parent) == expected


def test_run_end_replicates_hold_the_metric_under_its_key(tmp_path: Path) -> None:
    run = _runs(tmp_path, False)[0]
    scores, targets, score = RunDir(run).scores()
    stored = run_end_replicates(scores, targets, score, RunDir(run).metrics())
    key, values = stored["map"]
    assert values.shape == (len(METRICS), 1000) and len(key) > 10
    sample = read_sample(read_run(run))
    np.testing.assert_array_equal(values, bootstrap_runs({run: sample}).values[run])

