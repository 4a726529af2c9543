"""The committed index of the built-in components, so that ``ltbench list`` answers without importing torch.

Importing the modules that register the built-in components loads torch (seconds); the index holds what
``ltbench list`` shows of each one (help line and parameters) and ships as package data. It is generated
from the imported registries and a test checks that it still equals them, so it cannot drift:

    python -m ltbench.component_index          # rewrite ltbench/component_index.json
    python -m ltbench.component_index --check  # exit 1, naming the kinds that differ, if it is stale
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from ltbench.paths import PACKAGE_DIR
from ltbench.registry import KINDS, REQUIRED, factory_params

INDEX_FILE = PACKAGE_DIR / "component_index.json"

# kind -> name -> {"help": first docstring line, "params": [[name, default as shown, type as shown], ...]}
Index = dict[str, dict[str, dict[str, Any]]]


def describe(plural: str, name: str) -> dict[str, Any]:
    """What ``ltbench list`` shows of one registered component: its help line and its parameters."""
    kind = KINDS[plural]
    params, _ = factory_params(kind, name)
    rows = [[p.name, "(required)" if p.default is REQUIRED else repr(p.default),
             getattr(p.annotation, "__name__", str(p.annotation))] for p in params]
    return {"help": kind.registry.entry(name).help, "params": rows}


def build() -> Index:
    """The index from the registries after importing the built-in modules (run it where no plugin is loaded)."""
    from ltbench.plugins import BUILTIN_MODULES

    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    return {plural: {name: describe(plural, name) for name in kind.registry.list()} for plural, kind in KINDS.items()}


def read() -> Index:
    return json.loads(INDEX_FILE.read_text())


def main(argv: list[str]) -> int:
    built = build()
    if argv == ["--check"]:
        committed = read() if INDEX_FILE.is_file() else {}
        stale = [plural for plural in KINDS if committed.get(plural) != built[plural]]
        if stale:
            print(f"{INDEX_FILE} is stale ({', '.join(stale)} differ); rewrite it with "
                  "python -m ltbench.component_index", file=sys.stderr)
        return 1 if stale else 0
    INDEX_FILE.write_text(json.dumps(built, indent=1, sort_keys=True) + "\n")
    print(f"wrote {INDEX_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
