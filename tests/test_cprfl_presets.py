"""The two CPRFL presets per dataset hold the recipe they claim, in keys their factories accept."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from ltbench.config.sections import complete
from ltbench.config.layering import load_yaml
from ltbench.data.arrays import ArrayImages
from ltbench.launch.tasks import SuiteTask, task_config
from ltbench.config.resolve import resolve_config
from ltbench.launch.suites import load_suite
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
    assert config["text"] == {"encoder": "clip-rn50", "trainable": True, "names": "annotation"}
    assert (config["method"]["heads"], config["method"]["dim_head"], config["method"]["qkv_bias"]) == (8, 512, False)


@pytest.mark.parametrize("dataset, lr", [("voc_lt", 5e-5), ("coco_lt", 1e-5)])
def test_paper_preset_is_the_papers_text_and_the_default(dataset, lr):
    config = _preset(dataset, "cprfl_paper")
    _check_factories(config)
    train = config["train"]
    assert train["optimizer"] == {"name": "adam", "lr": lr, "weight_decay": 1e-4, "decay_norm_and_bias": False}
    assert (train["epochs"], train["batch_size"], train["ema"]) == (30, 32, 0.998)
    assert config["text"] == {"encoder": "clip-rn50", "names": "annotation"}  # the paper's CPRFL-CLIP rows
    assert _preset(dataset, "cprfl") == config


def test_cpu_sized_code_preset_keeps_the_authors_ratios():
    config = _preset("mnist_lt", "cprfl_code")
    method, train = _check_factories(config), config["train"]
    assert method["heads"] * method["dim_head"] == 2 * method["dim"]  # as 8 x 512 at d = 2048
    assert (train["epochs"], train["schedule"]["total_epochs"], train["batch_size"]) == (29, 30, 16)
    assert config["input"]["augment"] == "cutout_randaugment" and config["model"]["normalize"] is False


@pytest.mark.parametrize("config", ["cprfl_code", "cprfl_paper"])
def test_clip_prompts_use_the_names_the_authors_code_feeds_clip(config, monkeypatch, tmp_path):
    """CPRFL train.py:98-102: "a photo of a diningtable.", "pottedplant", "tvmonitor" (not "dining table")."""
    from ltbench.data.base import LTDataset, Split
    from ltbench.data.voc import XML_NAMES, CLASS_NAMES
    from ltbench.methods.base import MethodContext
    from ltbench.text.clip import OpenClipTextEncoder

    seen = []
    monkeypatch.setattr(OpenClipTextEncoder, "trainable_tower", lambda self, names, template: seen.append(names))
    monkeypatch.setattr(OpenClipTextEncoder, "encode", lambda self, names, template: seen.append(names))
    monkeypatch.setattr("ltbench.text.cache.encode_cached", lambda encoder, names, tpl: encoder.encode(names, tpl))
    (tmp_path / "RN50.pt").write_bytes(b"")  # never read: the encoder is replaced above
    resolved = resolve_config("cprfl", "voc_lt", config, overrides=[f"text.weights={tmp_path / 'RN50.pt'}"])
    split = Split(ArrayImages(np.zeros((1, 4, 4), np.uint8)), np.ones((1, 20)), ["a"])
    voc = LTDataset("voc_lt", list(CLASS_NAMES), split, split, annotated_names=list(XML_NAMES))
    MethodContext(resolved, voc).text_embeddings()
    assert seen == [list(XML_NAMES)]
    assert {"diningtable", "pottedplant", "tvmonitor"} <= set(seen[0]) and "dining table" not in seen[0]
    assert voc.prompt_names("readable")[10] == "dining table"  # GloVe's names (Table 1's CPRFL-GloVe row)


@pytest.mark.parametrize("dataset, neg_scale", [("voc_lt", 5.0), ("coco_lt", 2.0), ("mnist_lt", 5.0)])
def test_table2_and_table3_rows_prompt_clip_rn50_and_train_focal_rows_with_cprfls_fl(dataset, neg_scale):
    """VOC-LT / COCO-LT rows beside the CPRFL-CLIP numbers prompt CLIP RN50; mnist_lt keeps offline GloVe."""
    encoder = "glove" if dataset == "mnist_lt" else "clip-rn50"
    for suite in ("table2", "table3"):
        for row in load_suite(suite).rows:
            config = task_config(SuiteTask(suite, dataset, row.label, 1))
            if row.method == "cprfl" and not config["method"]["random_prompts"]:
                assert config["text"]["encoder"] == encoder, (suite, row.label)
            if config["loss"]["name"] == "focal":  # CPRFL's --loss_function FL (train.py:125-142)
                assert (config["loss"]["logit_reg"], config["loss"]["neg_scale"]) == (True, neg_scale), row.label
                assert config["loss"]["kappa"] == 0.05
    glove_row = task_config(SuiteTask("table1", dataset, "CPRFL-GloVe", 1))["text"]
    assert (glove_row["encoder"], glove_row.get("names", "readable")) == ("glove", "readable")
