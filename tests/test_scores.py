"""Test scores keep their ranking at CLIP's logit scale and under autocast; the EMA averages only what trains;
non-finite scores stop a run (docs/scores.md)."""

from __future__ import annotations

import copy

import contextlib

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset

from clip_helpers import TINY_VIT
from ltbench.pretrained.clip import random_clip
from ltbench.engine.device import autocast
from ltbench.engine.ema import make_ema
from ltbench.engine.prediction import predict, predict_scores
from ltbench.engine.trainer import Trainer
from ltbench.evaluation import average_precision
from ltbench.experiment import build_experiment
from ltbench.methods.base import SplitModel
from ltbench.models.clip_heads import ZeroShotHead
from ltbench.models.cprfl import CPRFLHead
from ltbench.config.resolve import resolve_config
from ltbench.runs.run_dir import read_scores, write_scores
from ltbench.text.tower import TrainableTextTower

CLASSES, WIDTH = 4, 8
SMALL = ["dataset.max_count=100", "dataset.num_test=200"]


@pytest.fixture(scope="module")
def clip_scale():
    """Image features whose float64 cosine with class c's text (the unit vector e_c) is spread over 0.15-0.35."""
    rng = np.random.default_rng(0)
    cosines = rng.uniform(0.15, 0.35, (400, CLASSES))
    features = np.zeros((400, WIDTH))
    features[:, :CLASSES] = cosines
    features[:, CLASSES] = np.sqrt(1 - (cosines ** 2).sum(axis=1))  # unit norm, so these are the cosines
    targets = (cosines + rng.normal(0, 0.05, cosines.shape) > 0.28).astype(np.float32)
    head = ZeroShotHead(torch.eye(CLASSES, WIDTH), torch.tensor(100.0).log())  # CLIP's 100 x cosine
    model = SplitModel(nn.Identity(), head)
    loader = DataLoader(TensorDataset(torch.from_numpy(features).float()[:, :, None, None],
                                      torch.from_numpy(targets)), batch_size=64)
    return cosines, targets, model, loader


def _scores(clip_scale, score: str = "logit", precision=contextlib.nullcontext) -> np.ndarray:
    _, _, model, loader = clip_scale
    return predict_scores(model, loader, model.backbone, precision, score)


