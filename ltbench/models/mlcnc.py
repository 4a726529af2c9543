"""MLC-NC's head (AAAI 2025): fixed simplex-ETF label queries attend over the feature map, each class's
attended feature is projected to a few dimensions, and a fixed ETF classifier scores their concatenation.

As its code builds it (t1neo666/AAAI25_MLC-NC @ 1dedffa, src_files/attention/attention.py:42-152):
the B x D x h x w map becomes h*w tokens, Linear(D, 768) then ReLU (:50,97-99); C label queries, the
rows of a 768 x C simplex ETF, fixed (:54-55,107); one nn.MultiheadAttention(768, 8 heads,
dropout 0.1) with the queries attending over the tokens, no residual or feed-forward (:57,110-116);
class c's attended vector through its own Linear(768, 20) (weights C x 768 x 20, Xavier-normal,
zero bias: :66-67,76-77,134-135), L2-normalised (:139-141); the C unit vectors concatenated
(C * 20) times a fixed C*20 x C ETF, times one learnable scale initialised to 1 (:56,84,142-152).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ltbench.models.etf import ETFClassifier, simplex_etf


@dataclass
class MLCNCOutputs:
    """What the losses need from one forward: logits, attended label features and their projections."""

    logits: torch.Tensor  # B x C
    attended: torch.Tensor  # B x C x embed_dim, the attention's output per label query
    projected: torch.Tensor  # B x C x proj_dim, unit norm per class


class MLCNCHead(nn.Module):
    """``B x D x h x w`` features -> ``B x C`` logits through ETF label queries, per-class projections and an ETF."""

    def __init__(self, in_channels: int, num_classes: int, embed_dim: int = 768, heads: int = 8,
                 proj_dim: int = 20, dropout: float = 0.1, train_classifier: bool = False) -> None:
        super().__init__()
        self.embed = nn.Linear(in_channels, embed_dim)
        self.register_buffer("queries", simplex_etf(embed_dim, num_classes).T.contiguous())  # C x embed_dim, fixed
        self.attention = nn.MultiheadAttention(embed_dim, heads, dropout=dropout, batch_first=True)
        self.proj_weight = nn.Parameter(nn.init.xavier_normal_(torch.empty(num_classes, embed_dim, proj_dim)))
        self.proj_bias = nn.Parameter(torch.zeros(num_classes, proj_dim))
        self.classifier = ETFClassifier(num_classes * proj_dim, num_classes, trainable=train_classifier)

    def outputs(self, features: torch.Tensor) -> MLCNCOutputs:
        tokens = F.relu(self.embed(features.float().flatten(2).transpose(1, 2)))  # B x hw x embed_dim
        queries = self.queries.to(tokens.dtype).unsqueeze(0).expand(len(tokens), -1, -1)
        attended, _ = self.attention(queries, tokens, tokens, need_weights=False)  # B x C x embed_dim
        projected = torch.einsum("bce,cep->bcp", attended, self.proj_weight.to(attended.dtype)) + self.proj_bias
        projected = F.normalize(projected, dim=-1)
        return MLCNCOutputs(self.classifier(projected.flatten(1)), attended, projected)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.outputs(features).logits
