import pytest

from ltbench.cli_overrides import split_overrides
from ltbench.config import config_hash, deep_merge, load_yaml, parse_overrides
from ltbench.errors import LtbenchError
from ltbench.registry import Registry, resolve_params


def make_registry() -> Registry:
    registry = Registry("widget")

    @registry.register()
    def small_widget(size: int = 3, colour: str = "red"):
        """A small widget.

        More text that is not the help line.
        """
        return size, colour

    @registry.register("large_widget")
    def _large():
        """A large widget."""

    return registry


def test_register_get_list_and_help():
    registry = make_registry()
    assert registry.list() == ["large_widget", "small_widget"]
    assert registry.list("small*") == ["small_widget"]
    assert registry.build("small_widget", size=5) == (5, "red")
    assert registry.entry("small_widget").help == "A small widget."


def test_unknown_name_suggests_close_matches():
    with pytest.raises(LtbenchError, match="Did you mean small_widget") as info:
        make_registry().get("smal_widget")
    assert "\n" not in str(info.value)


def test_duplicate_registration_is_refused():
    registry = make_registry()
    with pytest.raises(LtbenchError, match="already registered"):
        registry.register("large_widget")(lambda: None)


def test_resolve_params_fills_defaults_and_rejects_unknown():
    registry = make_registry()
    assert resolve_params(registry, "small_widget", {"size": 9}) == {"size": 9, "colour": "red"}
    with pytest.raises(LtbenchError, match="no parameter weight"):
        resolve_params(registry, "small_widget", {"weight": 1})


def test_yaml_base_inheritance(tmp_path):
    (tmp_path / "base.yaml").write_text("train: {epochs: 8, lr: 0.1}\nseed: 1\n")
    (tmp_path / "child.yaml").write_text("_base_: base.yaml\ntrain: {epochs: 2}\n")
    assert load_yaml(tmp_path / "child.yaml") == {"train": {"epochs": 2, "lr": 0.1}, "seed": 1}


def test_overrides_parse_yaml_scalars():
    assert parse_overrides(["train.epochs=5", "loss.name=asl", "train.ema=null", "a.b.c=[1, 2]", "x.lr=1e-3"]) == {
        "train": {"epochs": 5, "ema": None}, "loss": {"name": "asl"}, "a": {"b": {"c": [1, 2]}}, "x": {"lr": 0.001}}
    assert split_overrides(["--train.epochs", "5", "--loss.name=asl", "seed=3"]) == [
        "train.epochs=5", "loss.name=asl", "seed=3"]
    with pytest.raises(LtbenchError):
        split_overrides(["--train.epochs"])


def test_deep_merge_and_hash():
    base = {"a": {"b": 1, "c": 2}, "output": {"root": "x"}}
    merged = deep_merge(base, {"a": {"b": 3}})
    assert merged == {"a": {"b": 3, "c": 2}, "output": {"root": "x"}} and base["a"]["b"] == 1
    assert config_hash(merged) == config_hash(deep_merge(merged, {"output": {"root": "elsewhere"}}))
    assert config_hash(merged) != config_hash(base)
