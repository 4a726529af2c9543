"""A site build on two cores: configs resolved in one worker process, figures drawn in two.

A cold build spends seconds resolving configs (each suite row's current recipe
id and each recipe card's config: resolving imports the plugins and torch) and
drawing figures. Here one worker resolves what the cache lacks, from keys read
off the manifests, while the main process reads the runs (``read_listed``); two
workers draw each board's figures as soon as the board is built. Every result goes through the same keep-cache
as a serial build (``cache.cached_json``, ``cache.cached_file``) and is also
handed back, so the main process never resolves what a worker did, and the site
is the serial build's byte for byte (figures carry no drawing time:
``reports.plots.UNDATED``). A worker that cannot start or fails costs
only its work: the main process does it as a serial build does, errors included
(a row that does not resolve gets no verdict). ``LTBENCH_SERIAL=1`` builds in
one process.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ltbench.leaderboard.boards import Board
from ltbench.leaderboard.cache import cached_json, is_kept
from ltbench.leaderboard.figures import Figure, draw_figures, figures_kept
from ltbench.recipes.cards import Card

SERIAL = "LTBENCH_SERIAL"  # "1": the whole build in one process
RECIPE_IDS, CARD_CONFIGS = "recipe-ids", "card-configs"  # cache kinds (``boards``, ``cards``)
FIGURE_WORKERS = 2


def recipe_keys(root: Path) -> list[list[Any]]:
    """The key of every manifest row's run as ``CurrentRecipes`` asks for it: [suite, dataset, label, overrides]."""
    keys: dict[str, list[Any]] = {}
    for path in sorted((root / "suites").glob("*.json")):
        try:
            manifest = json.loads(path.read_text())
            overrides = manifest.get("overrides") or {}
            for row in manifest["rows"]:
                for run_dir in row["run_dirs"]:
                    key = [manifest["suite"], manifest["dataset"], row["label"], list(overrides.get(run_dir, ()))]
                    keys[json.dumps(key)] = key
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            continue  # the serial path reports it
    return list(keys.values())


def _resolve_ids(keys: list[list[Any]]) -> dict[str, Any]:
    """In the worker: each key's current recipe id, kept in the cache; a key that raises is left to the main process."""
    from ltbench.reports.recipe_age import CurrentRecipes

    recipes = CurrentRecipes(keep=lambda key, compute: cached_json(RECIPE_IDS, key, compute))
    return _each(keys, lambda key: recipes.current_id(key[0], key[1], key[2], key[3]))


def _resolve_cards(cards: list[Card]) -> dict[str, Any]:
    """In the worker: each card's resolved config, kept in the cache."""
    from ltbench.recipes.render import card_config

    by_name = {card.name: card for card in cards}
    return _each([card.name for card in cards],
                 lambda name: cached_json(CARD_CONFIGS, name, lambda: card_config(by_name[name])))


def _each(keys: list[Any], value: Callable[[Any], Any]) -> dict[str, Any]:
    handed = {}
    for key in keys:
        try:
            handed[json.dumps(key)] = value(key)
        except Exception:  # noqa: BLE001 - the main process computes it again and meets the error as a serial build
            continue
    return handed


def _draw(board: Board, folder: Path) -> tuple[list[Figure], list[str]]:
    """In a figure worker: the board's figures and the problems drawing them noted."""
    return draw_figures(board, folder), board.problems


class BuildPlan:
    """What a build hands to worker processes; ``serial`` (default: ``$LTBENCH_SERIAL == "1"``) hands nothing.

    One worker resolves the configs the cache lacks (``keep``); two draw each board's figures as soon as
    ``build_boards`` has built it (``built``), into a folder of their own, moved into the site when it is
    written (``draw_figures``).
    """

    def __init__(self, root: Path | None = None, cards: list[Card] = (), serial: bool | None = None) -> None:
        self.serial = os.environ.get(SERIAL) == "1" if serial is None else serial
        self._pending: dict[str, Future] = {}
        self._handed: dict[str, dict[str, Any]] = {}
        self._drawing: dict[str, Future] = {}
        self._painters: ProcessPoolExecutor | None = None
        if self.serial or root is None:
            return
        try:
            self._painters = ProcessPoolExecutor(max_workers=FIGURE_WORKERS)
            self._drawn = Path(tempfile.mkdtemp(prefix="ltbench-figures-"))  # removed when the figures are moved
        except Exception:  # noqa: BLE001 - no workers: the main process draws, as a serial build
            self._painters = None
        ids = [key for key in recipe_keys(root) if not is_kept(RECIPE_IDS, key)]
        todo = [card for card in cards if not is_kept(CARD_CONFIGS, card.name)]
        if not ids and not todo:
            return
        try:
            resolver = ProcessPoolExecutor(max_workers=1)  # one process: torch imported once
            self._pending = {RECIPE_IDS: resolver.submit(_resolve_ids, ids),
                             CARD_CONFIGS: resolver.submit(_resolve_cards, list(todo))}
            resolver.shutdown(wait=False)
        except Exception:  # noqa: BLE001 - no worker: the main process resolves, as a serial build
            self._pending = {}

    def keep(self, kind: str, key: Any, compute: Callable[[], Any]) -> Any:
        """``cached_json``, computing a missing value from what the worker handed back, else ``compute``."""
        def handed_or_computed() -> Any:
            handed = self._results(kind)
            name = json.dumps(key)
            return handed[name] if name in handed else compute()
        return cached_json(kind, key, handed_or_computed)

    def _results(self, kind: str) -> dict[str, Any]:
        if kind not in self._handed:
            future = self._pending.get(kind)
            try:
                self._handed[kind] = future.result() if future else {}
            except Exception:  # noqa: BLE001 - a failed worker: the main process computes
                self._handed[kind] = {}
        return self._handed[kind]

    def built(self, board: Board) -> None:
        """Start drawing a finished board's figures (its rows stay here: the figures draw the collection and frame)."""
        if self._painters is None or not board.collection.rows or figures_kept(board):
            return  # kept figures are copied by the main process: cheaper than handing the board over
        try:
            self._drawing[board.key] = self._painters.submit(_draw, replace(board, rows=[], problems=[]), self._drawn)
        except Exception:  # noqa: BLE001 - drawn by the main process in ``draw_figures``
            pass

    def draw_figures(self, boards: list[Board], folder: Path) -> Callable[[], dict[str, list[Figure]]]:
        """A call that gives every board's figures in ``folder``: the workers', else drawn by the main process."""
        def collect() -> dict[str, list[Figure]]:
            figures = {board.key: self._figures_of(board, folder) for board in boards}
            if self._painters is not None:
                self._painters.shutdown(wait=False, cancel_futures=True)
                shutil.rmtree(self._drawn, ignore_errors=True)
            return figures
        return collect

    def _figures_of(self, board: Board, folder: Path) -> list[Figure]:
        """A worker's figures of the board, moved into ``folder``, with the problems it noted; else drawn here."""
        future = self._drawing.get(board.key)
        try:
            drawn, problems = future.result() if future else (None, [])
        except Exception:  # noqa: BLE001 - a failed worker: drawn here
            drawn = None
        if drawn is None:
            return draw_figures(board, folder)
        board.problems.extend(problems)
        return [replace(figure, path=Path(shutil.move(figure.path, folder / figure.path.name))) for figure in drawn]
