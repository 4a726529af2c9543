"""CPRFL (Yan et al., ACM MM 2024): category-prompt refined feature learning.

Class-name text embeddings become category prompts (Prompt Initialisation),
the prompts attend to the backbone's visual tokens in one Transformer layer
(Visual-Semantic Interaction), and class i is scored by the dot product of its
refined feature with its own prompt. The prompts learn through both paths. The
loss defaults to ASL and can be any registered loss (``loss.name=...``, Table 2).
The ``method`` options are ``CPRFLHead``'s (dim, tau, heads, residual, the
ablation switches, ...), with its defaults.
"""

from __future__ import annotations

from typing import Any

from ltbench.methods.base import MethodContext, MethodParts, SplitModel
from ltbench.models.cprfl import CPRFLHead
from ltbench.registry import METHODS


@METHODS.register("cprfl", loss="asl", uses=("model", "loss", "text"), params_of=(CPRFLHead, 3))
def cprfl(ctx: MethodContext, **head_options: Any) -> MethodParts:
    """CPRFL: text-initialised category prompts refined against visual tokens (ASL loss by default)."""
    backbone = ctx.backbone()
    text = None if head_options.get("random_prompts") else ctx.text_embeddings()  # "+VSI" uses no text
    head = CPRFLHead(backbone.out_channels, text, ctx.dataset.num_classes, **head_options)
    return MethodParts(model=SplitModel(backbone, head), loss=ctx.loss(), stages=[ctx.stage()])
