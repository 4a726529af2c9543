"""Resolve, then build: the whole config is completed and checked before anything is read or written."""

from __future__ import annotations

import pytest

from cli_runs import run_cli
from ltbench.cli import main
from ltbench.config.sections import complete
from ltbench.errors import LtbenchError
from ltbench.runs.run_dir import run_dir_of
from ltbench.registry import KINDS
from ltbench.config.resolve import resolve_config


def test_a_section_the_method_does_not_use_is_refused_and_left_out_of_the_hash(tmp_path, capsys, no_data_read):
    code, _, err = run_cli(tmp_path, capsys, "--text.encoder", "bogus", "--text.colour", "red")
    assert code == 2 and "Method 'erm' does not use the text section; remove text.colour, text.encoder" in err
    assert not (tmp_path / "runs").exists()
    assert "text" not in resolve_config("erm", "mnist_lt") and "text" in resolve_config("cprfl", "mnist_lt")


@pytest.mark.parametrize("method", ["lmpt", "coop", "hp_dval"])
def test_a_text_switch_on_a_clip_method_points_to_the_methods_own(tmp_path, capsys, method, no_data_read):
    """The CLIP methods take the class names' form as method.names; text.names is refused with that pointer."""
    code, _, err = run_cli(tmp_path, capsys, "--method", method, "--dataset", "voc_lt", "--text.names", "annotation")
    message = err.strip().splitlines()[-1]
    assert code == 2 and message == (f"ltbench: error: Method '{method}' does not use the text section; remove "
                                     f"text.names (method.names does this for {method}).")
    code, _, err = run_cli(tmp_path, capsys, "--text.names", "annotation")  # erm has no such switch: no pointer
    assert code == 2 and err.strip().endswith("does not use the text section; remove text.names.")


def test_naming_another_loss_drops_the_old_losses_parameters():
    db = resolve_config("db_focal", "coco_lt")["loss"]
    assert db["mu"] == 0.2 and db["neg_scale"] == 2.0
    assert resolve_config("db_focal", "coco_lt", overrides=["loss.name=asl"])["loss"] == {
        "name": "asl", "gamma_neg": 4.0, "gamma_pos": 0.0, "clip": 0.05, "eps": 1e-8, "loss_weight": 1.0}
    other = resolve_config("db_focal", "coco_lt", overrides=["loss.name=db_nofocal"])["loss"]
    assert other == complete(KINDS["losses"], {"name": "db_nofocal"})  # its own defaults
    given_again = resolve_config("db_focal", "coco_lt", overrides=["loss.name=db_nofocal", "loss.mu=0.2"])["loss"]
    assert given_again["mu"] == 0.2


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
