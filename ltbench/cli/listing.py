"""``ltbench list``: registered components, or one component's parameters with their defaults.

Listing loads no torch when it can: the built-in components come from the committed index
(``ltbench.component_index``) and plugins are read with ``ast`` (``ltbench.plugin_scan``); a plugin that
cannot be read that way is imported alone, and only a clash of names makes listing import everything, as
a run does.
``ltbench list KIND NAME`` of a plugin's component imports that plugin alone.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
from functools import partial
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, Callable

from ltbench import component_index
from ltbench.errors import LtbenchError
from ltbench.plugin_scan import scan
from ltbench.plugins import (import_plugin_file, load_entry_point, load_plugins, plugin_entry_points,
                             plugin_files)
from ltbench.registry import KINDS, unknown_message

Catalog = dict[str, dict[str, str]]  # kind -> name -> help line
Details = Callable[[str, str], dict[str, Any]]  # (kind, name) -> component_index.describe's answer


def registered() -> tuple[Catalog, Details]:
    """What every registry holds once plugins are loaded, and how to describe one component."""
    found = read_catalog()
    if found is not None:
        return found
    load_plugins()
    catalog = {plural: {name: kind.registry.entry(name).help for name in kind.registry.list()}
               for plural, kind in KINDS.items()}
    return catalog, component_index.describe


def read_catalog() -> tuple[Catalog, Details] | None:
    """The built-in index, the plugins read with ``ast``, and those that cannot be read imported alone.

    None when a name clashes (or an imported plugin replaced a built-in): importing everything, as
    ``load_plugins`` does, gives registration's own answer then.
    """
    index = component_index.read()
    catalog = {plural: {name: entry["help"] for name, entry in index[plural].items()} for plural in KINDS}
    files = plugin_files()
    if len({file.stem for file in files}) < len(files):
        return None  # importing them raises the clash's error
    sources = [*((entry_point_file(e), partial(load_entry_point, e)) for e in plugin_entry_points()),
               *((file, partial(import_plugin_file, file)) for file in files)]
    importers: dict[tuple[str, str], Callable[[], None]] = {}
    unread = []
    for path, load in sources:
        found = scan(path) if path else None
        if found is None:
            unread.append(load)
        for registration in found or []:
            if registration.name in catalog[registration.kind]:
                return None
            catalog[registration.kind][registration.name] = registration.help
            importers[registration.kind, registration.name] = load
    for load in unread:
        load()
    for plural, kind in KINDS.items() if unread else ():  # what they registered, and the built-ins they imported
        for name in kind.registry.list():
            if name in index[plural] and component_index.describe(plural, name) == index[plural][name]:
                continue
            if name in catalog[plural]:
                return None
            catalog[plural][name] = kind.registry.entry(name).help
            importers[plural, name] = lambda: None

    def details(plural: str, name: str) -> dict[str, Any]:
        if name in index[plural]:
            return index[plural][name]
        importers[plural, name]()
        return component_index.describe(plural, name)

    return catalog, details


def entry_point_file(entry_point: EntryPoint) -> Path | None:
    """The source file of an entry point naming a top-level module, found without importing anything."""
    if entry_point.attr or "." in entry_point.module:
        return None  # finding a submodule imports its package
    try:
        spec = importlib.util.find_spec(entry_point.module)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec else None
    return Path(origin) if origin and origin.endswith(".py") else None


def cmd_list(args: argparse.Namespace, extra: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    if args.kind == "metrics":  # not a registry of components: what tables and comparisons can show
        from ltbench.metrics.commands import list_metrics

        return list_metrics()
    one = args.name and not any(c in args.name for c in "*?[")  # one component: its parameters with defaults
    if one and not args.kind:
        raise LtbenchError("ltbench list NAME needs the kind first, e.g. ltbench list losses asl.")
    catalog, details = registered()
    console = Console()
    if one:
        kind = KINDS[args.kind]
        if args.name not in catalog[args.kind]:
            raise LtbenchError(unknown_message(kind.singular, args.name, list(catalog[args.kind])))
        described = details(args.kind, args.name)
        table = Table(title=f"{kind.singular} {args.name}: {described['help']}", title_justify="left")
        for column in ("parameter", "default", "type"):
            table.add_column(column)
        for row in described["params"]:
            table.add_row(*row)
        console.print(table)
        return 0
    for plural in [args.kind] if args.kind else list(KINDS):
        table = Table(title=plural, show_header=True, title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("description")
        for name in sorted(n for n in catalog[plural] if fnmatch.fnmatchcase(n, args.name or "*")):
            table.add_row(name, catalog[plural][name])
        console.print(table)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    lst = sub.add_parser("list", help="registered components; with a name, that component's parameters")
    lst.add_argument("kind", nargs="?", choices=[*KINDS, "metrics"])
    lst.add_argument("name", nargs="?", help="a component name (shows its parameters), or a glob, e.g. '*focal*'")
    lst.set_defaults(func=cmd_list)
