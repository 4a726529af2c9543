"""Discovery of built-in components and third-party plugins.

Plugins register themselves with the registries on import. They come from
installed packages' entry points (one group per kind of the component table,
``ltbench.<kind>``: ``ltbench.methods``, ``ltbench.losses``, ``ltbench.text_encoders``, ...;
each entry point names a module) and from ``*.py`` files in the plugin folders: those in
``$LTBENCH_PLUGINS`` (paths separated by ``os.pathsep``) plus ``./methods`` (else,
in a checkout, the repository's ``methods/``). The folders add up, so pointing
``$LTBENCH_PLUGINS`` at one more folder does not silently drop the project's own
methods. Plugin files are imported under ``ltbench_plugins.<stem>`` so that no
top-level ``methods`` package is ever created; two files with one stem are refused.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from ltbench.errors import LtbenchError
from ltbench.paths import IN_CHECKOUT, REPO_ROOT, env_paths, unique_folders
from ltbench.registry import KINDS

BUILTIN_MODULES = tuple(dict.fromkeys(module for kind in KINDS.values() for module in kind.builtins))
ENTRY_POINT_GROUPS = tuple(kind.entry_point_group for kind in KINDS.values())
PLUGIN_PACKAGE = "ltbench_plugins"

_loaded = False


def plugin_dirs() -> list[Path]:
    """Folders whose ``*.py`` files are imported as plugins: ``$LTBENCH_PLUGINS``, then the methods folder."""
    local = Path("methods")
    methods = local if local.is_dir() or not IN_CHECKOUT else REPO_ROOT / "methods"
    return unique_folders([*env_paths("LTBENCH_PLUGINS"), methods])


def plugin_files() -> list[Path]:
    """The plugin files, in import order: every ``*.py`` not starting with ``_`` of each plugin folder."""
    return [file for folder in plugin_dirs() if folder.is_dir()
            for file in sorted(folder.glob("*.py")) if not file.name.startswith("_")]


def plugin_entry_points() -> list[EntryPoint]:
    """The installed packages' entry points of every kind's group, in import order."""
    return [entry_point for group in ENTRY_POINT_GROUPS for entry_point in entry_points(group=group)]


def load_plugins() -> None:
    """Import built-ins, entry points and plugin files once, so that every registry is complete."""
    global _loaded
    if _loaded:
        return
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for entry_point in plugin_entry_points():
        load_entry_point(entry_point)
    for file in plugin_files():
        import_plugin_file(file)
    _loaded = True


def load_entry_point(entry_point: EntryPoint) -> None:
    """Import one entry point's module (its components register themselves); a failure is one sentence."""
    try:
        entry_point.load()
    except Exception as exc:
        raise LtbenchError(f"Plugin entry point {entry_point.name!r} ({entry_point.value}) failed to "
                           f"load: {type(exc).__name__}: {exc}") from exc


def import_plugin_file(file: Path) -> None:
    """Import one plugin file as ``ltbench_plugins.<stem>``; a failure names the file."""
    name = f"{PLUGIN_PACKAGE}.{file.stem}"
    if name in sys.modules:
        earlier = Path(sys.modules[name].__file__ or "")
        if earlier.resolve() != file.resolve():
            raise LtbenchError(f"Plugin files {earlier} and {file} share the name {file.stem!r}; rename one.")
        return
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise LtbenchError(f"Plugin file {file} cannot be imported.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise LtbenchError(f"Plugin file {file} failed to import: {type(exc).__name__}: {exc}") from exc
