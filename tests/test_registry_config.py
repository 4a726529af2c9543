import pytest

from ltbench.cli.options import split_overrides
from ltbench.config.sections import complete
from ltbench.config.layering import deep_merge, load_yaml, parse_overrides
from ltbench.errors import LtbenchError
from ltbench.runs.run_dir import run_dir_of
from ltbench.registry import Kind, Registry
from ltbench.config.resolve import resolve_config


def make_kind() -> Kind:
    kind = Kind("widgets", "widget", ("widget", "name"), ())
    registry = kind.registry

    @registry.register()
    def small_widget(size: int = 3, colour: str = "red"):
        """A small widget.

        More text that is not the help line.
        """
        return size, colour

    @registry.register("large_widget")
    def _large():
        """A large widget."""

    return kind


def make_registry() -> Registry:
    return make_kind().registry


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


def test_complete_fills_defaults_checks_types_and_rejects_unknown():
    kind = make_kind()
    assert complete(kind, {"name": "small_widget", "size": 9}) == {"name": "small_widget", "size": 9, "colour": "red"}
    with pytest.raises(LtbenchError, match=r"^widget 'small_widget' has no parameter widget.weight;"):
        complete(kind, {"name": "small_widget", "weight": 1})
    with pytest.raises(LtbenchError, match=r"^widget.size must be an integer, not 'big'.$"):
        complete(kind, {"name": "small_widget", "size": "big"})


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


def test_deep_merge_keeps_the_base():
    base = {"a": {"b": 1, "c": 2}, "output": {"root": "x"}}
    assert deep_merge(base, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}, "output": {"root": "x"}}
    assert base["a"]["b"] == 1


def test_a_runs_folder_name_changes_with_what_changes_its_result_only(tmp_path):
    """The hash in the run's folder name, as production computes it (``run_dir_of``)."""
    name = run_dir_of(resolve_config("erm", "mnist_lt")).name
    for same in ("label=ERM*", f"output.root={tmp_path}", "train.keep_checkpoint=true", "train.threads=1"):
        assert run_dir_of(resolve_config("erm", "mnist_lt", overrides=[same])).name == name, same
    for other in ("train.optimizer.lr=0.5", "loss.name=asl", "input.augment=flip_crop", "dataset.max_count=50"):
        assert run_dir_of(resolve_config("erm", "mnist_lt", overrides=[other])).name != name, other
    reseeded = run_dir_of(resolve_config("erm", "mnist_lt", overrides=["seed=2"])).name
    assert reseeded.startswith("erm_s2_") and reseeded[-10:] != name[-10:]


