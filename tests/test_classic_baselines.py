"""The classic long-tail baselines of CPRFL's Table 1 as methods: the behaviour each paper defines (tau-norm's
classifier, ...) holds on the built model. That each trains above chance, resumes and reloads is
``check_method``'s (tests/test_every_method.py)."""

import numpy as np
import pytest
import torch

from ltbench.evaluation import average_precision
from ltbench.engine.trainer import Trainer
from ltbench.experiment import build_experiment, run_experiment
from ltbench.losses.ldam import LDAMLoss
from ltbench.models.classifiers import TauNormLinear
from ltbench.config.resolve import resolve_config

def small_config(tmp_path, method, *extra):
    return resolve_config(method, "mnist_lt", overrides=[f"output.root={tmp_path}", "train.epochs=4", *extra])


@pytest.mark.slow
def test_tau_norm_model_at_tau_zero_scores_as_the_plain_baseline(tmp_path):
    plain = build_experiment(small_config(tmp_path, "erm")).parts.model.head
    tau_zero = build_experiment(small_config(tmp_path, "tau_norm", "method.tau=0")).parts.model.head
    assert isinstance(tau_zero.classifier, TauNormLinear)
    tau_zero.load_state_dict(plain.state_dict())
    features = torch.randn(5, 1280, 2, 2)
    assert torch.equal(tau_zero.eval()(features), plain.eval()(features))


def test_tau_norm_leaves_every_per_class_ap_unchanged():
    """Why tau is not tuned: it rescales each class's logit by a positive constant, so per-class AP cannot move."""
    torch.manual_seed(0)
    layer = TauNormLinear(8, 4, tau=0.0).eval()
    with torch.no_grad():
        layer.weight.mul_(torch.tensor([[5.0], [0.2], [1.0], [30.0]]))
    features, targets = torch.randn(200, 8), np.random.default_rng(0).integers(0, 2, (200, 4))
    plain = layer(features).detach().numpy()
    layer.tau = 1.0
    normalised = layer(features).detach().numpy()
    assert not np.allclose(plain, normalised)
    np.testing.assert_allclose(average_precision(normalised, targets), average_precision(plain, targets))


@pytest.mark.slow
def test_drw_switches_the_ldam_weights_on_at_exactly_the_configured_epoch(tmp_path, monkeypatch):
    epoch_now, used = [0], []
    original_epoch, original_weights = Trainer._train_epoch, LDAMLoss.weights

    def record_epoch(self, run, info):
        epoch_now[0] = info.global_epoch
        return original_epoch(self, run, info)

    def record_weights(self, targets):
        weights = original_weights(self, targets)
        used.append((epoch_now[0], weights is not None))
        return weights

    monkeypatch.setattr(Trainer, "_train_epoch", record_epoch)
    monkeypatch.setattr(LDAMLoss, "weights", record_weights)
    run_experiment(build_experiment(small_config(tmp_path, "ldam_drw", "method.drw_epoch=3")))
    by_epoch = {epoch: {on for e, on in used if e == epoch} for epoch, _ in used}
    assert by_epoch == {1: {False}, 2: {False}, 3: {True}, 4: {True}}


def test_ldam_drw_default_switch_is_after_80_percent_of_the_epochs(tmp_path):
    parts = build_experiment(small_config(tmp_path, "ldam_drw")).parts
    (hook,) = parts.on_epoch
    assert [hook.first_epoch(epochs) for epochs in (200, 30, 8)] == [161, 25, 7]


@pytest.mark.slow
def test_crt_stage_two_leaves_the_representation_bit_identical_and_retrains_the_classifier(tmp_path):
    config = small_config(tmp_path, "crt", "train.epochs=1", "method.classifier_epochs=1", "model.freeze=none",
                          "dataset.max_count=12", "dataset.min_count=2", "dataset.num_test=40", "train.batch_size=16")
    experiment = build_experiment(config)
    model, stage_two = experiment.parts.model, experiment.parts.stages[1]
    assert stage_two.sampler == "class_aware" and stage_two.train == ("head.classifier",)
    snapshot = {}
    original_start = stage_two.on_start

    def start_and_snapshot(m):
        snapshot.update({k: v.clone() for k, v in m.state_dict().items()})
        original_start(m)
        snapshot["fresh"] = m.head.classifier.weight.detach().clone()

    stage_two.on_start = start_and_snapshot
    run_experiment(experiment)
    after = model.state_dict()
    representation = [k for k in after if not k.startswith("head.classifier.")]
    assert any(k.startswith("backbone.") for k in representation)
    assert all(torch.equal(after[k], snapshot[k]) for k in representation), \
        [k for k in representation if not torch.equal(after[k], snapshot[k])]
    assert not torch.equal(snapshot["fresh"], snapshot["head.classifier.weight"])  # re-initialised at stage 2
    assert not torch.equal(after["head.classifier.weight"], snapshot["fresh"])  # and trained
