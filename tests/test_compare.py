"""``ltbench compare``: config diff and metric diff of two run directories, checked against hand-worked values."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import COMPARED_AP
from ltbench.cli import main
from ltbench.reports.compare import compare_runs, read_finished
from run_dirs import make_run

A_AP, B_AP = COMPARED_AP


def words(text: str) -> list[str]:
    """Each line with its runs of spaces collapsed, so the test reads the columns, not the padding."""
    return [" ".join(line.split()) for line in text.splitlines()]


def test_compare_prints_config_and_metric_differences(compared_runs: tuple[Path, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    a, b = compared_runs
    assert main(["compare", str(a), str(b)]) == 0
    lines = words(capsys.readouterr().out)
    config = lines[lines.index("config (A -> B):") + 1:lines.index("mAP (%) A B B − A") - 1]
    assert config == ["loss.gamma_neg: – -> 4", "loss.name: null -> asl", "seed: 1 -> 2", "train.epochs: 3 -> 5"]
    start = lines.index("mAP (%) A B B − A") + 1
    assert lines[start:start + 4] == ["total 70.00 72.50 +2.50", "head 80.00 79.00 -1.00",
                                      "medium 60.00 63.25 +3.25", "tail 50.00 50.00 +0.00"]
    start = lines.index("mAP (%) B − A 95% interval P(B > A)") + 1
    assert [line.split()[0] for line in lines[start:start + 4]] == ["total", "head", "medium", "tail"]
    assert all(line.endswith(("significant", "within noise")) for line in lines[start:start + 4])
    start = lines.index("AP (%) group A B B − A") + 1
    assert lines[start:] == ["c0 head 10.00 12.50 +2.50", "c1 medium 20.00 20.00 +0.00",
                             "c2 medium 30.00 27.00 -3.00", "c3 tail 40.00 40.00 +0.00", "c4 tail 50.00 55.50 +5.50"]


def test_a_run_against_itself_has_no_differences(compared_runs: tuple[Path, Path]) -> None:
    run = read_finished(compared_runs[0])
    comparison = compare_runs(run, run)
    assert comparison.config == []
    assert all(c.old == c.new for c in comparison.metrics + comparison.classes)
    # the same test scores on both sides: every paired difference is 0 and neither side beats the other
    for difference in comparison.differences:
        assert difference.delta == 0.0 and difference.interval.contains(0.0) and not difference.significant
        assert difference.improvement == 0.5


def test_other_classes_and_missing_ap_are_shown_not_computed(tmp_path: Path, compared_runs: tuple[Path, Path]) -> None:
    coco = make_run(tmp_path, "coco", "coco_lt", "erm", 1, (40.0, 48.0, 45.0, 25.0))
    (tmp_path / "coco" / "metrics.json").write_text(
        (tmp_path / "coco" / "metrics.json").read_text().replace('"c0"', '"person"'))
    assert compare_runs(read_finished(compared_runs[0]), read_finished(coco)).classes is None
    no_positive = make_run(tmp_path, "none", "voc_lt", "erm", 1, (70.0, 80.0, 60.0, 50.0),
                           per_class_ap=[None, 20.0, 30.0, 40.0, 50.0])
    first = compare_runs(read_finished(compared_runs[0]), read_finished(no_positive)).classes[0]
    assert (first.old, first.new) == (10.0, None)
