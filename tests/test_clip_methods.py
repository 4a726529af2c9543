"""The CLIP methods end to end on a small mnist_lt draw with tiny random CLIP models (nothing downloads).

configs/mnist_lt/<method>.yaml builds the real open_clip classes at tiny widths
with random weights (a smoke setting), so these runs show that each method
trains, evaluates and writes its run directory; what frozen must stay frozen;
HP-DVAL's two stages resume from a kill in stage 2.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ltbench.engine.trainer import Trainer
from ltbench.errors import LtbenchError
from ltbench.evaluation import chance_map
from ltbench.experiment import build_experiment, run_experiment
from ltbench.config.resolve import resolve_config
from ltbench.runs.run_dir import read_scores

SMALL_DRAW = ["dataset.max_count=40", "dataset.num_test=60"]


def config(tmp_path, method: str, *extra: str):
    return resolve_config(method, "mnist_lt", overrides=[f"output.root={tmp_path}", *SMALL_DRAW, *extra])


def frozen_state(model: torch.nn.Module, trains) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if not trains(n)}


def assert_bit_identical(before: dict[str, torch.Tensor], model: torch.nn.Module) -> None:
    params = dict(model.named_parameters())
    assert before and all(torch.equal(before[n], params[n].detach().cpu()) for n in before)
    assert all(params[n].grad is None for n in before)  # frozen towers keep no gradient


@pytest.mark.slow
def test_zsclip_only_evaluates_and_writes_its_run_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(Trainer, "_train_epoch", lambda *a: pytest.fail("zero-shot CLIP trained"))
    for preset in ("ensemble", "lmpt_compat"):
        experiment = build_experiment(config(tmp_path / preset, "zsclip", f"method.preset={preset}"))
        metrics = run_experiment(experiment)
        assert np.isfinite(metrics["map"]["total"]) and metrics["map"]["total"] > 0
        assert (experiment.run_dir / "scores.npz").is_file()
        scores, _, score = read_scores(experiment.run_dir / "scores.npz")
        assert score == {"ensemble": "logit", "lmpt_compat": "log_softmax"}[preset]
        if preset == "lmpt_compat":  # the log of a softmax over classes
            np.testing.assert_allclose(np.exp(scores).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("method, trains", [
    ("coop", lambda n: n == "head.text.context.context"),
    ("lmpt", lambda n: n == "head.text.context.context"),
])
def test_prompt_methods_train_only_the_contexts(tmp_path, method, trains):
    experiment = build_experiment(config(tmp_path, method, "train.epochs=2"))
    model = experiment.parts.model
    before = frozen_state(model, trains)
    context = model.head.text.context.context.detach().clone()
    metrics = run_experiment(experiment)
    assert_bit_identical(before, model)
    assert not torch.equal(context, model.head.text.context.context.detach().cpu())  # the contexts did train
    assert np.isfinite(metrics["map"]["total"])
    history = [json.loads(line) for line in (experiment.run_dir / "history.jsonl").read_text().splitlines()]
    assert len(history) == 2 and all(np.isfinite(row["train_loss"]) for row in history)


def test_lmpt_without_captions_is_one_sentence(tmp_path):
    with pytest.raises(LtbenchError, match="none were given; pass method.captions=") as error:
        build_experiment(config(tmp_path, "lmpt", "method.captions=null"))
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_hp_dval_runs_both_stages_and_resumes_from_a_kill_in_stage_2(tmp_path, monkeypatch):
    one_align_epoch = "method.align_epochs=1"
    straight = build_experiment(config(tmp_path / "straight", "hp_dval", one_align_epoch))
    reference = run_experiment(straight)
    stages = [json.loads(line)["stage"] for line in (straight.run_dir / "history.jsonl").read_text().splitlines()]
    assert stages == ["align", "prompts", "prompts"]
    assert reference["map"]["total"] > chance_map(straight.dataset.test.targets), reference["map"]

    original = Trainer._train_epoch
    calls: list[int] = []

    def killed_in_epoch_3(self, run, info):
        calls.append(info.global_epoch)
        if info.global_epoch == 3:  # stage 2's second epoch, after its first epoch's checkpoint
            raise KeyboardInterrupt
        return original(self, run, info)

    monkeypatch.setattr(Trainer, "_train_epoch", killed_in_epoch_3)
    crashed = build_experiment(config(tmp_path / "crash", "hp_dval", one_align_epoch))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(crashed)
    calls.clear()
    monkeypatch.setattr(Trainer, "_train_epoch", lambda self, run, info: (calls.append(info.global_epoch),
                                                                          original(self, run, info))[1])
    resumed = run_experiment(build_experiment(config(tmp_path / "crash", "hp_dval", one_align_epoch)))
    assert calls == [3]  # stage 1 and stage 2's first epoch came from the checkpoint
    assert resumed["map"]["total"] == pytest.approx(reference["map"]["total"], abs=1e-6)
    with np.load(crashed.run_dir / "scores.npz") as again, np.load(straight.run_dir / "scores.npz") as first:
        np.testing.assert_allclose(again["scores"], first["scores"], atol=1e-6)


@pytest.mark.slow
def test_hp_dval_stage_2_leaves_the_student_bit_identical(tmp_path):
    experiment = build_experiment(config(tmp_path, "hp_dval", "method.align_epochs=1", "method.prompt_epochs=1"))
    model = experiment.parts.model
    original = Trainer._start_stage
    snapshots = {}

    def snapshot_at_stage_2(self, index, resume):
        if index == 1:
            snapshots["before"] = frozen_state(model, lambda n: n.startswith("head.prompts."))
        return original(self, index, resume)

    Trainer._start_stage = snapshot_at_stage_2
    try:
        run_experiment(experiment)
    finally:
        Trainer._start_stage = original
    assert_bit_identical(snapshots["before"], model)


@pytest.mark.slow
def test_hp_dval_code_preset_and_capnet_train(tmp_path):
    code = build_experiment(resolve_config("hp_dval", "mnist_lt", config="hp_dval_code",
                                           overrides=[f"output.root={tmp_path / 'code'}", *SMALL_DRAW]))
    assert code.config["method"]["preset"] == "code" and code.config["loss"]["focal_reduction"] == "batch_mean"
    assert np.isfinite(run_experiment(code)["map"]["total"])
    capnet = build_experiment(config(tmp_path / "capnet", "capnet", "train.epochs=2"))
    model = capnet.parts.model
    before = frozen_state(model, lambda n: ".mlp.down." in n or ".mlp.up." in n or n.startswith("head."))
    assert np.isfinite(run_experiment(capnet)["map"]["total"])
    recorded = json.loads((capnet.run_dir / "metrics.json").read_text())["provenance"]["capnet"]
    assert recorded.startswith("reconstructed from the abstract; assumed: label graph")
    assert_bit_identical(before, model)


@pytest.mark.parametrize("method", ["zsclip", "coop", "lmpt", "hp_dval", "capnet"])
def test_missing_clip_weights_are_one_sentence_naming_them(tmp_path, method, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(LtbenchError) as error:
        build_experiment(resolve_config(method, "mnist_lt", overrides=[
            f"output.root={tmp_path}", "model.config=null", f"model.cache_dir={tmp_path}", "method.captions=labels"
            if method == "lmpt" else "seed=1"]))
    message = str(error.value)
    assert "clip_vit_b16" in message and "model.weights=/path/to/ViT-B-16.pt" in message and "\n" not in message
