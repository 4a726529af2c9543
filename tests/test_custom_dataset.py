"""The ``custom`` dataset format: a round trip through CSV and JSON lines, groups, and its error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from ltbench.data.custom import custom
from ltbench.data.image_cache import CachedImages
from ltbench.errors import LtbenchError

CLASSES = ["cat", "dog", "potted plant", "zebra"]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cat in 100 training rows (head), dog in 20 (medium), potted plant in 1 (tail), zebra in none.

    The test split has positives of dog and zebra only.
    """
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "my data"
    (root / "img").mkdir(parents=True)
    red = [f"a{k:02d}.jpg" for k in range(99)]
    for name, color in (*((n, (255, 0, 0)) for n in red), ("b.jpg", (0, 255, 0)), ("c.jpg", (0, 0, 255)),
                        ("test_b.jpg", (0, 255, 0)), ("test_c.jpg", (0, 0, 255))):
        Image.new("RGB", (32, 24), color).save(root / "img" / name, quality=95)
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n\n")
    rows = ["image,labels", "img/c.jpg,potted plant| cat", "img/b.jpg,"]
    rows += [f"img/{n},cat|dog" for n in red[:20]] + [f"img/{n},cat" for n in red[20:]]
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    test = [{"image": "img/test_b.jpg", "labels": ["zebra", "dog"]}, {"image": "img/test_c.jpg", "labels": []}]
    (root / "test.jsonl").write_text("\n".join(json.dumps(r) for r in test) + "\n\n")
    return root


def targets(*names: str) -> list[int]:
    return [int(c in names) for c in CLASSES]


def test_round_trip(folder: Path) -> None:
    ds = custom(root=str(folder))
    assert ds.class_names == CLASSES and len(ds.train) == 101 and len(ds.test) == 2
    first_rows = [targets("potted plant", "cat"), targets(), targets("cat", "dog")]
    np.testing.assert_array_equal(ds.train.targets[:3], first_rows)
    np.testing.assert_array_equal(ds.class_freq, [100, 20, 1, 0])
    assert {k: v.tolist() for k, v in ds.groups.items()} == {"head": [0], "medium": [1], "tail": [2, 3]}
    assert list(ds.test.ids) == ["img/test_b.jpg", "img/test_c.jpg"]
    np.testing.assert_array_equal(ds.test.targets, [targets("zebra", "dog"), targets()])
    np.testing.assert_allclose(ds.test.images[0].reshape(-1, 3).mean(0), (0, 255, 0), atol=4)
    assert ds.meta["root"] == str(folder)


def test_cache(folder: Path) -> None:
    ds = custom(root=str(folder), cache_size=8)
    assert isinstance(ds.train.images, CachedImages) and "my data" in ds.train.images.path.name
    assert ds.train.images[0].shape == (8, 8, 3)
    np.testing.assert_allclose(ds.train.images[0].reshape(-1, 3).mean(0), (0, 0, 255), atol=4)


def error_for(folder: Path) -> str:
    with pytest.raises(LtbenchError) as error:
        custom(root=str(folder))
    return str(error.value)


def test_unknown_label_names_file_and_line(folder: Path) -> None:
    lines = (folder / "train.csv").read_text().splitlines()
    lines[3] = "img/a01.jpg,cat|dgo"
    (folder / "train.csv").write_text("\n".join(lines))
    assert error_for(folder) == f"{folder / 'train.csv'} line 4: unknown label 'dgo' (not in classes.txt)."


def test_missing_image_names_file_and_line(folder: Path) -> None:
    (folder / "test.jsonl").write_text('{"image": "img/test_b.jpg", "labels": []}\n\n'
                                       '{"image": "img/x.jpg", "labels": []}\n')
    assert error_for(folder) == f"{folder / 'test.jsonl'} line 3: image 'img/x.jpg' not found in {folder}."


@pytest.mark.parametrize("change, message", [
    (lambda f: (f / "train.jsonl").write_text(""), r"must hold one of train.csv or train.jsonl, it holds both"),
    (lambda f: (f / "test.jsonl").unlink(), r"must hold one of test.csv or test.jsonl, it holds neither"),
    (lambda f: (f / "classes.txt").unlink(), r"No classes.txt in .*; pass dataset.root="),
    (lambda f: (f / "classes.txt").write_text("cat\ndog\ncat\n"), r"classes.txt line 3: class 'cat' is listed twice"),
    (lambda f: (f / "train.csv").write_text("path,tags\nimg/a.jpg,cat\n"), r"train.csv line 1: the header must be"),
    (lambda f: (f / "train.csv").write_text("image,labels\n"), r"train.csv lists no images"),
    (lambda f: (f / "test.jsonl").write_text('{"image": "img/a.jpg"}\n'), r"test.jsonl line 1: expected \{"),
    (lambda f: (f / "test.jsonl").write_text("not json\n"), r"test.jsonl line 1: not valid JSON"),
])
def test_format_errors(folder: Path, change: Callable[[Path], object], message: str) -> None:
    change(folder)
    assert re.search(message, error_for(folder))


def test_root_is_required() -> None:
    with pytest.raises(LtbenchError, match=r"needs its folder: pass dataset.root="):
        custom()


def test_byte_order_marks_are_accepted(folder: Path) -> None:
    """Spreadsheet programs save UTF-8 with a BOM; the header and class names must still be read."""
    for name in ("train.csv", "classes.txt", "test.jsonl"):
        (folder / name).write_text((folder / name).read_text(), encoding="utf-8-sig")
    ds = custom(root=str(folder))
    assert ds.class_names == CLASSES and len(ds.train) == 101 and len(ds.test) == 2


def test_an_image_listed_twice_is_refused_naming_both_lines(folder: Path) -> None:
    with (folder / "train.csv").open("a") as handle:
        handle.write("./img/b.jpg,dog\n")
    assert error_for(folder) == (f"{folder / 'train.csv'} line 103: image './img/b.jpg' is listed twice (also line 3); "
                                 "give each image one line with all its labels.")


def test_an_image_in_both_splits_is_refused(folder: Path) -> None:
    (folder / "test.jsonl").write_text('{"image": "img/test_b.jpg", "labels": ["dog"]}\n'
                                       '{"image": "img/a05.jpg", "labels": ["cat"]}\n')
    assert error_for(folder) == (f"1 images are in both train and test (e.g. 'img/a05.jpg'); a test image must not "
                                 f"be trained on, so remove it from one of the lists in {folder}.")


def test_classes_missing_from_a_split_are_warned_about(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    custom(root=str(folder))
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == [
        f"warning: 1 classes of {folder} have no training image: zebra.",
        f"warning: 2 classes of {folder} have no positive test image, so no AP, and are left out of every mAP: "
        "cat, potted plant.",
    ]
