"""Heads that score CLIP image features against class text: fixed (zero-shot) or prompted (CoOp, LMPT).

They take a CLIP backbone's B x E x 1 x (1 + L) output and use its global
token. The logit is ``exp(logit_scale) * cos(image, text)`` with CLIP's own
frozen temperature (a sigmoid of it is what the loss sees; AP only needs the
ranking).
"""

from __future__ import annotations

import torch
from torch import nn

from ltbench.models.clip_image import split_tokens
from ltbench.models.clip_text import cosine_logits
from ltbench.models.prompts import PromptedText


class ZeroShotHead(nn.Module):
    """Fixed class embeddings (C x E) scored by cosine times ``exp(logit_scale)``."""

    def __init__(self, text: torch.Tensor, logit_scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("text", text.float())
        self.register_buffer("logit_scale", logit_scale.detach().clone())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        image, _ = split_tokens(features)
        return cosine_logits(image, self.text, self.logit_scale)


class PromptHead(nn.Module):
    """CoOp: class text from learnable contexts through the frozen text tower, scored by scaled cosine."""

    def __init__(self, text: PromptedText) -> None:
        super().__init__()
        self.text = text

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        image, _ = split_tokens(features)
        return cosine_logits(image, self.text(), self.text.tower.logit_scale)
