"""CLIP heads and their pieces: template ensembles, LMPT's compat prompts, prompt contexts, CSE, HP-DVAL fusion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clip_helpers import TINY_VIT

from ltbench.pretrained.clip import random_clip
from ltbench.losses.cse import ClassSpecificEmbeddingLoss
from ltbench.methods.base import SCORE_FUNCTIONS
from ltbench.methods.zsclip import LMPT_TEMPERATURE
from ltbench.models.clip_heads import PromptHead, ZeroShotHead
from ltbench.models.clip_image import CLIP_MEAN, CLIP_STD, ClipImageBackbone
from ltbench.models.hp_dval import HPDValHead, code_scores, fuse_scores
from ltbench.models.prompts import (PromptContext, PromptedText, ensemble_text_embeddings, imagenet_templates,
                                    lmpt_compat_prompts)

NAMES = ["cat", "potted plant", "baseball bat", "baseball glove"]


@pytest.fixture(scope="module")
def clip():
    torch.manual_seed(0)
    return random_clip(TINY_VIT)


@pytest.fixture(scope="module")
def backbone(clip):
    model, tokenizer = clip
    return ClipImageBackbone(model, tokenizer, "random").freeze_all()


def test_imagenet_templates_are_clips_80():
    templates = imagenet_templates()
    assert len(templates) == len(set(templates)) == 80 and all(t.count("{}") == 1 for t in templates)
    assert templates[0] == "a bad photo of a {}." and "itap of a {}." in templates


@pytest.mark.slow
def test_zero_shot_scores_are_the_template_averaged_cosine(clip, backbone):
    """Two images, scored by hand with numpy from open_clip's own encoders."""
    model, tokenizer = clip
    templates = imagenet_templates()
    images = torch.rand(2, 3, 32, 32)
    head = ZeroShotHead(ensemble_text_embeddings(backbone.text_tower, NAMES, templates), model.logit_scale)
    with torch.no_grad():
        scores = head(backbone(images)).numpy()
        mean, std = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 3, 1, 1)
        image = model.encode_image((images - mean) / std).double().numpy()
        texts = [model.encode_text(tokenizer([t.format(n) for t in templates])).double().numpy() for n in NAMES]
    image /= np.linalg.norm(image, axis=1, keepdims=True)
    class_text = []
    for per_template in texts:
        per_template = per_template / np.linalg.norm(per_template, axis=1, keepdims=True)
        average = per_template.mean(axis=0)
        class_text.append(average / np.linalg.norm(average))
    expected = np.exp(model.logit_scale.item()) * image @ np.stack(class_text).T
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)


def test_lmpt_compat_prompts_cut_the_joined_templates_and_the_names():
    templates = ["a bad photo of a {}.", "a photo of many {}.", "a sculpture of a {}.", "a rendering of a {}."]
    prompts = lmpt_compat_prompts(["baseball bat", "baseball glove", "traffic_light", "cat"], templates)
    joined = "a bad photo of a baseball. a photo of many baseball. a sculpture of a baseball. a rendering"
    assert prompts[0] == prompts[1] == joined[:76] and len(prompts[0]) == 76
    assert prompts[2].startswith("a bad photo of a traffic. a photo of many traffic.")
    assert prompts[3] == "a bad photo of a cat. a photo of many cat. a sculpture of a cat. a rendering o"[:76]


def test_lmpt_compat_scores_are_a_log_softmax_over_classes_at_temperature_100(clip, backbone):
    text = F.normalize(torch.randn(4, 16), dim=-1)
    head = ZeroShotHead(text, torch.tensor(LMPT_TEMPERATURE).log())
    features = backbone(torch.rand(3, 3, 32, 32))
    scores = SCORE_FUNCTIONS["log_softmax"](head(features))
    image = F.normalize(features[:, :, 0, 0], dim=-1)
    torch.testing.assert_close(scores.exp(), torch.softmax(100.0 * image @ text.T, dim=1))
    torch.testing.assert_close(scores.exp().sum(dim=1), torch.ones(3))


def test_prompt_context_places_learnable_vectors_before_the_name(backbone):
    tower = backbone.text_tower
    context = PromptContext(tower, NAMES, n_ctx=3)
    embedded = context()
    assert context.context.shape == (4, 3, tower.width) and context.context.dtype == torch.float32
    assert abs(context.context.std().item() - 0.02) < 0.005
    plain = tower.embed(tower.tokenize([f"X X X {n}." for n in NAMES]))
    torch.testing.assert_close(embedded[:, 1:4], context.context)
    torch.testing.assert_close(embedded[:, 4:], plain[:, 4:])  # the name, ".", end of text, padding
    torch.testing.assert_close(embedded[:, :1], plain[:, :1])
    shared = PromptContext(tower, NAMES, n_ctx=4, class_specific=False)
    assert shared.context.shape == (4, tower.width) and torch.equal(shared()[0, 1:5], shared()[3, 1:5])


def test_prompt_head_trains_only_the_context_in_fp32_under_half_precision(backbone):
    tower = backbone.text_tower
    head = PromptHead(PromptedText(tower, PromptContext(tower, NAMES, n_ctx=2)))
    features = backbone(torch.rand(2, 3, 32, 32))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = head(features).sum()
    loss.backward()
    trainable = [name for name, p in head.named_parameters() if p.requires_grad]
    assert trainable == ["text.context.context"]
    assert head.text.context.context.grad.dtype == torch.float32
    assert all(p.grad is None for p in tower.parameters())


