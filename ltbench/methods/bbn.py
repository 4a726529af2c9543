"""BBN (Zhou et al., CVPR 2020): a conventional and a re-balancing branch, mixed by cumulative learning.

Each training item (the engine's uniform, instance-balanced draw) is paired
with a reversed-sampled one (``ReversedPairs``; multi-label form of BBN's
reversed sampler: a class with probability proportional to 1 / n_i, then an
image of it). The conventional branch sees the first, the re-balancing branch
the second; the classifier scores the branch features weighted 2 alpha and
2 (1 - alpha), and the loss is alpha * loss(z, y_uniform) + (1 - alpha) *
loss(z, y_reversed), alpha = 1 - ((epoch - 1) / epochs)^2 (BBN's code). The
loss is BCE per class, the multi-label form of BBN's softmax cross-entropy.
Inference weights both branches 0.5. The branches share the whole backbone
and each owns a small block on the pooled feature (``ltbench.models.bbn``),
since ltbench's split caches the backbone rather than all but its last block.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ltbench.data.pairs import ReversedPairs
from ltbench.methods.base import BatchInputs, EpochInfo, MethodContext, MethodParts, SplitModel
from ltbench.models.bbn import BBNHead, bbn_loss, cumulative_alpha
from ltbench.registry import METHODS


class BilateralSampling:
    """Wraps the engine's train dataset into reversed pairs and draws each epoch's partners."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.pairs: ReversedPairs | None = None

    def wrap(self, dataset: Dataset, targets: np.ndarray) -> ReversedPairs:
        self.pairs = ReversedPairs(dataset, targets, self.seed)
        return self.pairs

    def on_epoch(self, info: EpochInfo) -> None:
        if self.pairs is not None:
            self.pairs.set_epoch(info.global_epoch)


def bbn_batch_loss(inputs: BatchInputs) -> torch.Tensor:
    """BBN's loss of one batch of (uniform inputs, targets, reversed inputs, targets)."""
    uniform, targets, reversed_, reversed_targets = inputs.batch
    uniform_features, reversed_features = inputs.features(uniform), inputs.features(reversed_)
    device = uniform_features.device
    alpha = cumulative_alpha(inputs.info.epoch, inputs.info.epochs)
    return bbn_loss(inputs.model.head, inputs.loss, (uniform_features, targets.to(device)),
                    (reversed_features, reversed_targets.to(device)), alpha)


@METHODS.register("bbn", loss="bce")
def bbn(ctx: MethodContext, branch_dim: int = 256) -> MethodParts:
    """BBN (Zhou et al. 2020): uniform and reversed-sampling branches mixed by a parabolic cumulative weight."""
    backbone = ctx.backbone()
    model = SplitModel(backbone, BBNHead(backbone.out_channels, ctx.dataset.num_classes, branch_dim))
    sampling = BilateralSampling(ctx.config["seed"])
    return MethodParts(model=model, loss=ctx.loss(), stages=[ctx.stage()], batch_loss=bbn_batch_loss,
                       train_dataset=sampling.wrap, on_epoch=[sampling.on_epoch])
