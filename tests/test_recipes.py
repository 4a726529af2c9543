"""Recipe cards: every published VOC-LT / COCO-LT row has one, every shipped preset agrees with its card
setting by setting (or differs for a stated reason), and docs/recipes.md is generated from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltbench.cli import main
from ltbench.errors import LtbenchError
from ltbench.recipes.cards import REQUIRED_SETTINGS, card_files, find_card, load_card, load_cards
from ltbench.recipes.check import DIFFERS, EQUAL, MISMATCH, STALE, compare, same
from ltbench.recipes.render import card_config
from ltbench.recipes.docs import DOCS_FILE, render_docs
from ltbench.reports.reference import REFERENCE_DATASETS, REFERENCE_DIR, load_reference

# Published rows whose cards another branch writes (the CPRFL and CLIP rows); each name leaves this set when
# its card lands, and a row listed here must not have a card yet, so the set cannot go stale.
PENDING_ROWS = {
    *(("table3", row) for row in ("+VSI +PI +RW",)),  # not a row of table3.csv (the same run as CPRFL-CLIP)
}

CARDS = card_files()


def published_rows() -> set[tuple[str, str, str]]:
    rows = set()
    for csv in sorted(REFERENCE_DIR.glob("*.csv")):
        reference = load_reference(csv.stem)
        rows |= {(reference.table, r.row, r.dataset) for r in reference.rows if r.dataset in REFERENCE_DATASETS}
    return rows


def carded_rows() -> dict[tuple[str, str, str], str]:
    return {(table, label, card.dataset): card.name for card in load_cards() for table, label in card.rows}


def test_every_published_row_has_a_card():
    carded = carded_rows()
    missing = sorted(row for row in published_rows() - set(carded) if row[:2] not in PENDING_ROWS)
    assert not missing, f"published rows without a recipe card: {missing}"
    stale = sorted(row for row in carded if row[:2] in PENDING_ROWS)
    assert not stale, f"rows carded but still listed in PENDING_ROWS: {stale}"


def test_every_card_row_is_a_published_row():
    unknown = sorted(set(carded_rows()) - published_rows())
    assert not unknown, f"cards name rows that the reference CSVs do not have: {unknown}"


@pytest.mark.parametrize("path", CARDS, ids=[f"{p.parent.name}/{p.stem}" for p in CARDS])
def test_shipped_preset_agrees_with_its_card(path):
    card = load_card(path)
    verdicts = compare(card, card_config(card))
    problems = [f"{v.setting.name}: {v.status}: {v.explanation}" for v in verdicts if not v.ok]
    assert not problems, "\n".join(problems)
    assert {v.setting.name for v in verdicts} >= set(REQUIRED_SETTINGS)


def test_a_changed_setting_without_a_reason_is_a_mismatch():
    card = find_card("db_focal", "voc_lt")
    verdicts = {v.setting.name: v for v in compare(card, card_config(card, ["train.sampler.reduce=2"]))}
    assert verdicts["sampler"].status == MISMATCH
    assert "train.sampler.reduce" in verdicts["sampler"].explanation
    assert verdicts["lr"].status == EQUAL


def _card(tmp_path: Path, settings: str) -> Path:
    folder = tmp_path / "voc_lt"
    folder.mkdir(exist_ok=True)
    lines = [f"  {name}: {{code: x, code_source: f.py:1, ltbench: y}}" for name in REQUIRED_SETTINGS]
    path = folder / "db_focal.yaml"
    path.write_text("repository: o/r@abc\nrows: ['table1: DB Focal']\nsettings:\n" + "\n".join(lines)
                    + "\n" + settings)
    return path


def test_a_reason_on_an_equal_setting_is_stale_and_a_real_difference_is_on_purpose(tmp_path):
    card = load_card(_card(tmp_path, "  lr: {code: '0.01', code_source: a.py:3, config: {train.optimizer.lr: 0.01}, "
                                     "differs: smaller batch}\n"
                                     "  epochs: {code: '8', code_source: a.py:4, config: {train.epochs: 8}, "
                                     "differs: none really}\n"))
    verdicts = {v.setting.name: v.status for v in compare(card, card_config(card))}
    assert verdicts["lr"] == DIFFERS      # ltbench's 0.02 against the card's 0.01, with a reason
    assert verdicts["epochs"] == STALE    # the preset has 8 epochs too: the reason is wrong


def test_a_card_without_a_required_setting_or_source_fails_in_one_sentence(tmp_path):
    path = _card(tmp_path, "")
    path.write_text(path.read_text().replace("  lr: {code: x, code_source: f.py:1, ltbench: y}\n", ""))
    with pytest.raises(LtbenchError, match="lacks settings: lr"):
        load_card(path)
    path = _card(tmp_path, "  lr: {code: '0.02', config: {train.optimizer.lr: 0.02}}\n")
    with pytest.raises(LtbenchError, match="code needs code_source"):
        load_card(path)


def test_a_setting_of_the_card_replaces_its_bases_entry_whole(tmp_path):
    base = _card(tmp_path, "  lr: {code: '0.02', code_source: a.py:3, config: {train.optimizer.lr: 0.02, "
                           "train.optimizer.momentum: 0.9}}\n")
    base.rename(tmp_path / "voc_lt" / "base.yaml")
    card = tmp_path / "voc_lt" / "erm.yaml"
    card.write_text("base: base.yaml\nrows: ['table1: ERM']\nsettings:\n"
                    "  lr: {paper: '0.1', paper_source: Sec. 4, config: {train.optimizer.lr: 0.1}}\n")
    lr = next(s for s in load_card(card).settings if s.name == "lr")
    assert lr.config == {"train.optimizer.lr": 0.1} and lr.code is None and lr.paper == "0.1"


def test_values_compare_as_config_values():
    assert same(4, 4.0) and same([5, 7], (5, 7)) and same(1 / 3, 0.3333333333333333)
    assert not same(0.3333, 1 / 3) and not same(True, 1) and not same(None, 0)


def test_recipe_command_shows_the_class_aware_sampler_with_its_source(capsys):
    assert main(["recipe", "db_focal", "voc_lt"]) == 0
    out = capsys.readouterr().out
    sampler = out[out.index("\nsampler ["):].split("\n\n")[0]
    assert "[equal]" in sampler and "train.sampler.name = class_aware" in sampler
    assert "train.sampler.reduce = 4" in sampler and "train.sampler.rng = python" in sampler
    assert "mllt/datasets/loader/sampler.py:228-267,272-274" in sampler
    assert "78.94 / 73.22 / 84.18 / 79.30" in out


def test_recipe_command_flags_a_mismatch_and_an_unknown_card(capsys):
    assert main(["recipe", "db_focal", "voc_lt", "--train.sampler.reduce", "2"]) == 1
    assert "sampler [MISMATCH]" in capsys.readouterr().out
    assert main(["recipe", "db_focal", "mnist_lt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ltbench: error: No recipe card for db_focal on mnist_lt") and len(err.splitlines()) == 1


def test_docs_recipes_md_is_generated_from_the_cards():
    assert DOCS_FILE.read_text() == render_docs(), "docs/recipes.md is stale: run python -m ltbench.recipes.docs"
