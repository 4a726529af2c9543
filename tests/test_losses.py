"""Losses against references written here from the formulas of docs/losses.md, entry by entry.

The references loop over (sample, class) with scalar torch float64 ops, so they
are independent of ltbench's vectorised code and still give autograd gradients.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ltbench.data.base import ClassStats
from ltbench.errors import LtbenchError
from ltbench.losses import build_loss
from ltbench.losses.resample import db_logit_bias
from ltbench.config.sections import complete
from ltbench.registry import KINDS, LOSSES

FREQ = [50, 10, 3, 1]
N = 60
STATS = ClassStats(np.array(FREQ), N)
# one sample with two positives, one with two, one with none (all-negative row)
TARGETS = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]], dtype=torch.uint8)
ALL_LOSSES = ["bce", "mls", "rw", "focal", "cb_focal", "db_focal", "db_nofocal", "asl"]


def logits64() -> torch.Tensor:
    return (torch.randn(3, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2).requires_grad_()


def run(name: str, z64: torch.Tensor, **params: object) -> tuple[float, torch.Tensor]:
    """ltbench's loss value and gradient on float32 logits."""
    module = build_loss({"name": name, **params}, STATS)
    z = z64.detach().float().requires_grad_()
    loss = module(z, TARGETS)
    loss.backward()
    return loss.item(), z.grad.double()


def reference(z: torch.Tensor, entry) -> tuple[float, torch.Tensor]:
    """Mean of ``entry(k, i, z_ki, y_ki)`` over all entries, and its gradient."""
    B, C = TARGETS.shape
    total = sum(entry(k, i, z[k, i], int(TARGETS[k, i])) for k in range(B) for i in range(C)) / (B * C)
    (grad,) = torch.autograd.grad(total, z)
    return total.item(), grad


def check(name: str, entry, rtol: float = 1e-5, **params: object) -> None:
    z = logits64()
    value, grad = run(name, z, **params)
    ref_value, ref_grad = reference(z, entry)
    assert value == pytest.approx(ref_value, rel=rtol)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-6)


def sig(x: torch.Tensor) -> torch.Tensor:
    return 1 / (1 + torch.exp(-x))


def bce_entry(z: torch.Tensor, y: int) -> torch.Tensor:
    return -torch.log(sig(z)) if y else -torch.log(1 - sig(z))


def focal_entry(z: torch.Tensor, y: int, balance: float = 2.0, gamma: float = 2.0) -> torch.Tensor:
    p_t = sig(z) if y else 1 - sig(z)
    return balance * (1 - p_t) ** gamma * bce_entry(z, y)


def positives(k: int) -> list[int]:
    return [j for j in range(TARGETS.shape[1]) if TARGETS[k, j]]


def test_bce() -> None:
    check("bce", lambda k, i, z, y: bce_entry(z, y))


def test_mls_is_torch_definition() -> None:
    z = logits64()
    value, _ = run("mls", z)
    per_sample = [sum(bce_entry(z[k, i], int(TARGETS[k, i])) for i in range(4)) / 4 for k in range(3)]
    assert value == pytest.approx((sum(per_sample) / 3).item(), rel=1e-5)


def test_rw_weights_positives_and_negatives() -> None:
    check("rw", lambda k, i, z, y: math.sqrt(N / FREQ[i]) * bce_entry(z, y))


def test_focal_keeps_gradient_through_factor() -> None:
    check("focal", lambda k, i, z, y: focal_entry(z, y))
    check("focal", lambda k, i, z, y: focal_entry(z, y, 1.0, 0.5), balance=1.0, gamma=0.5)


def cb(i: int, beta: float = 0.9) -> float:
    return (1 - beta) / (1 - beta ** FREQ[i])


def test_cb_focal_average_w() -> None:
    def entry(k: int, i: int, z: torch.Tensor, y: int) -> torch.Tensor:
        pos = positives(k)
        # a row without positives falls back to the mean weight over all classes
        w = sum(cb(j) for j in pos) / len(pos) if pos else sum(cb(j) for j in range(4)) / 4
        return w * focal_entry(z, y)

    check("cb_focal", entry)


