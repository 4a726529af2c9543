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

from typing import Sequence

from ltbench.errors import LtbenchError
from ltbench.runs.run_dir import RunRecord, config_id

EARLIER_RECIPE = "earlier recipe"  # what a table row's label says of such runs


class CurrentRecipes:
    """The config id each (suite, dataset, row, overrides) resolves to now, resolved once per table."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str, str, tuple[str, ...]], str | None] = {}

    def current_id(self, suite: str, dataset: str, label: str, overrides: Sequence[str] = ()) -> str | None:
        """The row's config id today; None when the row does not resolve."""
        from ltbench.launch.tasks import SuiteTask, task_config

        key = (suite, dataset, label, tuple(overrides))
        if key not in self._ids:
            try:  # the seed is not part of a config id: any seed resolves the same id
                self._ids[key] = config_id(task_config(SuiteTask(suite, dataset, label, 1, key[3])))
            except LtbenchError:
                self._ids[key] = None
        return self._ids[key]

    def is_earlier(self, record: RunRecord, suite: str, label: str, overrides: Sequence[str] = ()) -> bool:
        """Whether a manifest's run was made by another recipe than its row resolves to now."""
        current = self.current_id(suite, record.metrics["dataset"], label, overrides)
        return current is not None and config_id(record.config) != current
