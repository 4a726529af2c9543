"""LM-CLIP: its two losses against the formulas written out independently, its sampler weights by hand, and
training that moves both CLIP towers and the temperature while nothing fixed changes (tiny random CLIP)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ltbench.cli import main
from ltbench.data.base import ClassStats
from ltbench.data.samplers import inverse_frequency_sampler, inverse_frequency_weights
from ltbench.errors import LtbenchError
from ltbench.experiment import build_experiment, run_experiment
from ltbench.losses import build_loss
from ltbench.losses.bal import lmclip_class_weights
from ltbench.losses.contrastive import image_text_contrastive
from ltbench.methods.lmclip import label_captions
from ltbench.config.resolve import resolve_config
from ltbench.recipes.cards import RECIPES_DIR, load_card

VOC_BAL = {"name": "bal", "gamma_neg": 9.8, "gamma_pos": 0.0, "clip": 0.05, "eps": 1e-8, "label_smoothing": 0.1,
           "weight_power": 1.35}


def bal_reference(z: np.ndarray, y: np.ndarray, w: np.ndarray, a: float = 0.1, clip: float = 0.05,
                  gamma_neg: float = 9.8, gamma_pos: float = 0.0, eps: float = 1e-8, clamp: bool = False) -> float:
    """LM-CLIP's BAL entry by entry in float64, from its formula (clamp: ltbench's 0 for a negative base)."""
    big = z.max()
    total = 0.0
    rows, classes = z.shape
    for b in range(rows):
        for c in range(classes):
            p = 1.0 / (1.0 + np.exp(-z[b, c] / big))
            q = min(1.0 - p + clip, 1.0)
            t = (1 - a) * y[b, c] + a / classes
            n = 1.0 - y[b, c]
            term = (1 + w[c]) * t * np.log(max(p, eps)) + n * np.log(max(q, eps))
            base = 1.0 - t * p - n * q
            total += (max(base, 0.0) if clamp else base) ** (gamma_pos * t + gamma_neg * n) * term
    return -total / (rows * classes)


def random_case(rows: int, classes: int, seed: int, scale: float, low: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cosine = rng.uniform(low, 0.35, size=(rows, classes))  # CLIP's image-text cosines sit around 0.1-0.35
    labels = (rng.random((rows, classes)) < 0.1).astype(np.float64)
    labels[np.arange(rows), rng.integers(0, classes, rows)] = 1
    return scale * cosine, labels


@pytest.mark.parametrize("rows, classes, scale", [(8, 20, 100.0), (8, 80, 100.0), (5, 7, 1.0)])
def test_bal_is_its_formula_at_clip_scale(rows, classes, scale):
    z, y = random_case(rows, classes, seed=classes, scale=scale, low=0.05)
    freq = np.random.default_rng(0).integers(1, 500, classes)
    loss = build_loss(VOC_BAL, ClassStats(freq, 1000))
    got = loss(torch.tensor(z, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)).item()
    expected = bal_reference(z, y, (freq.min() / freq) ** 1.35)  # the code's formula, no clamp: finite here
    assert np.isfinite(expected)
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_bal_gives_zero_where_the_codes_focusing_base_is_negative():
    z, y = random_case(6, 12, seed=3, scale=100.0, low=-1.0)  # negative cosines: p <= clip for some negatives
    with np.errstate(invalid="ignore"):
        assert np.isnan(bal_reference(z, y, np.zeros(12)))  # the code's value: a negative base to the power 9.8
    loss = build_loss({**VOC_BAL, "class_weights": False}, ClassStats(np.ones(12), 10))
    got = loss(torch.tensor(z, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)).item()
    assert got == pytest.approx(bal_reference(z, y, np.zeros(12), clamp=True), rel=1e-6)


def test_bal_under_bfloat16_autocast_is_finite_with_finite_gradients():
    torch.manual_seed(0)
    images, texts = torch.randn(8, 512, requires_grad=True), torch.randn(80, 512)
    labels = (torch.rand(8, 80) < 0.1).float()
    loss = build_loss(VOC_BAL, ClassStats(np.arange(1, 81), 500))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = 100.0 * torch.nn.functional.normalize(images, dim=-1) @ torch.nn.functional.normalize(texts, dim=-1).T
        assert logits.dtype == torch.bfloat16
        value = loss(logits, labels) + image_text_contrastive(images, texts[:8], torch.tensor(100.0))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0


def test_class_weights_by_hand():
    weights = lmclip_class_weights(np.array([10, 5, 2, 0]), 1.35)  # the empty class counts as 1
    np.testing.assert_allclose(weights, [0.1 ** 1.35, 0.2 ** 1.35, 0.5 ** 1.35, 1.0])


def test_contrastive_is_clips_symmetric_cross_entropy_with_the_diagonal_as_positives():
    rng = np.random.default_rng(1)
    images, texts = rng.normal(size=(6, 16)), rng.normal(size=(6, 16))
    texts[3] = texts[2]  # two images with one caption: still each other's negatives
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    logits = 100.0 * unit(images) @ unit(texts).T
    log_rows = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True)) \
        - logits.max(1, keepdims=True)
    log_cols = logits - np.log(np.exp(logits - logits.max(0, keepdims=True)).sum(0, keepdims=True)) \
        - logits.max(0, keepdims=True)
    expected = -(np.trace(log_rows) + np.trace(log_cols)) / (2 * 6)
    got = image_text_contrastive(torch.tensor(images, dtype=torch.float32), torch.tensor(texts, dtype=torch.float32),
                                 torch.tensor(100.0)).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_sampler_weights_by_hand_and_draws():
    targets = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [0, 0, 0]])  # n = (3, 1, 1); the last image has no label
    raw = np.array([1 / 3, 1 / 3 + 1, 1 / 3 + 1, 0.0]) ** 1.35
    np.testing.assert_allclose(inverse_frequency_weights(targets, 1.35), raw / raw.sum())
    draws = list(inverse_frequency_sampler(targets, seed=3, power=1.35))
    assert len(draws) == 4 and 3 not in draws
    many = np.bincount(np.concatenate([list(inverse_frequency_sampler(targets, seed=s, power=1.35))
                                       for s in range(300)]), minlength=4) / 1200
    np.testing.assert_allclose(many, raw / raw.sum(), atol=0.04)


def test_sampler_resumes_its_sequence():
    targets = np.eye(5)[[0, 0, 0, 1, 2, 3, 4, 4]]
    straight = inverse_frequency_sampler(targets, seed=7, power=1.0)
    first, second = list(straight), list(straight)
    resumed = inverse_frequency_sampler(targets, seed=7, power=1.0)
    resumed.fast_forward(1)
    assert list(resumed) == second and first != second


def test_captions_name_the_labels_in_class_order():
    targets = np.array([[0, 1, 1], [1, 0, 0]])
    assert label_captions("a photo of a ", ["cat", "dog", "potted plant"], targets) == [
        "a photo of a dog, potted plant", "a photo of a cat"]


@pytest.mark.slow
def test_one_epoch_moves_both_towers_and_the_temperature_and_nothing_fixed(tmp_path):
    config = resolve_config("lmclip", "mnist_lt", overrides=[
        f"output.root={tmp_path}", "dataset.max_count=30", "dataset.num_test=30", "train.epochs=1",
        "train.schedule.name=constant"])
    experiment = build_experiment(config)
    model = experiment.parts.model
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    assert any(n.startswith("backbone.visual.") for n in params) and any(n.startswith("head.tower.") for n in params)
    assert all(p.requires_grad for p in model.parameters())
    metrics = run_experiment(experiment)
    assert metrics["smoke"] is True
    after = dict(model.named_parameters())
    unchanged = [n for n in params if torch.equal(params[n], after[n].detach())]
    assert not unchanged, f"parameters that did not train: {unchanged}"
    assert all(torch.equal(buffers[n], b) for n, b in model.named_buffers())


def test_bal_gradient_flows_through_the_focusing_factor_and_the_max():
    z, y = random_case(4, 6, seed=5, scale=1.0, low=0.05)
    w = np.linspace(0.2, 1.0, 6)
    loss = build_loss({**VOC_BAL, "weight_power": 1.0}, ClassStats(np.round(0.2 / w).astype(int) * 5, 100))
    weights = loss.class_weights.double().numpy()
    logits = torch.tensor(z, dtype=torch.float32, requires_grad=True)
    loss(logits, torch.tensor(y, dtype=torch.float32)).backward()
    numeric = np.zeros_like(z)
    for index in np.ndindex(*z.shape):  # central differences of the float64 formula, focusing factor included
        step = np.zeros_like(z)
        step[index] = 1e-6
        numeric[index] = (bal_reference(z + step, y, weights) - bal_reference(z - step, y, weights)) / 2e-6
    np.testing.assert_allclose(logits.grad.numpy(), numeric, rtol=1e-3, atol=1e-6)


def test_recipe_cards_say_why_no_number_is_quoted_and_follow_both_presets(capsys):
    assert main(["recipe", "lmclip", "voc_lt"]) == 0
    out = capsys.readouterr().out
    assert "no numbers quoted: the paper (Timmermann et al., IEEE Access 13:71053-71065" in out
    assert "train.sampler.power = 1.35" in out and "method.asl_mul = 0.4" in out
    assert "normalisation [different on purpose]" in out and "checkpoint [different on purpose]" in out
    assert main(["recipe", "lmclip", "coco_lt", "--config", "lmclip_code"]) == 0
    out = capsys.readouterr().out
    assert "normalisation [equal]" in out and "method.asl_mul = 5.0" in out and "loss.weight_power = 1.6" in out


def test_a_card_needs_published_rows_or_a_reason_for_none(tmp_path):
    card = tmp_path / "voc_lt" / "lmclip.yaml"
    card.parent.mkdir()
    bases = [str(RECIPES_DIR / "_base" / name) for name in ("lmclip_code.yaml", "lmclip_voc_lt.yaml")]
    card.write_text(f"_base_: {bases[0]}\n")  # no rows and no unpublished
    with pytest.raises(LtbenchError, match="rows must list the published rows .* or unpublished say why"):
        load_card(card)
    card.write_text(f"_base_: [{', '.join(bases)}]\nunpublished: not found\n")
    assert load_card(card).rows == () and load_card(card).unpublished == "not found"
