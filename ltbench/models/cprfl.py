"""CPRFL's head (Yan et al., ACM MM 2024): category prompts that read the image through one Transformer layer.

Prompts P (one per class) come from fixed text embeddings through Prompt
Initialisation, or are free parameters (``random_prompts``, the paper's "+VSI"
row). Visual-Semantic Interaction runs one pre-norm Transformer encoder layer
over [visual tokens; P]; the outputs at the prompt positions are the category
features P', and the logit of class i is p'_i . p_i (sigmoid gives s_i).
P gets gradient along two paths, through the VSI input and through that dot
product; each ``detach_*`` switch cuts one of them.

Logits are the paper's unscaled dot products. With ``residual=True`` the
prompt itself flows into p'_i, so a logit starts near |p_i|^2 (about 37 at
d = 2048 with PyTorch's default PI init on GloVe inputs, 82 on 512-d N(0, 1)
"Randn" inputs: every class predicted positive); the authors'
``residual=False`` starts near 0 with unit spread. Random prompts are drawn with std 0.02 (as ViT/BERT learned
tokens) so that |p_i| is about 1 and neither variant saturates at init.
The default is therefore the authors' layer (``residual=False``); the standard
residual layer is one switch away and recorded in every run's config.
"""

from __future__ import annotations

import torch
from torch import nn

from ltbench.errors import LtbenchError

RANDOM_PROMPT_STD = 0.02


class VSILayer(nn.Module):
    """One pre-norm Transformer encoder layer with GELU FFN.

    ``residual=False`` drops both skip connections, as in the authors' code
    (``x = attn(norm(x)); x = ffn(norm(x))``); ``residual=True`` is the
    standard layer. Both share every module, so the switch changes nothing else.
    """

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float, residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.ffn_norm = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, ffn_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn_dim, dim), nn.Dropout(dropout)
        )
        self.attn_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.attn_norm(x)
        attended = self.attn_dropout(self.attn(h, h, h, need_weights=False)[0])
        x = x + attended if self.residual else attended
        transformed = self.ffn(self.ffn_norm(x))
        return x + transformed if self.residual else transformed


class CPRFLHead(nn.Module):
    """Feature map ``[B, in_channels, h, w]`` -> logits ``[B, num_classes]``."""

    def __init__(
        self,
        in_channels: int,
        text_embeddings: torch.Tensor | None,
        num_classes: int,
        dim: int = 2048,
        tau: float = 0.5,
        heads: int = 8,
        ffn_dim: int = 2048,
        dropout: float = 0.1,
        residual: bool = False,
        random_prompts: bool = False,
        detach_classifier_path: bool = False,
        detach_vsi_path: bool = False,
        prompt_seed: int | None = None,
    ) -> None:
        super().__init__()
        self.detach_classifier_path = detach_classifier_path
        self.detach_vsi_path = detach_vsi_path
        self.visual_proj = nn.Linear(in_channels, dim)
        self.prompt_init: nn.Sequential | None = None
        self.learned_prompts: nn.Parameter | None = None
        if random_prompts:
            generator = None if prompt_seed is None else torch.Generator().manual_seed(prompt_seed)
            draw = torch.randn(num_classes, dim, generator=generator)
            self.learned_prompts = nn.Parameter(RANDOM_PROMPT_STD * draw)
        else:
            if text_embeddings is None or text_embeddings.shape[0] != num_classes:
                got = "none" if text_embeddings is None else f"{text_embeddings.shape[0]} rows"
                raise LtbenchError(
                    f"CPRFL needs one text embedding per class ({num_classes}), got {got}; "
                    "set a text encoder or method.random_prompts=true."
                )
            self.register_buffer("text_embeddings", text_embeddings.detach().float().clone())
            hidden = round(tau * dim)
            self.prompt_init = nn.Sequential(
                nn.Linear(text_embeddings.shape[1], hidden), nn.GELU(), nn.Linear(hidden, dim)
            )
        self.vsi = VSILayer(dim, heads, ffn_dim, dropout, residual)

    def prompts(self) -> torch.Tensor:
        """The category prompts P, ``[C, dim]``."""
        if self.prompt_init is None:
            return self.learned_prompts
        return self.prompt_init(self.text_embeddings)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        tokens = self.visual_proj(features.flatten(2).transpose(1, 2))  # B x hw x dim
        prompts = self.prompts()
        vsi_prompts = prompts.detach() if self.detach_vsi_path else prompts
        sequence = torch.cat([tokens, vsi_prompts.to(tokens.dtype).expand(len(tokens), -1, -1)], dim=1)
        category_features = self.vsi(sequence)[:, -len(prompts):]  # P'
        classifier = prompts.detach() if self.detach_classifier_path else prompts
        return torch.einsum("bcd,cd->bc", category_features, classifier.to(category_features.dtype))
