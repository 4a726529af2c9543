"""The component table: engine arguments by keyword, one completion, one override rule, one source for every list."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

import ltbench
from ltbench.cli import main
from ltbench.config.sections import complete
from ltbench.config.layering import component_sections, merge_layers
from ltbench.data.base import ClassStats
from ltbench.engine.active_stage import stage_section
from ltbench.errors import LtbenchError
from ltbench.losses import build_loss
from ltbench.methods.base import Stage
from ltbench.plugins import BUILTIN_MODULES, ENTRY_POINT_GROUPS, load_plugins
from ltbench.registry import KINDS, LOSSES, Registry

load_plugins()
STATS = ClassStats(np.array([8, 2]), 10)


class GammaOnlyLoss(nn.Module):
    """A focal-like loss that forgot the engine's ``stats`` argument."""

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        self.gamma = gamma


def test_a_loss_without_stats_is_refused_when_registered_not_handed_the_stats_as_gamma():
    try:
        with pytest.raises(LtbenchError, match=r"^loss 'gamma_only' must take the engine's argument stats by name"):
            LOSSES.register("gamma_only")(GammaOnlyLoss)
    finally:  # before the fix the registration went through and left the loss behind
        LOSSES._entries.pop("gamma_only", None)
    assert "gamma_only" not in LOSSES


def test_a_loss_taking_any_keyword_receives_the_stats_by_name_only():
    class KeywordLoss(nn.Module):
        """Keeps what it was given."""

        def __init__(self, gamma: float = 2.0, **engine: object) -> None:
            super().__init__()
            self.gamma, self.engine = gamma, engine

    LOSSES.register("keyword_loss")(KeywordLoss)
    try:
        loss = build_loss({"name": "keyword_loss"}, STATS)
        assert loss.gamma == 2.0 and loss.engine == {"stats": STATS}
        assert build_loss({"name": "keyword_loss", "gamma": 1}, STATS).gamma == 1.0  # typed: an int given for a float
    finally:
        LOSSES._entries.pop("keyword_loss", None)


def test_a_factory_taking_the_engine_argument_positional_only_is_refused_when_registered():
    """Registration is where every factory's signature is checked (so every registered one passed it)."""
    def positional_stats(stats, /, gamma: float = 2.0):  # noqa: ANN001, ANN202 - the trap: stats=... cannot reach it
        return nn.Identity()

    try:
        with pytest.raises(LtbenchError, match=r"^loss 'positional_stats' must take the engine's argument stats by name"):
            LOSSES.register("positional_stats")(positional_stats)
    finally:
        LOSSES._entries.pop("positional_stats", None)


def test_registry_build_passes_keywords_only():
    with pytest.raises(TypeError):
        LOSSES.build("bce", STATS)  # type: ignore[call-arg]


# --------------------------------------------------------------------- one rule for a stage's overrides
def adamw_config() -> dict:
    return complete(KINDS["optimizers"], {"name": "adamw", "lr": 0.01, "weight_decay": 0.1, "decay_norm_and_bias": False,
                                             "eps": 1e-6})


def test_a_stage_override_is_laid_over_the_section_the_same_way_for_every_component():
    optimizers, samplers = KINDS["optimizers"], KINDS["samplers"]
    same = stage_section(optimizers, adamw_config(), Stage(optimizer={"lr": 0.5}))
    assert (same["lr"], same["eps"], same["weight_decay"]) == (0.5, 1e-6, 0.1)  # merged: the config's eps stays
    other = stage_section(optimizers, adamw_config(), Stage(optimizer={"name": "sgd"}))
    assert other == {"name": "sgd", "lr": 0.01, "weight_decay": 0.1, "decay_norm_and_bias": False,
                     "momentum": 0.9, "nesterov": False}  # another optimizer: engine keys kept, adamw's eps dropped
    config_sampler = complete(samplers, {"name": "class_aware", "num_samples_cls": 5})
    assert stage_section(samplers, config_sampler, Stage(sampler="class_aware"))["num_samples_cls"] == 5  # merged
    assert stage_section(samplers, config_sampler, Stage(sampler={"reduce": 2.0})) == {
        "name": "class_aware", "num_samples_cls": 5, "reduce": 2.0, "fixed_seed": None, "rng": "torch"}
    assert stage_section(samplers, config_sampler, Stage(sampler="random")) == {"name": "random"}  # another: dropped
    assert stage_section(samplers, config_sampler, Stage()) == config_sampler  # no override: the config's


def test_a_bad_stage_override_is_one_sentence_naming_the_stage():
    with pytest.raises(LtbenchError, match=r"^stage 'align' train.optimizer.lr must be a number, not 'fast'.$"):
        stage_section(KINDS["optimizers"], adamw_config(), Stage("align", optimizer={"lr": "fast"}))
    with pytest.raises(LtbenchError, match=r"^sampler 'random' has no parameter stage 'cRT' train.sampler.reduce"):
        stage_section(KINDS["samplers"], {"name": "random"}, Stage("cRT", sampler={"name": "random", "reduce": 2}))


def test_config_layers_follow_the_stage_rule():
    merged = merge_layers([{"train": {"optimizer": {"name": "adamw", "lr": 0.01, "eps": 1e-6}}},
                           {"train": {"optimizer": {"name": "sgd"}, "sampler": "class_aware"}}])
    assert merged["train"] == {"optimizer": {"name": "sgd", "lr": 0.01}, "sampler": {"name": "class_aware"}}


# --------------------------------------------------------------------- the table drives every list
def test_every_kind_is_listed_discovered_exported_and_has_a_config_place(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for plural, kind in KINDS.items():
        assert plural in out
        assert kind.entry_point_group in ENTRY_POINT_GROUPS
        assert set(kind.builtins) <= set(BUILTIN_MODULES) and kind.registry.list(), plural
        assert any(getattr(ltbench, name) is kind.registry for name in ltbench.__all__ if name.isupper())
        if kind.has_section:
            assert ".".join(kind.section) in component_sections()
    assert len(ENTRY_POINT_GROUPS) == len(KINDS) == 10


def test_a_new_kind_is_one_row(monkeypatch):
    """A kind added to the table is merged, completed, listed and discovered with no other change."""
    from ltbench.registry import Kind

    kind = Kind("widgets", "widget", ("train", "widget", "name"), (), engine_args=("model",))

    @kind.registry.register("knob")
    def knob(model: nn.Module, turns: int = 3) -> int:
        """A knob."""
        return turns

    monkeypatch.setitem(KINDS, "widgets", kind)
    assert complete(kind, {"name": "knob"}) == {"name": "knob", "turns": 3}
    merged = merge_layers([{"train": {"widget": {"name": "knob", "turns": 4}}}, {"train": {"widget": "knob"}}])
    assert merged["train"]["widget"] == {"name": "knob", "turns": 4}
    assert isinstance(kind.registry, Registry) and kind.entry_point_group == "ltbench.widgets"
    with pytest.raises(LtbenchError, match="must take the engine's argument model by name"):
        kind.registry.register("broken")(lambda turns=1: turns)
    assert "train.widget" in component_sections()  # its keys are the factory's, not checked against defaults
