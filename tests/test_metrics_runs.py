"""The metrics in run directories: recorded by training, recomputed for old runs, shown by table and compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ltbench.cli import main
from ltbench.metrics import evaluate_metrics
from ltbench.metrics.scored import Scored
from ltbench.runs.run_dir import RunDir
from run_dirs import make_run

REPO_ROOT = Path(__file__).resolve().parent.parent
COMMITTED = REPO_ROOT / "results" / "mnist_lt"


@pytest.mark.slow
def test_a_default_erm_run_records_every_metric(tmp_path):
    assert main(["run", "--method", "erm", "--dataset", "mnist_lt", "--train.epochs", "2",
                 f"--output.root={tmp_path}"]) == 0
    run = next(tmp_path.rglob("metrics.json")).parent
    recorded = RunDir(run).metrics()["metrics"]
    for name in ("cf1", "of1", "cf1_top3", "of1_top3", "cf1_mmpretrain", "of1_top3_mmpretrain", "image_map",
                 "auroc"):
        assert 0.0 <= recorded[name]["total"] <= 100.0, name
        assert recorded[name]["definition"]
    assert recorded["cf1"]["decision"].startswith("logit >= 0")
    scores, targets, score = RunDir(run).scores()
    again = evaluate_metrics(Scored(scores, targets, RunDir(run).metrics()["groups"], score))
    assert again["of1"]["total"] == pytest.approx(recorded["of1"]["total"], abs=1e-9)


@pytest.mark.slow
def test_an_old_run_gets_its_metrics_from_its_scores(tmp_path, capsys):
    run = make_run(tmp_path, "old", "voc_lt", "erm", 1, (70.0, 80.0, 60.0, 50.0))
    assert "metrics" not in RunDir(run).metrics()
    assert main(["eval", str(run), "--from-scores"]) == 0
    out = capsys.readouterr().out
    assert "cf1" in out and "logit >= 0" in out
    recorded = RunDir(run).metrics()["metrics"]
    scores, targets, _ = RunDir(run).scores()
    assert recorded["op"]["total"] == pytest.approx(100 * targets.sum() / targets.size)  # every score >= 0
    assert RunDir(run).metrics()["map"]["total"] == 70.0  # nothing else changed


def test_compare_in_another_metric(tmp_path, capsys):
    a = make_run(tmp_path, "a", "voc_lt", "erm", 1, (70.0, 80.0, 60.0, 50.0))
    b = make_run(tmp_path, "b", "voc_lt", "erm", 2, (72.0, 80.0, 60.0, 50.0))
    assert main(["compare", str(a), str(b), "--metric", "auroc"]) == 0
    out = capsys.readouterr().out
    assert "AUROC (%)" in out and "hierarchical bootstrap" in out
    assert main(["compare", str(a), str(b), "--metric", "f1"]) == 2
    assert "Unknown metric 'f1'" in capsys.readouterr().err


def test_list_metrics(capsys):
    assert main(["list", "metrics"]) == 0
    out = capsys.readouterr().out
    assert "cf1_top3_mmpretrain" in out and "ML-GCN" in out


def _mlgcn_of1(run: Path) -> float:
    """ML-GCN's OF1 written out from its util.py: Np clamped to 1 per class before the sums."""
    scores, targets, _ = RunDir(run).scores()
    pred = scores >= 0
    correct, predicted, truth = (pred & (targets > 0)).sum(0), np.maximum(pred.sum(0), 1), (targets > 0).sum(0)
    op, recall = correct.sum() / predicted.sum(), correct.sum() / truth.sum()
    return 100 * 2 * op * recall / (op + recall)


@pytest.mark.slow
def test_table1_in_of1_on_the_committed_runs(tmp_path, monkeypatch, capsys):
    """The committed runs predate the metrics: OF1 comes from their scores.npz, with intervals."""
    monkeypatch.setenv("LTBENCH_RESULTS", str(COMMITTED))
    assert main(["table", "--suite", "table1", "--metric", "of1", "--out", str(tmp_path)]) == 0
    assert "OF1 (%)" in capsys.readouterr().out
    lines = (tmp_path / "table1_of1.csv").read_text().splitlines()
    row = dict(zip(lines[0].split(","), next(line for line in lines if line.startswith("ERM,")).split(",")))
    manifest = json.loads((COMMITTED / "suites" / "table1_mnist_lt.json").read_text())
    runs = next(r for r in manifest["rows"] if r["label"] == "ERM")["run_dirs"]
    expected = np.mean([_mlgcn_of1(COMMITTED / entry) for entry in runs])
    assert float(row["total_mean"]) == pytest.approx(expected, abs=1e-4)
    assert float(row["total_low"]) < float(row["total_mean"]) < float(row["total_high"])
    assert not (tmp_path / "table1.csv").exists()  # the mAP table keeps its own name


def test_a_log_softmax_row_has_no_threshold_metric(tmp_path):
    """Its logits are lost (docs/scores.md): '–' in CF1, never in the best set; its top-3 F1 is still there."""
    from ltbench.reports import build_table, collect_runs

    make_run(tmp_path, "a", "voc_lt", "erm", 1, (70.0, 80.0, 60.0, 50.0))
    make_run(tmp_path, "b", "voc_lt", "erm", 2, (70.0, 80.0, 60.0, 50.0), label="softmax")
    make_run(tmp_path, "c", "voc_lt", "erm", 3, (70.0, 80.0, 60.0, 50.0), label="other")
    scores, targets, _ = RunDir(tmp_path / "b").scores()
    RunDir(tmp_path / "b").write_scores(np.log(scores / scores.sum(axis=1, keepdims=True)), targets, "log_softmax")
    frame = build_table(collect_runs(tmp_path), metric="cf1").set_index("label")
    assert np.isnan(frame.loc["softmax", "total_mean"]) and not frame.loc["softmax", "total_best"]
    assert frame.loc["other", "total_best"] and not np.isnan(frame.loc["ERM", "total_mean"])
    top3 = build_table(collect_runs(tmp_path), metric="cf1_top3_mmpretrain").set_index("label")
    assert not np.isnan(top3.loc["softmax", "total_mean"])
