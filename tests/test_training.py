"""Short real training runs on the embedded dataset: they must beat chance, write a
complete run directory, skip when finished and resume after a crash."""

import json

import numpy as np
import pytest

from ltbench.engine.trainer import Trainer
from ltbench.errors import LtbenchError
from ltbench.evaluation import chance_map, evaluate
from ltbench.experiment import build_experiment, run_experiment
from ltbench.config.resolve import resolve_config


def small_config(tmp_path, method="erm", *extra):
    return resolve_config(method, "mnist_lt", overrides=[f"output.root={tmp_path}", "train.epochs=6", *extra])


@pytest.mark.slow
def test_short_erm_run_beats_chance_and_writes_run_directory(tmp_path):
    experiment = build_experiment(small_config(tmp_path))
    metrics = run_experiment(experiment)
    run_dir = experiment.run_dir
    assert {p.name for p in run_dir.iterdir()} == {"config.yaml", "metrics.json", "history.jsonl", "scores.npz",
                                                   "replicates.npz", "model.safetensors"}  # training state deleted
    chance = chance_map(experiment.dataset.test.targets)
    assert metrics["map"]["total"] > chance + 10, (metrics["map"], chance)
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["status"] == "finished" and saved["seed"] == 1 and saved["selection"] == "final"
    assert saved["machine"]["threads"] >= 1 and saved["machine"]["cpu_capability"]  # results are per-machine
    with np.load(run_dir / "scores.npz") as data:  # any metric can be recomputed without the model
        recomputed = evaluate(data["scores"], data["targets"], {k: np.array(v) for k, v in saved["groups"].items()})
    assert recomputed["total"] == pytest.approx(saved["map"]["total"])
    resolved = (run_dir / "config.yaml").read_text()
    assert "loss:\n  name: bce" in resolved and "weights:" in resolved  # defaults made explicit


@pytest.mark.slow
def test_finished_run_is_not_trained_again(tmp_path, monkeypatch):
    experiment = build_experiment(small_config(tmp_path, "erm", "train.epochs=2"))
    first = run_experiment(experiment)
    monkeypatch.setattr(Trainer, "fit", lambda self: pytest.fail("a finished run was trained again"))
    again = run_experiment(build_experiment(small_config(tmp_path, "erm", "train.epochs=2")))
    assert again["map"] == first["map"]


RESUME_SETTINGS = {
    "cached features": [],
    "class-aware sampler": ["train.sampler=class_aware"],
    "reversed sampler": ["train.sampler=reversed"],
    "augmented images in a worker": ["input.augment=flip_crop", "train.num_workers=1", "train.batch_size=128"],
}


@pytest.mark.slow
@pytest.mark.parametrize("setting", list(RESUME_SETTINGS))
def test_killed_run_resumes_from_its_checkpoint_with_identical_result(tmp_path, monkeypatch, setting):
    overrides = ["train.epochs=3", *RESUME_SETTINGS[setting]]
    straight = build_experiment(small_config(tmp_path / "straight", "erm", *overrides))
    reference = run_experiment(straight)

    original = Trainer._train_epoch
    calls = []

    def crash_in_epoch_3(self, run, info):
        calls.append(info.global_epoch)
        if info.global_epoch == 3:
            raise KeyboardInterrupt
        return original(self, run, info)

    monkeypatch.setattr(Trainer, "_train_epoch", crash_in_epoch_3)
    experiment = build_experiment(small_config(tmp_path / "crash", "erm", *overrides))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(experiment)
    assert (experiment.run_dir / "checkpoint.pt").is_file() and not (experiment.run_dir / "metrics.json").exists()

    calls.clear()
    monkeypatch.setattr(Trainer, "_train_epoch", lambda self, run, info: (calls.append(info.global_epoch),
                                                                          original(self, run, info))[1])
    resumed = run_experiment(build_experiment(small_config(tmp_path / "crash", "erm", *overrides)))
    assert calls == [3]  # epochs 1 and 2 came from the checkpoint
    assert resumed["map"] == pytest.approx(reference["map"], abs=1e-6)  # the same batches and augmentations
    with np.load(experiment.run_dir / "scores.npz") as resumed_scores, \
            np.load(straight.run_dir / "scores.npz") as straight_scores:
        np.testing.assert_allclose(resumed_scores["scores"], straight_scores["scores"], atol=1e-6)


def test_cprfl_defaults_to_glove_prompts_and_asl():
    """That CPRFL trains above chance is check_method's (tests/test_every_method.py); its defaults are resolved here."""
    config = resolve_config("cprfl", "mnist_lt")
    assert config["text"]["encoder"] == "glove" and config["loss"]["name"] == "asl"


@pytest.mark.slow
def test_class_aware_sampler_and_ema_run(tmp_path):
    experiment = build_experiment(small_config(tmp_path, "erm", "train.epochs=2", "train.sampler=class_aware",
                                               "train.ema=0.9"))
    metrics = run_experiment(experiment)
    assert metrics["selection"] == "final-ema"
    assert metrics["map"]["total"] > chance_map(experiment.dataset.test.targets)


def test_feature_cache_with_augmentation_is_refused(tmp_path):
    experiment = build_experiment(small_config(tmp_path, "erm", "train.feature_cache=true",
                                               "input.augment=flip_crop", "model.freeze=all"))
    with pytest.raises(LtbenchError, match="input.augment=none"):
        run_experiment(experiment)


@pytest.mark.slow
def test_random_init_backbone_features_are_cached_per_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "cache"))
    for seed in (1, 2, 1):
        run_experiment(build_experiment(small_config(tmp_path / str(seed), "erm", "train.epochs=1", f"seed={seed}",
                                                     "model.pretrained=false", "model.freeze=all")))
    assert len(list((tmp_path / "cache" / "features").glob("*.pt"))) == 4  # train + test for each seed


@pytest.mark.slow
def test_mixed_precision_path_trains_where_no_gpu_is_present(tmp_path, monkeypatch):
    """CUDA's AMP path (bfloat16 autocast, features cached under it, fp32 loss, EMA) run through CPU autocast.

    AMP is on only for CUDA, so without this a machine with no GPU would never
    execute that path; a dtype mismatch in a head or a loss would show up here.
    """
    import ltbench.engine.prediction as prediction_module

    monkeypatch.setattr(prediction_module, "amp_enabled", lambda setting, device: True)
    # CPU bfloat16 is slow: a small head on a smaller draw of mnist_lt
    small = ["train.epochs=6", "train.ema=0.9", "method.dim=64", "method.ffn_dim=128", "method.heads=4",
             "method.dim_head=32", "dataset.max_count=100", "dataset.num_test=200"]
    experiment = build_experiment(small_config(tmp_path, "cprfl", *small))
    metrics = run_experiment(experiment)
    assert metrics["amp"] is True and metrics["feature_cache"] is True and metrics["selection"] == "final-ema"
    assert metrics["map"]["total"] > chance_map(experiment.dataset.test.targets) + 5, metrics["map"]