def db_entry(
    k: int, i: int, z: torch.Tensor, y: int, *, weighting: bool = True, class_weight: float = 1.0,
    alpha: float = 0.1, beta: float = 10.0, mu: float = 0.3, kappa: float = 0.05, lam: float = 5.0,
    focal: bool = True,
) -> torch.Tensor:
    """One DB ResampleLoss entry: optional re-balanced weight, logit regularisation, optional focal."""
    w = class_weight
    if weighting:
        pos = positives(k)
        r = (1 / FREQ[i]) / sum(1 / FREQ[j] for j in pos) if pos else math.inf
        w *= alpha + 1 / (1 + math.exp(-beta * (r - mu)))
    zt = z - math.log(N / FREQ[i] - 1) * kappa / lam
    if y:
        loss, p_t = w * torch.log1p(torch.exp(-zt)), sig(zt)
    else:
        loss, p_t = (w / lam) * torch.log1p(torch.exp(lam * zt)), sig(-lam * zt)
    return 2.0 * (1 - p_t) ** 2 * loss if focal else loss


def test_cb_focal_cprfl_variant() -> None:
    """CPRFL's Table 2 CB-Focal: per-class weights, DB logit regularisation, loss weight 10."""

    def entry(k: int, i: int, z: torch.Tensor, y: int) -> torch.Tensor:
        return 10 * db_entry(k, i, z, y, weighting=False, class_weight=cb(i), lam=2.0)

    check("cb_focal", entry, mode="by_class", logit_reg=True, neg_scale=2.0, loss_weight=10.0)


def test_focal_with_logit_reg_is_cprfls_fl() -> None:
    """CPRFL's --loss_function FL (train.py:125-142): focal + DB logit regularisation, no re-weighting."""
    check("focal", lambda k, i, z, y: db_entry(k, i, z, y, weighting=False), logit_reg=True)
    check("focal", lambda k, i, z, y: db_entry(k, i, z, y, weighting=False, lam=2.0), logit_reg=True, neg_scale=2.0)


def test_db_focal() -> None:
    check("db_focal", lambda k, i, z, y: db_entry(k, i, z, y))
    check("db_focal", lambda k, i, z, y: db_entry(k, i, z, y, mu=0.2, lam=2.0), mu=0.2, neg_scale=2.0)


@pytest.mark.parametrize("name", ["focal", "db_focal"])
def test_focal_factor_keeps_its_gradient_as_in_the_db_code(name: str) -> None:
    """DB's ResampleLoss computes p_t from ``cls_score.clone()``, which keeps the graph: the factor is not detached.

    (Unlike ASL's focusing factor.) The references above keep its gradient and
    match; this shows a detached factor would give other gradients, so they can tell.
    """
    def entry(k: int, i: int, z: torch.Tensor, y: int) -> torch.Tensor:
        if name == "focal":
            p_t = (sig(z) if y else 1 - sig(z)).detach()
            return 2.0 * (1 - p_t) ** 2 * bce_entry(z, y)
        factor = db_entry(k, i, z, y) / db_entry(k, i, z, y, focal=False)
        return factor.detach() * db_entry(k, i, z, y, focal=False)

    z = logits64()
    _, grad = run(name, z)
    ref_value, grad_detached = reference(z, entry)
    assert run(name, z)[0] == pytest.approx(ref_value, rel=1e-5)  # same value, other gradient
    assert not torch.allclose(grad, grad_detached, rtol=1e-3, atol=1e-6)


def test_db_nofocal() -> None:
    check("db_nofocal", lambda k, i, z, y: 0.5 * db_entry(k, i, z, y, focal=False), loss_weight=0.5)


def asl_entry(z: torch.Tensor, y: int, clip: float, detach: bool) -> torch.Tensor:
    p = sig(z)
    if y:
        factor, log_lik = (1 - p) ** 0.0, torch.log(torch.clamp(p, min=1e-8))
    else:
        p_m = torch.clamp(p - clip, min=0.0)
        factor, log_lik = p_m**4, torch.log(torch.clamp(1 - p_m, min=1e-8))
    return -(factor.detach() if detach else factor) * log_lik


