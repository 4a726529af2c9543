"""Each training item paired with a reversed-sampled partner: the two inputs of BBN's two branches."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ltbench.data.samplers import reversed_draws


class ReversedPairs(Dataset):
    """Item i of ``base`` (drawn by the engine's uniform sampler) with a partner drawn by reversed sampling.

    As in BBN's code, where the dataset draws the re-balancing branch's image
    beside each conventional one. The partners are drawn for the whole epoch
    by ``set_epoch`` from (``seed``, epoch), so a resumed run and data-loading
    workers see the same pairs as an uninterrupted run.
    """

    def __init__(self, base: Dataset, targets: np.ndarray, seed: int) -> None:
        self.base, self.targets, self.seed = base, np.asarray(targets), seed
        self.set_epoch(1)

    def set_epoch(self, epoch: int) -> None:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        self.partners = reversed_draws(self.targets, len(self.targets), generator)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple:
        inputs, targets = self.base[index]
        partner_inputs, partner_targets = self.base[int(self.partners[index])]
        return inputs, targets, partner_inputs, partner_targets
