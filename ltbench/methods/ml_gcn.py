"""ML-GCN (Chen et al., CVPR 2019): a graph convolutional network over class word embeddings builds the classifier.

Multi-label by design, so no adaptation is needed. The word embeddings come
from the ``text`` section's encoder (GloVe by default, read offline; the paper
uses 300-d GloVe, ltbench's offline package has the 50-d vectors), the label
graph from the training split's co-occurrence counts with the paper's
binarisation (``threshold``, tau 0.4) and re-weighting (``p``, 0.2), see
``ltbench.models.ml_gcn``. The loss defaults to the multi-label soft margin
loss the paper trains with; any registered loss can replace it.
"""

from __future__ import annotations

from ltbench.methods.base import MethodContext, MethodParts, SplitModel
from ltbench.models.ml_gcn import MLGCNHead, cooccurrence_adjacency
from ltbench.registry import METHODS


@METHODS.register("ml_gcn", loss="mls", uses=("model", "loss", "text"))
def ml_gcn(ctx: MethodContext, threshold: float = 0.4, p: float = 0.2, hidden: int = 1024) -> MethodParts:
    """ML-GCN (Chen et al. 2019): GCN over GloVe class embeddings and label co-occurrence gives the classifier."""
    backbone = ctx.backbone()
    adjacency = cooccurrence_adjacency(ctx.dataset.train.targets, threshold, p)
    head = MLGCNHead(backbone.out_channels, ctx.text_embeddings(), adjacency, hidden)
    return MethodParts(model=SplitModel(backbone, head), loss=ctx.loss(), stages=[ctx.stage()])