def test_cse_loss_matches_the_formula_by_hand():
    torch.manual_seed(0)
    captions, prompts = torch.randn(2, 6, 5), torch.randn(3, 6, 5)
    targets = torch.tensor([[1, 0, 1], [0, 1, 0]])
    freq = np.array([30.0, 10.0, 2.0])
    loss = ClassSpecificEmbeddingLoss(freq, margin=0.2, gamma=2.0, offset=2)(captions, prompts, targets)
    share = freq / freq.sum()
    weights = share ** -2.0 / (share ** -2.0).sum()
    total = 0.0
    for b in range(2):
        for c in range(3):
            d = sum(1 - F.cosine_similarity(captions[b, t], prompts[c, t + 2], dim=0).item() for t in range(4))
            y = 1 if targets[b, c] else -1
            total += weights[c] * max(0.2 / share[c] ** 0.25 - d * y, 0.0)
    assert loss.item() == pytest.approx(total / 6, rel=1e-5)


def test_fusion_weights_global_and_top_k_local():
    global_scores = torch.tensor([[0.5, -0.2]])
    local = torch.tensor([[[0.1, 0.9], [0.7, 0.0], [0.3, 0.2]]])  # 3 patches x 2 classes
    fused = fuse_scores(global_scores, local, k=2, alpha=0.4)
    torch.testing.assert_close(fused, torch.tensor([[0.4 * 0.5 + 0.6 * 0.5, 0.4 * -0.2 + 0.6 * 0.55]]))
    torch.testing.assert_close(fuse_scores(global_scores, local, k=32, alpha=0.0), local.mean(dim=1))
    # the code's order: top-2 means (0.5, 0.55) normalised across classes, then the global (0.5, -0.2) normalised
    top, glob = torch.tensor([0.5, 0.55]), torch.tensor([0.5, -0.2])
    expected = 0.4 * top / top.norm() + 0.6 * glob / glob.norm()
    torch.testing.assert_close(code_scores(global_scores, local, k=2, alpha=0.4), expected[None])


@pytest.mark.parametrize("code", [False, True])
def test_hp_dval_head_stages(backbone, code):
    head = HPDValHead(16, backbone.text_tower, NAMES, k=3, code=code)
    features = backbone(torch.rand(2, 3, 32, 32))
    stage1 = head(features)
    head.stage = 2
    stage2 = head(features)
    assert stage1.shape == stage2.shape == (2, 4) and not torch.allclose(stage1, stage2)
    loss = head.consistency_loss()
    loss.backward()
    learned = "local" if code else "global"
    assert head.prompts[learned].context.context.grad is not None
    assert head.prompts["global" if code else "local"].context.context.grad is None
    if code:  # scores normalised across classes per image
        head.stage = 1
        assert head.stage1_text is not None and any(p.requires_grad for p in head.stage1_text.parameters())


def test_capnet_graph_gcn_adapters_and_five_crops(clip):
    from ltbench.models.capnet import CAPNetHead, FiveCrop, GraphResidual, add_adapters, label_graph

    text = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    graph = label_graph(text, k=1)  # 0 <-> 1 nearest each other, 2's nearest is 1
    adjacency = torch.tensor([[1.0, 1, 0], [1, 1, 1], [0, 1, 1]])
    degree = adjacency.sum(1).rsqrt()
    torch.testing.assert_close(graph, degree[:, None] * adjacency * degree[None])
    residual = GraphResidual(graph, 2)
    torch.testing.assert_close(residual(text), text)  # zero-initialised last layer: starts from the prompts

    model, tokenizer = clip
    import copy

    backbone = ClipImageBackbone(copy.deepcopy(model), tokenizer, "random")
    trainable = add_adapters(backbone, bottleneck=4)
    assert trainable and all(".mlp.down." in n or ".mlp.up." in n for n in trainable)
    images = torch.rand(2, 3, 36, 36)
    crops = FiveCrop(backbone).eval()
    with torch.no_grad():
        views = crops(images)
        assert views.shape == (2, 16, 5, 17)
        torch.testing.assert_close(views[:, :, 4:5], backbone(images[..., 2:34, 2:34]))  # the centre crop
        tower = backbone.text_tower
        head = CAPNetHead(PromptedText(tower, PromptContext(tower, NAMES[:3], n_ctx=2)), GraphResidual(graph, 16))
        per_view = torch.stack([head(views[:, :, v:v + 1]) for v in range(5)])
        torch.testing.assert_close(head(views), per_view.mean(dim=0))


def test_fp32_contexts_drive_a_half_precision_tower(clip):
    """As on a GPU with fp16 CLIP (LMPT's runs): the tower's weights are half, the contexts and their grads fp32."""
    import copy

    model, tokenizer = clip
    half = ClipImageBackbone(copy.deepcopy(model).to(torch.bfloat16), tokenizer, "random").freeze_all()
    tower = half.text_tower
    assert tower.positional_embedding.dtype == torch.bfloat16
    head = PromptHead(PromptedText(tower, PromptContext(tower, NAMES, n_ctx=2)))
    logits = head(half(torch.rand(2, 3, 32, 32)))
    assert logits.dtype == torch.float32
    logits.sum().backward()
    context = head.text.context.context
    assert context.dtype == context.grad.dtype == torch.float32 and context.grad.abs().sum() > 0
    assert all(p.grad is None for p in list(tower.parameters()) + list(half.parameters()))
