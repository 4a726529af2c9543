"""The two CPRFL presets per dataset hold the recipe they claim (issue 13), in keys their factories accept."""

from __future__ import annotations

import inspect

import pytest

from ltbench.components import complete
from ltbench.config import load_yaml
from ltbench.engine.onecycle import one_cycle
from ltbench.paths import find_config
from ltbench.plugins import load_plugins
from ltbench.registry import KINDS

load_plugins()


def _preset(dataset: str, name: str) -> dict:
    return load_yaml(find_config(f"{dataset}/{name}.yaml"))


def _check_factories(config: dict) -> dict:
    """The method's parameters completed with the head's defaults; unknown keys raise."""
    complete(KINDS["backbones"], config["model"])
    schedule = {k: v for k, v in config["train"]["schedule"].items() if k != "name"}
    assert set(schedule) <= set(inspect.signature(one_cycle).parameters)
    completed = complete(KINDS["methods"], config["method"])
    del completed["name"]
    return completed


@pytest.mark.parametrize("dataset", ["voc_lt", "coco_lt"])
def test_code_preset_is_the_authors_recipe(dataset):
    config = _preset(dataset, "cprfl_code")
    _check_factories(config)
    train = config["train"]
    assert train["optimizer"] == {"name": "adamw", "lr": 5e-5, "weight_decay": 1e-4, "decay_norm_and_bias": False}
    assert (train["epochs"], train["schedule"]["total_epochs"], train["schedule"]["pct_start"]) == (79, 80, 0.1)
    assert train["schedule"]["cycle_momentum"] is True
    assert (train["batch_size"], train["drop_last"]) == (16, False)
    assert (train["ema"], train["ema_from_init"], train["amp"]) == (0.998, True, "fp16")
    assert config["input"] == {"size": 448, "augment": "cutout_randaugment"}
    assert config["model"]["normalize"] is False and config["model"]["backbone"] == "resnet101"
    assert config["text"] == {"encoder": "clip-rn50", "trainable": True}
    assert (config["method"]["heads"], config["method"]["dim_head"], config["method"]["qkv_bias"]) == (8, 512, False)


@pytest.mark.parametrize("dataset, lr", [("voc_lt", 5e-5), ("coco_lt", 1e-5)])
def test_paper_preset_is_the_papers_text_and_the_default(dataset, lr):
    config = _preset(dataset, "cprfl_paper")
    _check_factories(config)
    train = config["train"]
    assert train["optimizer"] == {"name": "adam", "lr": lr, "weight_decay": 1e-4, "decay_norm_and_bias": False}
    assert (train["epochs"], train["batch_size"], train["ema"]) == (30, 32, 0.998)
    assert config["text"] == {"encoder": "glove"}  # frozen embeddings, the fast default
    assert _preset(dataset, "cprfl") == config


def test_cpu_sized_code_preset_keeps_the_authors_ratios():
    config = _preset("mnist_lt", "cprfl_code")
    method, train = _check_factories(config), config["train"]
    assert method["heads"] * method["dim_head"] == 2 * method["dim"]  # as 8 x 512 at d = 2048
    assert (train["epochs"], train["schedule"]["total_epochs"], train["batch_size"]) == (29, 30, 16)
    assert config["input"]["augment"] == "cutout_randaugment" and config["model"]["normalize"] is False
