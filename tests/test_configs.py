"""Every shipped config and suite row composes, and names only parameters that exist.

VOC-LT and COCO-LT cannot be built here (no images), so this checks what can be
checked without data: ``resolve_config`` checks every name against its registry and
completes every section against its factory, refusing an unknown parameter. Suite
rows are composed the way the launcher composes them (``task_config``), so a row's
``config:`` preset is the one they are checked against.
"""

import pytest

from ltbench.config.layering import load_yaml
from ltbench.launch.tasks import SuiteTask, task_config
from ltbench.paths import PACKAGED_CONFIGS
from ltbench.plugins import load_plugins
from ltbench.registry import KINDS, METHODS
from ltbench.config.resolve import resolve_config
from ltbench.launch.suites import SuiteRow, load_suite, suite_names

load_plugins()
DATASET_CONFIGS = sorted(p for p in PACKAGED_CONFIGS.glob("*/*.yaml") if p.parent.name != "suites")
COMPONENT_SECTIONS = {kind.section: kind.name_key for kind in KINDS.values() if kind.has_section}


@pytest.mark.parametrize("path", DATASET_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_dataset_configs_compose(path):
    method = path.stem if path.stem in METHODS else "erm"
    assert resolve_config(method, path.parent.name)["method"]["name"] == method


def leaves(config: dict, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    """Every non-mapping value of ``config`` by its key path."""
    found: dict[tuple[str, ...], object] = {}
    for key, value in config.items():
        found.update(leaves(value, (*path, key)) if isinstance(value, dict) else {(*path, key): value})
    return found


def preset_values_kept(row: SuiteRow, dataset: str, resolved: dict) -> dict[tuple[str, ...], object]:
    """The values of the row's ``config:`` preset that its overrides, method and components leave standing."""
    preset = load_yaml(row.config_file(dataset))
    overridden = set(leaves(row.overrides_for(dataset)))
    kept = {}
    for path, value in leaves(preset).items():
        section = next((s for s in COMPONENT_SECTIONS if path[:len(s)] == s), None)
        if section is not None:
            named = leaves(preset).get((*section, COMPONENT_SECTIONS[section]))
            resolved_section = resolved
            for part in section:
                resolved_section = resolved_section.get(part, {})
            if named is not None and resolved_section.get(COMPONENT_SECTIONS[section]) != named:
                continue  # the row names another component: the preset's parameters for it do not apply
        if path not in overridden and path[0] in resolved:
            kept[path] = value
    return kept


@pytest.mark.parametrize("suite", suite_names())
@pytest.mark.parametrize("dataset", ["mnist_lt", "voc_lt", "coco_lt"])
def test_suite_rows_compose_on_their_own_config(suite, dataset):
    for row in load_suite(suite).rows:
        config = task_config(SuiteTask(suite, dataset, row.label, 1, ()))
        assert config["method"]["name"] == row.method and config["label"] == row.label
        if row.config is not None:
            kept = preset_values_kept(row, dataset, config)
            assert kept, (row.label, row.config)
            for path, value in kept.items():
                resolved = config
                for part in path:
                    resolved = resolved[part]
                assert resolved == value, (row.label, row.config, path)


def test_a_rows_config_key_changes_what_it_trains():
    row = next(r for r in load_suite("table3").rows if r.config == "cprfl_recipe")
    on_recipe = task_config(SuiteTask("table3", "voc_lt", row.label, 1, ()))
    own = resolve_config(row.method, "voc_lt", extra=row.overrides_for("voc_lt"))
    recipe = load_yaml(row.config_file("voc_lt"))
    assert on_recipe["train"]["optimizer"]["lr"] == recipe["train"]["optimizer"]["lr"]
    assert on_recipe["train"] != own["train"]


def test_paper_settings_are_recorded():
    voc = resolve_config("cprfl", "voc_lt")
    assert voc["model"]["backbone"] == "resnet101" and voc["input"]["size"] == 448
    assert voc["train"]["ema"] == 0.998 and voc["train"]["optimizer"]["lr"] == 5e-5
    assert resolve_config("cprfl", "coco_lt")["train"]["optimizer"]["lr"] == 1e-5
    coco_db = resolve_config("db_focal", "coco_lt")["loss"]
    assert {k: coco_db[k] for k in ("name", "mu", "neg_scale")} == {"name": "db_focal", "mu": 0.2, "neg_scale": 2.0}
    assert resolve_config("erm", "voc_lt")["train"]["schedule"]["milestones"] == [5, 7]
