"""A method with its own head on the backbone's unpooled B x D x h x w feature maps, queried by class names.

Each class scores every location with a query made from its name's text embedding; its logit is the mean
score plus ``lam`` times the attention-weighted one (class-specific residual attention, CSRA, Zhu & Wu 2021).
"""
import torch
from torch import nn

from ltbench import MethodContext, MethodParts, SplitModel, register_method


class TextQueryHead(nn.Module):
    def __init__(self, channels: int, text: torch.Tensor, lam: float, temperature: float) -> None:
        super().__init__()
        self.queries = nn.Linear(text.shape[1], channels)  # class-name embeddings (C x E) -> queries (C x D)
        self.register_buffer("text", text.float())
        self.bias = nn.Parameter(torch.zeros(len(text)))
        self.lam, self.temperature = lam, temperature

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # B x D x h x w -> B x C
        scores = torch.einsum("bdn,cd->bcn", features.float().flatten(2), self.queries(self.text))
        attention = torch.softmax(scores * self.temperature, dim=-1)
        return scores.mean(-1) + self.lam * (attention * scores).sum(-1) + self.bias


@register_method("my_text_query", loss="bce", uses=("model", "loss", "text"))
def my_text_query(ctx: MethodContext, lam: float = 0.1, temperature: float = 1.0) -> MethodParts:
    """Example: class-name queries attend over the feature map (CSRA-style residual attention)."""
    backbone = ctx.backbone()  # images -> B x backbone.out_channels x h x w, never pooled
    head = TextQueryHead(backbone.out_channels, ctx.text_embeddings(), lam, temperature)
    # the head's parameters live under "head.", so with model.freeze=all only they train and the
    # backbone's features are computed once and cached
    return MethodParts(model=SplitModel(backbone, head), loss=ctx.loss(), stages=[ctx.stage()])
