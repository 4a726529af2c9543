"""Test-wide isolation: derived files go to a temporary cache, never the user's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from ltbench.paths import splits_root
from ltbench.registry import DATASETS

REPO_ROOT = Path(__file__).resolve().parent.parent
# The VOC-LT / COCO-LT split files are not in the repository (their upstream has no licence): the tests that read
# them use a copy the user points to with $LTBENCH_SPLITS (the ids as img_id.txt, the pickles converted to JSON)
# and skip without one. Their class frequencies are in the package (ltbench.data.split_files.CANONICAL).
REAL_SPLITS = splits_root()
SPLIT_FILES_READ = ("img_id.txt", "img_id.json", "class_freq.json", "class_split.json")
needs_split_files = pytest.mark.skipif(
    REAL_SPLITS is None or not all((REAL_SPLITS / name / file).is_file()
                                   for name in ("voc_lt", "coco_lt") for file in SPLIT_FILES_READ),
    reason="needs the VOC-LT / COCO-LT split files (img_id.txt and class_freq/class_split/img_id as JSON): "
           "set LTBENCH_SPLITS to their folder (docs/testing.md)")

torch.set_num_threads(min(2, os.cpu_count() or 1))
# Run the @pytest.mark.cuda tests on the CPU (AMP through CPU autocast) to check their logic without a GPU.
CUDA_TESTS_ON_CPU = os.environ.get("LTBENCH_CUDA_TESTS_ON_CPU") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``@pytest.mark.cuda`` tests where no CUDA device is available (unless dry-running them on the CPU)."""
    if torch.cuda.is_available() or CUDA_TESTS_ON_CPU:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is false)")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One cache per test session, so the embedded dataset and features are built once."""
    cache = tmp_path_factory.mktemp("ltbench-cache")
    previous = os.environ.get("LTBENCH_CACHE")
    os.environ["LTBENCH_CACHE"] = str(cache)
    os.environ["HF_HUB_OFFLINE"] = "1"
    yield
    if previous is None:
        os.environ.pop("LTBENCH_CACHE", None)
    else:
        os.environ["LTBENCH_CACHE"] = previous


@pytest.fixture
def no_data_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command reads a dataset: config errors must come before any data is touched."""
    monkeypatch.setattr(DATASETS, "build", lambda *a, **k: pytest.fail("a dataset was read"))


# -------- fixtures shared by a command's own test file and its section of tests/test_errors.py ----------


@pytest.fixture
def file_server(monkeypatch: pytest.MonkeyPatch):
    """``download``: a loopback HTTP server serving ``file_server.files`` (tests/file_server.py)."""
    from file_server import Server
    from ltbench.download import fetch

    monkeypatch.setattr(fetch, "TIMEOUT_S", 5)  # a stuck test ends in seconds
    served = Server()
    yield served
    served.close()


COMPARED_AP = ([10.0, 20.0, 30.0, 40.0, 50.0], [12.5, 20.0, 27.0, 40.0, 55.5])  # per-class AP of compared_runs


@pytest.fixture
def compared_runs(tmp_path: Path) -> tuple[Path, Path]:
    """``compare``: two finished voc_lt ERM runs that differ in config, metrics and per-class AP."""
    from run_dirs import make_run

    a = make_run(tmp_path, "a", "voc_lt", "erm", 1, (70.0, 80.0, 60.0, 50.0), per_class_ap=COMPARED_AP[0],
                 config={"train": {"epochs": 3}})
    b = make_run(tmp_path, "b", "voc_lt", "erm", 2, (72.5, 79.0, 63.25, 50.0), per_class_ap=COMPARED_AP[1],
                 config={"train": {"epochs": 5}, "loss": {"name": "asl", "gamma_neg": 4}})
    return a, b


TINY_SUITE = """
description: two rows for tests
rows:
  - {label: ERM, method: erm}
  - {label: Focal, method: focal, overrides: {loss: {gamma: 1.0}}}
"""


@pytest.fixture
def tiny_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``suite``: suite ``tiny`` (ERM and Focal) on the CPU-sized mnist_lt recipe; returns its overrides."""
    import shutil

    from ltbench.paths import PACKAGED_CONFIGS

    (tmp_path / "configs" / "suites").mkdir(parents=True)
    (tmp_path / "configs" / "suites" / "tiny.yaml").write_text(TINY_SUITE)
    shutil.copytree(PACKAGED_CONFIGS / "mnist_lt", tmp_path / "configs" / "mnist_lt")
    monkeypatch.setenv("LTBENCH_CONFIGS", str(tmp_path / "configs"))
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path / "results"))
    return ["train.epochs=2"]


COMMITTED_MNIST_LT = REPO_ROOT / "results" / "mnist_lt"


def table1_run(row: int = 0, seed_index: int = 0) -> Path:
    """A committed run of the table1 suite, as its manifest lists it (not a hard-coded directory name)."""
    import json

    manifest = json.loads((COMMITTED_MNIST_LT / "suites" / "table1_mnist_lt.json").read_text())
    return COMMITTED_MNIST_LT / manifest["rows"][row]["run_dirs"][seed_index]


@pytest.fixture(scope="module")
def mnist_lt_test_split():
    """``eval --scores``: mnist_lt's test split as a submission is scored against."""
    from ltbench.submissions.split import load_eval_split

    return load_eval_split("mnist_lt")


@pytest.fixture(scope="module")
def exported_submission(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``eval --scores``: the submission file ``ltbench export`` writes for a committed table1 run."""
    from ltbench.cli import main

    out = tmp_path_factory.mktemp("export") / "erm.npz"
    assert main(["export", str(table1_run()), "--out", str(out)]) == 0
    return out


@pytest.fixture
def results_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$LTBENCH_RESULTS`` pointed at a folder of the test's own, which nothing has created yet."""
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``eval --scores``: a committed Table 1 run, as a run of the labelled subset would leave it (every mnist_lt
    test image has a positive, so the subset holds the same images and the run's scores stay valid)."""
    import shutil

    import yaml

    run = tmp_path_factory.mktemp("runs") / "erm_s1_labelled"
    shutil.copytree(table1_run(), run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["dataset"]["test_images"] = "labelled"
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    return run


@pytest.fixture(scope="module")
def exported_labelled_submission(labelled_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``eval --scores``: the submission file ``ltbench export`` writes for ``labelled_run``."""
    from ltbench.cli import main

    out = tmp_path_factory.mktemp("export") / "labelled.npz"
    assert main(["export", str(labelled_run), "--out", str(out)]) == 0
    return out
