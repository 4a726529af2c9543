"""LM-CLIP's model: the whole CLIP, both towers and the temperature trained, class prompts re-encoded every step.

damilab/lm-clip @ 9983999 unfreezes every CLIP parameter (model_openai_clip.py:329-331),
scores an image against "a photo of a <class>" by exp(logit_scale) * cosine
(model_openai_clip.py:351-370) and trains ``logit_scale`` with the rest
(train.py:334-341 optimises ``model.parameters()``).
"""

from __future__ import annotations

import torch
from torch import nn

from ltbench.models.clip_image import split_tokens
from ltbench.models.clip_text import ClipTextTower, cosine_logits


class LMClipHead(nn.Module):
    """Owns CLIP's text tower (trainable) and a trainable log-temperature; scores the global image token."""

    def __init__(self, tower: ClipTextTower, class_prompts: list[str]) -> None:
        super().__init__()
        self.tower = tower.requires_grad_(True)  # the backbone keeps only a reference: this head owns it
        self.register_buffer("class_tokens", tower.tokenize(class_prompts), persistent=False)
        self.logit_scale = nn.Parameter(tower.logit_scale.detach().clone())

    @property
    def num_classes(self) -> int:
        return len(self.class_tokens)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Text features (N x E) of token ids through the trainable tower."""
        return self.tower.encode_embeddings(self.tower.embed(tokens), tokens)

    def scores(self, image: torch.Tensor, class_text: torch.Tensor) -> torch.Tensor:
        return cosine_logits(image, class_text, self.logit_scale)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        image, _ = split_tokens(features)
        return self.scores(image, self.encode(self.class_tokens))
