"""CLIP's symmetric image-text contrastive loss over a batch, as LM-CLIP's code applies it to multi-label data.

Image b and text b are the only positive pair (the diagonal); every other text
of the batch is a negative for image b and vice versa, even when two images
share their label set and so their caption (damilab/lm-clip @ 9983999,
model_openai_clip.py:201-253: labels = arange(B), the mean of the two
cross-entropies). Embeddings are L2-normalised; logits are scale * cosine.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def image_text_contrastive(images: torch.Tensor, texts: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """(CE(rows of scale * I T^T, diagonal) + CE(its columns, diagonal)) / 2 for B x E images and texts."""
    logits = scale * F.normalize(images.float(), dim=-1) @ F.normalize(texts.float(), dim=-1).T
    diagonal = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, diagonal) + F.cross_entropy(logits.T, diagonal)) / 2
