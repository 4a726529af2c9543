"""Test-set scores: the head's float32 logits through the method's score function.

Only the backbone runs under autocast. The head gets float32 features and runs
outside it, so its logits are never rounded to bfloat16 / float16 (bfloat16's
step is 0.125 near a CLIP logit of 30, which ties images that differ). The
scores are the logits themselves, or their log-softmax over classes, never a
float32 sigmoid: that is exactly 1.0 for every logit >= 16.7, and CLIP heads
output 100 x cosine (docs/scores.md).
"""

from __future__ import annotations

from typing import Callable, ContextManager, Iterable

import numpy as np
import torch

from ltbench.methods.base import SCORE_FUNCTIONS, SplitModel


@torch.no_grad()
def predict_scores(model: SplitModel, batches: Iterable[tuple[torch.Tensor, ...]],
                   features: Callable[[torch.Tensor], torch.Tensor], precision: Callable[[], ContextManager],
                   score: str) -> np.ndarray:
    """``N x C`` float32 scores of ``model`` on the loader's batches (inputs first).

    ``features`` maps a batch's inputs to backbone features, run inside ``precision()``
    (autocast or nothing); ``score`` names one of ``SCORE_FUNCTIONS``.
    """
    score_of = SCORE_FUNCTIONS[score]
    model.eval()
    outputs = []
    for batch in batches:
        with precision():
            batch_features = features(batch[0])
        logits = model.head(batch_features.float()).float()
        outputs.append(score_of(logits).cpu())
    return torch.cat(outputs).numpy()
