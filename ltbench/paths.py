"""Where ltbench looks for data, split files, weights caches, configs and results."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ltbench.errors import LtbenchError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent  # the checkout in an editable install; site-packages in a wheel install
IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file()  # False for a wheel install
PACKAGED_CONFIGS = PACKAGE_DIR / "configs"  # shipped in the wheel; the repo's top-level configs/ links here

_explicit_configs: list[Path] = []  # set by the command line's --configs for the duration of a command


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def env_paths(name: str) -> list[Path]:
    """The folders listed in environment variable ``name``, separated by ``os.pathsep``."""
    return [Path(p).expanduser() for p in os.environ.get(name, "").split(os.pathsep) if p]


def unique_folders(folders: list[Path]) -> list[Path]:
    """``folders`` without repeats of the same folder (compared resolved, so a symlink counts once)."""
    seen: set[Path] = set()
    unique = []
    for folder in folders:
        key = folder.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(folder)
    return unique


def data_root() -> Path:
    """Default root of dataset folders: $LTBENCH_DATA, else the checkout's ``datasets/``, else ``./datasets``."""
    return _env_path("LTBENCH_DATA") or (REPO_ROOT / "datasets" if IN_CHECKOUT else Path("datasets"))


def cache_root() -> Path:
    """Derived, rebuildable files (embedded dataset, image caches, text embeddings)."""
    return _env_path("LTBENCH_CACHE") or Path.home() / ".cache" / "ltbench"


SPLITS_FOLDER = "splits"  # the data root's folder for the split files (where ``ltbench download splits`` puts them)


def splits_root() -> Path | None:
    """Directory with the VOC-LT / COCO-LT split files: $LTBENCH_SPLITS, else the data root's splits/ if present."""
    downloaded = data_root() / SPLITS_FOLDER
    return _env_path("LTBENCH_SPLITS") or (downloaded if downloaded.is_dir() else None)


def results_root() -> Path:
    return _env_path("LTBENCH_RESULTS") or Path("results")


@contextmanager
def explicit_configs(folders: list[str] | None) -> Iterator[None]:
    """Search ``folders`` first for configs while the block runs (the command line's ``--configs``)."""
    chosen = [Path(f).expanduser() for f in folders or []]
    missing = [str(f) for f in chosen if not f.is_dir()]
    if missing:
        raise LtbenchError(f"Config folder {', '.join(missing)} does not exist; pass an existing folder to --configs.")
    _explicit_configs[:0] = chosen
    try:
        yield
    finally:
        del _explicit_configs[:len(chosen)]


def config_search_path() -> list[Path]:
    """Folders searched for configs and suites, first match wins.

    The order is from most to least deliberate: folders named with ``--configs``,
    then ``$LTBENCH_CONFIGS`` (``os.pathsep``-separated), then ``./configs`` of the
    project you run in, then the configs shipped inside the package. A file
    found earlier wins, so a user overrides one shipped config by putting a file
    with the same relative path (e.g. ``voc_lt/cprfl.yaml``) in their own folder,
    without copying the rest; the shipped configs stay the fallback, so an
    installed wheel works from any folder. An explicitly named folder that does
    not exist is an error rather than a silent fall-back to the shipped configs.
    """
    from_env = env_paths("LTBENCH_CONFIGS")
    missing = [str(f) for f in from_env if not f.is_dir()]
    if missing:
        raise LtbenchError(f"Config folder {', '.join(missing)} in $LTBENCH_CONFIGS does not exist; "
                           f"set it to existing folders.")
    local = Path("configs")
    return unique_folders([*_explicit_configs, *from_env, *([local] if local.is_dir() else []), PACKAGED_CONFIGS])


def find_config(relative_path: str | os.PathLike[str]) -> Path | None:
    """The first file ``relative_path`` (e.g. ``"voc_lt/cprfl.yaml"``) in the config search path, else None."""
    for folder in config_search_path():
        candidate = folder / relative_path
        if candidate.is_file():
            return candidate
    return None


def resolve_base(config_file: str | os.PathLike[str], base: str) -> Path:
    """The file a config's ``_base_`` entry ``base`` (relative to ``config_file``) names.

    Inside the config folders, the search path acts as ONE folder in which
    earlier files shadow later ones, so a base is looked up like any config: a
    project's ``voc_lt/cprfl_recipe.yaml`` also changes the shipped
    ``voc_lt/cprfl.yaml`` that inherits it, and a project's copy of
    ``voc_lt/cprfl.yaml`` still finds ``../cprfl_paper.yaml`` in the package. A
    file never inherits itself: ``_base_: cprfl.yaml`` in a project's
    ``voc_lt/cprfl.yaml`` is the next ``voc_lt/cprfl.yaml`` down the path, so an
    override can change one key of the shipped file. Outside the config
    folders (a ``--config`` file elsewhere) a base is simply relative to its file.
    """
    own = Path(config_file).resolve()
    target = (own.parent / base).resolve()
    for folder in config_search_path():
        if target.is_relative_to(folder.resolve()):
            relative = target.relative_to(folder.resolve())
            for candidate in (f / relative for f in config_search_path()):
                if candidate.is_file() and candidate.resolve() != own:
                    return candidate
    return target


def existing_file(path: str | os.PathLike[str], what: str, option: str) -> Path:
    """``path`` as an existing file, else a one-sentence error naming the option to pass."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise LtbenchError(f"{what} {file} does not exist; pass {option}.")
    return file
