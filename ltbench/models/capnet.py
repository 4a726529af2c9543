"""CAPNet's parts, reconstructed from its abstract (Tang et al., arXiv 2511.20641; no code or full text public).

What the abstract states: class-specific soft prompts, a 3-layer GCN over a
label graph built from CLIP text embeddings whose output is a residual on the
class text features, a cosine score with a trainable temperature and a
sigmoid, parameter-efficient fine-tuning of the image encoder, test-time
ensembling. Everything else here is an assumption, listed in ``ASSUMPTIONS``
(the method's docstring and help text repeat it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ltbench.models.clip_image import ClipImageBackbone
from ltbench.models.clip_text import cosine_logits
from ltbench.models.prompts import PromptedText

ASSUMPTIONS = (
    "label graph: cosine similarities of CLIP's 'a photo of a [CLASS].' text embeddings, each class keeping its "
    "graph_k most similar classes (symmetrised, self-loops, D^-1/2 A D^-1/2 normalised)",
    "GCN: 3 layers of width E (the text embedding size), ReLU between them, last layer initialised to zero so "
    "training starts from the prompts alone",
    "soft prompts: 16 class-specific context tokens initialised N(0, 0.02), as CoOp",
    "temperature: trainable log-scale initialised to CLIP's own",
    "PEFT: AdaptFormer adapters (bottleneck 64, scale 0.1, up-projection zero-initialised) on every ViT block's MLP, "
    "as in the co-author's LIFT code; RN50 gets no adapters and stays frozen",
    "test-time ensembling: LIFT's five crops (four corners and centre of the image resized to size / 0.875), "
    "logits averaged",
    "loss: DB-Focal (Wu et al.) for 'distribution-balanced focal loss with class-aware re-weighting'",
)


def label_graph(text: torch.Tensor, k: int) -> torch.Tensor:
    """Normalised adjacency D^-1/2 (A + I) D^-1/2 of the k-nearest-class graph of ``text`` (C x E) by cosine."""
    similarity = F.normalize(text.float(), dim=-1) @ F.normalize(text.float(), dim=-1).T
    similarity.fill_diagonal_(-math.inf)
    neighbours = similarity.topk(min(k, len(text) - 1), dim=1).indices
    adjacency = torch.zeros_like(similarity).scatter_(1, neighbours, 1.0)
    adjacency = ((adjacency + adjacency.T) > 0).float() + torch.eye(len(text))
    inv_sqrt = adjacency.sum(dim=1).rsqrt()
    return inv_sqrt[:, None] * adjacency * inv_sqrt[None, :]


class GraphResidual(nn.Module):
    """A 3-layer GCN over the label graph whose output is added to the class text features."""

    def __init__(self, adjacency: torch.Tensor, dim: int, layers: int = 3) -> None:
        super().__init__()
        self.register_buffer("adjacency", adjacency)
        self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(layers))
        nn.init.zeros_(self.layers[-1].weight)
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        x = text
        for index, layer in enumerate(self.layers):
            x = self.adjacency @ layer(x)
            if index < len(self.layers) - 1:
                x = F.relu(x)
        return text + x


class CAPNetHead(nn.Module):
    """Prompted class text + graph residual, scored by cosine times a trainable temperature; views averaged."""

    def __init__(self, text: PromptedText, graph: GraphResidual) -> None:
        super().__init__()
        self.text = text
        self.graph = graph
        self.log_scale = nn.Parameter(text.tower.logit_scale.detach().clone().float())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Features B x E x V x (1 + L) (V views at test time, 1 in training) -> logits averaged over views."""
        images = features[..., 0].transpose(1, 2)  # B x V x E, the global token of each view
        return cosine_logits(images, self.graph(self.text()), self.log_scale).mean(dim=1)


class Adapter(nn.Module):
    """AdaptFormer (Chen et al., NeurIPS 2022): ``mlp(x) + scale * up(relu(down(x)))`` beside a block's MLP."""

    def __init__(self, mlp: nn.Module, width: int, bottleneck: int = 64, scale: float = 0.1) -> None:
        super().__init__()
        self.mlp = mlp
        self.down = nn.Linear(width, bottleneck)
        self.up = nn.Linear(bottleneck, width)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        adapted = self.up(F.relu(self.down(x.float()))).to(x.dtype)
        return self.mlp(x) + self.scale * adapted


def add_adapters(backbone: ClipImageBackbone, bottleneck: int = 64) -> list[str]:
    """Freeze the image tower and give each ViT block an adapter; returns the adapters' parameter names."""
    backbone.freeze_all()
    blocks = getattr(getattr(backbone.visual, "transformer", None), "resblocks", [])
    for block in blocks:
        width = block.ln_2.normalized_shape[0]
        block.mlp = Adapter(block.mlp, width, bottleneck)
    if blocks:
        backbone.frozen = False  # the adapters train, so the tower follows the training mode again
    return [name for name, p in backbone.named_parameters() if p.requires_grad]


class FiveCrop(nn.Module):
    """At test time, the four corner and the centre crops of ``size`` as views (B x E x 5 x T); one view in training."""

    def __init__(self, backbone: ClipImageBackbone) -> None:
        super().__init__()
        self.backbone = backbone
        self.source = backbone.source
        self.out_channels = backbone.out_channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        size = self.backbone.image_size
        height, width = images.shape[-2:]
        if self.training or (height, width) == (size, size):
            return self.backbone(images)
        starts = [(0, 0), (0, width - size), (height - size, 0), (height - size, width - size),
                  ((height - size) // 2, (width - size) // 2)]
        views = [self.backbone(images[..., top:top + size, left:left + size]) for top, left in starts]
        return torch.cat(views, dim=2)
