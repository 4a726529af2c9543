"""Runs of an earlier recipe: a suite row's run whose config id is not the one the row resolves to now.

A suite row names a method, a preset and overrides; when any of them, or a
default below them, changes, the row resolves to another config and its
committed runs describe a recipe that no longer exists. Tables mark such rows
``[earlier recipe]`` and never average them with runs of the current recipe.
The current config is resolved as the suite would run it, with the overrides its
call was given (recorded per run in the manifest); a row that no longer
resolves (a suite or label that is gone, a plugin that is not loaded) gets no
verdict, so nothing is marked on a guess.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ltbench.errors import LtbenchError
from ltbench.runs.run_dir import RunRecord, config_id

EARLIER_RECIPE = "earlier recipe"  # what a table row's label says of such runs


Keep = Callable[[list[Any], Callable[[], "str | None"]], "str | None"]  # (key, compute) -> the kept or computed id


class CurrentRecipes:
    """The config id each (suite, dataset, row, overrides) resolves to now, resolved once per table.

    Resolving imports the plugins (and with them torch), seconds per process; ``keep``
    may keep the ids between processes, keyed by the sources they follow from (the
    leaderboard's ``cache.cached_json``).
    """

    def __init__(self, keep: Keep | None = None) -> None:
        self._ids: dict[tuple[str, str, str, tuple[str, ...]], str | None] = {}
        self._keep = keep

    def current_id(self, suite: str, dataset: str, label: str, overrides: Sequence[str] = ()) -> str | None:
        """The row's config id today; None when the row does not resolve."""
        key = (suite, dataset, label, tuple(overrides))
        if key not in self._ids:
            compute = lambda: _resolved_id(*key)  # noqa: E731
            self._ids[key] = self._keep([suite, dataset, label, list(key[3])], compute) if self._keep else compute()
        return self._ids[key]

    def is_earlier(self, record: RunRecord, suite: str, label: str, overrides: Sequence[str] = ()) -> bool:
        """Whether a manifest's run was made by another recipe than its row resolves to now."""
        current = self.current_id(suite, record.metrics["dataset"], label, overrides)
        return current is not None and config_id(record.config) != current


def _resolved_id(suite: str, dataset: str, label: str, overrides: tuple[str, ...]) -> str | None:
    from ltbench.launch.tasks import SuiteTask, task_config

    try:  # the seed is not part of a config id: any seed resolves the same id
        return config_id(task_config(SuiteTask(suite, dataset, label, 1, overrides)))
    except LtbenchError:
        return None
