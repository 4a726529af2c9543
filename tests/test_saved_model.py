"""A finished run leaves a model anyone can use: model.safetensors, `ltbench eval`, `ltbench.load_run`; and its
bootstrap replicates, so views never resample it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import ltbench
from ltbench.cli import main
from ltbench.errors import LtbenchError
from ltbench.reports.bootstrap import bootstrap_runs, read_sample
from ltbench.reports.run_replicates import stored_replicates
from ltbench.runs.run_dir import REPLICATES_FILE, read_run

README = Path(__file__).resolve().parent.parent / "README.md"
SMALL = ["dataset.max_count=100", "dataset.num_test=200", "train.epochs=3"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return ltbench.run("erm", "mnist_lt", overrides=[*SMALL, f"output.root={root}"])


def test_a_finished_run_keeps_its_model_and_drops_its_training_state(finished):
    files = {p.name for p in finished.run_dir.iterdir()}
    assert "model.safetensors" in files and "checkpoint.pt" not in files
    # the frozen ImageNet backbone is not copied into every run: only the trained head and the buffers
    assert (finished.run_dir / "model.safetensors").stat().st_size < 1_000_000


def test_a_finished_run_stores_the_bootstrap_replicates_its_scores_give(finished):
    run = finished.run_dir
    sample = read_sample(read_run(run))
    assert (run / REPLICATES_FILE).is_file()
    np.testing.assert_array_equal(stored_replicates(run, sample), bootstrap_runs({run: sample}).values[run])


@pytest.mark.slow
def test_eval_reproduces_the_runs_numbers_to_the_last_digit(finished, capsys):
    assert main(["eval", str(finished.run_dir)]) == 0
    total = finished.metrics["map"]["total"]
    assert f"mAP total {total:.2f}" in capsys.readouterr().out
    again = ltbench.evaluate_run(finished.run_dir)
    assert again["total"] == total and again["per_class_ap"] == finished.metrics["per_class_ap"]


def test_load_run_returns_the_model_config_and_metrics(finished):
    loaded = ltbench.load_run(finished.run_dir)
    assert loaded.metrics["map"] == finished.metrics["map"] and loaded.config["method"]["name"] == "erm"
    assert not loaded.model.training
    images = torch.rand(2, 3, 64, 64)
    assert loaded.model(images).shape == (2, loaded.experiment.dataset.num_classes)


def test_a_changed_frozen_weights_file_is_refused_on_loading(finished, tmp_path):
    import yaml

    config = yaml.safe_load((finished.run_dir / "config.yaml").read_text())
    config["model"]["pretrained"] = False  # the rebuilt backbone is no longer the one trained with
    moved = tmp_path / "moved"
    moved.mkdir()
    for file in finished.run_dir.iterdir():
        (moved / file.name).write_bytes(file.read_bytes())
    (moved / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(LtbenchError, match="frozen weights rebuilt .* differ"):
        ltbench.load_run(moved)


@pytest.mark.slow
def test_keep_checkpoint_keeps_the_training_state(tmp_path):
    result = ltbench.run("erm", "mnist_lt", overrides=[*SMALL, "train.epochs=1", "train.keep_checkpoint=true",
                                                       f"output.root={tmp_path}"])
    assert (result.run_dir / "checkpoint.pt").is_file()


@pytest.mark.slow
def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    block = re.search(r"```python\n(# ltbench API example.*?)```", README.read_text(), re.S)
    assert block, "the README's Python API example is missing"
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path))
    namespace: dict = {}
    exec(compile(block.group(1), "README example", "exec"), namespace)
    assert namespace["loaded"].metrics["map"]["total"] > 30