@pytest.mark.parametrize("clip", [0.05, 0.3])
def test_asl_focusing_factor_has_no_gradient(clip: float) -> None:
    check("asl", lambda k, i, z, y: asl_entry(z, y, clip, detach=True), clip=clip)
    # the test can tell: with gradient through the factor the gradients differ
    z = logits64()
    _, grad = run("asl", z, clip=clip)
    _, grad_through_factor = reference(z, lambda k, i, z, y: asl_entry(z, y, clip, detach=False))
    assert not torch.allclose(grad, grad_through_factor, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_float_and_uint8_targets_agree_and_loss_weight_scales(name: str) -> None:
    z = logits64().detach().float()
    module = build_loss({"name": name}, STATS)
    weighted = build_loss({"name": name, "loss_weight": 3.0}, STATS)
    assert module(z, TARGETS).item() == pytest.approx(module(z, TARGETS.float()).item(), rel=1e-6)
    assert weighted(z, TARGETS).item() == pytest.approx(3 * module(z, TARGETS).item(), rel=1e-5)


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_finite_for_degenerate_classes_and_extreme_logits(name: str) -> None:
    # class 0 never seen, class 1 in every image; logits at +-100 on both labels
    stats = ClassStats(np.array([0, 20, 1, 5]), 20)
    module = build_loss({"name": name, "logit_reg": True} if name == "cb_focal" else {"name": name}, stats)
    targets = torch.tensor([[1, 1, 0, 0], [0, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.uint8)
    z = torch.tensor([[100.0, -100.0, 100.0, -100.0], [-100.0, 100.0, -100.0, 100.0]] * 2, requires_grad=True)
    loss = module(z, targets)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()


def test_degenerate_class_bias_is_clamped() -> None:
    """n_i = 0 and n_i = N give b_i = -/+ log(N) * kappa / lambda (counts clamped to >= 1)."""
    bias = db_logit_bias(ClassStats(np.array([0, 20, 5]), 20), kappa=0.05, neg_scale=5.0)
    expected = [-math.log(20) * 0.01, math.log(20) * 0.01, -math.log(3) * 0.01]
    torch.testing.assert_close(bias, torch.tensor(expected, dtype=torch.float32))


def test_every_loss_is_registered() -> None:
    assert set(ALL_LOSSES) <= set(LOSSES.list())


def test_build_loss_resolves_every_parameter() -> None:
    resolved = complete(KINDS["losses"], {"name": "asl", "clip": 0.1})
    assert resolved == {"name": "asl", "gamma_neg": 4.0, "gamma_pos": 0.0, "clip": 0.1, "eps": 1e-8, "loss_weight": 1.0}
    assert build_loss({"name": "asl", "clip": 0.1}, STATS).clip == 0.1


def test_build_loss_rejects_unknown_parameter_listing_valid_ones() -> None:
    with pytest.raises(LtbenchError, match=r"no parameter loss.gama .*clip, eps, gamma_neg, gamma_pos, loss_weight"):
        build_loss({"name": "asl", "gama": 2}, STATS)


@pytest.mark.parametrize(
    "config, message",
    [({"clip": 0.1}, "needs a name"), ({"name": "cb_focal", "mode": "per_image"}, "mode must be")],
)
def test_build_loss_other_errors(config: dict, message: str) -> None:
    with pytest.raises(LtbenchError, match=message):
        build_loss(config, STATS)


def test_example_plugin_loss_is_bce_plus_epsilon_times_one_minus_pt() -> None:
    from ltbench.plugins import load_plugins

    load_plugins()
    module = build_loss({"name": "poly1_bce", "epsilon": 2.0}, ClassStats(np.array([10, 40]), 50))
    loss = module(torch.zeros(1, 2), torch.tensor([[1, 0]], dtype=torch.uint8)).item()
    assert loss == pytest.approx(math.log(2) + 2.0 * 0.5, rel=1e-6)  # p_t = 1/2 for both entries



def test_db_focal_batch_mean_focal_factor_is_one_scalar_from_the_mean_bce() -> None:
    """``focal_reduction: batch_mean`` (LMPT's / HP-DVAL's DB copy): p_t = exp(-mean of the unweighted BCE)."""
    z = logits64()

    def unweighted_bce(k: int, i: int) -> torch.Tensor:
        zt = z[k, i] - math.log(N / FREQ[i] - 1) * 0.05 / 5.0
        return torch.log1p(torch.exp(-zt)) if TARGETS[k, i] else torch.log1p(torch.exp(5.0 * zt))

    entries = [(k, i) for k in range(3) for i in range(4)]
    p_t = torch.exp(-sum(unweighted_bce(k, i) for k, i in entries) / len(entries))
    weighted = sum(db_entry(k, i, z[k, i], int(TARGETS[k, i]), focal=False) for k, i in entries) / len(entries)
    expected = 2.0 * (1 - p_t) ** 2 * weighted
    (expected_grad,) = torch.autograd.grad(expected, z)
    value, grad = run("db_focal", z, focal_reduction="batch_mean")
    assert value == pytest.approx(expected.item(), rel=1e-5)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-6)
    assert value != pytest.approx(run("db_focal", z)[0], rel=1e-3)  # not the per-element factor
    with pytest.raises(LtbenchError, match="focal_reduction must be one of element, batch_mean"):
        build_loss({"name": "db_focal", "focal_reduction": "mean"}, STATS)


def test_cprfls_fl_takes_its_focal_factor_from_the_batch_mean_bce() -> None:
    """CPRFL's ResampleLoss (src/loss_functions/dbl.py:62-63,360-369): FL = logit-regularised BCE (negatives
    weighted 1/lambda) times one focal factor from the mean unregularised-weight BCE of the batch."""
    z = logits64()
    entries = [(k, i) for k in range(3) for i in range(4)]

    def zt(k: int, i: int) -> torch.Tensor:
        return z[k, i] - math.log(N / FREQ[i] - 1) * 0.05 / 5.0

    bce = [torch.log1p(torch.exp(-zt(k, i))) if TARGETS[k, i] else torch.log1p(torch.exp(5.0 * zt(k, i)))
           for k, i in entries]
    p_t = torch.exp(-sum(bce) / len(entries))
    weighted = sum(b if TARGETS[k, i] else b / 5.0 for b, (k, i) in zip(bce, entries)) / len(entries)
    expected = 2.0 * (1 - p_t) ** 2 * weighted
    (expected_grad,) = torch.autograd.grad(expected, z)
    value, grad = run("focal", z, logit_reg=True, focal_reduction="batch_mean")
    assert value == pytest.approx(expected.item(), rel=1e-5)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-6)
    cb_value, _ = run("cb_focal", z, mode="by_class", logit_reg=True, focal_reduction="batch_mean")
    assert cb_value != pytest.approx(run("cb_focal", z, mode="by_class", logit_reg=True)[0], rel=1e-3)


@pytest.mark.parametrize("pos_scale", [None, 5.0])
def test_db_star_scales_positive_logits_per_class(pos_scale) -> None:
    """HP-DVAL's DB*: positive logit of class i times w_i = n_i / max n_j (paper) or a constant (code)."""
    w = [f / max(FREQ) for f in FREQ] if pos_scale is None else [pos_scale] * 4

    def entry(k: int, i: int, z: torch.Tensor, y: int) -> torch.Tensor:
        zt = z - math.log(N / FREQ[i] - 1) * 0.05 / 5.0
        if not y:
            return db_entry(k, i, z, y)
        pos = positives(k)
        r = (1 / FREQ[i]) / sum(1 / FREQ[j] for j in pos)
        weight = 0.1 + 1 / (1 + math.exp(-10.0 * (r - 0.3)))
        return 2.0 * (1 - sig(w[i] * zt)) ** 2 * weight * torch.log1p(torch.exp(-w[i] * zt))

    check("db_star", entry, pos_scale=pos_scale)
