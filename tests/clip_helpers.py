"""Tiny open_clip model configs (real CLIP classes, random weights) shared by the CLIP-method tests."""

from __future__ import annotations

TEXT_CFG = {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}
TINY_VIT = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
            "text_cfg": TEXT_CFG}  # 4 x 4 = 16 patch tokens
TINY_RN = {"embed_dim": 16, "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 8, "patch_size": None},
           "text_cfg": TEXT_CFG}  # 2 x 2 = 4 spatial tokens
