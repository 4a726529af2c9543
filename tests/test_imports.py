"""The package's imports, read with ``ast``: no circle, and nothing reaching up the layering.

Every import counts, at module level or inside a function (a deferred import
still ties the two modules together). Layers, bottom up: the parts a method is
made of (data, models, losses, text), methods, the engine and the run
directory, the experiment, then reloading, launchers, reports and the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ltbench

PACKAGE = Path(ltbench.__file__).resolve().parent

LAYERS = (  # bottom up: (name, packages and modules); the one place the layering is declared (docs/architecture.md)
    ("foundation", ("ltbench.errors", "ltbench.paths", "ltbench.progress", "ltbench._torchvision_compat",
                    "ltbench.fileio")),
    ("resolve", ("ltbench", "ltbench.registry", "ltbench.plugins", "ltbench.plugin_scan", "ltbench.component_index",
                 "ltbench.config")),  # no torch; ``ltbench``: the
    # package's __init__ (__version__, the component table; its API names are imported lazily, not counted here)
    ("io", ("ltbench.runs", "ltbench.pretrained", "ltbench.download", "ltbench.loggers", "ltbench.provenance")),
    ("parts", ("ltbench.data", "ltbench.models", "ltbench.losses", "ltbench.text", "ltbench.evaluation",
               "ltbench.metrics", "ltbench.reports.bootstrap", "ltbench.reports.run_replicates")),
    ("methods", ("ltbench.methods",)),
    ("engine", ("ltbench.engine",)),
    ("experiment", ("ltbench.experiment",)),
    ("views and launchers", ("ltbench.runs.reload", "ltbench.launch", "ltbench.reports", "ltbench.metrics.catalog",
                             "ltbench.submissions", "ltbench.testing")),
    ("recipes and leaderboard", ("ltbench.recipes", "ltbench.leaderboard")),
    ("command line", ("ltbench.cli", "ltbench.metrics.commands", "ltbench.submissions.commands",
                      "ltbench.leaderboard.command", "ltbench.__main__")),
)

def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package folder ``package``."""
    modules = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its code (``from a import b``: ``a.b`` if a module)."""
    modules = module_files(package)

    def module_of(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        names: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolved against the importing module's package
                    anchor = module.split(".")[:len(module.split(".")) - node.level + (path.name == "__init__.py")]
                    base = ".".join([*anchor, base] if base else anchor)
                names += [f"{base}.{alias.name}" for alias in node.names]
        targets = {module_of(name) for name in names if name.split(".")[0] == package.name}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None (depth-first search, colouring modules in progress)."""
    done: set[str] = set()
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        stack.append(module)
        for target in sorted(graph[module]):
            if target in stack:
                return stack[stack.index(target):] + [target]
            if target not in done and (cycle := visit(target)):
                return cycle
        stack.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done and (cycle := visit(module)):
            return cycle
    return None


def layer(module: str) -> int | None:
    """The index in ``LAYERS`` of ``module``'s layer, by the longest entry naming it or a package above it.

    The root package's entry names its ``__init__`` only; None for a module in no layer.
    """
    matches = [(len(entry), index) for index, (_, entries) in enumerate(LAYERS) for entry in entries
               if module == entry or ("." in entry and module.startswith(entry + "."))]
    return max(matches)[1] if matches else None


def unlayered(graph: dict[str, set[str]]) -> list[str]:
    """The modules of no layer: a new module needs its place in ``LAYERS``."""
    return sorted(module for module in graph if layer(module) is None)


def climbs(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a module into a layer above its own (modules of no layer count as the top one)."""
    def level(module: str) -> int:
        found = layer(module)
        return len(LAYERS) if found is None else found

    return sorted(f"{module} -> {target}" for module, targets in graph.items() for target in targets
                  if level(target) > level(module))

def test_the_package_has_no_import_circle() -> None:
    assert find_cycle(import_graph(PACKAGE)) is None


def test_no_module_imports_a_layer_above_it() -> None:
    assert climbs(import_graph(PACKAGE)) == []


def test_every_module_has_a_layer() -> None:
    assert unlayered(import_graph(PACKAGE)) == []


def test_a_module_outside_every_layer_is_named(tmp_path: Path) -> None:
    package = write_package(tmp_path, {
        "ltbench/__init__.py": "",
        "ltbench/errors.py": "",
        "ltbench/helpers.py": "from ltbench.errors import LtbenchError\n",
        "ltbench/engine/__init__.py": "",
        "ltbench/engine/trainer.py": "from ltbench.helpers import x\n",
    })
    graph = import_graph(package)
    assert unlayered(graph) == ["ltbench.helpers"]
    assert climbs(graph) == ["ltbench.engine.trainer -> ltbench.helpers"]


def write_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "ltbench"


@pytest.mark.parametrize("deferred", [False, True])
def test_a_circle_through_a_function_level_import_is_found(tmp_path: Path, deferred: bool) -> None:
    back = "def load():\n    from ltbench.experiment import build\n" if deferred else "from ltbench import experiment\n"
    package = write_package(tmp_path, {
        "ltbench/__init__.py": "",
        "ltbench/experiment.py": "from ltbench.runs.reload import save\n",
        "ltbench/runs/reload.py": back,
        "ltbench/runs/run_dir.py": "import ltbench.experiment\n",
    })
    assert find_cycle(import_graph(package)) == ["ltbench.experiment", "ltbench.runs.reload", "ltbench.experiment"]


def test_a_relative_import_and_a_method_reaching_into_the_engine_are_seen(tmp_path: Path) -> None:
    package = write_package(tmp_path, {
        "ltbench/__init__.py": "",
        "ltbench/engine/__init__.py": "",
        "ltbench/engine/features.py": "from .trainer import Trainer\n",
        "ltbench/engine/trainer.py": "import numpy\n",
        "ltbench/methods/__init__.py": "",
        "ltbench/methods/hp_dval.py": "from ltbench.engine.features import to_float_images\n",
    })
    graph = import_graph(package)
    assert graph["ltbench.engine.features"] == {"ltbench.engine.trainer"}
    assert find_cycle(graph) is None
    assert climbs(graph) == ["ltbench.methods.hp_dval -> ltbench.engine.features"]


def test_the_architecture_page_maps_every_layer_entry_to_its_layer() -> None:
    """docs/architecture.md's package map shows ``LAYERS`` as it is: every entry once, in its layer, in order."""
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    package_map = page.split("## Package map")[1].split("\n## ")[0]
    rows = [line.split("|")[1:3] for line in package_map.splitlines() if line.startswith("| ") and "`ltbench" in line]
    shown = [(name.strip(), entry.strip().strip("`")) for name, entry in rows]
    assert shown == [(name, entry) for name, entries in LAYERS for entry in entries]
