"""CLIP's text tower as a frozen module that also encodes prompts given as token embeddings.

Prompt learners (CoOp, LMPT, HP-DVAL) replace some token embeddings with
learnable vectors, so the tower must take embeddings rather than token ids.
The tower never trains here and never keeps gradients of its own weights;
gradients still flow through it to the prompt vectors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ltbench.pretrained.clip import Tokenizer


class ClipTextTower(nn.Module):
    """Token embedding, transformer, final norm and projection of an open_clip CLIP, frozen."""

    def __init__(self, clip: nn.Module, tokenizer: Tokenizer) -> None:
        super().__init__()
        self.token_embedding = clip.token_embedding
        self.positional_embedding = clip.positional_embedding
        self.transformer = clip.transformer
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.register_buffer("attn_mask", clip.attn_mask, persistent=False)
        self.register_buffer("logit_scale", clip.logit_scale.detach().clone())  # log of CLIP's temperature
        self.tokenizer = tokenizer
        self.requires_grad_(False)
        self.eval()

    @property
    def width(self) -> int:
        return int(self.token_embedding.weight.shape[1])

    def train(self, mode: bool = True) -> "ClipTextTower":
        """Always in eval mode: the tower is frozen."""
        return super().train(False)

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        return self.tokenizer(texts).to(self.token_embedding.weight.device)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token ids (N x L) -> token embeddings (N x L x width), the input prompt learners edit."""
        return self.token_embedding(tokens)

    def encode_embeddings(self, embeddings: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Text features (N x E) of prompts given as token embeddings; ``tokens`` locate each end-of-text token.

        The embeddings are cast to the tower's dtype, so fp32 prompt vectors
        drive a half-precision tower; the result is float32.
        """
        dtype = self.positional_embedding.dtype
        x = embeddings.to(dtype) + self.positional_embedding
        x = self.ln_final(self.transformer(x, attn_mask=self.attn_mask))
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]  # CLIP pools at end-of-text
        projection = self.text_projection
        x = projection(x) if isinstance(projection, nn.Linear) else x @ projection
        return x.float()

    def encode(self, texts: list[str]) -> torch.Tensor:
        """Raw text features (N x E) of plain texts."""
        tokens = self.tokenize(texts)
        return self.encode_embeddings(self.embed(tokens), tokens)


def cosine_logits(images: torch.Tensor, texts: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """``exp(log_scale) * cos(image, text)``: CLIP's logits, ``... x E`` against ``C x E`` -> ``... x C``."""
    return log_scale.exp() * F.normalize(images.float(), dim=-1) @ F.normalize(texts.float(), dim=-1).T
