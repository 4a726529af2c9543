"""HP-DVAL's head (Huang, Yan et al., IEEE TIP; arXiv 2509.17747): dual views, hierarchical prompts, fusion.

A two-layer embedding head maps the student's global (CLS) and local (patch)
tokens into CLIP's text space. Class i is scored by fusing the global
similarity with the mean of its top-k local similarities. Stage 1 scores
against fixed hand-crafted text ("a photo of a [CLASS]."); stage 2 against
learned class-shared prompts, one for the global view and one for the local.

``code=True`` switches to what the authors' model file runs
(``models/clip_vit.py`` ``CLIPVIT`` at c7f98f3, lines 90-118): no embedding
head (the file builds a ``projection`` its forward never calls; the global and
the patch tokens both go through CLIP's own ``visual.proj``, which is what the
backbone outputs), the top-k mean of the raw patch-class dot products and the
raw global ones each L2-normalised across classes, then
``alpha * local + (1 - alpha) * global``, no temperature, the consistency
loss on the local prompt, and a trainable copy of the text tower for stage
1's class text.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ltbench.models.clip_image import split_tokens
from ltbench.models.clip_text import ClipTextTower
from ltbench.models.prompts import PromptContext, PromptedText

HANDCRAFTED = "a photo of a {}."


def top_k_mean(local_scores: torch.Tensor, k: int) -> torch.Tensor:
    """Per class, the mean of its ``k`` highest local scores (B x L x C -> B x C)."""
    return local_scores.topk(min(k, local_scores.shape[1]), dim=1).values.mean(dim=1)


def fuse_scores(global_scores: torch.Tensor, local_scores: torch.Tensor, k: int, alpha: float) -> torch.Tensor:
    """``alpha * global + (1 - alpha) * mean of the top-k local scores`` per class (B x C and B x L x C -> B x C)."""
    return alpha * global_scores + (1 - alpha) * top_k_mean(local_scores, k)


def code_scores(global_scores: torch.Tensor, local_scores: torch.Tensor, k: int, alpha: float) -> torch.Tensor:
    """The authors' fusion (``clip_vit.py:109-118``): raw scores in, the top-k mean taken BEFORE normalising.

    ``alpha * norm(top-k mean of local) + (1 - alpha) * norm(global)``, each
    norm an L2 normalisation across classes; the file hard-codes alpha 0.5.
    """
    return alpha * F.normalize(top_k_mean(local_scores, k), dim=-1) + (1 - alpha) * F.normalize(global_scores, dim=-1)


class EmbeddingHead(nn.Module):
    """Two layers mapping image tokens into CLIP's text space (shared by global and local tokens)."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, out_dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.layers(tokens.float())


class HPDValHead(nn.Module):
    """Embedding head + hand-crafted (stage 1) or hierarchical learned (stage 2) class text + top-k fusion."""

    def __init__(self, dim: int, tower: ClipTextTower, class_names: list[str], k: int = 32, alpha: float = 0.4,
                 n_ctx: int = 4, code: bool = False) -> None:
        super().__init__()
        self.k, self.alpha, self.code = k, alpha, code
        self.register_buffer("handcrafted", tower.encode([HANDCRAFTED.format(n) for n in class_names]).detach())
        # the code's model has no head of its own: the backbone's tokens are already visual.proj's
        self.embed = nn.Identity() if code else EmbeddingHead(dim, self.handcrafted.shape[1])
        self.prompts = nn.ModuleDict({
            "global": PromptedText(tower, PromptContext(tower, class_names, n_ctx, class_specific=False)),
            "local": PromptedText(tower, PromptContext(tower, class_names, n_ctx, class_specific=False)),
        })
        self.register_buffer("logit_scale", tower.logit_scale.detach().clone())
        # the code trains the text tower in stage 1; a copy keeps the stage-2 prompts on the frozen original
        self.stage1_text = _trainable_copy(tower) if code else None
        stage1_tokens = tower.tokenize([HANDCRAFTED.format(n) for n in class_names]) if code else None
        self.register_buffer("stage1_tokens", stage1_tokens, persistent=False)
        self.register_buffer("stage_index", torch.tensor(0))  # 0: align, 1: prompts; saved with checkpoints

    @property
    def stage(self) -> int:
        return int(self.stage_index) + 1

    @stage.setter
    def stage(self, value: int) -> None:
        self.stage_index.fill_(value - 1)

    def class_text(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Global and local class text (C x E) for the current stage."""
        if self.stage == 2:
            return self.prompts["global"](), self.prompts["local"]()
        if self.stage1_text is not None:
            tokens = self.stage1_tokens
            text = self.stage1_text.encode_embeddings(self.stage1_text.embed(tokens), tokens)
            return text, text
        return self.handcrafted, self.handcrafted

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        global_token, local_tokens = split_tokens(features)
        global_image, local_image = self.embed(global_token), self.embed(local_tokens)
        global_text, local_text = self.class_text()
        if self.code:  # raw dot products, normalised across classes after the top-k, no temperature
            global_text, local_text = global_text.float(), local_text.float()  # clip_vit.py:94
            return code_scores(global_image @ global_text.T, local_image @ local_text.T, self.k, self.alpha)
        global_scores = F.normalize(global_image, dim=-1) @ F.normalize(global_text, dim=-1).T
        local_scores = F.normalize(local_image, dim=-1) @ F.normalize(local_text, dim=-1).T
        return self.logit_scale.exp() * fuse_scores(global_scores, local_scores, self.k, self.alpha)

    def consistency_loss(self) -> torch.Tensor:
        """L_sc: L1 distance between the hand-crafted and the learned (global; local in the code) class text."""
        learned = self.prompts["local" if self.code else "global"]()
        return F.l1_loss(F.normalize(learned, dim=-1), F.normalize(self.handcrafted, dim=-1))

    def distillation_loss(self, student_global: torch.Tensor, teacher_global: torch.Tensor) -> torch.Tensor:
        """L_kd: L1 distance between the teacher's image embedding and the student's projected CLS (normalised)."""
        projected = self.embed(student_global)
        return F.l1_loss(F.normalize(projected, dim=-1), F.normalize(teacher_global.float(), dim=-1))


def _trainable_copy(tower: ClipTextTower) -> ClipTextTower:
    copied = copy.deepcopy(tower)
    copied.requires_grad_(True)
    return copied
