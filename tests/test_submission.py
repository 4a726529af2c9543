"""The submission format: export then ``eval --scores`` reproduces a run's per-class AP exactly; every
malformed file is refused with one sentence naming what differs, exit 2, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ltbench.cli import main
from ltbench.evaluation import evaluate
from ltbench.fileio.atomic import finite
from ltbench.metrics import evaluate_metrics
from ltbench.metrics.scored import Scored
from ltbench.reports import build_table, collect_runs
from ltbench.reports.reference import METRICS
from ltbench.runs.run_dir import RunDir
from ltbench.submissions.format import ENTRIES, read_submission
from ltbench.submissions.record import score_file
from ltbench.submissions.split import load_eval_split, split_digest

RESULTS = Path(__file__).resolve().parent.parent / "results" / "mnist_lt"


def table1_run(row: int = 0, seed_index: int = 0) -> Path:
    """A committed run of the table1 suite, as its manifest lists it (not a hard-coded directory name)."""
    manifest = json.loads((RESULTS / "suites" / "table1_mnist_lt.json").read_text())
    return RESULTS / manifest["rows"][row]["run_dirs"][seed_index]


@pytest.fixture(scope="module")
def split():
    return load_eval_split("mnist_lt")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "erm.npz"
    assert main(["export", str(table1_run()), "--out", str(out)]) == 0
    return out


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


@pytest.mark.slow
def test_round_trip_reproduces_per_class_ap_exactly(exported: Path, results: Path, capsys) -> None:
    run = RunDir(table1_run())
    metrics = run.metrics()
    assert main(["eval", "--scores", str(exported), "--dataset", "mnist_lt"]) == 0
    printed = capsys.readouterr().out
    assert f"{metrics['map']['total']:6.2f}" in printed
    [recorded] = (results / "submissions" / "mnist_lt").iterdir()
    again = RunDir(recorded).metrics()
    assert again["per_class_ap"] == metrics["per_class_ap"]  # float for float, not approximately
    assert again["map"] == metrics["map"]
    scores, targets, score = run.scores()
    assert again["per_class_ap"] == evaluate(scores, targets, {})["per_class_ap"]
    assert again["submission"]["checkpoint"] == "last" and again["submission"]["method"] == metrics["label"]
    scored = Scored(scores, targets, metrics["groups"], score)
    assert again["metrics"] == finite(evaluate_metrics(scored))  # every other metric (NaN stored as null)


def test_image_order_does_not_matter(exported: Path, tmp_path: Path) -> None:
    arrays = dict(np.load(exported))
    order = np.random.default_rng(0).permutation(len(arrays["image_ids"]))
    arrays["image_ids"], arrays["scores"] = arrays["image_ids"][order], arrays["scores"][order]
    shuffled = tmp_path / "shuffled.npz"
    np.savez(shuffled, **arrays)
    assert score_file(shuffled, "mnist_lt").metrics["per_class_ap"] == \
        score_file(exported, "mnist_lt").metrics["per_class_ap"]


@pytest.mark.slow
def test_printed_interval_is_the_tables_interval(exported: Path, results: Path) -> None:
    scored = score_file(exported, "mnist_lt")
    assert main(["eval", "--scores", str(exported), "--dataset", "mnist_lt"]) == 0
    frame = build_table(collect_runs(results / "submissions"))
    row = frame.iloc[0]
    for metric in METRICS:
        assert (row[f"{metric}_low"], row[f"{metric}_high"]) == pytest.approx(scored.intervals[metric], abs=1e-9)
        assert row[f"{metric}_low"] <= row[f"{metric}_mean"] <= row[f"{metric}_high"]


def _edit(arrays: dict, split, case: str) -> None:
    """Break a valid file's arrays the way ``case`` says."""
    ids, scores = list(arrays["image_ids"]), arrays["scores"]
    if case == "unknown id":
        ids[5] = "test_99999"
    elif case == "missing id":
        ids, scores = ids[:-2], scores[:-2]
    elif case == "repeated id":
        ids[1] = ids[0]
    elif case == "class order":
        names = list(arrays["class_names"])
        names[2], names[3] = names[3], names[2]
        arrays["class_names"] = np.array(names)
    elif case == "other classes":
        arrays["class_names"] = np.array([*arrays["class_names"][:-1], "ten"])
    elif case == "split version":
        other = split.targets.copy()
        other[0] = 1 - other[0]
        arrays["split_digest"] = np.array(split_digest("mnist_lt", split.class_names, split.image_ids, other))
    elif case == "nan":
        scores = scores.copy()
        scores[7, 3] = np.nan
    elif case == "shape":
        scores = scores[:, :-1]
    elif case == "dtype":
        scores = (scores > 0).astype(np.int64)
    elif case == "float16":
        scores = scores.astype(np.float16)
    elif case == "dataset":
        arrays["dataset"] = np.array("voc_lt")
    elif case == "entry":
        del arrays["split_digest"]
    elif case == "checkpoint":
        arrays["metadata"] = np.array(json.dumps({"method": "X", "checkpoint": "best"}))
    elif case == "metadata":
        arrays["metadata"] = np.array("{method: X}")
    elif case == "probabilities":  # logits said to be probabilities (no score: the default, sigmoid)
        arrays["metadata"] = np.array(json.dumps({"method": "X", "checkpoint": "last"}))
    if "image_ids" in arrays:
        arrays["image_ids"], arrays["scores"] = np.array(ids), scores


