"""What a site build derives from code and finished runs alone, kept between builds in ``<cache>/leaderboard/``.

Finished runs never change, and the package's code and configs change only with
an edit; so a recipe card's resolved config and a board's figures are kept,
keyed by a digest of everything they follow from: the ltbench sources, the
config and plugin folders in use, the installed plugin entry points, and (for
figures) the board's numbers and runs. Any change there gives another key, so a
rebuild recomputes exactly what changed. An unwritable cache only costs the
recomputation, as the bootstrap replicates' cache does (``reports.evidence``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable

from ltbench.fileio.atomic import atomic_write, digest, to_json
from ltbench.paths import PACKAGE_DIR, cache_root, config_search_path

FOLDER = "leaderboard"


@lru_cache(maxsize=1)
def sources_digest() -> str:
    """sha256 of the package's code and configs, the config folders and plugin files in use, and entry points."""
    from ltbench.plugins import ENTRY_POINT_GROUPS, plugin_dirs

    hasher = hashlib.sha256()
    files = [(PACKAGE_DIR, "**/*.py"), (PACKAGE_DIR, "**/*.yaml"), (PACKAGE_DIR, "reference/*.csv")]
    files += [(folder, "**/*.yaml") for folder in config_search_path()]
    files += [(folder, "*.py") for folder in plugin_dirs() if folder.is_dir()]
    for folder, pattern in files:
        for path in sorted(folder.glob(pattern)):
            hasher.update(f"{path}\0".encode() + path.read_bytes())
    points = sorted(f"{point.group}:{point.value}" for group in ENTRY_POINT_GROUPS for point in entry_points(group=group))
    hasher.update("\n".join(points).encode())
    return hasher.hexdigest()


def _file(kind: str, key: Any, suffix: str) -> Path:
    return cache_root() / FOLDER / kind / f"{digest([sources_digest(), key], length=24)}{suffix}"


def is_kept(kind: str, key: Any) -> bool:
    """Whether ``cached_json(kind, key, ...)`` would read its value rather than compute it."""
    return _file(kind, key, ".json").is_file()


def cached_json(kind: str, key: Any, compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON value, kept under ``key`` (which, with the sources, must determine it)."""
    path = _file(kind, key, ".json")
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            pass
    value = compute()
    try:
        atomic_write(path, lambda handle: handle.write(to_json(value).encode()))
    except OSError:
        pass
    return value


def cached_file(kind: str, key: Any, target: Path, make: Callable[[Path], None]) -> Path:
    """``target`` copied from the cache, or made by ``make(target)`` and kept; returns ``target``."""
    path = _file(kind, key, target.suffix)
    if path.is_file():
        shutil.copyfile(path, target)
        return target
    make(target)
    try:
        atomic_write(path, lambda handle: handle.write(target.read_bytes()))
    except OSError:
        pass
    return target
