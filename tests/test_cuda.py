"""The GPU path on a CUDA device: bf16 autocast for every method, channels_last, EMA, features cached under
AMP, bit-exact resume on one GPU, and scores that re-evaluate to the same mAP on the CPU.

Every test is ``@pytest.mark.cuda``: skipped where ``torch.cuda.is_available()`` is false
(tests/conftest.py). ``LTBENCH_CUDA_TESTS_ON_CPU=1`` runs them on the CPU instead, with AMP
through CPU autocast, to check their logic on a machine without a GPU (the channels_last
check then only checks that the images reach the backbone).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import ltbench.engine.prediction as prediction_module
from ltbench.data.transforms import build_transform
from ltbench.engine.features import extract_features
from ltbench.engine.trainer import Trainer
from ltbench.evaluation import chance_map, evaluate
from ltbench.experiment import build_experiment, run_experiment
from ltbench.config.resolve import resolve_config
from ltbench.plugins import load_plugins
from ltbench.registry import METHODS

pytestmark = pytest.mark.cuda
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
SMALL = ["dataset.max_count=100", "dataset.num_test=200"]  # a small draw of mnist_lt
SMALL_CPRFL = ["method.dim=64", "method.ffn_dim=128", "method.heads=4"]
END_TO_END = ["model.freeze=none", "input.augment=flip_crop", "train.batch_size=32"]  # images through the backbone


@pytest.fixture(autouse=True)
def amp_on_the_dry_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the CPU dry run, ``train.amp=auto`` means bf16 autocast as it does on CUDA."""
    if DEVICE == "cpu":
        monkeypatch.setattr(prediction_module, "amp_enabled", lambda setting, device: setting == "auto" or bool(setting))


def registered_methods() -> list[str]:
    load_plugins()
    return METHODS.list()


def gpu_config(root: Path, method: str, *extra: str) -> dict:
    sized = SMALL_CPRFL if method == "cprfl" else []
    return resolve_config(method, "mnist_lt", overrides=[
        f"output.root={root}", f"train.device={DEVICE}", "train.amp=auto", *SMALL, *sized, *extra])


def run(root: Path, method: str, *extra: str) -> tuple[dict, Path, np.ndarray]:
    """Train; return the metrics, the run directory and the test targets."""
    experiment = build_experiment(gpu_config(root, method, *extra))
    return run_experiment(experiment), experiment.run_dir, experiment.dataset.test.targets


@pytest.mark.parametrize("method", registered_methods())
def test_every_method_trains_under_bf16_autocast(tmp_path: Path, method: str) -> None:
    metrics, run_dir, targets = run(tmp_path, method, "train.epochs=6")
    assert metrics["amp"] is True and metrics["device"].startswith(DEVICE) and metrics["feature_cache"] is True
    losses = [json.loads(line)["train_loss"] for line in (run_dir / "history.jsonl").read_text().splitlines()]
    assert np.isfinite(losses).all()
    assert metrics["map"]["total"] > chance_map(targets) + 3, metrics["map"]


def test_channels_last_bf16_through_a_trained_backbone(tmp_path: Path) -> None:
    experiment = build_experiment(gpu_config(tmp_path, "erm", "train.epochs=2", *END_TO_END))
    stem = next(m for m in experiment.parts.model.backbone.modules() if isinstance(m, nn.Conv2d))
    seen: list[tuple[bool, torch.dtype, str]] = []
    stem.register_forward_hook(lambda module, inputs, output: seen.append(
        (inputs[0].is_contiguous(memory_format=torch.channels_last), output.dtype, output.device.type)))
    metrics = run_experiment(experiment)
    assert metrics["feature_cache"] is False and metrics["amp"] is True and seen
    assert {(dtype, device) for _, dtype, device in seen} == {(torch.bfloat16, DEVICE)}
    if DEVICE == "cuda":
        assert all(channels_last for channels_last, _, _ in seen)
    assert metrics["map"]["total"] > chance_map(experiment.dataset.test.targets), metrics["map"]


def test_ema_is_the_reported_model(tmp_path: Path) -> None:
    metrics, _, targets = run(tmp_path, "cprfl", "train.epochs=4", "train.ema=0.9")
    assert metrics["selection"] == "final-ema" and metrics["amp"] is True
    assert metrics["map"]["total"] > chance_map(targets) + 5, metrics["map"]


def test_features_cached_under_amp_match_full_precision(tmp_path: Path) -> None:
    experiment = build_experiment(gpu_config(tmp_path, "erm"))
    backbone, split = experiment.parts.model.backbone.to(DEVICE), experiment.dataset.test
    resize = build_transform(experiment.config["input"]["size"], "none", train=False)
    amp = extract_features(backbone, split, resize, torch.device(DEVICE), 128, torch.bfloat16, "bf16")
    full = extract_features(backbone, split, resize, torch.device(DEVICE), 128, None, "fp32")
    assert amp.dtype == full.dtype == torch.float16 and amp.shape == full.shape and torch.isfinite(amp).all()
    error = (amp.float() - full.float()).norm() / full.float().norm()
    assert 0 < error < 0.05, error  # bf16 (8-bit mantissa) differs, but only at the percent level


@pytest.mark.parametrize("setting", [[], END_TO_END], ids=["cached features", "trained backbone"])
def test_resume_on_one_gpu_is_bit_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: list[str]) -> None:
    extra = ["train.epochs=3", "train.ema=0.9", *setting]
    _, straight_dir, _ = run(tmp_path / "straight", "erm", *extra)
    original = Trainer._train_epoch

    def crash_in_epoch_3(self, run, info):  # noqa: ANN001, ANN202
        if info.global_epoch == 3:
            raise KeyboardInterrupt
        return original(self, run, info)

    monkeypatch.setattr(Trainer, "_train_epoch", crash_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "crash", "erm", *extra)
    monkeypatch.setattr(Trainer, "_train_epoch", original)
    _, resumed_dir, _ = run(tmp_path / "crash", "erm", *extra)
    with np.load(straight_dir / "scores.npz") as straight, np.load(resumed_dir / "scores.npz") as resumed:
        np.testing.assert_array_equal(resumed["scores"], straight["scores"])


def test_gpu_scores_re_evaluate_on_the_cpu(tmp_path: Path) -> None:
    metrics, run_dir, _ = run(tmp_path, "cprfl", "train.epochs=4")
    with np.load(run_dir / "scores.npz") as saved:  # computed on the GPU, evaluated here in numpy
        recomputed = evaluate(saved["scores"], saved["targets"], {k: np.array(v) for k, v in metrics["groups"].items()})
    assert {k: recomputed[k] for k in metrics["map"]} == metrics["map"]
    cpu, _, _ = run(tmp_path / "cpu", "cprfl", "train.epochs=4", "train.device=cpu", "train.amp=false")
    assert cpu["amp"] is False and cpu["device"] == "cpu"
    assert abs(cpu["map"]["total"] - metrics["map"]["total"]) < 3, (cpu["map"], metrics["map"])  # bf16 vs fp32
