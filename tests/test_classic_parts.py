"""The reusable parts of the classic long-tail baselines, on values worked out by hand."""

import math

import numpy as np
import pytest
import torch

from ltbench.data.base import ClassStats
from ltbench.data.pairs import ReversedPairs
from ltbench.data.samplers import ReversedSampler, reversed_draws
from ltbench.errors import LtbenchError
from ltbench.losses import build_loss
from ltbench.losses.ldam import drw_weights, ldam_margins
from ltbench.models.bbn import BBNHead, bbn_loss, cumulative_alpha
from ltbench.models.classifiers import CosineLinear, TauNormLinear
from ltbench.models.ml_gcn import MLGCNHead, cooccurrence_adjacency, normalised_adjacency


def test_ldam_margins_fall_as_the_fourth_root_of_the_count_with_the_rarest_at_max_m():
    margins = ldam_margins(ClassStats(np.array([1, 16, 81]), 90), max_m=0.5)
    assert margins == pytest.approx([0.5, 0.25, 1 / 6])  # n^-1/4 = 1, 1/2, 1/3, scaled by 0.5


def test_ldam_subtracts_margins_from_positive_logits_only_then_scales():
    loss = build_loss({"name": "ldam", "s": 2.0}, ClassStats(np.array([1, 16, 81]), 90))
    value = loss(torch.tensor([[0.1, 0.2, -0.1]]), torch.tensor([[1, 0, 1]], dtype=torch.uint8)).item()
    z_first, z_second, z_third = 2 * (0.1 - 0.5), 2 * 0.2, 2 * (-0.1 - 1 / 6)
    expected = (math.log1p(math.exp(-z_first)) + math.log1p(math.exp(z_second)) + math.log1p(math.exp(-z_third))) / 3
    assert value == pytest.approx(expected, rel=1e-6)


def test_drw_weights_are_effective_number_weights_summing_to_the_class_count():
    # beta 0.5: (1 - 0.5) / (1 - 0.5^1) = 1 and (1 - 0.5) / (1 - 0.5^2) = 2/3, scaled to sum to 2
    assert drw_weights(ClassStats(np.array([1, 2]), 3), beta=0.5) == pytest.approx([1.2, 0.8])


def test_ldam_reweighting_multiplies_each_class_entry_by_its_drw_weight():
    loss = build_loss({"name": "ldam", "s": 1.0, "drw_beta": 0.5}, ClassStats(np.array([1, 2]), 3))
    logits, targets = torch.tensor([[0.3, -0.4]]), torch.tensor([[0.0, 1.0]])
    plain = torch.nn.functional.binary_cross_entropy_with_logits(
        logits - loss.margins * targets, targets, reduction="none")
    assert loss(logits, targets).item() == pytest.approx(plain.mean().item(), rel=1e-6)
    loss.reweight(True)
    assert loss(logits, targets).item() == pytest.approx((plain * torch.tensor([1.2, 0.8])).mean().item(), rel=1e-6)


@pytest.mark.parametrize("config", [{"max_m": 0.0}, {"drw_beta": 1.0}])
def test_ldam_bad_parameters_fail_cleanly(config):
    with pytest.raises(LtbenchError, match="ldam"):
        build_loss({"name": "ldam", **config}, ClassStats(np.array([1, 2]), 3))


def test_logit_adjustment_offsets_each_logit_by_tau_times_its_binary_log_prior_odds():
    loss = build_loss({"name": "logit_adjusted"}, ClassStats(np.array([5, 20]), 25))
    assert loss.bias.tolist() == pytest.approx([math.log(5 / 20), math.log(20 / 5)])
    # zero logits: the positive entry sees log(1/4), the negative one log(4); both BCE terms are log(5)
    value = loss(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])).item()
    assert value == pytest.approx(math.log(5), rel=1e-6)
    half = build_loss({"name": "logit_adjusted", "tau": 0.5}, ClassStats(np.array([5, 20]), 25))
    assert half.bias.tolist() == pytest.approx([0.5 * math.log(0.25), 0.5 * math.log(4)])


def test_tau_norm_at_tau_zero_is_the_plain_classifier_and_at_one_has_unit_norms():
    torch.manual_seed(0)
    plain = torch.nn.Linear(6, 3)
    features = torch.randn(5, 6)
    for tau, check_norms in ((0.0, False), (1.0, True)):
        layer = TauNormLinear(6, 3, tau=tau)
        layer.load_state_dict(plain.state_dict())
        assert torch.equal(layer.train()(features), plain(features))  # training is never normalised
        evaluated = layer.eval()(features)
        if check_norms:
            assert layer.normalised_weight().norm(dim=1).tolist() == pytest.approx([1.0] * 3, abs=1e-6)
        else:
            assert torch.equal(evaluated, plain(features))


