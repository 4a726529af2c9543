"""Suites skip finished runs and complete interrupted ones."""

import json

import pytest

import ltbench.suites as suites
from ltbench.engine.trainer import Trainer
from ltbench.suites import run_suite

SUITE = """
description: two rows for tests
rows:
  - {label: ERM, method: erm}
  - {label: Focal, method: focal, overrides: {loss: {gamma: 1.0}}}
"""


@pytest.fixture
def tiny_suite(tmp_path, monkeypatch):
    (tmp_path / "configs" / "suites").mkdir(parents=True)
    (tmp_path / "configs" / "suites" / "tiny.yaml").write_text(SUITE)
    monkeypatch.setattr(suites, "configs_root", lambda: tmp_path / "configs")
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path / "results"))
    return ["train.epochs=2"]


def test_rerunning_a_finished_suite_trains_nothing(tiny_suite, monkeypatch):
    first = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert len(first.trained) == 2 and not first.reused and not first.failed
    manifest = json.loads(first.manifest.read_text())
    assert [row["label"] for row in manifest["rows"]] == ["ERM", "Focal"]
    monkeypatch.setattr(Trainer, "fit", lambda self: pytest.fail("a finished run was trained again"))
    again = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert not again.trained and sorted(again.reused) == sorted(first.trained)


def test_interrupted_suite_completes_the_rest(tiny_suite, monkeypatch):
    original = Trainer.fit
    calls = []

    def fit_then_die(self):
        calls.append(self.run_dir)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed during the second run
        return original(self)

    monkeypatch.setattr(Trainer, "fit", fit_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_suite("tiny", "mnist_lt", [1], tiny_suite)
    monkeypatch.setattr(Trainer, "fit", original)
    resumed = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert len(resumed.reused) == 1 and resumed.trained == [calls[1]]


def test_a_row_that_cannot_run_is_reported_and_the_rest_runs(tiny_suite, tmp_path):
    no_weights = tmp_path / "no-clip"
    clip_row = "  - {label: CLIP, method: cprfl, overrides: {text: {encoder: clip-rn50, cache_dir: '%s'}}}\n"
    (tmp_path / "configs" / "suites" / "tiny.yaml").write_text(SUITE + clip_row % no_weights)
    outcome = run_suite("tiny", "mnist_lt", [1], tiny_suite)
    assert len(outcome.trained) == 2
    assert len(outcome.failed) == 1 and "CLIP" in outcome.failed[0] and "text.weights" in outcome.failed[0]
