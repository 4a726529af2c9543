"""LMPT's class-specific embedding (CSE) loss: captions pulled towards their classes' prompt tokens.

Xia et al. (LMPT, ACL 2024 workshop), as its code computes it: for caption b
(token embeddings, B x L x W) and class c's prompt (C x L x W),
x_bct = 1 - cos(caption token t, prompt token t + m) for t in [0, L - m);
y_bc = +1 if c labels b else -1; d_bc = sum_t x_bct * y_bc;
loss_bc = relu(margin_c - d_bc), margin_c = margin / q_c^(1/4); class weights
(1/q_c)^gamma normalised to sum 1; the mean of weight_c * loss_bc over b, c.

Two fixes to the committed code, which does not run (its issues #5 and #7):
q_c is class c's share of the training labels (the code took a softmax over
raw counts, which underflows to zero), and the weights are normalised over
classes (the code used ``dim=2`` on a 2-D tensor). ``prior`` names q_c:
``share`` (ltbench's fix, the default), ``softmax`` (the committed
``lmpt/train.py:209-210``: finite only for small counts, as in the
reference-trajectory test) or ``count`` (the raw counts, as the maintainer's
example in LMPT issue #4 passes them: margins smaller by total^(1/4), about 7x
on VOC-LT).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltbench.errors import LtbenchError, check_choice


PRIORS = ("share", "softmax", "count")


def class_prior(class_freq: np.ndarray, prior: str) -> np.ndarray:
    """q_c of the margins and weights: frequency shares, a softmax over the raw counts, or the raw counts."""
    check_choice("method.prior", prior, PRIORS)
    counts = np.maximum(np.asarray(class_freq, dtype=np.float64), 1.0)  # a class without labels: share 1/total
    if prior == "softmax":
        exp = np.exp(counts - counts.max())
        return exp / exp.sum()
    return counts / counts.sum() if prior == "share" else counts


class ClassSpecificEmbeddingLoss(nn.Module):
    def __init__(self, class_freq: np.ndarray, margin: float = 0.2, gamma: float = 2.0, offset: int = 2,
                 prior: str = "share") -> None:
        super().__init__()
        share = class_prior(class_freq, prior)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # an underflowed share is refused below
            weights = share ** -gamma
            normalised = (weights / weights.sum()).astype(np.float32)
        if not (np.all(share > 0) and np.all(np.isfinite(normalised))):
            raise LtbenchError("method.prior=softmax underflows for these class counts (as the committed LMPT "
                               "code does on VOC-LT and COCO-LT); use method.prior=share.")
        self.register_buffer("margin", torch.as_tensor(margin / share ** 0.25, dtype=torch.float32), persistent=False)
        self.register_buffer("class_weight", torch.as_tensor(weights / weights.sum(), dtype=torch.float32),
                             persistent=False)
        self.offset = offset

    def forward(self, captions: torch.Tensor, prompts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``captions`` B x L x W, ``prompts`` C x L x W token embeddings, ``targets`` B x C in {0, 1}."""
        length = captions.shape[1] - self.offset
        caption = F.normalize(captions[:, :length].float(), dim=-1)
        prompt = F.normalize(prompts[:, self.offset:self.offset + length].float(), dim=-1)
        distance = (1 - torch.einsum("btw,ctw->bct", caption, prompt)).sum(dim=-1)  # sum_t x_bct
        signs = 2 * targets.float() - 1
        loss = torch.relu(self.margin - distance * signs)
        return (loss * self.class_weight).mean()
