"""The leaderboard site: its rows are the tables' rows, every link resolves inside the folder, nothing external."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from leaderboard_sites import SUBMITTED, manifest_labels, results_with_submission
from ltbench.cli import main
from ltbench.errors import LtbenchError
from ltbench.leaderboard import checkpoints
from ltbench.leaderboard.boards import PAPER, SUBMISSION, Estimate, Row, build_boards
from ltbench.leaderboard.cards import card_page
from ltbench.leaderboard.figures import figure_data
from ltbench.leaderboard.site import write_site
from ltbench.recipes.cards import find_card, load_cards
from ltbench.recipes.check import compare
from ltbench.recipes.render import card_config
from ltbench.reports import build_table, collect_runs, load_reference
from ltbench.reports.reference import METRICS
from run_dirs import make_run


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("board")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LTBENCH_RESULTS", str(folder / "results"))
        return results_with_submission(folder)


@pytest.fixture(scope="module")
def boards(root: Path):
    return {board.key: board for board in build_boards(root)}


@pytest.fixture(scope="module")
def site(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    assert main(["leaderboard", "--results", str(root), "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_main_board_is_the_table_plus_the_submission(boards, root: Path) -> None:
    board = boards["table1-mnist_lt"]
    table = build_table(collect_runs(manifests=[root / "suites" / "table1_mnist_lt.json"]), load_reference("table1"))
    labels = manifest_labels()
    assert [row.label for row in board.rows] == [*labels, f"{SUBMITTED['method']} (submission)"]
    for row in board.rows[:-1]:
        expected = table[table["label"] == row.label].iloc[0]
        assert row.n == expected["n"] == 3 and row.checkpoint == checkpoints.LAST
        for metric in METRICS:
            value = row.values[metric]
            assert (value.mean, value.std, value.low, value.high) == pytest.approx(
                (expected[f"{metric}_mean"], expected[f"{metric}_std"], expected[f"{metric}_low"],
                 expected[f"{metric}_high"]))
    submitted = board.rows[-1]
    assert submitted.source == SUBMISSION and submitted.checkpoint == checkpoints.VALIDATION and submitted.n == 1
    assert submitted.values["total"].mean == pytest.approx(board.rows[0].runs[0].metrics["map"]["total"])
    assert submitted.metadata["paper"] == SUBMITTED["paper"]


@pytest.mark.slow
def test_published_rows_keep_the_csv_numbers_and_the_cards_checkpoint(boards) -> None:
    board = boards["table1-voc_lt"]
    reference = load_reference("table1")
    assert [row.label for row in board.rows] == [r.row for r in reference.rows if r.dataset == "voc_lt"]
    glove = next(row for row in board.rows if row.label == "CPRFL-GloVe")
    assert glove.source == PAPER and glove.values["total"].mean == 85.14
    assert glove.checkpoint == checkpoints.TEST  # the authors' code keeps the epoch of the best test mAP
    assert [card.name for card in glove.cards] == ["voc_lt/cprfl@table1_glove"]


def test_gap_and_interval_of_a_reproduction() -> None:
    row = Row("ERM", "ltbench", "erm", {m: Estimate(72.0, 0.5, 70.0, 74.0) for m in METRICS}, checkpoints.LAST,
              published={m: 70.86 for m in METRICS})
    assert row.gap("total") == pytest.approx(1.14) and row.within("total") is True
    row.published = {m: 69.0 for m in METRICS}
    assert row.within("head") is False
    assert Row("x", PAPER, "x", {m: Estimate(1.0) for m in METRICS}, "").within("total") is None


def test_runs_outside_manifests_are_their_own_board_beside_table1(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for seed in (1, 2):
        make_run(runs / "voc_lt", f"erm_s{seed}", "voc_lt", "erm", seed, (71.0 + seed, 70.0, 80.0, 65.0))
        make_run(runs / "voc_lt", f"zs_s{seed}", "voc_lt", "zsclip", seed, (30.0, 30.0, 30.0, 30.0),
                 provenance={"backbone": "clip: random init"})
    boards = {board.key: board for board in build_boards(tmp_path)}
    other = boards["other-voc_lt"]
    erm = next(row for row in other.rows if row.label == "ERM")
    assert erm.published["total"] == 70.86 and erm.gap("total") == pytest.approx(72.5 - 70.86)
    assert [card.name for card in erm.cards] == ["voc_lt/erm", "coco_lt/erm"]
    assert next(row for row in other.rows if row.label != "ERM").smoke
    assert all(row.source != PAPER for row in other.rows)  # the published rows are on Table 1's board


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.links += [value for name, value in attrs if name in ("href", "src") and value]


@pytest.mark.slow
def test_every_link_resolves_inside_the_site_and_nothing_is_fetched(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 50
    for page in pages:
        text = page.read_text()
        parser = Links()
        parser.feed(text)
        for link in parser.links:
            if link.startswith("data:"):
                continue
            if link.startswith(("http://", "https://")):
                assert link == SUBMITTED["code"], f"{page}: external link {link}"  # the submission's own code URL
                continue
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(site)}: broken link {link}"
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?:", text)
    figures = sorted(path.name for path in (site / "figures").iterdir())
    assert "table1-mnist_lt_intervals.svg" in figures and all(name.endswith(".svg") for name in figures)
    assert (site / "figures" / "table1-mnist_lt_class_ap.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.slow
def test_index_lists_every_method_of_the_main_board(site: Path) -> None:
    index = (site / "index.html").read_text()
    table = index[index.index('id="T_board-table1-mnist_lt"'):]
    table = table[:table.index("</table>")]
    for label in manifest_labels():
        assert f">{label}</a>" in table
    assert table.count("<tr") == len(manifest_labels()) + 2  # header, rows, the submission
    assert "Outside method (submission)" in table and 'class="sortable"' in index


@pytest.mark.slow
def test_a_folder_of_other_files_is_refused_and_an_old_site_replaced(tmp_path: Path, boards) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    with pytest.raises(LtbenchError, match="not an ltbench leaderboard"):
        write_site([], [], taken)
    assert (taken / "notes.txt").read_text() == "mine"
    out = tmp_path / "site"
    write_site([boards["table3-voc_lt"]], [], out)
    (out / "stale.html").write_text("old")
    write_site([boards["table3-voc_lt"]], [], out)
    assert not (out / "stale.html").exists() and (out / "boards" / "table3-voc_lt.html").is_file()


@pytest.mark.parametrize("text, choice", [
    ("best TEST mAP EMA checkpoint", checkpoints.TEST),
    ("the EMA model of the epoch with the best TEST mAP, evaluated every epoch after the 10th", checkpoints.TEST),
    ("the final model (epoch_8.pth, the only checkpoint saved)", checkpoints.LAST),
    ("best_valid_mAP.pt, saved whenever the TEST mAP improves, is what test.py evaluates", checkpoints.TEST),
    ("CLIP's weights as released: no training, no selection", checkpoints.NOT_TRAINED),
    ("the epoch with the best mAP on a held-out validation split", checkpoints.VALIDATION),
    ("not stated", checkpoints.UNKNOWN),
])
def test_checkpoint_choice_from_card_text(text: str, choice: str) -> None:
    assert checkpoints.of_text(text) == choice


def test_every_shipped_card_says_how_its_checkpoint_was_chosen() -> None:
    assert all(checkpoints.of_card(card) != checkpoints.UNKNOWN for card in load_cards())


def test_a_cached_card_config_gives_the_live_verdicts() -> None:
    for card in (find_card("erm", "voc_lt"), find_card("cprfl", "coco_lt", "cprfl_code")):
        live = [(v.setting.name, v.status) for v in compare(card, card_config(card))]
        for _ in range(2):  # computed, then read back from the cache
            assert [(v.setting.name, v.status) for v in card_page(card).verdicts] == live


@pytest.mark.slow
def test_figures_are_redrawn_when_a_number_changes(boards) -> None:
    board = boards["table1-mnist_lt"]
    changed = replace(board, frame=board.frame.assign(total_mean=board.frame["total_mean"] + 0.01))
    assert figure_data(board) == figure_data(replace(board)) != figure_data(changed)


@pytest.mark.slow
def test_rows_of_an_earlier_recipe_are_marked_as_the_table_marks_them(boards, root: Path, site: Path) -> None:
    for suite in ("table1", "table2", "table3"):
        table = build_table(collect_runs(manifests=[root / "suites" / f"{suite}_mnist_lt.json"]))
        flagged = dict(zip(table["label"], table["earlier_recipe"]))
        board = boards[f"{suite}-mnist_lt"]
        page = (site / "boards" / f"{board.key}.html").read_text()
        for row in board.rows:
            if row.source == SUBMISSION:
                continue
            assert row.earlier_recipe == flagged[row.label] == ("[earlier recipe]" in row.label)
            method_cell = page.split(f"rows/{board.key}/{row.slug}.html")[0].rsplit("<td", 1)[1]  # its <td ...>
            assert ("earlier" in method_cell) == row.earlier_recipe, method_cell


def test_a_row_whose_runs_differ_in_code_lists_each_code_on_its_own_line(tmp_path: Path) -> None:
    from ltbench.leaderboard.site import _code
    from ltbench.runs.run_dir import RunRecord

    codes = [{"version": "0.2.0", "commit": "c7024f35e7d0aa", "dirty": True},
             {"version": "0.2.0", "commit": "940a547ce819bb", "dirty": False},
             {"version": "0.2.0", "commit": "940a547ce819bb", "dirty": False}]
    runs = [RunRecord(tmp_path, {}, {"code": code}, []) for code in codes]
    row = Row("CPRFL", "ltbench", "cprfl", {m: Estimate(1.0) for m in METRICS}, checkpoints.LAST, runs=runs)
    assert str(_code(row)) == ('<span class="unbroken">0.2.0 @ c7024f35e7d0 (dirty)</span><br>'
                               '<span class="unbroken">0.2.0 @ 940a547ce819</span>')
