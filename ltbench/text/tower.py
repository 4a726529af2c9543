"""A text tower that trains with the model: the class prompts re-encoded on every forward.

The CPRFL authors' code keeps CLIP's text encoder inside the model, runs it on
the tokenised class prompts at every step and lets the optimizer update it at
the full learning rate (its freezing lines are commented out). ltbench's
default instead encodes the prompts once and keeps the embeddings fixed; this
module is the other path (``text.trainable=true``): a head holding it owns the
tower's parameters, so they train, are averaged by EMA and are checkpointed
like any other head weight.
"""

from __future__ import annotations

import torch
from torch import nn


class TrainableTextTower(nn.Module):
    """``forward()`` -> ``[num_classes, dim]`` embeddings of fixed token ids by a trainable text model.

    ``model`` needs an ``encode_text(tokens)`` method (an open_clip CLIP model
    with its image tower removed); ``tokens`` are the tokenised class prompts.
    """

    def __init__(self, model: nn.Module, tokens: torch.Tensor, dim: int) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("tokens", tokens, persistent=False)  # follows the head's device
        self.num_classes, self.dim = len(tokens), dim

    def forward(self) -> torch.Tensor:
        return self.model.encode_text(self.tokens)
