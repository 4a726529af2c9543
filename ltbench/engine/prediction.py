"""Test-set scores: the head's float32 logits through the method's score function.

Training's evaluations and the re-evaluation of a saved run both place the
model (``place_on_device``) and predict (``predict``) through this module, so a reloaded
run reproduces its scores to the last digit.

Only the backbone runs under autocast. The head gets float32 features and runs
outside it, so its logits are never rounded to bfloat16 / float16 (bfloat16's
step is 0.125 near a CLIP logit of 30, which ties images that differ). The
scores are the logits themselves, or their log-softmax over classes, never a
float32 sigmoid: that is exactly 1.0 for every logit >= 16.7, and CLIP heads
output 100 x cosine (docs/scores.md).
"""

from __future__ import annotations

from typing import Any, Callable, ContextManager, Iterable

import numpy as np
import torch

from ltbench.data.base import LTDataset
from ltbench.engine.device import amp_dtype, amp_enabled, autocast, pick_device
from ltbench.engine.inputs import Inputs
from ltbench.methods.base import SCORE_FUNCTIONS, MethodParts, SplitModel, Stage


def place_on_device(config: dict[str, Any], dataset: LTDataset, parts: MethodParts) -> Inputs:
    """Put the method's model on the config's device (and thread count); return what feeds it there."""
    train = config["train"]
    device = pick_device(train["device"])
    if train["threads"]:
        torch.set_num_threads(train["threads"])
    parts.model.to(device)
    if device.type == "cuda":  # convolutions are faster on NHWC weights and inputs alike
        parts.model.to(memory_format=torch.channels_last)
    return Inputs(config, dataset, parts, device, amp_enabled(train["amp"], device))


def predict(model: SplitModel, inputs: Inputs, last_stage: Stage | None) -> np.ndarray:
    """Test-set scores of ``model`` (cached features when its backbone did not train in ``last_stage``)."""
    cached = inputs.cached_for_evaluation(last_stage)
    dtype = amp_dtype(inputs.config["train"]["amp"])
    return predict_scores(model, inputs.test_loader(model.backbone, cached),
                          lambda batch: inputs.to_features(model.backbone, batch, cached),
                          lambda: autocast(inputs.amp, inputs.device, dtype), inputs.parts.score)


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
