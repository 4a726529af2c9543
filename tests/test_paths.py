"""Where configs and plugins are looked up: explicit folders first, then the project's, then the shipped ones."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ltbench.cli import main
from ltbench.errors import LtbenchError
from ltbench.paths import PACKAGED_CONFIGS, config_search_path, explicit_configs, find_config, resolve_base
from ltbench.plugins import import_plugin_file, plugin_dirs
from ltbench.launch.suites import load_suite, suite_names


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("LTBENCH_CONFIGS", raising=False)
    monkeypatch.delenv("LTBENCH_PLUGINS", raising=False)
    return work


def test_search_order_is_option_environment_project_then_shipped(empty_cwd: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_search_path() == [PACKAGED_CONFIGS]
    assert find_config("voc_lt/cprfl.yaml") == PACKAGED_CONFIGS / "voc_lt" / "cprfl.yaml"

    project = write(empty_cwd / "configs" / "voc_lt" / "cprfl.yaml", "seed: 2\n")
    from_env = write(tmp_path / "env" / "voc_lt" / "cprfl.yaml", "seed: 3\n")
    option = write(tmp_path / "option" / "voc_lt" / "cprfl.yaml", "seed: 4\n")
    monkeypatch.setenv("LTBENCH_CONFIGS", str(tmp_path / "env"))
    with explicit_configs([str(tmp_path / "option")]):
        assert config_search_path() == [tmp_path / "option", tmp_path / "env", Path("configs"), PACKAGED_CONFIGS]
        assert find_config("voc_lt/cprfl.yaml") == option
    assert find_config("voc_lt/cprfl.yaml") == from_env  # the option lasts only for its block
    monkeypatch.delenv("LTBENCH_CONFIGS")
    assert find_config("voc_lt/cprfl.yaml").resolve() == project.resolve()
    # a file the earlier folders lack still comes from the shipped configs
    assert find_config("coco_lt/cprfl.yaml") == PACKAGED_CONFIGS / "coco_lt" / "cprfl.yaml"
    assert find_config("voc_lt/nothing.yaml") is None


def test_the_same_folder_twice_is_searched_once(empty_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (empty_cwd / "configs").symlink_to(PACKAGED_CONFIGS)  # as in the repository, where configs/ links into ltbench/
    monkeypatch.setenv("LTBENCH_CONFIGS", os.pathsep.join([str(PACKAGED_CONFIGS), str(PACKAGED_CONFIGS)]))
    assert config_search_path() == [PACKAGED_CONFIGS]


def test_missing_explicit_folders_are_refused(empty_cwd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--configs", str(tmp_path / "nope"), "--method", "erm", "--dataset", "mnist_lt"]) == 2
    assert capsys.readouterr().err.strip() == (f"ltbench: error: Config folder {tmp_path / 'nope'} does not exist; "
                                               f"pass an existing folder to --configs.")
    monkeypatch.setenv("LTBENCH_CONFIGS", str(tmp_path / "gone"))
    with pytest.raises(LtbenchError, match="in \\$LTBENCH_CONFIGS does not exist"):
        find_config("voc_lt/cprfl.yaml")


def test_suites_come_from_every_folder_a_project_one_winning(empty_cwd: Path) -> None:
    write(empty_cwd / "configs" / "suites" / "mine.yaml", "rows:\n  - {label: Mine, method: erm}\n")
    write(empty_cwd / "configs" / "suites" / "table1.yaml", "rows:\n  - {label: Only, method: erm}\n")
    assert {"mine", "table1", "table2", "table3", "prompts"} <= set(suite_names())
    assert [row.label for row in load_suite("table1").rows] == ["Only"]
    with pytest.raises(LtbenchError, match="Unknown suite 'absent'"):
        load_suite("absent")


def test_plugin_folders_add_up(empty_cwd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (empty_cwd / "methods").mkdir()
    extra = tmp_path / "extra"
    monkeypatch.setenv("LTBENCH_PLUGINS", os.pathsep.join([str(extra), str(extra), str(empty_cwd / "methods")]))
    assert plugin_dirs() == [extra, empty_cwd / "methods"]


def test_two_plugin_files_with_one_name_are_refused(tmp_path: Path) -> None:
    first = write(tmp_path / "a" / "ltbench_test_same_stem.py", "VALUE = 1\n")
    second = write(tmp_path / "b" / "ltbench_test_same_stem.py", "VALUE = 2\n")
    import_plugin_file(first)
    import_plugin_file(first)  # the same file again is a no-op
    with pytest.raises(LtbenchError, match="share the name 'ltbench_test_same_stem'; rename one"):
        import_plugin_file(second)
    del sys.modules["ltbench_plugins.ltbench_test_same_stem"]


def test_bases_resolve_through_the_search_path(empty_cwd: Path, tmp_path: Path) -> None:
    shipped_cprfl = PACKAGED_CONFIGS / "voc_lt" / "cprfl.yaml"  # _base_: [../cprfl_paper.yaml, cprfl_recipe.yaml]
    assert resolve_base(shipped_cprfl, "cprfl_recipe.yaml") == PACKAGED_CONFIGS / "voc_lt" / "cprfl_recipe.yaml"
    project_recipe = write(empty_cwd / "configs" / "voc_lt" / "cprfl_recipe.yaml", "_base_: cprfl_recipe.yaml\n")
    project_cprfl = write(empty_cwd / "configs" / "voc_lt" / "cprfl.yaml", "_base_: ../cprfl_paper.yaml\n")
    # the shipped file inherits the project's recipe; the project's recipe inherits the shipped one, not itself
    assert resolve_base(shipped_cprfl, "cprfl_recipe.yaml").resolve() == project_recipe.resolve()
    assert resolve_base(project_recipe, "cprfl_recipe.yaml") == PACKAGED_CONFIGS / "voc_lt" / "cprfl_recipe.yaml"
    assert resolve_base(project_cprfl, "../cprfl_paper.yaml") == PACKAGED_CONFIGS / "cprfl_paper.yaml"
    elsewhere = write(tmp_path / "mine" / "run.yaml", "_base_: common.yaml\n")
    assert resolve_base(elsewhere, "common.yaml") == (tmp_path / "mine" / "common.yaml").resolve()


@pytest.mark.slow
def test_run_reads_its_config_from_the_configs_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "mine" / "mnist_lt" / "erm.yaml", "train: {epoch: 3}\n")  # a typo only this file has
    assert main(["run", "--configs", str(tmp_path / "mine"), "--method", "erm", "--dataset", "mnist_lt"]) == 2
    assert "Unknown config key train.epoch (did you mean train.epochs?)" in capsys.readouterr().err
