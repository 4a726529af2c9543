"""Bad input ends in one sentence that says what to change: typos in configs, broken
YAML, unreadable weights or checkpoints, unknown dataset options, clashing plugins."""

from __future__ import annotations

import types

import pytest
import torch

from ltbench.cli import main
from ltbench.config.layering import load_yaml
from ltbench.engine.checkpoint import Position, read_checkpoint, save_checkpoint
from ltbench.engine.trainer import Trainer
from ltbench.errors import LtbenchError
from ltbench.experiment import build_experiment, run_experiment
from ltbench.config.resolve import resolve_config
from ltbench.models.backbones import BACKBONES
from ltbench.paths import PACKAGED_CONFIGS
from ltbench.plugins import load_plugins
from ltbench.registry import METHODS, Registry
from ltbench.launch.suites import load_suite, suite_names


def one_sentence(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_mistyped_config_key_is_refused_with_the_close_match():
    with pytest.raises(LtbenchError) as info:
        resolve_config("erm", "mnist_lt", overrides=["train.epoch=3", "evall.interval=0"])
    message = one_sentence(info)
    assert "train.epoch (did you mean train.epochs?)" in message
    assert "evall (did you mean eval?)" in message
    with pytest.raises(LtbenchError) as info:  # component sections are checked against the component's signature
        resolve_config("erm", "mnist_lt", overrides=["train.optimizer.lrr=1"])
    assert "optimizer 'sgd' has no parameter train.optimizer.lrr (did you mean train.optimizer.lr?)" in \
        one_sentence(info)


@pytest.mark.parametrize("dataset", ["mnist_lt", "voc_lt", "coco_lt"])
def test_every_shipped_config_and_suite_row_has_only_known_keys(dataset):
    load_plugins()
    for path in sorted((PACKAGED_CONFIGS / dataset).glob("*.yaml")):  # each as --config, recipes included
        method = path.stem if path.stem in METHODS else None  # a method's own file may set its parameters
        resolve_config(method, dataset=dataset, config=path)
    for suite in suite_names():
        for row in load_suite(suite).rows:
            resolve_config(row.method, dataset, row.config_file(dataset), extra=row.overrides_for(dataset))


@pytest.mark.parametrize("dataset", ["mnist_lt", "voc_lt", "coco_lt"])
def test_the_authors_code_preset_resolves_by_name(dataset):
    config = resolve_config("cprfl", dataset, config="cprfl_code")
    train = config["train"]
    assert (train["drop_last"], train["ema_from_init"], train["amp"]) == (False, True, "fp16")
    assert train["schedule"]["name"] == "onecycle" and train["schedule"]["total_epochs"] == train["epochs"] + 1
    assert config["input"]["augment"] == "cutout_randaugment" and config["model"]["normalize"] is False


def test_a_mistyped_key_on_the_command_line_is_one_error_line(capsys):
    assert main(["run", "--method", "erm", "--dataset", "mnist_lt", "--train.epoch", "3"]) == 2
    err = capsys.readouterr().err
    assert err == "ltbench: error: Unknown config key train.epoch (did you mean train.epochs?); " \
                  "see ltbench/defaults.yaml for the keys.\n"


def test_broken_yaml_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochs: 3\n  optimizer: {lr: 0.1\n")
    with pytest.raises(LtbenchError, match=r"bad.yaml is not valid YAML at line \d") as info:
        load_yaml(bad)
    one_sentence(info)


def test_efficientnet_stem_with_dotted_block_names_freezes_exactly_the_stem():
    backbone = BACKBONES.build("efficientnet_lite0", pretrained=False, freeze="stem_layer1")
    body = backbone.body
    assert not any(p.requires_grad for p in body.get_submodule("blocks.0").parameters())
    assert not body.conv_stem.weight.requires_grad
    assert all(p.requires_grad for p in body.get_submodule("blocks.1").parameters())


@pytest.mark.parametrize("content", [b"not a checkpoint at all", "a pickled string"])
def test_unreadable_weights_file_is_one_sentence_naming_it(tmp_path, content):
    file = tmp_path / "weights.pth"
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        torch.save(content, file)
    with pytest.raises(LtbenchError, match="weights.pth") as info:
        BACKBONES.build("resnet50", weights=str(file))
    assert "model.weights=" in one_sentence(info)


@pytest.mark.slow
def test_a_checkpoint_that_does_not_fit_the_model_says_to_delete_it(tmp_path, monkeypatch):
    overrides = [f"output.root={tmp_path}", "train.epochs=2"]
    original = Trainer._train_epoch

    def crash_in_epoch_2(self, run, info):
        if info.global_epoch == 2:
            raise KeyboardInterrupt
        return original(self, run, info)

    monkeypatch.setattr(Trainer, "_train_epoch", crash_in_epoch_2)
    experiment = build_experiment(resolve_config("erm", "mnist_lt", overrides=overrides))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(experiment)
    checkpoint = experiment.run_dir / "checkpoint.pt"
    state = torch.load(checkpoint, weights_only=False)
    state["model"] = {name + ".renamed": tensor for name, tensor in state["model"].items()}  # code changed since
    torch.save(state, checkpoint)
    monkeypatch.setattr(Trainer, "_train_epoch", original)
    with pytest.raises(LtbenchError, match="checkpoint.pt cannot be resumed") as info:
        run_experiment(build_experiment(resolve_config("erm", "mnist_lt", overrides=overrides)))
    assert "delete it" in one_sentence(info)


def tiny_training_state(width: int = 2):
    model = torch.nn.Linear(width, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, 1)


@pytest.mark.parametrize("damage", ["garbage bytes", "other shapes", "no rng state"])
def test_a_corrupt_or_foreign_checkpoint_is_one_sentence(tmp_path, damage):
    path = tmp_path / "checkpoint.pt"
    model, optimizer, scheduler = tiny_training_state()
    save_checkpoint(path, Position(0, 3), model, (), optimizer, scheduler, ema=None)
    if damage == "garbage bytes":
        path.write_bytes(b"\x00 truncated by a full disk")
    elif damage == "no rng state":
        state = torch.load(path, weights_only=False)
        del state["rng"]
        torch.save(state, path)
    width = 3 if damage == "other shapes" else 2
    with pytest.raises(LtbenchError, match="checkpoint.pt cannot be resumed") as info:
        read_checkpoint(path, tiny_training_state(width)[0], ())
    assert "delete it" in one_sentence(info) and "output.root" in str(info.value)


def test_prepare_with_an_unknown_dataset_option_lists_the_options(capsys):
    assert main(["prepare", "voc_lt", "--dataset.colour", "red"]) == 2
    err = capsys.readouterr().err
    assert "no parameter dataset.colour" in err and "root" in err and "Traceback" not in err


def test_prepare_refuses_options_of_other_sections(capsys):
    assert main(["prepare", "voc_lt", "--train.epochs", "3"]) == 2
    assert "dataset options only" in capsys.readouterr().err


def test_two_plugins_registering_one_name_clash_even_with_the_same_function_name():
    registry = Registry("widget")
    first, second = types.ModuleType("plugin_a"), types.ModuleType("plugin_b")
    exec("def make():\n    return 1", first.__dict__)
    exec("def make():\n    return 2", second.__dict__)
    first.make.__module__, second.make.__module__ = "plugin_a", "plugin_b"
    registry.register("widget")(first.make)
    registry.register("widget")(first.make)  # importing the same plugin again is harmless
    with pytest.raises(LtbenchError, match="already registered by plugin_a"):
        registry.register("widget")(second.make)


@pytest.mark.parametrize("key, value, expected", [
    ("train.optimizer.name", "lamb", "must be one of adam, adamw, sgd, not 'lamb'"),
    ("train.schedule.name", "poly", "must be one of constant, cosine, onecycle, step, not 'poly'"),
    ("train.sampler", "balanced", "must be one of class_aware, inverse_frequency, random, reversed, not 'balanced'"),
    ("input.augment", "rand", "must be one of cutout_randaugment, db, flip_crop, none, randaugment, resized_crop_jitter, not 'rand'"),
    ("train.device", "gpu", "must be auto, cpu, cuda or cuda:N, not 'gpu'"),
])
def test_a_misspelt_choice_is_refused_before_any_data_is_read_or_written(tmp_path, monkeypatch, capsys,
                                                                          key, value, expected):
    from ltbench.registry import DATASETS

    monkeypatch.setattr(DATASETS, "build", lambda *a, **k: pytest.fail("the dataset was read"))
    assert main(["run", "--method", "erm", "--dataset", "mnist_lt", f"--{key}", value,
                 f"--output.root={tmp_path / 'runs'}"]) == 2
    key = "train.sampler.name" if key == "train.sampler" else key  # a sampler is a component with parameters
    err = capsys.readouterr().err  # may end with a "did you mean" hint
    assert err.startswith(f"ltbench: error: {key} {expected}") and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()  # no stub run directory for `ltbench table` to trip over
