"""Suites skip finished runs and complete interrupted ones."""

import json
from dataclasses import replace

import pytest
import yaml

import ltbench.launch.suites as suites
from conftest import TINY_SUITE
from ltbench.engine.trainer import Trainer
from ltbench.errors import LtbenchError
from ltbench.plugins import load_plugins
from ltbench.registry import DATASETS
from ltbench.launch.launchers import run_suite


@pytest.mark.slow
def test_rerunning_a_finished_suite_trains_nothing(tiny_suite, monkeypatch):
    first = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert len(first.trained) == 2 and not first.reused and not first.failed
    manifest = json.loads(first.manifest.read_text())
    assert [row["label"] for row in manifest["rows"]] == ["ERM", "Focal"]
    monkeypatch.setattr(Trainer, "fit", lambda self: pytest.fail("a finished run was trained again"))
    again = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert not again.trained and sorted(again.reused) == sorted(first.trained)


@pytest.mark.slow
def test_interrupted_suite_completes_the_rest(tiny_suite, monkeypatch):
    original = Trainer.fit
    calls = []

    def fit_then_die(self):
        calls.append(self.rundir.path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed during the second run
        return original(self)

    monkeypatch.setattr(Trainer, "fit", fit_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_suite("tiny", "mnist_lt", [1], tiny_suite)
    monkeypatch.setattr(Trainer, "fit", original)
    resumed = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert len(resumed.reused) == 1 and resumed.trained == [calls[1]]


@pytest.mark.slow
def test_a_row_that_cannot_run_is_reported_and_the_rest_runs(tiny_suite, tmp_path):
    no_weights = tmp_path / "no-clip"
    clip_row = "  - {label: CLIP, method: cprfl, overrides: {text: {encoder: clip-rn50, cache_dir: '%s'}}}\n"
    (tmp_path / "configs" / "suites" / "tiny.yaml").write_text(TINY_SUITE + clip_row % no_weights)
    outcome = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert len(outcome.trained) == 2
    assert len(outcome.failed) == 1 and "CLIP" in outcome.failed[0] and "text.weights" in outcome.failed[0]


@pytest.mark.slow
def test_rerun_with_a_subset_of_rows_and_seeds_merges_the_manifest(tiny_suite, monkeypatch):
    run_suite("tiny", "mnist_lt", [1], tiny_suite)
    outcome = run_suite("tiny", "mnist_lt", [2], tiny_suite, rows=["Focal"])
    manifest = json.loads(outcome.manifest.read_text())
    dirs = {row["label"]: row["run_dirs"] for row in manifest["rows"]}
    assert manifest["seeds"] == [1, 2]
    assert len(dirs["ERM"]) == 1 and len(dirs["Focal"]) == 2  # ERM's seed-1 run is kept
    # a row whose config changed replaces its run of that seed, instead of listing both
    run_suite("tiny", "mnist_lt", [2], [*tiny_suite, "train.batch_size=16"], rows=["Focal"])
    focal = json.loads(outcome.manifest.read_text())["rows"][1]["run_dirs"]
    assert len(focal) == 2 and focal[0] == dirs["Focal"][0] and focal[1] != dirs["Focal"][1]
    # run directories stay in seed order whichever seed ran last
    run_suite("tiny", "mnist_lt", [1], [*tiny_suite, "train.batch_size=16"], rows=["Focal"])
    focal = json.loads(outcome.manifest.read_text())["rows"][1]["run_dirs"]
    assert [suites.run_seed(d) for d in focal] == [1, 2] and focal[0] != dirs["Focal"][0]


@pytest.mark.slow
def test_a_run_failing_during_training_is_recorded_and_the_suite_goes_on(tiny_suite, monkeypatch):
    original = Trainer.fit

    def diverge_for_erm(self):
        if self.config["method"]["name"] == "erm":
            raise LtbenchError("The loss became nan in epoch 1; lower train.optimizer.lr.")
        return original(self)

    monkeypatch.setattr(Trainer, "fit", diverge_for_erm)
    outcome = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert len(outcome.failed) == 1 and outcome.failed[0].startswith("ERM (seed 1): The loss became nan")
    assert len(outcome.trained) == 1 and "erm" not in outcome.trained[0].name  # the failed run is not counted
    manifest = json.loads(outcome.manifest.read_text())
    assert manifest["failed"] == outcome.failed and len(manifest["rows"][1]["run_dirs"]) == 1
    run_suite("tiny", "mnist_lt", [1], tiny_suite, rows=["Focal"])
    assert json.loads(outcome.manifest.read_text())["failed"] == outcome.failed  # kept by a call on other rows
    monkeypatch.setattr(Trainer, "fit", original)
    run_suite("tiny", "mnist_lt", [1], tiny_suite, rows=["ERM"])
    assert json.loads(outcome.manifest.read_text())["failed"] == []  # forgotten once the run succeeded


@pytest.mark.slow
def test_a_row_can_train_with_another_config_and_the_dataset_is_built_once(tiny_suite, tmp_path, monkeypatch):
    (tmp_path / "configs" / "mnist_lt").mkdir(exist_ok=True)
    (tmp_path / "configs" / "mnist_lt" / "recipe.yaml").write_text("train: {batch_size: 16}\n")
    (tmp_path / "configs" / "suites" / "tiny.yaml").write_text(
        TINY_SUITE + "  - {label: Focal on recipe, method: focal, config: recipe}\n")
    built = []
    load_plugins()  # registers mnist_lt, so the test does not depend on an earlier one having done it
    original = DATASETS.get("mnist_lt")
    monkeypatch.setitem(DATASETS._entries, "mnist_lt",
                        replace(DATASETS.entry("mnist_lt"), factory=lambda **kw: built.append(kw) or original(**kw)))
    outcome = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert len(outcome.trained) == 3 and len(built) == 1
    configs = [yaml.safe_load((run / "config.yaml").read_text()) for run in outcome.trained]
    assert [c["train"]["batch_size"] for c in configs] == [32, 32, 16]
    (tmp_path / "configs" / "mnist_lt" / "recipe.yaml").unlink()
    missing = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert "mnist_lt/recipe.yaml, which no config folder holds" in missing.failed[0]
