"""Distribution-Balanced losses: re-balanced weighting + negative-tolerant regularisation (+ focal)."""

from __future__ import annotations

import torch

from ltbench.data.base import ClassStats
from ltbench.losses.common import class_counts, class_tensor
from ltbench.errors import check_choice
from ltbench.losses.resample import FOCAL_REDUCTIONS, Focal, ResampleLoss, db_logit_bias
from ltbench.registry import LOSSES


class _DistributionBalanced(ResampleLoss):
    """DB's weighting w_ki = alpha + sigmoid(beta * (r_ki - mu)), r_ki = (1/n_i) / sum_{j in y_k} 1/n_j.

    The same w_ki multiplies positive and negative entries. A sample without
    positive classes has r = inf, so w = alpha + 1, as in the DB code.
    """

    def __init__(
        self, stats: ClassStats, alpha: float, beta: float, mu: float, kappa: float, neg_scale: float,
        loss_weight: float, focal: Focal | None, pos_scale: torch.Tensor | None = None,
    ) -> None:
        super().__init__(loss_weight, focal=focal, bias=db_logit_bias(stats, kappa, neg_scale), neg_scale=neg_scale,
                         pos_scale=pos_scale)
        self.alpha, self.beta, self.mu = alpha, beta, mu
        pos, _ = class_counts(stats)
        self.register_buffer("inv_freq", class_tensor(1.0 / pos), persistent=False)

    def weights(self, targets: torch.Tensor) -> torch.Tensor:
        # elementwise rather than a matmul, which autocast would run in half precision
        repeat_rate = (targets * self.inv_freq).sum(dim=1, keepdim=True)  # expected resampling rate of each image
        ratio = self.inv_freq / repeat_rate  # inf for an all-negative row: sigmoid -> 1
        return self.alpha + torch.sigmoid(self.beta * (ratio - self.mu))


@LOSSES.register("db_focal")
class DBFocalLoss(_DistributionBalanced):
    """DB-Focal: distribution-balanced loss, re-balanced weights + logit regularisation + focal; mean.

    Wu et al. (ECCV 2020). Defaults are the VOC-LT ones (mu 0.3, lambda 5);
    COCO-LT uses ``mu=0.2, neg_scale=2``. ``neg_scale`` is the paper's lambda,
    ``kappa`` its bias scale; b_i = -log(N/n_i - 1) * kappa / lambda with
    counts clamped to >= 1. ``focal_reduction: batch_mean`` computes one focal
    p_t = exp(-mean BCE) per batch instead of one per entry: the variant in
    LMPT's and HP-DVAL's code, not Wu et al.'s.
    """

    def __init__(
        self, stats: ClassStats, alpha: float = 0.1, beta: float = 10.0, mu: float = 0.3, kappa: float = 0.05,
        neg_scale: float = 5.0, balance: float = 2.0, gamma: float = 2.0, loss_weight: float = 1.0,
        focal_reduction: str = "element",
    ) -> None:
        check_choice("loss.focal_reduction", focal_reduction, FOCAL_REDUCTIONS)
        super().__init__(stats, alpha, beta, mu, kappa, neg_scale, loss_weight,
                         Focal(balance, gamma, focal_reduction))


@LOSSES.register("db_nofocal")
class DBNoFocalLoss(_DistributionBalanced):
    """DB No-Focal: DB-Focal without the focal factor; mean.

    Wu et al. (ECCV 2020) ablation; CPRFL's Table 2 runs it with
    ``loss_weight=0.5``. Parameters as in ``db_focal``.
    """

    def __init__(
        self, stats: ClassStats, alpha: float = 0.1, beta: float = 10.0, mu: float = 0.3, kappa: float = 0.05,
        neg_scale: float = 5.0, loss_weight: float = 1.0,
    ) -> None:
        super().__init__(stats, alpha, beta, mu, kappa, neg_scale, loss_weight, focal=None)


@LOSSES.register("db_star")
class DBStarLoss(_DistributionBalanced):
    """DB*: DB-Focal with each positive logit scaled per class (HP-DVAL, Huang, Yan et al., IEEE TIP).

    Paper (``pos_scale: null``): class i's positive logit is multiplied by
    w_i = (n_i / N) / max_j (n_j / N), other settings as in Wu et al. The
    authors' code instead multiplies by one constant (``pos_scale: 5.0``
    with ``neg_scale: 2.0, mu: 0.2`` on COCO-LT; 10.0 with 5.0, 0.3 on VOC-LT)
    and uses ``focal_reduction: batch_mean``. Assumption: only the logit is
    scaled (no 1/w weight on the positive term, unlike lambda on negatives).
    """

    def __init__(
        self, stats: ClassStats, pos_scale: float | None = None, alpha: float = 0.1, beta: float = 10.0,
        mu: float = 0.3, kappa: float = 0.05, neg_scale: float = 5.0, balance: float = 2.0, gamma: float = 2.0,
        loss_weight: float = 1.0, focal_reduction: str = "element",
    ) -> None:
        check_choice("loss.focal_reduction", focal_reduction, FOCAL_REDUCTIONS)
        pos, _ = class_counts(stats)
        scale = class_tensor(pos / pos.max()) if pos_scale is None else torch.full((len(pos),), float(pos_scale))
        super().__init__(stats, alpha, beta, mu, kappa, neg_scale, loss_weight,
                         Focal(balance, gamma, focal_reduction), pos_scale=scale)
