"""ML-GCN's head (Chen et al., CVPR 2019): a GCN over class word embeddings produces the classifier.

The label graph follows the paper's formulas: A_ij = 1 when P(class j | class i)
= M_ij / N_i >= ``threshold`` (i != j), re-weighted to A'_ij = p * A_ij /
sum_{j != i} A_ij off the diagonal and 1 - p on it, then normalised to
D^-1/2 A' D^-1/2 with D the row sums of A'. (The authors' code differs: it
sums over columns, puts 1 on the diagonal and uses p = 0.25.) Two graph
convolutions, LeakyReLU(0.2) between them as in the paper, map the C x E
embeddings to C x D classifier weights, applied to the globally max-pooled
D-dimensional image feature.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ltbench.errors import LtbenchError


def cooccurrence_adjacency(targets: np.ndarray, threshold: float = 0.4, p: float = 0.2) -> np.ndarray:
    """The re-weighted binarised C x C graph A' from training targets (a class without images has no neighbours)."""
    if not 0.0 <= p <= 1.0:
        raise LtbenchError(f"ML-GCN's re-weighting p must be in [0, 1], not {p}.")
    targets = np.asarray(targets, dtype=np.float64)
    together = targets.T @ targets  # M_ij: images with both i and j
    counts = np.diag(together).copy()  # N_i
    conditional = np.divide(together, counts[:, None], out=np.zeros_like(together), where=counts[:, None] > 0)
    binary = (conditional >= threshold).astype(np.float64)
    np.fill_diagonal(binary, 0.0)
    neighbours = binary.sum(axis=1, keepdims=True)
    reweighted = np.divide(p * binary, neighbours, out=np.zeros_like(binary), where=neighbours > 0)
    np.fill_diagonal(reweighted, 1.0 - p)
    return reweighted


def normalised_adjacency(adjacency: np.ndarray) -> np.ndarray:
    """D^-1/2 A D^-1/2 with D the row sums of A (a row summing to 0 stays 0)."""
    degree = adjacency.sum(axis=1)
    scale = np.divide(1.0, np.sqrt(degree), out=np.zeros_like(degree), where=degree > 0)
    return scale[:, None] * adjacency * scale[None, :]


class MLGCNHead(nn.Module):
    """Logits = maxpool(features) @ W^T, W = A LeakyReLU(A E W0) W1 (two graph convolutions, no bias)."""

    def __init__(self, in_channels: int, embeddings: torch.Tensor, adjacency: np.ndarray,
                 hidden: int = 1024, slope: float = 0.2) -> None:
        super().__init__()
        self.register_buffer("embeddings", embeddings.float().clone())
        self.register_buffer("adjacency", torch.as_tensor(normalised_adjacency(adjacency), dtype=torch.float32))
        self.gc1 = nn.Linear(embeddings.shape[1], hidden, bias=False)
        self.gc2 = nn.Linear(hidden, in_channels, bias=False)
        self.activation = nn.LeakyReLU(slope)
        for layer in (self.gc1, self.gc2):  # the authors' GraphConvolution init: U(+-1/sqrt(out features))
            bound = layer.out_features**-0.5
            nn.init.uniform_(layer.weight, -bound, bound)

    def classifier_weights(self) -> torch.Tensor:
        hidden = self.activation(self.adjacency @ self.gc1(self.embeddings))
        return self.adjacency @ self.gc2(hidden)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features.float().amax(dim=(2, 3)) @ self.classifier_weights().T
