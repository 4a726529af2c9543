"""Worked example of a drop-in method plugin.

Any ``*.py`` file in this folder is imported by ltbench at start-up (as
``ltbench_plugins.<file name>``), so the method below is available as
``ltbench run --method logit_adjusted --dataset mnist_lt`` without editing ltbench.
A plugin registers what it adds: here a new loss, built on ltbench's shared
BCE core, and a method that trains the shared baseline model with it.
"""

from __future__ import annotations

import numpy as np

from ltbench.data.base import ClassStats
from ltbench.losses.common import class_tensor
from ltbench.losses.resample import ResampleLoss
from ltbench.methods.baseline import loss_method
from ltbench.registry import LOSSES


@LOSSES.register("logit_adjusted_bce")
class LogitAdjustedBCE(ResampleLoss):
    """BCE on logits shifted by tau * log-odds of each class's training prior (Menon et al. 2021).

    Adding the prior during training only makes the model learn prior-free
    scores; at test time the raw logits are used, which favours rare classes.
    """

    def __init__(self, stats: ClassStats, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        prior = np.clip(np.asarray(stats.class_freq, dtype=np.float64) / stats.num_train, 1e-4, 1 - 1e-4)
        super().__init__(loss_weight, bias=class_tensor(tau * np.log(prior / (1 - prior))))


loss_method("logit_adjusted", "logit_adjusted_bce",
            "Example plugin (methods/): the baseline model trained with logit-adjusted BCE.")
