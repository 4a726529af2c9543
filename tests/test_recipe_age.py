"""A table over a suite's runs marks those of an earlier recipe and never averages them with current ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltbench.config.layering import dump_yaml
from ltbench.fileio.atomic import write_text
from ltbench.launch.tasks import SuiteTask, task_config
from ltbench.reports import build_table, collect_runs, find_manifests, render_markdown
from ltbench.reports.table import NOTES
from ltbench.launch.suites import Manifest, load_suite

from run_dirs import make_run

SMALL = ("train.epochs=1",)


@pytest.fixture()
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def erm_run(results: Path, seed: int, total: float, overrides: tuple[str, ...] = (), epochs: int | None = None) -> Path:
    """An ERM run of Table 1's row, with the config the row resolves to now (or with other ``epochs``)."""
    config = task_config(SuiteTask("table1", "mnist_lt", "ERM", seed, overrides))
    if epochs is not None:  # the recipe as it was before its preset changed
        config["train"]["epochs"] = epochs
    run = make_run(results / "runs" / "mnist_lt", f"erm_s{seed}_{epochs or 0:010x}", "mnist_lt", "erm", seed,
                   (total, total, total, total), label="ERM")
    write_text(run / "config.yaml", dump_yaml(config))  # exactly the resolved config, so its config id is kept
    return run


def record(run: Path, seed: int, overrides: tuple[str, ...] = ()) -> None:
    suite = load_suite("table1")
    Manifest(suite, "mnist_lt").record(suite.select(["ERM"])[0], seed, run, overrides=overrides)


def test_an_earlier_recipes_run_is_its_own_marked_row_and_out_of_the_current_mean(results: Path) -> None:
    current_epochs = task_config(SuiteTask("table1", "mnist_lt", "ERM", 1))["train"]["epochs"]
    record(erm_run(results, 1, 40.0), 1)
    record(erm_run(results, 2, 42.0), 2)
    record(erm_run(results, 3, 90.0, epochs=current_epochs + 7), 3)
    collection = collect_runs(manifests=find_manifests("table1"))
    assert collection.labels == ["ERM", "ERM [earlier recipe]"]
    frame = build_table(collection).set_index("label")
    assert frame.loc["ERM", "n"] == 2 and frame.loc["ERM", "total_mean"] == pytest.approx(41.0)
    assert frame.loc["ERM [earlier recipe]", "n"] == 1 and frame.loc["ERM [earlier recipe]", "total_mean"] == 90.0
    assert frame["earlier_recipe"].tolist() == [False, True]
    assert not frame.loc["ERM [earlier recipe]", "total_best"]  # the higher mean never competes
    assert NOTES["earlier"] in frame.attrs["notes"]
    assert "| ERM [earlier recipe]" in render_markdown(build_table(collection))


def test_the_suite_calls_overrides_are_part_of_the_current_recipe(results: Path) -> None:
    record(erm_run(results, 1, 40.0, SMALL), 1, SMALL)  # run as `ltbench suite table1 ... --train.epochs 1`
    assert collect_runs(manifests=find_manifests("table1")).labels == ["ERM"]
    record(erm_run(results, 1, 40.0, SMALL), 1)  # the same run, recorded as if the call had no overrides
    assert collect_runs(manifests=find_manifests("table1")).labels == ["ERM [earlier recipe]"]


def test_a_replaced_runs_overrides_leave_the_manifest(results: Path) -> None:
    record(erm_run(results, 1, 40.0, SMALL), 1, SMALL)
    record(erm_run(results, 1, 41.0, epochs=99), 1)
    assert "overrides" not in json.loads(Manifest(load_suite("table1"), "mnist_lt").path.read_text())


def test_no_committed_result_is_of_an_earlier_recipe():
    """A change that alters the config a committed suite row resolves to (a new key, another default) must re-run
    that row's committed runs: tables would mark them, the docs quote them."""
    committed = Path(__file__).resolve().parent.parent / "results" / "mnist_lt"
    manifests = sorted((committed / "suites").glob("*.json"))
    assert manifests
    collection = collect_runs(manifests=manifests)
    assert sorted(label for _, label in collection.earlier) == []
