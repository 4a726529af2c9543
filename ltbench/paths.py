"""Where ltbench looks for data, split files, weights caches and results."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent  # meaningful for editable installs


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def data_root() -> Path:
    """Default root of dataset folders: $LTBENCH_DATA, else the repository's ``datasets/``."""
    return _env_path("LTBENCH_DATA") or REPO_ROOT / "datasets"


def cache_root() -> Path:
    """Derived, rebuildable files (embedded dataset, image caches, text embeddings)."""
    return _env_path("LTBENCH_CACHE") or Path.home() / ".cache" / "ltbench"


def splits_root() -> Path | None:
    """Directory with the VOC-LT / COCO-LT split files ($LTBENCH_SPLITS); not shipped."""
    return _env_path("LTBENCH_SPLITS")


def results_root() -> Path:
    return _env_path("LTBENCH_RESULTS") or Path("results")


def configs_root() -> Path:
    """``configs/`` in the working directory if present, else the repository's."""
    local = Path("configs")
    return local if local.is_dir() else REPO_ROOT / "configs"


def existing_file(path: str | os.PathLike[str], what: str, option: str) -> Path:
    """``path`` as an existing file, else a one-sentence error naming the option to pass."""
    from ltbench.errors import LtbenchError

    file = Path(path).expanduser()
    if not file.is_file():
        raise LtbenchError(f"{what} {file} does not exist; pass {option}.")
    return file
