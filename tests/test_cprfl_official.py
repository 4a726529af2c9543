"""CPRFL as its authors ran it (jiexuanyan/CPRFL @ 10b5b7c): the head against a reference written from the
formulas, its size, the old attention shape, the dual-path switches, and the one-cycle schedule of the code preset.

The reference below is written from the description of the authors' layer
(pre-norm, no residuals, one bias-free q/k/v projection split q|k|v with heads
major, scores scaled by dim_head^-0.5, GELU FFN) and does not call ltbench's modules.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from ltbench.engine.onecycle import one_cycle
from ltbench.errors import LtbenchError
from ltbench.models.attention import Attention
from ltbench.models.cprfl import CPRFLHead

SMALL = dict(dim=32, heads=4, dim_head=16, ffn_dim=48)  # inner width 64 = 2 x dim, as 8 x 512 = 2 x 2048
SWITCHES = [{}, {"no_feature_grad": True}, {"no_cls_grad": True}]


def reference_logits(head: CPRFLHead, features: torch.Tensor, text: torch.Tensor, heads: int, dim_head: int,
                     no_feature_grad: bool = False, no_cls_grad: bool = False) -> torch.Tensor:
    """The authors' forward pass, from the formulas, reading the head's weights as plain tensors."""
    w = dict(head.named_parameters())
    tokens = features.flatten(2).transpose(1, 2) @ w["visual_proj.weight"].T + w["visual_proj.bias"]
    hidden = F.gelu(text @ w["prompt_init.0.weight"].T + w["prompt_init.0.bias"])
    prompts = hidden @ w["prompt_init.2.weight"].T + w["prompt_init.2.bias"]
    x = torch.cat([tokens, prompts.expand(len(tokens), -1, -1)], dim=1)
    batch, length, dim = x.shape
    h = F.layer_norm(x, (dim,), w["vsi.attn_norm.weight"], w["vsi.attn_norm.bias"])
    q, k, v = (h @ w["vsi.attn.to_qkv.weight"].T).chunk(3, dim=-1)
    q, k, v = (t.reshape(batch, length, heads, dim_head).transpose(1, 2) for t in (q, k, v))
    probabilities = torch.softmax(q @ k.transpose(-1, -2) * dim_head ** -0.5, dim=-1)
    merged = (probabilities @ v).transpose(1, 2).reshape(batch, length, heads * dim_head)
    x = merged @ w["vsi.attn.to_out.weight"].T + w["vsi.attn.to_out.bias"]  # no residual
    h = F.layer_norm(x, (dim,), w["vsi.ffn_norm.weight"], w["vsi.ffn_norm.bias"])
    h = F.gelu(h @ w["vsi.ffn.0.weight"].T + w["vsi.ffn.0.bias"])
    category_features = (h @ w["vsi.ffn.3.weight"].T + w["vsi.ffn.3.bias"])[:, -len(prompts):]
    if no_feature_grad:
        category_features = category_features.detach()
    classifier = prompts.detach() if no_cls_grad else prompts
    return (category_features * classifier).sum(-1)


def _gradients(logits: torch.Tensor, inputs: list[torch.Tensor], weights: torch.Tensor) -> list[torch.Tensor]:
    grads = torch.autograd.grad((logits * weights).sum(), inputs, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, grads)]


@pytest.mark.parametrize("switches", SWITCHES, ids=["default", "no_feature_grad", "no_cls_grad"])
def test_head_matches_the_reference_in_logits_and_every_gradient(switches):
    torch.manual_seed(0)
    text = torch.randn(5, 12, dtype=torch.float64)
    head = CPRFLHead(16, text, 5, **SMALL, **switches).double().train()  # dropout 0.1 is off in eval only
    head.vsi.attn_out_dropout.p = head.vsi.ffn[2].p = head.vsi.ffn[4].p = 0.0
    features = torch.randn(3, 16, 2, 3, dtype=torch.float64, requires_grad=True)
    inputs = [features, *head.parameters()]
    weights = torch.randn(3, 5, dtype=torch.float64)
    ours = head(features)
    expected = reference_logits(head, features, head.text_embeddings, 4, 16, **switches)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    for got, want in zip(_gradients(ours, inputs, weights), _gradients(expected, inputs, weights)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    vsi_grads = _gradients(head(features), [features, head.visual_proj.weight, head.vsi.attn.to_qkv.weight], weights)
    prompt_grads = _gradients(head(features), list(head.prompt_init.parameters()), weights)
    assert all(g.abs().sum() > 0 for g in prompt_grads)
    # no_feature_grad: nothing before P' (backbone features, visual projection, VSI) learns from the loss
    assert all((g.abs().sum() == 0) == bool(switches.get("no_feature_grad")) for g in vsi_grads)


def test_no_prompt_input_grad_cuts_only_the_prompts_vsi_input():
    torch.manual_seed(0)
    text = torch.randn(5, 12, dtype=torch.float64)
    features = torch.randn(2, 16, 2, 2, dtype=torch.float64)

    def grads(**switches):
        torch.manual_seed(1)
        head = CPRFLHead(16, text, 5, **SMALL, **switches).double().eval()
        sources = [*head.prompt_init.parameters(), head.visual_proj.weight]
        return _gradients(head(features), sources, torch.ones(2, 5, dtype=torch.float64))

    total, classifier_only, vsi_only = grads(), grads(no_prompt_input_grad=True), grads(no_cls_grad=True)
    for t, c, v in zip(total[:-1], classifier_only[:-1], vsi_only[:-1]):  # prompt paths add up
        torch.testing.assert_close(t, c + v)
    assert classifier_only[-1].abs().sum() > 0  # unlike no_feature_grad, the visual side still trains


def test_both_official_switches_together_are_refused():
    with pytest.raises(LtbenchError, match="no_feature_grad and method.no_cls_grad"):
        CPRFLHead(16, torch.randn(5, 12), 5, **SMALL, no_feature_grad=True, no_cls_grad=True)


def _count(dim: int, embed: int, classes: int, inner: int, qkv_bias: bool, ffn: int = 2048) -> int:
    """Parameters of the head, by hand: projection, PI (hidden dim/2), q/k/v, output, FFN, two LayerNorms."""
    hidden = dim // 2
    return ((dim * dim + dim) + (embed * hidden + hidden) + (hidden * dim + dim)
            + (dim * 3 * inner + qkv_bias * 3 * inner) + (inner * dim + dim)
            + (dim * ffn + ffn) + (ffn * dim + dim) + 4 * dim)


@pytest.mark.parametrize("legacy", [False, True])
def test_parameter_count_at_the_voc_lt_configuration(legacy):
    """ResNet-101 features (2048), d = 2048, CLIP RN50 text (1024-d), 20 classes: 49.3M; the old shape 32.5M."""
    shape = dict(dim_head=256, qkv_bias=True, attn_dropout=0.1) if legacy else {}
    with torch.device("meta"):
        head = CPRFLHead(2048, torch.zeros(20, 1024), 20, **shape)
    count = sum(p.numel() for p in head.parameters())
    assert count == _count(2048, 1024, 20, 2048 if legacy else 4096, legacy)
    assert round(count / 1e6, 1) == (32.5 if legacy else 49.3)


def test_old_shape_is_torch_multihead_attention():
    """heads=8, dim_head=dim/8, q/k/v bias: the same function as nn.MultiheadAttention with its weights."""
    torch.manual_seed(0)
    torch_attention = nn.MultiheadAttention(32, 8, batch_first=True).eval()
    ours = Attention(32, heads=8, dim_head=4, qkv_bias=True).eval()
    ours.to_qkv.weight.data.copy_(torch_attention.in_proj_weight)
    ours.to_qkv.bias.data.copy_(torch_attention.in_proj_bias)
    ours.to_out.load_state_dict(torch_attention.out_proj.state_dict())
    x = torch.randn(2, 7, 32)
    torch.testing.assert_close(ours(x), torch_attention(x, x, x, need_weights=False)[0])
    assert Attention(32).to_qkv.bias is None and Attention(32).to_qkv.out_features == 3 * 8 * 512


def test_attention_dropout_acts_on_probabilities_only_while_training():
    torch.manual_seed(0)
    layer = Attention(16, heads=2, dim_head=8, attn_dropout=0.5)
    x = torch.randn(1, 5, 16)
    assert not torch.allclose(layer.train()(x), layer(x))  # two dropout draws differ
    torch.testing.assert_close(layer.eval()(x), layer(x))


def _schedule(epochs: int = 79, total_epochs: int = 80, steps: int = 10):
    optimizer = torch.optim.AdamW([nn.Parameter(torch.zeros(2))], lr=5e-5)
    return optimizer, one_cycle(optimizer, steps, epochs, total_epochs=total_epochs, pct_start=0.1)


def test_one_cycle_lr_and_beta1_at_start_peak_and_end():
    """80-epoch cycle of 800 steps, peak at step 79 (pct_start 0.1), stopped after 79 epochs (790 steps)."""
    optimizer, scheduler = _schedule()
    seen = {}
    for step in range(790):
        seen[step] = (optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["betas"][0])
        optimizer.step()
        scheduler.step()
    max_lr, start_lr = 5e-5, 5e-5 / 25
    end_lr = start_lr / 1e4
    assert seen[0] == pytest.approx((start_lr, 0.95))
    assert seen[79] == pytest.approx((max_lr, 0.85))
    fraction = (789 - 79) / (799 - 79)  # cosine from the peak (step 79) to the cycle's last step (799)
    cosine = (1 + math.cos(math.pi * fraction)) / 2
    assert seen[789] == pytest.approx((end_lr + (max_lr - end_lr) * cosine, 0.95 - 0.10 * cosine))
    assert seen[789][0] > 100 * end_lr  # stopping one epoch early leaves the lr well above the cycle's end
    full_optimizer, full = _schedule(epochs=80)
    for _ in range(799):
        full_optimizer.step()
        full.step()
    assert (full_optimizer.param_groups[0]["lr"], full_optimizer.param_groups[0]["betas"][0]) == pytest.approx(
        (end_lr, 0.95))


def test_one_cycle_refuses_what_it_cannot_do():
    with pytest.raises(LtbenchError, match="total_epochs"):
        _schedule(epochs=81)
    with pytest.raises(LtbenchError, match="cycle_momentum=false"):
        one_cycle(torch.optim.Adagrad([nn.Parameter(torch.zeros(1))]), 10, 2)
