"""Card citations against the authors' code: line numbers and quotes checked in a checkout; unquoted defaults
(defaults.yaml's, or values the preset inherits without setting them) refused."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from ltbench.recipes.cards import card_files, find_card, load_card
from ltbench.recipes.check import EQUAL, UNQUOTED, compare, lookup, ltbench_defaults, set_by_preset
from ltbench.recipes.citations import check_card, check_setting, citation_problems, citations
from ltbench.recipes.render import card_config


def test_citations_expand_ranges_lists_and_the_voc_coco_alternatives():
    found = citations("train.py:107-109; a/b.py:1,3-4; configs/{voc,coco}/x.py:85/87; DB issue 2 (answer)")
    assert [(c.path, c.lines) for c in found] == [
        ("train.py", (107, 108, 109)), ("a/b.py", (1, 3, 4)), ("configs/voc/x.py", (85,)), ("configs/coco/x.py", (87,))]


def test_quotes_and_line_numbers_are_checked_in_the_checkout(tmp_path):
    (tmp_path / "train.py").write_text("a = 1\nloader = DataLoader(data, shuffle=True,\n    batch_size=16)\n")
    setting = find_card("cprfl", "voc_lt", "cprfl_code").settings[0]
    good = replace(setting, name="s", code_source="train.py:2-3", quote="shuffle=True, batch_size=16")
    assert check_setting(good, tmp_path) == []  # a quote may run over the cited lines, whitespace aside
    assert check_setting(replace(good, code_source="train.py:1"), tmp_path) == [
        "s: the quote 'shuffle=True, batch_size=16' is not in the cited lines"]
    assert check_setting(replace(good, code_source="train.py:4"), tmp_path)[0] == "s: train.py has 3 lines, the card cites 4"
    assert check_setting(replace(good, code_source="nope.py:1"), tmp_path)[0] == "s: nope.py is not in the repository"


def test_a_checkout_at_another_commit_is_refused(tmp_path):
    (tmp_path / "COMMIT").write_text("0123456789abcdef\n")
    card = find_card("cprfl", "voc_lt", "cprfl_code")
    assert check_card(card, tmp_path) == ["the checkout is at 0123456789, the card cites 10b5b7c"]


def test_a_recorder_records_nothing_against_a_checkout_its_cards_do_not_hold_in(tmp_path):
    import subprocess
    import sys

    (tmp_path / "LMPT").mkdir()
    (tmp_path / "LMPT" / "COMMIT").write_text("0123456789abcdef\n")
    checked, problems = citation_problems("richard-peng-xia/LMPT", tmp_path / "LMPT")
    assert checked >= 4 and len(problems) == checked  # every LMPT card: one problem, the commit
    assert all(p.endswith("the checkout is at 0123456789, the card cites aab39ca") for p in problems)
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "benchmarks.lockstep.zsclip_lmpt", "--checkout", str(tmp_path / "LMPT"),
                           "--out", str(tmp_path / "out")], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo)})
    assert done.returncode == 2 and "nothing recorded" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_code_value_equal_to_ltbench_default_needs_a_quote():
    """sampler random is ltbench's default: the card must quote the authors' line, or the check refuses it."""
    card = find_card("cprfl", "voc_lt", "cprfl_code")
    sampler = next(s for s in card.settings if s.name == "sampler")
    assert sampler.quote == "shuffle=True"
    config = card_config(card)
    unquoted = replace(card, settings=(replace(sampler, quote=None),))
    (verdict,) = compare(unquoted, config)
    assert verdict.status == UNQUOTED and not verdict.ok and "defaults.yaml" in verdict.explanation
    assert compare(replace(card, settings=(sampler,)), config)[0].status == EQUAL


def test_a_code_value_the_preset_inherits_without_setting_it_needs_a_quote():
    """LMPT's lr 5e-4 comes from configs/clip_prompt_recipe.yaml (a base of the preset, not defaults.yaml, whose lr is
    1e-3) and n_ctx 16 from lmpt's own signature: written without a quote, each is refused as ltbench's own choice.
    The loss, whose mu and neg_scale configs/voc_lt/lmpt.yaml sets itself, needs none."""
    card = find_card("lmpt", "voc_lt")
    config = card_config(card)
    assert lookup(ltbench_defaults(), "train.optimizer.lr") != 5e-4
    assert {"loss.mu", "loss.neg_scale"} <= set_by_preset(card) and "train.optimizer.lr" not in set_by_preset(card)
    settings = {s.name: s for s in card.settings}
    for name in ("lr", "prompt"):
        assert settings[name].quote and compare(replace(card, settings=(settings[name],)), config)[0].status == EQUAL
        (verdict,) = compare(replace(card, settings=(replace(settings[name], quote=None),)), config)
        assert verdict.status == UNQUOTED and not verdict.ok and "inherited by the preset" in verdict.explanation
    assert settings["loss"].quote is None
    assert compare(replace(card, settings=(settings["loss"],)), config)[0].status == EQUAL


CHECKOUTS = os.environ.get("LTBENCH_AUTHORS_CHECKOUTS")  # a folder of owner+name clones at the cards' commits


@pytest.mark.parametrize("path", [p for p in card_files() if load_card(p).basis == "code"],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_card_citations_hold_in_the_authors_checkout(path: Path):
    card = load_card(path)
    if CHECKOUTS is None:
        pytest.skip("LTBENCH_AUTHORS_CHECKOUTS (a folder of owner+name clones of the authors' repositories) is not set")
    checkout = Path(CHECKOUTS) / card.repository.partition("@")[0].replace("/", "+")
    if not checkout.is_dir():
        pytest.skip(f"no clone of {card.repository} in {CHECKOUTS}")
    assert check_card(card, checkout) == []
