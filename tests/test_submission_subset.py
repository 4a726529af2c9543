"""Submissions on the ``labelled`` test subset (``dataset.test_images: labelled``, zsclip_lmpt's): the file names the
subset, its digest and image ids are the subset's, a round trip keeps per-class AP, and a file scored against the
other subset is refused in one sentence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from ltbench.cli import main
from ltbench.config.resolve import resolve_config
from ltbench.runs.run_dir import RunDir
from ltbench.submissions.format import TEST_IMAGES_ENTRY, read_submission
from ltbench.submissions.split import load_eval_split

RESULTS = Path(__file__).resolve().parent.parent / "results" / "mnist_lt"


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed Table 1 run, as a run of the labelled subset would leave it (every mnist_lt test image has a
    positive, so the subset holds the same images and the run's scores stay valid)."""
    manifest = json.loads((RESULTS / "suites" / "table1_mnist_lt.json").read_text())
    run = tmp_path_factory.mktemp("runs") / "erm_s1_labelled"
    shutil.copytree(RESULTS / manifest["rows"][0]["run_dirs"][0], run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["dataset"]["test_images"] = "labelled"
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    return run


@pytest.fixture(scope="module")
def exported(labelled_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "labelled.npz"
    assert main(["export", str(labelled_run), "--out", str(out)]) == 0
    return out


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def test_a_labelled_subset_run_round_trips(exported: Path, labelled_run: Path, results: Path) -> None:
    submission = read_submission(exported)
    labelled, full = load_eval_split("mnist_lt", test_images="labelled"), load_eval_split("mnist_lt")
    assert submission.test_images == "labelled" and submission.split_digest == labelled.digest != full.digest
    assert submission.image_ids == labelled.image_ids
    assert main(["eval", "--scores", str(exported), "--dataset", "mnist_lt"]) == 0
    [recorded] = (results / "submissions" / "mnist_lt").iterdir()
    assert RunDir(recorded).metrics()["per_class_ap"] == RunDir(labelled_run).metrics()["per_class_ap"]
    assert RunDir(recorded).config()["dataset"]["test_images"] == "labelled"


@pytest.mark.parametrize(("subset", "words"), [
    (None, "another version of mnist_lt's test split"),  # the entry dropped: scored as the full split
    ("some", "test_images must be one of all, labelled, not 'some'"),
])
def test_a_labelled_file_scored_as_another_subset_is_one_sentence(subset: str | None, words: str, exported: Path,
                                                                  tmp_path: Path, results: Path, capsys) -> None:
    arrays = dict(np.load(exported))
    arrays.pop(TEST_IMAGES_ENTRY)
    if subset is not None:
        arrays[TEST_IMAGES_ENTRY] = np.array(subset)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    assert main(["eval", "--scores", str(bad), "--dataset", "mnist_lt"]) == 2
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert captured.out == "" and len(message.splitlines()) == 1 and words in message
    assert not results.exists()


def test_the_labelled_subsets_image_ids_leave_the_unlabelled_images_out(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    (root / "img").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg", "t1.jpg", "t2.jpg"):
        Image.new("RGB", (16, 16), (200, 30, 30)).save(root / "img" / name)
    (root / "classes.txt").write_text("cat\ndog\n")
    (root / "train.csv").write_text("image,labels\nimg/a.jpg,cat\nimg/b.jpg,dog|cat\n")
    (root / "test.csv").write_text("image,labels\nimg/t1.jpg,dog\nimg/t2.jpg,\n")
    splits = {subset: load_eval_split("custom", resolve_config(
        dataset="custom", overrides=[f"dataset.root={root}", f"dataset.test_images={subset}"]))
        for subset in ("all", "labelled")}
    assert splits["all"].image_ids == ["img/t1.jpg", "img/t2.jpg"] and splits["labelled"].image_ids == ["img/t1.jpg"]
    assert splits["labelled"].digest != splits["all"].digest
