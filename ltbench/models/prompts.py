"""Class text for CLIP heads: template ensembles, LMPT's baseline prompts, and learnable prompt contexts.

Prompt contexts are fp32 parameters whatever precision the text tower runs
in (``ClipTextTower.encode_embeddings`` casts them), so a half-precision tower
on a GPU never rounds the vectors the optimiser updates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ltbench.pretrained.clip import open_clip_module
from ltbench.models.clip_text import ClipTextTower

LMPT_PROMPT_CHARS = 76  # LMPT's zero-shot baseline cuts its joined prompt string here


def imagenet_templates() -> list[str]:
    """CLIP's 80 ImageNet prompt templates (Radford et al. 2021), with ``{}`` where the class name goes."""
    open_clip_module()  # makes the package importable first
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES

    return [template("{}") for template in OPENAI_IMAGENET_TEMPLATES]


@torch.no_grad()
def ensemble_text_embeddings(tower: ClipTextTower, class_names: list[str], templates: list[str]) -> torch.Tensor:
    """C x E class embeddings: each template's text L2-normalised, averaged over templates, normalised again."""
    per_class = []
    for name in class_names:
        embeddings = F.normalize(tower.encode([template.format(name) for template in templates]), dim=-1)
        per_class.append(F.normalize(embeddings.mean(dim=0), dim=-1))
    return torch.stack(per_class)


def lmpt_compat_prompts(class_names: list[str], templates: list[str]) -> list[str]:
    """LMPT's zero-shot prompts: first word of the name in every template, joined with spaces, cut to 76 characters.

    So "baseball bat" and "baseball glove" get the same prompt, and only the
    first few templates survive the cut (the quirks behind its quoted numbers).
    """
    prompts = []
    for name in class_names:
        first_word = name.replace("_", " ").split()[0]
        prompts.append(" ".join(template.format(first_word) for template in templates)[:LMPT_PROMPT_CHARS])
    return prompts


class PromptContext(nn.Module):
    """``n_ctx`` learnable context vectors before each class name: the prompt "X X ... X {name}." (CoOp).

    ``class_specific``: one context per class (CoOp as the LTMLC papers run
    it), else one shared by all classes (HP-DVAL). Init N(0, ``init_std``^2).
    ``forward`` returns the C x L x width token embeddings for the text tower.
    """

    def __init__(self, tower: ClipTextTower, class_names: list[str], n_ctx: int = 16, class_specific: bool = True,
                 init_std: float = 0.02) -> None:
        super().__init__()
        placeholder = " ".join(["X"] * n_ctx)
        tokens = tower.tokenize([f"{placeholder} {name}." for name in class_names])
        with torch.no_grad():
            embedded = tower.embed(tokens).float()
        self.register_buffer("tokens", tokens, persistent=False)
        self.register_buffer("prefix", embedded[:, :1], persistent=False)  # start-of-text
        self.register_buffer("suffix", embedded[:, 1 + n_ctx:], persistent=False)  # name, ".", end, padding
        shape = (len(class_names), n_ctx, tower.width) if class_specific else (n_ctx, tower.width)
        self.context = nn.Parameter(torch.randn(shape) * init_std)

    def forward(self) -> torch.Tensor:
        context = self.context if self.context.dim() == 3 else self.context.expand(len(self.prefix), -1, -1)
        return torch.cat([self.prefix, context, self.suffix], dim=1)


class PromptedText(nn.Module):
    """Class text features from learnable contexts through CLIP's frozen text tower."""

    def __init__(self, tower: ClipTextTower, context: PromptContext) -> None:
        super().__init__()
        self.tower = tower
        self.context = context

    def forward(self) -> torch.Tensor:
        return self.tower.encode_embeddings(self.context(), self.context.tokens)
