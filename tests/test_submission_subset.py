"""Submissions on the ``labelled`` test subset (``dataset.test_images: labelled``, zsclip_lmpt's): the file names the
subset, its digest and image ids are the subset's, and a round trip keeps per-class AP. A file scored against the
other subset is refused in one sentence (tests/test_errors.py, its ``eval --scores`` section)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ltbench.cli import main
from ltbench.config.resolve import resolve_config
from ltbench.runs.run_dir import RunDir
from ltbench.submissions.format import read_submission
from ltbench.submissions.split import load_eval_split


def test_a_labelled_subset_run_round_trips(exported_labelled_submission: Path, labelled_run: Path,
                                           results_in_tmp: Path) -> None:
    submission = read_submission(exported_labelled_submission)
    labelled, full = load_eval_split("mnist_lt", test_images="labelled"), load_eval_split("mnist_lt")
    assert submission.test_images == "labelled" and submission.split_digest == labelled.digest != full.digest
    assert submission.image_ids == labelled.image_ids
    assert main(["eval", "--scores", str(exported_labelled_submission), "--dataset", "mnist_lt"]) == 0
    [recorded] = (results_in_tmp / "submissions" / "mnist_lt").iterdir()
    assert RunDir(recorded).metrics()["per_class_ap"] == RunDir(labelled_run).metrics()["per_class_ap"]
    assert RunDir(recorded).config()["dataset"]["test_images"] == "labelled"


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
