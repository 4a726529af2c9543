"""The switches that make the CLIP methods' steps their authors': class names, LMPT's resize, CSE's q_c."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ltbench.data.base import LTDataset, Split
from ltbench.data.voc import CLASS_NAMES, XML_NAMES
from ltbench.errors import LtbenchError
from ltbench.losses.cse import ClassSpecificEmbeddingLoss, class_prior
from ltbench.methods.clip_common import clip_class_names
from ltbench.models.clip_image import clip_image_transform


def test_annotation_names_are_voc_s_as_the_authors_prompt_them():
    empty = Split([], np.zeros((0, 20)), [])
    ctx = SimpleNamespace(dataset=LTDataset("voc_lt", list(CLASS_NAMES), empty, empty, annotated_names=list(XML_NAMES)))
    readable, annotation = clip_class_names(ctx, "readable"), clip_class_names(ctx, "annotation")
    assert [a for a, r in zip(annotation, readable) if a != r] == ["diningtable", "pottedplant", "tvmonitor"]
    with pytest.raises(LtbenchError, match="method.names"):
        clip_class_names(ctx, "annotated")


def test_pil_bilinear_resize_is_torchvision_s_resize_of_a_pil_image():
    from PIL import Image
    from torchvision import transforms

    image = np.random.default_rng(0).integers(0, 256, (181, 263, 3), dtype=np.uint8)
    ours = clip_image_transform(224, resize="pil_bilinear")(image).permute(1, 2, 0).numpy()
    authors = np.asarray(transforms.Resize((224, 224))(Image.fromarray(image)))  # lmpt/imagelist.py:56
    np.testing.assert_array_equal(ours, authors)
    np.testing.assert_array_equal(ours, np.asarray(Image.fromarray(image).resize((224, 224), Image.BILINEAR)))
    crop = clip_image_transform(224, crop=True, resize="pil_bicubic")(image).permute(1, 2, 0).numpy()
    clip_preprocess = transforms.Compose([transforms.Resize(224, transforms.InterpolationMode.BICUBIC),
                                          transforms.CenterCrop(224)])  # clip/clip.py _transform, before ToTensor
    np.testing.assert_array_equal(crop, np.asarray(clip_preprocess(Image.fromarray(image))))
    bicubic = clip_image_transform(224)(image).permute(1, 2, 0).numpy()
    assert np.abs(bicubic.astype(int) - authors).max() > 0


def test_cse_prior_shares_softmax_and_counts():
    freq = np.array([6.0, 3.0, 1.0])
    np.testing.assert_allclose(class_prior(freq, "share"), [0.6, 0.3, 0.1])
    np.testing.assert_allclose(class_prior(freq, "softmax"), np.exp(freq) / np.exp(freq).sum())
    np.testing.assert_allclose(class_prior(freq, "count"), freq)
    margins = {p: ClassSpecificEmbeddingLoss(freq, prior=p).margin.numpy() for p in ("share", "count")}
    np.testing.assert_allclose(margins["share"] / margins["count"], 10.0 ** 0.25, rtol=1e-6)  # total^(1/4)
    with pytest.raises(LtbenchError, match="method.prior=softmax underflows"):
        ClassSpecificEmbeddingLoss(np.array([700.0, 10.0, 2.0]), prior="softmax")  # as on VOC-LT's counts


@pytest.mark.parametrize("frozen_mode, moves", [("eval", False), ("train", True)])
def test_a_frozen_rn50_s_batchnorm_follows_training_only_with_frozen_mode_train(frozen_mode, moves):
    import torch

    from clip_helpers import TINY_RN
    from ltbench.engine.active_stage import set_train_modes
    from ltbench.methods.base import SplitModel, Stage
    from ltbench.models.clip_image import ClipImageBackbone
    from ltbench.pretrained.clip import random_clip

    torch.manual_seed(0)
    clip, tokenizer = random_clip(TINY_RN)
    backbone = ClipImageBackbone(clip, tokenizer, "random", frozen_mode=frozen_mode).freeze_all()
    model = SplitModel(backbone, torch.nn.Linear(16, 2))
    set_train_modes(model, Stage(train=("head",)))  # as the engine does before each epoch: only the head trains
    norm = next(m for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = norm.running_mean.clone()
    with torch.no_grad():
        backbone(torch.rand(2, 3, 64, 64))
    assert norm.training is moves and (not torch.equal(before, norm.running_mean)) is moves
    assert all(not p.requires_grad for p in backbone.parameters())  # frozen all the same
