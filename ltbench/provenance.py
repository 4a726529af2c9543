"""Provenance of a run: which code produced it and which weight files it loaded.

Two runs of different code or different weights must not look alike in their
``metrics.json``. A run records the package version (one source:
``ltbench.__version__``, which pyproject.toml reads too), the git commit and
whether tracked files differed from it when the package runs from a checkout
(None elsewhere, e.g. from a wheel), and every weights file by its sha256 and
the name of where it came from, never by an absolute path of the machine that
ran it. docs/file-formats.md lists the keys.
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from importlib.metadata import packages_distributions, version
from pathlib import Path
from typing import Any

GIT_TIMEOUT_S = 10
UNTRACKED_FOR_DIRTY = ":(exclude)results"  # results the run itself writes never make the code dirty
HUB_PREFIX = "models--"  # a Hugging Face hub cache folder: models--<org>--<name>
SITE_FOLDERS = ("site-packages", "dist-packages")


def package_root() -> Path:
    """The folder holding the ``ltbench`` package: a checkout's root when it runs from one."""
    return Path(__file__).resolve().parent.parent


def code_version(root: Path | None = None) -> dict[str, Any]:
    """``{"version", "commit", "dirty"}``; commit and dirty are None outside a git checkout or without git."""
    import ltbench

    root = (root or package_root()).resolve()
    commit = dirty = None
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is not None and Path(top).resolve() == root:  # not an enclosing repository the package was installed in
        commit = _git(root, "rev-parse", "HEAD")
        status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", UNTRACKED_FOR_DIRTY)
        dirty = None if commit is None or status is None else bool(status)
    return {"version": ltbench.__version__, "commit": commit, "dirty": dirty}


def _git(root: Path, *args: str) -> str | None:
    """A git command's stripped output in ``root``; None when git is missing, fails or hangs."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def weights_record(source: str) -> dict[str, str]:
    """A part's weights as a run records them: a file by source name, file name and sha256; else its description.

    ``source`` is what a backbone or text encoder reports (``Backbone.source``): a
    local path for loaded weights, or words such as ``random init`` or a package
    name and version (weights read from a package's data without one file).
    """
    path = Path(source)
    if not path.is_absolute() or not path.exists():
        return {"source": source}
    return {"source": source_name(path), "file": path.name, "sha256": path_sha256(path)}


def weights_description(source: str) -> str:
    """``source`` without its machine's absolute path: ``<source name> <file name>`` for a local file."""
    record = weights_record(source)
    return f"{record['source']} {record['file']}" if "file" in record else record["source"]


def source_name(path: Path) -> str:
    """Where a weights file came from: a hub repository, an installed package (with its version), or a local file."""
    parts = path.resolve().parts
    hub = [part for part in parts if part.startswith(HUB_PREFIX)]
    if hub:
        return "huggingface:" + hub[-1][len(HUB_PREFIX):].replace("--", "/", 1)
    for index, part in enumerate(parts[:-1]):
        if part in SITE_FOLDERS and index + 1 < len(parts) - 1:
            module = parts[index + 1]
            distributions = packages_distributions().get(module, [])
            return f"{distributions[0]} {version(distributions[0])}" if distributions else module
    if "checkpoints" in parts and "hub" in parts:
        return "torch hub cache"
    return "local file"


def path_sha256(path: Path) -> str:
    """sha256 of a file's bytes; of a folder, of its files' relative names and digests in sorted order."""
    path = path.resolve()
    if path.is_file():
        stat = path.stat()
        return _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)
    listing = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        listing.update(f"{file.relative_to(path).as_posix()}\0{path_sha256(file)}\n".encode())
    return listing.hexdigest()


@lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """Cached per (path, size, mtime): a suite's runs load the same weights many times."""
    del size, mtime_ns  # part of the cache key only
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()
