"""``ltbench list``: registered components, or one component's parameters with their defaults."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from ltbench.errors import LtbenchError


def cmd_list(args: argparse.Namespace, extra: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from ltbench.plugins import load_plugins
    from ltbench.registry import REQUIRED, factory_params

    load_plugins()
    console = Console()
    if args.name and not any(c in args.name for c in "*?["):  # one component: its parameters with defaults
        if not args.kind:
            raise LtbenchError("ltbench list NAME needs the kind first, e.g. ltbench list losses asl.")
        registry = REGISTRIES[args.kind]()
        params, _ = factory_params(registry, registry.entry(args.name).name, PARAM_SKIP.get(args.kind, 0))
        table = Table(title=f"{registry.kind} {args.name}: {registry.entry(args.name).help}", title_justify="left")
        for column in ("parameter", "default", "type"):
            table.add_column(column)
        for param in params:
            default = "(required)" if param.default is REQUIRED else repr(param.default)
            table.add_row(param.name, default, getattr(param.annotation, "__name__", str(param.annotation)))
        console.print(table)
        return 0
    for kind in [args.kind] if args.kind else list(REGISTRIES):
        registry = REGISTRIES[kind]()
        table = Table(title=kind, show_header=True, title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("description")
        for name in registry.list(args.name or "*"):
            table.add_row(name, registry.entry(name).help)
        console.print(table)
    return 0


def _registry(attribute: str) -> Callable[[], Any]:
    def get() -> Any:
        from ltbench import registry

        return getattr(registry, attribute)

    return get


REGISTRIES = {kind: _registry(attr) for kind, attr in (
    ("methods", "METHODS"), ("datasets", "DATASETS"), ("backbones", "BACKBONES"), ("text-encoders", "TEXT_ENCODERS"),
    ("losses", "LOSSES"), ("optimizers", "OPTIMIZERS"), ("schedules", "SCHEDULES"), ("samplers", "SAMPLERS"),
    ("augmentations", "AUGMENTATIONS"), ("loggers", "LOGGERS"))}
# leading factory arguments that the engine passes, not the config
PARAM_SKIP = {"methods": 1, "losses": 1, "optimizers": 2, "schedules": 3, "samplers": 2, "augmentations": 2, "loggers": 1}
