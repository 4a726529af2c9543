"""Multi-head self-attention of the shape CPRFL's authors use: wide heads, one q/k/v projection without bias.

The authors' layer (jiexuanyan/CPRFL @ 10b5b7c) projects a ``dim``-wide sequence to ``heads`` heads
of width ``dim_head`` each (default 8 x 512, so the inner width 4096 is twice
``dim``) with one ``Linear(dim, 3 * heads * dim_head, bias=False)`` whose output
is split into q, k and v in that order, heads major within each; scores are
scaled by ``dim_head ** -0.5`` and the heads' outputs go back to ``dim`` through
``Linear(heads * dim_head, dim)``. There is no dropout on the attention
probabilities (``attn_dropout=0``).

``nn.MultiheadAttention(dim, heads, dropout=p)`` has the same algebra with
``dim_head = dim // heads``, ``qkv_bias=True`` and ``attn_dropout=p`` (only its
initialisation differs), so that shape stays one set of parameters away.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Attention(nn.Module):
    """``[B, n, dim]`` -> ``[B, n, dim]`` self-attention over all ``n`` positions."""

    def __init__(
        self, dim: int, heads: int = 8, dim_head: int = 512, qkv_bias: bool = False, attn_dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.heads, self.dim_head, self.attn_dropout = heads, dim_head, attn_dropout
        inner = heads * dim_head
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=qkv_bias)
        self.to_out = nn.Linear(inner, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        q, k, v = self.to_qkv(x).view(batch, length, 3, self.heads, self.dim_head).permute(2, 0, 3, 1, 4)
        dropout = self.attn_dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, scale=self.dim_head ** -0.5)
        return self.to_out(attended.transpose(1, 2).reshape(batch, length, self.heads * self.dim_head))
