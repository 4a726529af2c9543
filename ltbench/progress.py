"""Progress bars and console output for long loops (rich), quiet when output is not a terminal."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

console = Console(stderr=True)


@contextlib.contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[..., None]]:
    """Yield ``advance(**fields)``; the bar disappears when done."""
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"), console=console, transient=True, disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total, info="")

        def advance(info: str = "") -> None:
            progress.update(task, advance=1, info=info)

        yield advance


def warn(message: str) -> None:
    """One ``warning:`` line on stderr, printed plainly (paths may hold characters rich reads as markup)."""
    print(f"warning: {message}", file=sys.stderr)
