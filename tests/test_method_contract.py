"""The method contract, proven the way a user would: a plugin file implements a two-stage method (cRT)
and a deferred re-weighting (DRW) without touching ltbench (tests/test_every_method.py loads plugins
from a folder of the user's own)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ltbench.data.loading import SplitDataset, make_loader
from ltbench.data.transforms import build_transform, to_float_images
from ltbench.evaluation import chance_map
from ltbench.experiment import build_experiment, run_experiment
from ltbench.plugins import import_plugin_file
from ltbench.config.resolve import resolve_config

EXAMPLE = Path(__file__).resolve().parent.parent / "methods" / "examples" / "crt_drw.py"
SMALL = ["dataset.max_count=100", "dataset.num_test=200"]


@pytest.fixture(scope="module", autouse=True)
def example_plugin() -> None:
    """The example imported as a plugin file, once (importing it again is harmless)."""
    import_plugin_file(EXAMPLE)


def test_the_example_plugin_is_short():
    assert len(EXAMPLE.read_text().splitlines()) <= 40


@pytest.mark.slow
def test_crt_second_stage_keeps_the_backbone_bit_identical_and_caches_its_fine_tuned_features(tmp_path):
    config = resolve_config("my_crt", "mnist_lt", overrides=[
        f"output.root={tmp_path}", "train.epochs=1", "method.classifier_epochs=6", "model.freeze=stem_layer1", *SMALL])
    experiment = build_experiment(config)
    model, classifier_stage = experiment.parts.model, experiment.parts.stages[1]
    after_stage_1 = {}
    reset = classifier_stage.on_start

    def snapshot_then_reset(model):
        after_stage_1.update({k: v.clone() for k, v in model.backbone.state_dict().items()})
        reset(model)

    classifier_stage.on_start = snapshot_then_reset
    metrics = run_experiment(experiment)
    assert metrics["stages"] == ["representation", "classifier"] and metrics["epochs"] == 7
    assert metrics["feature_cache"] is True  # stage 2 trained on cached features of the fine-tuned backbone
    for name, tensor in model.backbone.state_dict().items():
        assert torch.equal(tensor, after_stage_1[name]), name
    # the cached features were those of the fine-tuned backbone: scores from images agree with the run's
    model.eval()
    loader = make_loader(SplitDataset(experiment.dataset.test, build_transform(64, "none", False)), 256)
    with torch.no_grad():
        from_images = torch.cat([model(to_float_images(x, torch.device("cpu"))) for x, _ in loader])
    with np.load(experiment.run_dir / "scores.npz") as saved:  # the logits
        np.testing.assert_allclose(saved["scores"], from_images.numpy(), rtol=1e-2, atol=1e-2)  # float16 cache
    # one epoch of SGD fine-tuning on a few hundred 64 px digits mostly spoils the ImageNet features, so the
    # classifier re-trained on them is only a little above chance (27.2 against 25.15 here)
    assert metrics["map"]["total"] > chance_map(experiment.dataset.test.targets) + 1


@pytest.mark.slow
def test_drw_switches_the_loss_weights_at_exactly_the_configured_epoch(tmp_path):
    config = resolve_config("my_drw", "mnist_lt", overrides=[
        f"output.root={tmp_path}", "train.epochs=4", "method.start_epoch=3", *SMALL])
    experiment = build_experiment(config)
    seen = []
    experiment.parts.on_epoch.append(lambda info: seen.append(experiment.parts.loss.weight))
    metrics = run_experiment(experiment)
    assert seen[0] is None and seen[1] is None and seen[2] is not None and seen[3] is not None
    freq = np.asarray(experiment.dataset.class_freq, dtype=np.float64)
    expected = (1 - 0.999) / (1 - 0.999 ** freq)
    np.testing.assert_allclose(seen[2].numpy(), expected * len(freq) / expected.sum(), rtol=1e-6)
    assert seen[2][np.argmin(freq)] > seen[2][np.argmax(freq)]  # the rarest class weighs most
    assert metrics["map"]["total"] > chance_map(experiment.dataset.test.targets) + 5
