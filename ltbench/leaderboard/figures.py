"""A board's figures as SVG: the report figures of ``ltbench plot``, drawn by the same functions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ltbench.leaderboard.boards import Board
from ltbench.leaderboard.cache import cached_file, is_kept

FORMAT = "svg"
# text as <text> in the browser's fonts (not glyph paths: smaller files, faster to write); fixed element ids
SVG_SETTINGS = {"svg.fonttype": "none", "svg.hashsalt": "ltbench"}


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    path: Path


NAMES = ("intervals", "class_ap", "ap_vs_frequency")


def figures_kept(board: Board) -> bool:
    """Whether the cache holds every figure of the board, so that drawing it only copies files."""
    data = figure_data(board)
    return all(is_kept("figures", [name, data], f".{FORMAT}") for name in NAMES)


def draw_figures(board: Board, folder: Path) -> list[Figure]:
    """Intervals, per-class AP heatmap and AP vs frequency of the board's runs; none for published-only boards.

    A board with more rows than the figures have distinct looks (``styles.style``)
    gets no figures, which its problems say.
    """
    from ltbench import reports  # its plotting modules load on first use: kept figures need no matplotlib.pyplot

    if not board.collection.rows:
        return []
    stem = folder / board.key
    plots = zip(NAMES, (
        ("Each row's mean over seeds and its 95% interval over seeds and test images, per group.",
         lambda s: reports.plot_intervals(board.collection, s, board.frame, formats=(FORMAT,))),
        ("Per-class AP (mean over seeds); classes by training frequency, head | medium | tail.",
         lambda s: reports.plot_class_heatmap(board.collection, s, formats=(FORMAT,))),
        ("Per-class AP against training images per class (log); bars: min to max over seeds.",
         lambda s: reports.plot_ap_vs_frequency(board.collection, s, formats=(FORMAT,))),
    ))
    data = figure_data(board)
    drawn = []
    for name, (caption, plot) in plots:
        def make(target: Path, plot=plot) -> None:
            from matplotlib import rc_context

            with rc_context(SVG_SETTINGS):
                plot(str(target.with_suffix("")))
        try:
            path = cached_file("figures", [name, data], Path(f"{stem}_{name}.{FORMAT}"), make)
        except ValueError as exc:  # more rows than distinct looks
            board.problems.append(f"no {name} figure: {exc}")
            continue
        drawn.append(Figure(name, caption, path))
    return drawn


def figure_data(board: Board) -> list:
    """Everything the figures draw: the table's numbers, and each row's runs with their per-class AP."""
    frame = board.frame.to_csv(index=False) if board.frame is not None else ""
    runs = [[dataset, label, board.collection.smoke(dataset, label),
             [[str(run.path), run.metrics["per_class_ap"], run.metrics["class_freq"], run.metrics.get("class_names"),
               run.metrics.get("groups")] for run in runs]]
            for (dataset, label), runs in board.collection.rows.items()]
    return [matplotlib_version(), SVG_SETTINGS, frame, board.collection.labels, runs]


def matplotlib_version() -> str:
    import matplotlib

    return matplotlib.__version__
