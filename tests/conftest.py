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
