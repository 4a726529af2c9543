"""CPRFL's head (Yan et al., ACM MM 2024): category prompts that read the image through one Transformer layer.

Prompts P (one per class) come from text embeddings through Prompt
Initialisation, or are free parameters (``random_prompts``, the paper's "+VSI"
row). The text embeddings are either a fixed tensor (computed once, the fast
default) or a text tower module that re-encodes the class prompts on every
forward and trains with the model, as the authors' code does (``text.trainable``).
Visual-Semantic Interaction runs one pre-norm Transformer encoder layer over
[visual tokens; P]; the outputs at the prompt positions are the category
features P', and the logit of class i is p'_i . p_i (sigmoid gives s_i).

Dual-path back-propagation, with the authors' switches (jiexuanyan/CPRFL @ 10b5b7c; docs/cprfl.md):
``no_feature_grad`` detaches the whole VSI output P', so the VSI layer, the
visual projection and the backbone get no gradient and P learns only through
the classifier's dot product; ``no_cls_grad`` detaches P in that dot product.
``no_prompt_input_grad`` (ltbench's own) detaches only P at the VSI input: P
then learns only through the classifier while the visual side keeps training,
the clean cut of one prompt path that ``no_feature_grad`` is not.

The attention is the authors' shape by default (8 heads of width 512, q/k/v
without bias, no dropout on the attention probabilities, see
``ltbench.models.attention``); ``dim_head=dim // heads, qkv_bias=True,
attn_dropout=0.1`` gives ``nn.MultiheadAttention``'s shape of earlier ltbench.

Logits are the paper's unscaled dot products. With ``residual=True`` the
prompt itself flows into p'_i, so a logit starts near |p_i|^2 (about 37 at
d = 2048 with PyTorch's default PI init on GloVe inputs: every class predicted
positive); the authors' ``residual=False`` starts near 0 with unit spread.
Random prompts are drawn with std 0.02 (as ViT/BERT learned tokens) so that
|p_i| is about 1 and neither variant saturates at init.
"""

from __future__ import annotations

import torch
from torch import nn

from ltbench.errors import LtbenchError
from ltbench.models.attention import Attention

RANDOM_PROMPT_STD = 0.02


class VSILayer(nn.Module):
    """One pre-norm Transformer encoder layer with GELU FFN.

    ``residual=False`` drops both skip connections, as in the authors' code
    (``x = attn(norm(x)); x = ffn(norm(x))``); ``residual=True`` is the
    standard layer. Both share every module, so the switch changes nothing else.
    ``dropout`` acts after the attention's output projection and in the FFN.
    """

    def __init__(self, dim: int, heads: int, dim_head: int, ffn_dim: int, dropout: float, residual: bool,
                 qkv_bias: bool = False, attn_dropout: float = 0.0) -> None:
        super().__init__()
        self.residual = residual
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dim_head, qkv_bias, attn_dropout)
        self.attn_out_dropout = nn.Dropout(dropout)
        self.ffn_norm = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, ffn_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn_dim, dim), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attended = self.attn_out_dropout(self.attn(self.attn_norm(x)))
        x = x + attended if self.residual else attended
        transformed = self.ffn(self.ffn_norm(x))
        return x + transformed if self.residual else transformed


class CPRFLHead(nn.Module):
    """Feature map ``[B, in_channels, h, w]`` -> logits ``[B, num_classes]``.

    ``text`` is a ``[C, E]`` tensor of fixed embeddings, or a module whose
    ``forward()`` returns them (a trainable text tower, run on every forward).
    """

    def __init__(
        self,
        in_channels: int,
        text: torch.Tensor | nn.Module | None,
        num_classes: int,
        dim: int = 2048,
        tau: float = 0.5,
        heads: int = 8,
        dim_head: int = 512,
        qkv_bias: bool = False,
        attn_dropout: float = 0.0,
        ffn_dim: int = 2048,
        dropout: float = 0.1,
        residual: bool = False,
        random_prompts: bool = False,
        no_feature_grad: bool = False,
        no_cls_grad: bool = False,
        no_prompt_input_grad: bool = False,
        prompt_seed: int | None = None,
    ) -> None:
        super().__init__()
        if no_feature_grad and no_cls_grad:
            raise LtbenchError("method.no_feature_grad and method.no_cls_grad together leave the head nothing to "
                               "learn from; set at most one of them.")
        self.no_feature_grad, self.no_cls_grad = no_feature_grad, no_cls_grad
        self.no_prompt_input_grad = no_prompt_input_grad
        self.visual_proj = nn.Linear(in_channels, dim)
        self.prompt_init: nn.Sequential | None = None
        self.learned_prompts: nn.Parameter | None = None
        self.text_tower: nn.Module | None = None
        if random_prompts:
            generator = None if prompt_seed is None else torch.Generator().manual_seed(prompt_seed)
            draw = torch.randn(num_classes, dim, generator=generator)
            self.learned_prompts = nn.Parameter(RANDOM_PROMPT_STD * draw)
        else:
            embed_dim = self._hold_text(text, num_classes)
            hidden = round(tau * dim)
            self.prompt_init = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.vsi = VSILayer(dim, heads, dim_head, ffn_dim, dropout, residual, qkv_bias, attn_dropout)

    def _hold_text(self, text: torch.Tensor | nn.Module | None, num_classes: int) -> int:
        """Keep the text as a buffer (fixed) or a submodule (trained); return the embedding width."""
        if isinstance(text, nn.Module):
            self.text_tower = text
            rows, embed_dim = text.num_classes, text.dim
        elif text is not None:
            self.register_buffer("text_embeddings", text.detach().float().clone())
            rows, embed_dim = text.shape
        if text is None or rows != num_classes:
            got = "none" if text is None else f"{rows} rows"
            raise LtbenchError(
                f"CPRFL needs one text embedding per class ({num_classes}), got {got}; "
                "set a text encoder or method.random_prompts=true."
            )
        return embed_dim

    def prompts(self) -> torch.Tensor:
        """The category prompts P, ``[C, dim]``."""
        if self.prompt_init is None:
            return self.learned_prompts
        text = self.text_tower() if self.text_tower is not None else self.text_embeddings
        return self.prompt_init(text)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        tokens = self.visual_proj(features.flatten(2).transpose(1, 2))  # B x hw x dim
        prompts = self.prompts()
        vsi_prompts = prompts.detach() if self.no_prompt_input_grad else prompts
        sequence = torch.cat([tokens, vsi_prompts.to(tokens.dtype).expand(len(tokens), -1, -1)], dim=1)
        category_features = self.vsi(sequence)[:, -len(prompts):]  # P'
        if self.no_feature_grad:
            category_features = category_features.detach()
        classifier = prompts.detach() if self.no_cls_grad else prompts
        return torch.einsum("bcd,cd->bc", category_features, classifier.to(category_features.dtype))
