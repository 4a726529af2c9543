"""MLC-NC's two feature losses (AAAI 2025), which pull label features towards the neural-collapse geometry.

Both take features rather than logits, so they are plain functions that the
``mlcnc`` method adds to its classification loss (``ltbench/methods/mlcnc.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# inside both logarithms of the alignment loss, as the code keeps log(0) away (featurelabelloss.py:28,32)
ALIGNMENT_EPS = 1e-6


def feature_label_alignment(attended: torch.Tensor, queries: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """FLA: a binary cross-entropy on the cosine s of each class's attended feature with its ETF query.

    A positive class scores (1 + s) / 2, pulled to s = 1; a negative one
    1 - (C-1)/C * |s + 1/(C-1)|, pulled to the ETF angle s = -1/(C-1); the loss
    is -mean over B x C of the log scores (t1neo666/AAAI25_MLC-NC @ 1dedffa,
    src_files/loss_functions/featurelabelloss.py:9-36). ``attended`` B x C x E,
    ``queries`` C x E, ``targets`` B x C.
    """
    classes = queries.shape[0]
    cosine = (F.normalize(attended.float(), dim=-1) * F.normalize(queries.float(), dim=-1)).sum(-1)
    targets = targets.float()
    positive = torch.log((1 + cosine) / 2 + ALIGNMENT_EPS)
    negative = torch.log(1 - (classes - 1) / classes * (cosine + 1 / (classes - 1)).abs() + ALIGNMENT_EPS)
    return -(targets * positive + (1 - targets) * negative).mean()


def prototype_contrastive(projected: torch.Tensor, prototypes: torch.Tensor, targets: torch.Tensor,
                          temperature: float = 0.5) -> torch.Tensor:
    """A softmax over class prototypes for each positive (image, class) pair's projected feature; mean over pairs.

    -log softmax_k(cos(f_bc, p_k) / T)[c] for every positive pair, averaged
    (0 when the batch has none); T 0.5 (t1neo666/AAAI25_MLC-NC @ 1dedffa,
    src_files/loss_functions/prototypeloss.py:45-82). ``projected`` B x C x d,
    ``prototypes`` C x d, ``targets`` B x C.
    """
    scores = F.normalize(projected.float(), dim=-1) @ F.normalize(prototypes.float(), dim=-1).T / temperature
    log_probs = torch.log_softmax(scores, dim=-1)  # B x C (the pair's class) x C (the prototype)
    own = torch.diagonal(log_probs, dim1=1, dim2=2)  # B x C: the log-probability of the pair's own prototype
    positive = targets > 0
    if not positive.any():
        return projected.new_zeros((), dtype=torch.float32)
    return -own[positive].mean()
