"""Resolve, then build: the whole config is completed and checked before anything is read or written."""

from __future__ import annotations

import pytest

from ltbench.cli import main
from ltbench.config.sections import complete
from ltbench.errors import LtbenchError
from ltbench.runs.run_dir import run_dir_of
from ltbench.registry import DATASETS, KINDS
from ltbench.config.resolve import resolve_config


@pytest.fixture
def no_data_read(monkeypatch):
    monkeypatch.setattr(DATASETS, "build", lambda *a, **k: pytest.fail("a dataset was read"))


def run_cli(tmp_path, capsys, *args):
    code = main(["run", "--method", "erm", "--dataset", "mnist_lt", f"--output.root={tmp_path / 'runs'}", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_section_the_method_does_not_use_is_refused_and_left_out_of_the_hash(tmp_path, capsys, no_data_read):
    code, _, err = run_cli(tmp_path, capsys, "--text.encoder", "bogus", "--text.colour", "red")
    assert code == 2 and "Method 'erm' does not use the text section; remove text.colour, text.encoder" in err
    assert not (tmp_path / "runs").exists()
    assert "text" not in resolve_config("erm", "mnist_lt") and "text" in resolve_config("cprfl", "mnist_lt")


def test_naming_another_loss_drops_the_old_losses_parameters():
    db = resolve_config("db_focal", "coco_lt")["loss"]
    assert db["mu"] == 0.2 and db["neg_scale"] == 2.0
    assert resolve_config("db_focal", "coco_lt", overrides=["loss.name=asl"])["loss"] == {
        "name": "asl", "gamma_neg": 4.0, "gamma_pos": 0.0, "clip": 0.05, "eps": 1e-8, "loss_weight": 1.0}
    other = resolve_config("db_focal", "coco_lt", overrides=["loss.name=db_nofocal"])["loss"]
    assert other == complete(KINDS["losses"], {"name": "db_nofocal"})  # its own defaults
    given_again = resolve_config("db_focal", "coco_lt", overrides=["loss.name=db_nofocal", "loss.mu=0.2"])["loss"]
    assert given_again["mu"] == 0.2


@pytest.mark.parametrize("override, message", [
    ("train.epochs=five", "train.epochs must be an integer, not 'five'."),
    ("train.epochs=2.5", "train.epochs must be an integer, not 2.5."),
    ("train.epochs=", "train.epochs must be an integer, not empty."),
    ("train.epochs=0", "train.epochs must be at least 1, not 0."),
    ("train.epochs=-3", "train.epochs must be at least 1, not -3."),
    ("train.optimizer.lr=1e-3x", "train.optimizer.lr must be a number, not '1e-3x'."),
    ("train.optimizer.lr=-1", "train.optimizer.lr must be greater than 0, not -1.0."),
    ("train.batch_size=0", "train.batch_size must be at least 1, not 0."),
    ("eval.batch_size=0", "eval.batch_size must be at least 1, not 0."),
    ("input.size=0", "input.size must be at least 1, not 0."),
    ("seed=-1", "seed must be at least 0, not -1."),
    ("train.ema=1.5", "train.ema must be less than 1, not 1.5."),
    ("train.schedule.warmup_iters=ten", "train.schedule.warmup_iters must be an integer, not 'ten'."),
    ("model.freeze=some", "model.freeze must be one of none, stem_layer1, all, not 'some'."),
    ("method.head=mlp", "method.head must be one of linear, db_neck, not 'mlp'."),
    ("loss.loss_weight=heavy", "loss.loss_weight must be a number, not 'heavy'."),
])
def test_a_value_of_the_wrong_type_or_range_is_one_sentence_before_anything_is_written(
        tmp_path, capsys, no_data_read, override, message):
    key, _, value = override.partition("=")
    code, _, err = run_cli(tmp_path, capsys, f"--{key}={value}")
    assert code == 2 and err == f"ltbench: error: {message}\n"
    assert not (tmp_path / "runs").exists()


def test_a_gpu_config_resolves_on_a_machine_without_one(tmp_path, capsys):
    config = resolve_config("erm", "mnist_lt", overrides=["train.device=cuda", f"output.root={tmp_path}"])
    assert config["train"]["device"] == "cuda"
    import torch

    if not torch.cuda.is_available():  # training it here is one sentence, and writes nothing
        code, _, err = run_cli(tmp_path, capsys, "--train.device", "cuda", "--train.epochs", "1")
        assert code == 2 and "no CUDA device is available" in err
        assert not list((tmp_path / "runs").rglob("config.yaml"))


def test_print_config_shows_the_resolved_yaml_and_run_id_and_writes_nothing(tmp_path, capsys, no_data_read):
    code, out, _ = run_cli(tmp_path, capsys, "--train.epochs", "3", "--print-config")
    assert code == 0 and not (tmp_path / "runs").exists()
    config = resolve_config("erm", "mnist_lt", overrides=["train.epochs=3", f"output.root={tmp_path / 'runs'}"])
    assert out.endswith(f"# run id: {run_dir_of(config).name}\n")
    assert "  optimizer:\n    name: sgd\n    lr: 0.02\n" in out and "momentum: 0.9" in out and "epochs: 3" in out


def test_ints_given_for_floats_hash_like_floats():
    assert run_dir_of(resolve_config("erm", "mnist_lt", overrides=["train.optimizer.lr=1"])) == \
        run_dir_of(resolve_config("erm", "mnist_lt", overrides=["train.optimizer.lr=1.0"]))


def test_list_shows_a_components_parameters_with_defaults(capsys):
    assert main(["list", "losses", "db_focal"]) == 0
    out = capsys.readouterr().out
    assert "mu" in out and "neg_scale" in out and "0.1" in out
    assert main(["list", "samplers"]) == 0
    assert "class_aware" in capsys.readouterr().out


def test_an_unknown_component_parameter_names_the_component():
    with pytest.raises(LtbenchError, match=r"loss 'asl' has no parameter loss.gama \(did you mean loss.gamma"):
        resolve_config("asl", "mnist_lt", overrides=["loss.gama=2"])
