"""``ltbench list``: registered components, or one component's parameters with their defaults."""

from __future__ import annotations

import argparse

from ltbench.errors import LtbenchError
from ltbench.registry import KINDS, REQUIRED, factory_params


def cmd_list(args: argparse.Namespace, extra: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from ltbench.plugins import load_plugins

    if args.kind == "metrics":  # not a registry of components: what tables and comparisons can show
        from ltbench.metrics.commands import list_metrics

        return list_metrics()
    load_plugins()
    console = Console()
    if args.name and not any(c in args.name for c in "*?["):  # one component: its parameters with defaults
        if not args.kind:
            raise LtbenchError("ltbench list NAME needs the kind first, e.g. ltbench list losses asl.")
        kind = KINDS[args.kind]
        entry = kind.registry.entry(args.name)
        params, _ = factory_params(kind, entry.name)
        table = Table(title=f"{kind.singular} {args.name}: {entry.help}", title_justify="left")
        for column in ("parameter", "default", "type"):
            table.add_column(column)
        for param in params:
            default = "(required)" if param.default is REQUIRED else repr(param.default)
            table.add_row(param.name, default, getattr(param.annotation, "__name__", str(param.annotation)))
        console.print(table)
        return 0
    for plural in [args.kind] if args.kind else list(KINDS):
        registry = KINDS[plural].registry
        table = Table(title=plural, show_header=True, title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("description")
        for name in registry.list(args.name or "*"):
            table.add_row(name, registry.entry(name).help)
        console.print(table)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    lst = sub.add_parser("list", help="registered components; with a name, that component's parameters")
    lst.add_argument("kind", nargs="?", choices=[*KINDS, "metrics"])
    lst.add_argument("name", nargs="?", help="a component name (shows its parameters), or a glob, e.g. '*focal*'")
    lst.set_defaults(func=cmd_list)