BAD = {  # case -> words the sentence must hold
    "unknown id": ["has 1 image id not in mnist_lt's test split", "'test_99999'"],
    "missing id": ["lacks scores for 2 of the 1,000 test images", "'test_00998'"],
    "repeated id": ["lists 1 image id more than once", "'test_00000'"],
    "class order": ["another order", "position 2", "'three' where the split has 'two'"],
    "other classes": ["'ten'", "lacks 1 of its classes ('nine')"],
    "split version": ["another version of mnist_lt's test split"],
    "nan": ["NaN or infinite for 1 image (the first is 'test_00007')"],
    "shape": ["shape (1000, 9)", "1000 image ids and 10 classes"],
    "dtype": ["int64", "float32 or float64"],
    "float16": ["float16"],
    "dataset": ["dataset 'voc_lt', not 'mnist_lt'"],
    "entry": ["lacks the submission entries split_digest"],
    "checkpoint": ["checkpoint must be one of last, validation, test, not 'best'"],
    "metadata": ["metadata is not JSON"],
    "probabilities": ["outside [0, 1]", "not probabilities", "score to logit"],
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_file_is_one_sentence_exit_2_nothing_written(case: str, exported: Path, split, tmp_path: Path,
                                                               results: Path, capsys) -> None:
    arrays = dict(np.load(exported))
    _edit(arrays, split, case)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    assert main(["eval", "--scores", str(bad), "--dataset", "mnist_lt"]) == 2
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert captured.out == "" and len(message.splitlines()) == 1 and message.endswith(".")
    assert message.startswith(f"ltbench: error: {bad}")
    for words in BAD[case]:
        assert words in message
    assert not results.exists()


def test_not_a_submission_file(tmp_path: Path, results: Path, capsys) -> None:
    bad = tmp_path / "scores.json"
    bad.write_text("{}")
    assert main(["eval", "--scores", str(bad), "--dataset", "mnist_lt"]) == 2
    assert "is not a submission file" in capsys.readouterr().err
    assert not results.exists()


def test_exported_file_holds_the_documented_entries(exported: Path, split) -> None:
    with np.load(exported, allow_pickle=False) as saved:
        assert sorted(saved.files) == sorted(ENTRIES)
    submission = read_submission(exported)
    assert submission.image_ids == split.image_ids and submission.class_names == split.class_names
    assert submission.split_digest == split.digest and submission.scores.dtype == np.float32
    assert submission.metadata["ltbench"]["run"] == table1_run().name
