"""Exponential moving average of the weights (CPRFL reports its EMA model).

Only what training changes is averaged: float parameters and persistent float
buffers (BatchNorm statistics), as the CPRFL authors' ``ModelEma`` averages the
state dict. Non-persistent buffers (CLIP's causal ``attn_mask``, -inf above the
diagonal, which an average turns into NaN) and integer buffers are copied from
the live model at every update.
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


class ExponentialAverage(AveragedModel):
    """``ema = decay * ema + (1 - decay) * live`` for the averaged tensors; a copy of the live model's other buffers."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        super().__init__(model, use_buffers=True)
        self.decay = decay
        self.persistent = set(model.state_dict(keep_vars=True))  # the names a state dict keeps

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        (mine, my_copies) = averaged_tensors(self.module, self.persistent)
        (live, live_copies) = averaged_tensors(model, self.persistent)
        for target, source in zip(my_copies, live_copies, strict=True):
            target.copy_(source)
        if self.n_averaged == 0:
            for target, source in zip(mine, live, strict=True):
                target.copy_(source)
        else:
            groups: defaultdict[tuple[torch.device, torch.dtype], tuple[list[torch.Tensor], list[torch.Tensor]]]
            groups = defaultdict(lambda: ([], []))
            for target, source in zip(mine, live, strict=True):
                group = groups[target.device, target.dtype]
                group[0].append(target)
                group[1].append(source.to(target.device))
            for targets, sources in groups.values():
                # decay * ema + (1 - decay) * live, rounded as the authors' ModelEma computes it (CPRFL's and
                # HP-DVAL's helper_functions.py): a lerp rounds differently, 5e-6 apart in HP-DVAL's fused scores
                for target, source in zip(targets, sources):
                    target.copy_(self.decay * target + (1.0 - self.decay) * source)
        self.n_averaged += 1


def averaged_tensors(model: nn.Module, persistent: set[str]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The model's tensors to average (float parameters, persistent float buffers) and those to copy, in order."""
    averaged = [p.detach() for p in model.parameters()]
    copied = []
    for name, buffer in model.named_buffers():
        (averaged if buffer.is_floating_point() and name in persistent else copied).append(buffer.detach())
    return averaged, copied


def make_ema(model: nn.Module, decay: float) -> ExponentialAverage:
    """An EMA copy of ``model`` that averages what training changes and copies the rest."""
    return ExponentialAverage(model, decay)