def test_cosine_classifier_outputs_cosines():
    layer = CosineLinear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 0.0], [1.0, 1.0]]))
    out = layer(torch.tensor([[0.0, 2.0]]))
    assert out.tolist()[0] == pytest.approx([0.0, 1 / math.sqrt(2)])


def test_bbn_alpha_decays_parabolically_from_one():
    assert [cumulative_alpha(e, 10) for e in (1, 6, 10)] == pytest.approx([1.0, 0.75, 0.19])


def test_bbn_inference_weights_both_branches_by_half_and_alpha_one_trains_on_the_uniform_batch():
    torch.manual_seed(0)
    head = BBNHead(4, 3, branch_dim=5).eval()
    x, x_rev = torch.randn(2, 4, 1, 1), torch.randn(2, 4, 1, 1)
    assert torch.equal(head(x), head.mixed_logits(x, x, 0.5))
    conv, reb = head.conventional(x.flatten(1)), head.rebalancing(x.flatten(1))
    assert torch.allclose(head(x), head.classifier(torch.cat((conv, reb), dim=1)))
    y, y_rev = torch.tensor([[1.0, 0, 0], [0, 1, 0]]), torch.tensor([[0.0, 0, 1], [0, 0, 1]])
    bce = torch.nn.BCEWithLogitsLoss()
    only_uniform = bce(head.mixed_logits(x, x_rev, 1.0), y)
    assert bbn_loss(head, bce, (x, y), (x_rev, y_rev), 1.0).item() == pytest.approx(only_uniform.item())


def test_reversed_draws_pick_classes_by_inverse_frequency():
    targets = np.zeros((100, 2), dtype=np.uint8)
    targets[:90, 0] = 1
    targets[90:, 1] = 1  # class 1 has 10 images, class 0 has 90: drawn 90 : 10 by class, then image
    draws = reversed_draws(targets, 4000, torch.Generator().manual_seed(0))
    share_rare = (draws >= 90).mean()
    assert share_rare == pytest.approx(0.9, abs=0.02)


def test_reversed_sampler_and_pairs_are_reproducible_and_differ_between_epochs():
    targets = np.eye(3, dtype=np.uint8)[np.array([0] * 20 + [1] * 5 + [2])]
    first, again = ReversedSampler(targets, seed=3), ReversedSampler(targets, seed=3)
    epoch_one = list(first)
    assert epoch_one == list(again) and len(first) == 26
    epoch_two = list(first)
    assert epoch_two != epoch_one  # a second epoch continues the sequence
    resumed = ReversedSampler(targets, seed=3)
    resumed.fast_forward(1)
    assert list(resumed) == epoch_two
    pairs = ReversedPairs([(torch.tensor(i), torch.tensor(targets[i])) for i in range(26)], targets, seed=0)
    partners_one = pairs.partners.copy()
    pairs.set_epoch(2)
    assert not np.array_equal(partners_one, pairs.partners)
    x, y, x_rev, y_rev = pairs[0]
    assert x.item() == 0 and x_rev.item() == pairs.partners[0] and torch.equal(y_rev, torch.tensor(targets[x_rev]))


def test_mlgcn_adjacency_on_a_hand_made_label_matrix():
    #             A  B  C  D
    labels = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0], [1, 0, 0, 0],
                       [0, 1, 0, 0], [0, 0, 0, 1]])
    # N = (5, 3, 2, 1); P(B|A) = P(C|A) = 2/5 >= 0.4, P(A|B) = 2/3, P(A|C) = 1, D has no neighbour
    adjacency = cooccurrence_adjacency(labels, threshold=0.4, p=0.2)
    expected = np.array([[0.8, 0.1, 0.1, 0.0], [0.2, 0.8, 0.0, 0.0], [0.2, 0.0, 0.8, 0.0], [0.0, 0.0, 0.0, 0.8]])
    np.testing.assert_allclose(adjacency, expected)
    normalised = normalised_adjacency(adjacency)  # rows A-C sum to 1; D's row sums to 0.8 -> 0.8 / 0.8
    expected[3, 3] = 1.0
    np.testing.assert_allclose(normalised, expected)
    assert cooccurrence_adjacency(labels, threshold=0.5)[0].tolist() == pytest.approx([0.8, 0, 0, 0])


def test_mlgcn_head_applies_the_graph_classifier_to_max_pooled_features():
    torch.manual_seed(0)
    head = MLGCNHead(6, torch.randn(4, 3), np.eye(4), hidden=5)
    features = torch.randn(2, 6, 2, 2)
    weights = head.classifier_weights()
    assert weights.shape == (4, 6)
    assert torch.allclose(head(features), features.amax(dim=(2, 3)) @ weights.T)
