"""CLIP image backbones: global + local joint-space tokens, CLIP preprocessing, weights as the text side loads them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clip_helpers import TINY_RN, TINY_VIT

from ltbench.errors import LtbenchError
from ltbench.models.clip_image import CLIP_MEAN, CLIP_STD, clip_image_transform, split_tokens
from ltbench.registry import BACKBONES


def build(name: str, config: dict, **options) -> torch.nn.Module:
    torch.manual_seed(0)
    return BACKBONES.build(name, config=config, **options)


@pytest.mark.parametrize("name, config, tokens", [("clip_vit_b16", TINY_VIT, 16), ("clip_rn50", TINY_RN, 4)])
def test_global_token_is_clips_image_embedding(name, config, tokens):
    backbone = build(name, config).eval()
    images = torch.rand(2, 3, backbone.image_size, backbone.image_size)
    features = backbone(images)
    assert features.shape == (2, 16, 1, 1 + tokens) and backbone.out_channels == 16
    global_, local = split_tokens(features)
    mean, std = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = backbone.visual((images - mean) / std)  # open_clip's own encode_image path
    torch.testing.assert_close(global_, expected)
    assert local.shape == (2, tokens, 16)


def test_vit_patch_tokens_use_clips_projection():
    backbone = build("clip_vit_b16", TINY_VIT).eval()
    images = torch.rand(1, 3, 32, 32)
    visual = backbone.visual
    visual.output_tokens = True  # open_clip's own (unprojected) patch tokens
    mean, std = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        _, patches = visual((images - mean) / std)
        visual.output_tokens = False
        _, local = split_tokens(backbone(images))
    torch.testing.assert_close(local, patches @ visual.proj)


def test_resnet_local_tokens_are_the_attention_pools_value_path():
    backbone = build("clip_rn50", TINY_RN).eval()
    pool = backbone.visual.attnpool
    feature_map = torch.randn(1, pool.v_proj.in_features, 2, 2)
    backbone.visual.layer4 = torch.nn.Identity()  # feed a known map into the pool
    backbone.visual.layer3 = backbone.visual.layer2 = backbone.visual.layer1 = torch.nn.Identity()
    backbone.visual.stem = lambda x: feature_map
    with torch.no_grad():
        _, local = split_tokens(backbone(torch.rand(1, 3, 64, 64)))
        at_00 = pool.c_proj(pool.v_proj(feature_map[0, :, 0, 0] + pool.positional_embedding[1]))
    torch.testing.assert_close(local[0, 0], at_00)


def test_other_image_sizes_are_resized_bicubically():
    backbone = build("clip_vit_b16", TINY_VIT).eval()
    images = torch.rand(1, 3, 48, 48)
    resized = F.interpolate(images, size=(32, 32), mode="bicubic", align_corners=False).clamp(0, 1)
    with torch.no_grad():
        torch.testing.assert_close(backbone(images), backbone(resized))


def test_transform_resizes_bicubically_to_the_model_size():
    image = (np.random.default_rng(0).random((40, 60, 3)) * 255).astype(np.uint8)
    out = clip_image_transform(32)(image)
    assert out.shape == (3, 32, 32) and out.dtype == torch.uint8
    from torchvision.transforms.v2 import functional as TF

    expected = TF.resize(torch.from_numpy(image).permute(2, 0, 1), [32, 32],
                         interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
    assert torch.equal(out, expected)
    assert not torch.equal(clip_image_transform(32)(image),
                           TF.resize(torch.from_numpy(image).permute(2, 0, 1), [32, 32], antialias=True))


def test_freeze_all_stops_gradients_and_training_mode():
    backbone = build("clip_vit_b16", TINY_VIT).freeze_all()
    backbone.train()
    assert not backbone.training and not any(p.requires_grad for p in backbone.parameters())
    trainable = build("clip_vit_b16", TINY_VIT).train()
    assert trainable.training and all(p.requires_grad for p in trainable.parameters())
    assert not any(p.requires_grad for p in trainable.text_tower.parameters())  # the text tower never trains


def test_text_tower_encodes_as_open_clip_does():
    from ltbench.pretrained.clip import random_clip

    torch.manual_seed(0)
    clip, tokenizer = random_clip(TINY_VIT)
    torch.manual_seed(0)
    tower = BACKBONES.build("clip_vit_b16", config=TINY_VIT).text_tower
    with torch.no_grad():
        expected = clip.encode_text(tokenizer(["a photo of a cat.", "a dog"]))
    torch.testing.assert_close(tower.encode(["a photo of a cat.", "a dog"]), expected)


def test_weights_file_loads_like_the_text_encoder(tmp_path):
    from ltbench.pretrained.clip import open_clip_module, random_clip

    open_clip = open_clip_module()
    (tmp_path / "tiny-vit.json").write_text(__import__("json").dumps({**TINY_VIT, "quick_gelu": True}))
    open_clip.add_model_config(tmp_path / "tiny-vit.json")
    torch.manual_seed(1)
    clip, _ = random_clip(TINY_VIT)
    torch.save(clip.state_dict(), tmp_path / "tiny.pt")
    from ltbench.models.clip_image import _clip_backbone

    backbone = _clip_backbone("clip_tiny", "tiny-vit")(weights=str(tmp_path / "tiny.pt"))
    torch.testing.assert_close(backbone.visual.proj, clip.visual.proj)
    assert backbone.source == str((tmp_path / "tiny.pt").resolve())


@pytest.mark.parametrize("name", ["clip_vit_b16", "clip_rn50"])
def test_missing_weights_are_one_sentence_naming_the_option(name, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(LtbenchError) as error:
        BACKBONES.build(name, cache_dir=str(tmp_path))
    message = str(error.value)
    assert "model.weights=" in message and "model.allow_download" in message and name in message
    assert "\n" not in message and ". " not in message.rstrip(".")
    with pytest.raises(LtbenchError, match=rf"The {name} weights file .*nope\.pt does not exist; pass model\.weights="):
        BACKBONES.build(name, weights=str(tmp_path / "nope.pt"))


def test_normalize_false_feeds_raw_pixels_and_changes_the_weights_digest():
    """HP-DVAL's code feeds [0, 1] pixels; the feature cache (keyed by state) must tell the two apart."""
    from ltbench.engine.features import weights_digest

    plain, raw = build("clip_vit_b16", TINY_VIT).eval(), build("clip_vit_b16", TINY_VIT, normalize=False).eval()
    images = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(split_tokens(raw(images))[0], raw.visual(images))
        assert not torch.allclose(plain(images), raw(images))
    assert weights_digest(plain) != weights_digest(raw)
