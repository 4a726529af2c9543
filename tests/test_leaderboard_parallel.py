"""A parallel site build (``leaderboard.parallel``) writes the serial build's site, also when its workers fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaderboard_sites import COMMITTED
from ltbench.leaderboard import parallel
from ltbench.leaderboard.boards import build_boards
from ltbench.leaderboard.site import write_site
from ltbench.recipes.cards import load_cards

SUITE = "table2_mnist_lt.json"  # one suite's runs: a small site with figures, recipe ids to resolve


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results root holding one committed suite manifest and links to the runs it lists."""
    root = tmp_path_factory.mktemp("parallel") / "results"
    (root / "suites").mkdir(parents=True)
    manifest = json.loads((COMMITTED / "suites" / SUITE).read_text())
    (root / "suites" / SUITE).write_text(json.dumps(manifest))
    for row in manifest["rows"]:
        for entry in row["run_dirs"]:
            link = root / entry
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(COMMITTED / entry)
    return root


def _site(root: Path, folder: Path, serial: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every file of a site built cold (an empty cache), by path."""
    monkeypatch.setenv("LTBENCH_CACHE", str(folder / "cache"))
    cards = [card for card in load_cards() if card.dataset == "voc_lt"][:3]
    plan = parallel.BuildPlan(root, cards, serial=serial)
    write_site(build_boards(root, cards, plan.keep, plan.built), cards, folder / "site", plan)
    return {str(path.relative_to(folder / "site")): path.read_bytes()
            for path in sorted((folder / "site").rglob("*")) if path.is_file()}


def _fail(*args: object) -> None:
    raise RuntimeError("a worker that fails")


class _NoProcesses:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise OSError("no processes")


@pytest.fixture(scope="module")
def serial(root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    with pytest.MonkeyPatch.context() as patch:
        return _site(root, tmp_path_factory.mktemp("serial"), True, patch)


@pytest.mark.parametrize("workers", ["working", "failing", "not starting"])
def test_a_parallel_build_writes_the_serial_site(root: Path, serial: dict[str, bytes], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    if workers == "failing":
        for name in ("_resolve_ids", "_resolve_cards", "_draw"):
            monkeypatch.setattr(parallel, name, _fail)
    if workers == "not starting":
        monkeypatch.setattr(parallel, "ProcessPoolExecutor", _NoProcesses)
    built = _site(root, tmp_path / "parallel", False, monkeypatch)
    assert any(name.endswith(".svg") for name in serial) and any(name.startswith("cards/") for name in serial)
    assert built.keys() == serial.keys()
    assert [name for name in serial if built[name] != serial[name]] == []


def test_the_keys_to_resolve_are_every_manifest_rows_call(root: Path) -> None:
    manifest = json.loads((root / "suites" / SUITE).read_text())
    labels = [row["label"] for row in manifest["rows"] if row["run_dirs"]]
    assert parallel.recipe_keys(root) == [["table2", "mnist_lt", label, []] for label in labels]


def test_serial_is_the_default_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel.SERIAL, "1")
    assert parallel.BuildPlan().serial
    monkeypatch.delenv(parallel.SERIAL)
    assert not parallel.BuildPlan().serial
