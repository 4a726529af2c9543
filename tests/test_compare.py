"""``ltbench compare``: config diff and metric diff of two run directories, checked against hand-worked values."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltbench.cli import main
from ltbench.reports.compare import compare_runs, read_finished
from run_dirs import make_run

A_AP = [10.0, 20.0, 30.0, 40.0, 50.0]
B_AP = [12.5, 20.0, 27.0, 40.0, 55.5]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    a = make_run(tmp_path, "a", "voc_lt", "erm", 1, (70.0, 80.0, 60.0, 50.0), per_class_ap=A_AP,
                 config={"train": {"epochs": 3}})
    b = make_run(tmp_path, "b", "voc_lt", "erm", 2, (72.5, 79.0, 63.25, 50.0), per_class_ap=B_AP,
                 config={"train": {"epochs": 5}, "loss": {"name": "asl", "gamma_neg": 4}})
    return a, b


def words(text: str) -> list[str]:
    """Each line with its runs of spaces collapsed, so the test reads the columns, not the padding."""
    return [" ".join(line.split()) for line in text.splitlines()]


def test_compare_prints_config_and_metric_differences(pair: tuple[Path, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    a, b = pair
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


def test_a_run_against_itself_has_no_differences(pair: tuple[Path, Path]) -> None:
    run = read_finished(pair[0])
    comparison = compare_runs(run, run)
    assert comparison.config == []
    assert all(c.old == c.new for c in comparison.metrics + comparison.classes)
    # the same test scores on both sides: every paired difference is 0 and neither side beats the other
    for difference in comparison.differences:
        assert difference.delta == 0.0 and difference.interval.contains(0.0) and not difference.significant
        assert difference.improvement == 0.5


def test_other_classes_and_missing_ap_are_shown_not_computed(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    coco = make_run(tmp_path, "coco", "coco_lt", "erm", 1, (40.0, 48.0, 45.0, 25.0))
    (tmp_path / "coco" / "metrics.json").write_text(
        (tmp_path / "coco" / "metrics.json").read_text().replace('"c0"', '"person"'))
    assert compare_runs(read_finished(pair[0]), read_finished(coco)).classes is None
    no_positive = make_run(tmp_path, "none", "voc_lt", "erm", 1, (70.0, 80.0, 60.0, 50.0),
                           per_class_ap=[None, 20.0, 30.0, 40.0, 50.0])
    first = compare_runs(read_finished(pair[0]), read_finished(no_positive)).classes[0]
    assert (first.old, first.new) == (10.0, None)


def test_unfinished_or_missing_runs_are_one_sentence(tmp_path: Path, pair: tuple[Path, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    running = make_run(tmp_path, "running", "voc_lt", "erm", 3, (1.0, 1.0, 1.0, 1.0), status="running")
    assert main(["compare", str(pair[0]), str(running)]) == 2
    assert capsys.readouterr().err.strip() == (f"ltbench: error: Run {running} has not finished (status 'running'); "
                                               f"finish it or pass another run directory.")
    assert main(["compare", str(pair[0]), str(tmp_path / "gone")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("gone is not a run directory; pass two run directories, or two row labels with --suite or "
                        "--runs.") and "\n" not in err
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(pair[0]), str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ltbench: error: Cannot compare") and "missing config.yaml" in err and "\n" not in err