def _sklearn_ap(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return np.array([average_precision_score(targets[:, c], scores[:, c]) for c in range(targets.shape[1])])


def test_clip_scale_logits_give_the_ap_of_the_float64_cosines(clip_scale):
    cosines, targets = clip_scale[:2]
    scores = _scores(clip_scale)
    assert scores.dtype == np.float32
    assert (torch.sigmoid(torch.from_numpy(scores)) == 1.0).float().mean() > 0.85  # a float32 sigmoid would tie
    np.testing.assert_allclose(average_precision(scores, targets), _sklearn_ap(cosines, targets), rtol=0, atol=1e-12)


def test_log_softmax_scores_rank_as_the_float64_softmax_over_classes(clip_scale):
    cosines, targets = clip_scale[:2]
    logits = 100.0 * cosines
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    scores = _scores(clip_scale, "log_softmax")
    np.testing.assert_allclose(average_precision(scores, targets), _sklearn_ap(softmax, targets), rtol=0, atol=1e-12)


def test_a_bf16_autocast_evaluation_ranks_like_the_float32_one(clip_scale):
    targets = clip_scale[1]
    float32 = _scores(clip_scale)
    bf16 = _scores(clip_scale, precision=lambda: autocast(True, torch.device("cpu"), torch.bfloat16))
    np.testing.assert_array_equal(bf16, float32)  # the head ran outside autocast, on float32 features
    np.testing.assert_array_equal(average_precision(bf16, targets), average_precision(float32, targets))


def test_the_trainer_evaluates_a_run_under_bf16_autocast_as_in_float32(tmp_path):
    config = resolve_config("erm", "mnist_lt", overrides=[f"output.root={tmp_path}", *SMALL])
    experiment = build_experiment(config)
    trainer = Trainer(config, experiment.dataset, experiment.parts, experiment.rundir)
    float32 = predict(trainer.model, trainer.inputs, experiment.parts.stages[-1])
    trainer.inputs.amp = True  # CPU autocast in bfloat16 (the engine itself turns autocast on for CUDA only)
    bf16 = predict(trainer.model, trainer.inputs, experiment.parts.stages[-1])
    np.testing.assert_array_equal(bf16, float32)


def test_scores_files_name_their_score_function_and_old_sigmoid_files_still_read(tmp_path):
    rng = np.random.default_rng(0)
    scores, targets = rng.normal(size=(6, 3)) * 30, rng.integers(0, 2, size=(6, 3))
    write_scores(tmp_path / "new.npz", scores, targets, "log_softmax")
    saved, saved_targets, score = read_scores(tmp_path / "new.npz")
    assert score == "log_softmax" and saved.dtype == np.float32 and np.array_equal(saved_targets, targets)
    np.savez_compressed(tmp_path / "old.npz", scores=(1 / (1 + np.exp(-scores))).astype(np.float32),
                        targets=targets.astype(np.uint8))  # the format before docs/scores.md
    old, old_targets, old_score = read_scores(tmp_path / "old.npz")
    assert old_score == "sigmoid" and np.array_equal(old_targets, targets)
    np.testing.assert_allclose(old, 1 / (1 + np.exp(-scores)), rtol=1e-6)


def _trained(model: nn.Module, ema: AveragedModel, steps: int = 3) -> torch.Tensor:
    """A few SGD steps on ``model`` with an EMA update after each; returns the input used."""
    torch.manual_seed(0)
    features = torch.randn(2, 8, 2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        model(features).square().mean().backward()
        optimizer.step()
        ema.update_parameters(model)
    return features


@pytest.mark.slow
def test_the_ema_of_a_trainable_clip_text_tower_is_finite_and_equals_the_live_model_at_decay_0():
    torch.manual_seed(0)
    clip, tokenizer = random_clip(TINY_VIT)
    tower = TrainableTextTower(clip, tokenizer(["a photo of a cat.", "a photo of a dog.", "a photo of a car."]), 16)
    head = CPRFLHead(8, tower, 3, dim=16, heads=2, dim_head=8, ffn_dim=16)
    assert torch.isinf(head.text_tower.model.attn_mask).any()  # the causal mask: -inf above the diagonal
    for decay in (0.0, 0.9):
        ema = make_ema(head, decay)
        features = _trained(head, ema)
        head.eval()
        with torch.no_grad():
            live, averaged = head(features), ema.module.eval()(features)
        assert torch.isfinite(averaged).all()
        assert torch.equal(ema.module.text_tower.model.attn_mask, head.text_tower.model.attn_mask)
        if decay == 0.0:
            assert torch.equal(averaged, live)
        head.train()


def _convnet() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(8, 4, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(16, 3))


class _AuthorsEma:
    """The CPRFL and HP-DVAL authors' ModelEma update, written out: ``decay * ema + (1 - decay) * live`` per tensor."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.module, self.decay, self.updates = copy.deepcopy(model), decay, 0

    def update_parameters(self, model: nn.Module) -> None:
        decay = self.decay if self.updates else 0.0  # the first update starts the average (as torch's EMA does)
        with torch.no_grad():
            for ema, live in zip(self.module.state_dict().values(), model.state_dict().values()):
                if ema.is_floating_point():
                    ema.copy_(decay * ema + (1.0 - decay) * live)
        self.updates += 1


def test_the_ema_averages_parameters_and_batchnorm_statistics_as_the_authors_model_ema_bit_for_bit():
    """Parameters and BatchNorm statistics averaged and rounded as the authors' ModelEma computes them (a lerp,
    torch's own EMA, rounds differently); close to torch's EMA all the same."""
    model, model_again, model_torch = _convnet(), _convnet(), _convnet()
    ema = make_ema(model, 0.9)
    authors_ema = _AuthorsEma(model_again, 0.9)
    torch_ema = AveragedModel(model_torch, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    _trained(model, ema)
    _trained(model_again, authors_ema)
    _trained(model_torch, torch_ema)
    ours, theirs, torch_s = ema.module.state_dict(), authors_ema.module.state_dict(), torch_ema.module.state_dict()
    for name, tensor in ours.items():
        if tensor.is_floating_point():
            assert torch.equal(tensor, theirs[name]), name
            torch.testing.assert_close(tensor, torch_s[name])
    assert ours["1.num_batches_tracked"] == model[1].num_batches_tracked  # an integer buffer is the live one's


