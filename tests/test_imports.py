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

LAYERS = (  # bottom up; a module may import its own layer, lower ones and modules in no layer (config, registry...)
    ("ltbench.data", "ltbench.models", "ltbench.losses", "ltbench.text"),  # the parts methods are made of
    ("ltbench.methods",),
    ("ltbench.engine", "ltbench.runs"),
    ("ltbench.experiment",),
    ("ltbench.saved_model", "ltbench.suites", "ltbench.launch", "ltbench.reports", "ltbench.report_commands",
     "ltbench.cli"),
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
    """The index in ``LAYERS`` of ``module``'s layer; None for modules of no layer."""
    for index, prefixes in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    return None


def climbs(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a module into a layer above its own."""
    return sorted(f"{module} -> {target}" for module, targets in graph.items() for target in targets
                  if layer(module) is not None and layer(target) is not None and layer(target) > layer(module))

def test_the_package_has_no_import_circle() -> None:
    assert find_cycle(import_graph(PACKAGE)) is None


def test_no_module_imports_a_layer_above_it() -> None:
    assert climbs(import_graph(PACKAGE)) == []


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
        "ltbench/experiment.py": "from ltbench.saved_model import save\n",
        "ltbench/saved_model.py": back,
        "ltbench/runs.py": "import ltbench.experiment\n",
    })
    assert find_cycle(import_graph(package)) == ["ltbench.experiment", "ltbench.saved_model", "ltbench.experiment"]


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
