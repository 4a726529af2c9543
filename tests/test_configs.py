"""Every shipped config and suite row composes, and names only parameters that exist.

VOC-LT and COCO-LT cannot be built here (no images), so this checks what can be
checked without data: names are registered and every option is a real parameter.
"""

import pytest

from ltbench.paths import PACKAGED_CONFIGS
from ltbench.resolve import resolve_config
from ltbench.plugins import load_plugins
from ltbench.registry import BACKBONES, DATASETS, LOSSES, METHODS, resolve_params
from ltbench.suites import load_suite, suite_names

load_plugins()
DATASET_CONFIGS = sorted(p for p in PACKAGED_CONFIGS.glob("*/*.yaml") if p.parent.name != "suites")


def check_parameters(config: dict, default_loss: str = "asl") -> None:
    for registry, section, key, skip in ((DATASETS, "dataset", "name", 0), (METHODS, "method", "name", 1),
                                          (BACKBONES, "model", "backbone", 0)):
        options = dict(config[section])
        resolve_params(registry, options.pop(key), options, skip)
    loss = dict(config["loss"])
    resolve_params(LOSSES, loss.pop("name") or default_loss, loss, skip=1)


@pytest.mark.parametrize("path", DATASET_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_dataset_configs_compose(path):
    method = path.stem if path.stem in METHODS else "erm"
    check_parameters(resolve_config(method, path.parent.name))


@pytest.mark.parametrize("suite", suite_names())
@pytest.mark.parametrize("dataset", ["mnist_lt", "voc_lt", "coco_lt"])
def test_suite_rows_compose(suite, dataset):
    for row in load_suite(suite).rows:
        config = resolve_config(row.method, dataset, extra=row.overrides_for(dataset))
        check_parameters(config)
        assert config["method"]["name"] == row.method


def test_paper_settings_are_recorded():
    voc = resolve_config("cprfl", "voc_lt")
    assert voc["model"]["backbone"] == "resnet101" and voc["input"]["size"] == 448
    assert voc["train"]["ema"] == 0.998 and voc["train"]["optimizer"]["lr"] == 5e-5
    assert resolve_config("cprfl", "coco_lt")["train"]["optimizer"]["lr"] == 1e-5
    coco_db = resolve_config("db_focal", "coco_lt")["loss"]
    assert {k: coco_db[k] for k in ("name", "mu", "neg_scale")} == {"name": "db_focal", "mu": 0.2, "neg_scale": 2.0}
    assert resolve_config("erm", "voc_lt")["train"]["schedule"]["milestones"] == [5, 7]
