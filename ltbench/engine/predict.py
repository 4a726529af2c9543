"""Test-set predictions of a model: shared by training's final evaluation and the re-evaluation of a saved run.

Both place the model and its inputs the same way (``place``) and predict the
same way (``predict``), so a reloaded run reproduces its scores to the last digit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ltbench.data.base import LTDataset
from ltbench.engine.device import amp_dtype, amp_enabled, autocast, pick_device
from ltbench.engine.inputs import Inputs
from ltbench.methods.base import MethodParts, Stage


def place(config: dict[str, Any], dataset: LTDataset, parts: MethodParts) -> Inputs:
    """Put the method's model on the config's device (and thread count); return what feeds it there."""
    train = config["train"]
    device = pick_device(train["device"])
    if train["threads"]:
        torch.set_num_threads(train["threads"])
    parts.model.to(device)
    if device.type == "cuda":  # convolutions are faster on NHWC weights and inputs alike
        parts.model.to(memory_format=torch.channels_last)
    return Inputs(config, dataset, parts, device, amp_enabled(train["amp"], device))


@torch.no_grad()
def predict(model: nn.Module, inputs: Inputs, last_stage: Stage | None) -> np.ndarray:
    """Sigmoid test-set scores of ``model`` (cached features when its backbone did not train last)."""
    cached = inputs.cached_for_evaluation(last_stage)
    loader = inputs.test_loader(model.backbone, cached)
    model.eval()
    dtype = amp_dtype(inputs.config["train"]["amp"])
    outputs = []
    for batch, _ in loader:
        with autocast(inputs.amp, inputs.device, dtype):
            logits = model.head(inputs.to_features(model.backbone, batch, cached))
        outputs.append(torch.sigmoid(logits.float()).cpu())
    return torch.cat(outputs).numpy()
