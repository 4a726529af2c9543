"""CPRFL head: shapes, Prompt Initialisation, the two gradient paths into the prompts, the VSI residual switch.

The authors' attention and dual-path switches are checked against a reference in test_cprfl_official.py.
"""

from __future__ import annotations

import pytest
import torch

from ltbench.errors import LtbenchError
from ltbench.models.cprfl import CPRFLHead, VSILayer

SMALL = dict(dim=32, heads=4, dim_head=16, ffn_dim=64)  # the authors' layout at a size that runs in milliseconds


def _head(num_classes: int = 6, embed_dim: int = 10, **kwargs) -> CPRFLHead:
    torch.manual_seed(0)
    text = None if kwargs.get("random_prompts") else torch.randn(num_classes, embed_dim)
    return CPRFLHead(16, text, num_classes, **{**SMALL, **kwargs})


@pytest.mark.parametrize("num_classes", [20, 80])
def test_logits_shape(num_classes):
    features = torch.randn(2, 16, 3, 4)
    assert _head(num_classes).eval()(features).shape == (2, num_classes)


@pytest.mark.parametrize("tau", [0.5, 0.25])
def test_prompt_initialisation_width_and_fixed_text(tau):
    head = _head(embed_dim=10, tau=tau)
    first, _, last = head.prompt_init
    assert (first.in_features, first.out_features, last.out_features) == (10, round(tau * 32), 32)
    assert "text_embeddings" in dict(head.named_buffers())
    assert all("text_embeddings" not in name for name, _ in head.named_parameters())


def test_random_prompts_are_learnable_and_skip_prompt_initialisation():
    head = _head(random_prompts=True, prompt_seed=5)
    assert head.prompt_init is None and "text_embeddings" not in dict(head.named_buffers())
    assert head.learned_prompts.shape == (6, 32) and head.learned_prompts.requires_grad
    torch.testing.assert_close(head.prompts(), _head(random_prompts=True, prompt_seed=5).prompts())


def test_missing_or_mismatched_text_embeddings_are_errors():
    with pytest.raises(LtbenchError, match="random_prompts"):
        CPRFLHead(16, None, 6, **SMALL)
    with pytest.raises(LtbenchError, match="5 rows"):
        CPRFLHead(16, torch.randn(5, 10), 6, **SMALL)


def _prompt_grads(random_prompts: bool, **detach: bool) -> list[torch.Tensor | None]:
    """Gradients of a loss w.r.t. whatever produces the prompts, for the same weights and input."""
    head = _head(random_prompts=random_prompts, dropout=0.0, **detach).double()
    torch.manual_seed(1)
    features = torch.randn(3, 16, 2, 2, dtype=torch.float64)
    targets = (torch.rand(3, 6) < 0.3).double()
    torch.nn.functional.binary_cross_entropy_with_logits(head(features), targets).backward()
    sources = [head.learned_prompts] if random_prompts else list(head.prompt_init.parameters())
    return [p.grad for p in sources]


@pytest.mark.parametrize("random_prompts", [False, True])
def test_prompts_get_gradient_along_both_paths_and_each_switch_cuts_one(random_prompts):
    total = _prompt_grads(random_prompts)
    classifier_only = _prompt_grads(random_prompts, no_prompt_input_grad=True)
    vsi_only = _prompt_grads(random_prompts, no_cls_grad=True)
    for t, c, v in zip(total, classifier_only, vsi_only):
        assert c.abs().sum() > 0 and v.abs().sum() > 0
        assert not torch.allclose(c, v)
        torch.testing.assert_close(t, c + v)
    neither = _prompt_grads(random_prompts, no_prompt_input_grad=True, no_cls_grad=True)
    assert all(g is None for g in neither)


def test_vsi_residual_switch():
    x = torch.randn(2, 5, 32)
    for residual in (True, False):
        layer = VSILayer(32, 4, 16, 64, 0.0, residual).eval()
        torch.nn.init.zeros_(layer.attn.to_out.weight)
        torch.nn.init.zeros_(layer.attn.to_out.bias)
        torch.nn.init.zeros_(layer.ffn[3].weight)
        torch.nn.init.zeros_(layer.ffn[3].bias)
        # with both branches silenced, the standard layer is the identity and the authors' variant is zero
        torch.testing.assert_close(layer(x), x if residual else torch.zeros_like(x))


@pytest.mark.slow
@pytest.mark.parametrize("residual", [True, False])
def test_a_few_steps_fit_a_tiny_batch(residual):
    head = _head(num_classes=5, residual=residual)
    torch.manual_seed(2)
    features = torch.randn(4, 16, 3, 3).relu()
    targets = (torch.rand(4, 5) < 0.4).float()
    optimizer = torch.optim.Adam(head.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(head(features), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_logit_scale_at_init_at_the_paper_size():
    """Documented in cprfl.py: the residual layer starts near |p_i|^2, the authors' layer near 0."""
    torch.manual_seed(0)
    text = 0.7 * torch.randn(20, 50)  # GloVe-sized embeddings (norm about 5)
    features = torch.randn(2, 64, 2, 2).relu()
    with torch.no_grad():
        standard = CPRFLHead(64, text, 20, residual=True).eval()
        norms = standard.prompts().norm(dim=1) ** 2
        assert (standard(features).mean(0) - norms).abs().max() < 0.5 * norms.min()
        authors = CPRFLHead(64, text, 20, residual=False).eval()(features)
        assert authors.abs().mean() < 2 < 10 < norms.min()
        random = CPRFLHead(64, None, 20, random_prompts=True).eval()(features)
        assert random.abs().max() < 3
