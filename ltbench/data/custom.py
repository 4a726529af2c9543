"""``custom``: the user's own multi-label dataset in a small documented folder format.

    <folder>/classes.txt          one class name per line; line order = class index
    <folder>/train.csv|.jsonl     training images and their labels
    <folder>/test.csv|.jsonl      test images and their labels

CSV files have the header ``image,labels``: the image path relative to the
folder, then class names separated by ``|`` (empty for none). JSON-lines
files hold one ``{"image": ..., "labels": [...]}`` per line. Head / medium /
tail groups come from the training frequencies (``LTDataset.groups``).
Full description: datasets/custom/README.md.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from ltbench.data.base import LTDataset, Split
from ltbench.data.image_cache import images_meta, open_images
from ltbench.errors import LtbenchError
from ltbench.evaluation import classes_without_test_positives
from ltbench.progress import warn
from ltbench.registry import DATASETS

LIST_SUFFIXES = (".csv", ".jsonl")
LABEL_SEPARATOR = "|"
FORMAT_HINT = "see datasets/custom/README.md"

Row = tuple[int, str, list[str]]  # line number, image path, label names


@DATASETS.register("custom")
def custom(root: str | None = None, cache_size: int | None = None) -> LTDataset:
    """Your own dataset: a folder with classes.txt, train.csv and test.csv (see datasets/custom/README.md)."""
    if root is None:
        raise LtbenchError("The custom dataset needs its folder: pass dataset.root=<folder holding classes.txt, "
                           "train.csv and test.csv>.")
    folder = Path(root).expanduser()
    classes_file = folder / "classes.txt"
    if not classes_file.is_file():
        raise LtbenchError(f"No classes.txt in {folder}; pass dataset.root=<folder holding classes.txt, train.csv "
                           f"and test.csv> ({FORMAT_HINT}).")
    class_names = read_classes(classes_file)
    # Two custom folders must not share cache files, so the cache key names the folder.
    cache_key = f"custom-{folder.name}-{hashlib.sha256(os.path.abspath(folder).encode()).hexdigest()[:8]}"
    train = _read_split(folder, "train", class_names, cache_key, cache_size)
    test = _read_split(folder, "test", class_names, cache_key, cache_size)
    check_splits(folder, train, test, class_names)
    return LTDataset(
        name="custom", class_names=class_names, train=train, test=test,
        meta={"root": str(folder), "images": images_meta(train, test), "cache_size": cache_size,
              "source": f"custom dataset in {folder}"},
    )


def read_classes(path: Path) -> list[str]:
    """Class names in index order; blank lines are skipped, duplicates refused."""
    names: list[str] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if name in names:
            raise LtbenchError(f"{path} line {number}: class {name!r} is listed twice.")
        if name:
            names.append(name)
    if not names:
        raise LtbenchError(f"{path} lists no classes; write one class name per line ({FORMAT_HINT}).")
    return names


def _read_split(folder: Path, split: str, class_names: list[str], cache_key: str, cache_size: int | None) -> Split:
    list_file = _list_file(folder, split)
    index = {name: i for i, name in enumerate(class_names)}
    images: list[Path] = []
    ids: list[str] = []
    rows: list[np.ndarray] = []
    first_line: dict[str, int] = {}
    for number, image, labels in _rows(list_file):
        where = f"{list_file} line {number}"
        same = first_line.setdefault(_image_key(folder, image), number)
        if same != number:
            raise LtbenchError(f"{where}: image {image!r} is listed twice (also line {same}); give each image "
                               "one line with all its labels.")
        unknown = [label for label in labels if label not in index]
        if unknown:
            raise LtbenchError(f"{where}: unknown label {unknown[0]!r} (not in classes.txt).")
        if not image or not (folder / image).is_file():
            raise LtbenchError(f"{where}: image {image!r} not found in {folder}.")
        target = np.zeros(len(class_names), dtype=np.uint8)
        target[[index[label] for label in labels]] = 1
        images.append(folder / image)
        ids.append(image)
        rows.append(target)
    if not rows:
        raise LtbenchError(f"{list_file} lists no images ({FORMAT_HINT}).")
    return Split(open_images(images, cache_key, split, cache_size), np.stack(rows), ids)


def check_splits(folder: Path, train: Split, test: Split, class_names: list[str]) -> None:
    """Refuse an image in both splits (its test score would be memorised); warn of classes a split lacks.

    A class without training images stays (tail group, clamped counts in the
    losses); one without test positives has no AP and is left out of the mAP.
    """
    test_images = {_image_key(folder, image): image for image in test.ids}
    shared = [image for image in train.ids if _image_key(folder, image) in test_images]
    if shared:
        raise LtbenchError(f"{len(shared)} images are in both train and test (e.g. {shared[0]!r}); a test image "
                           f"must not be trained on, so remove it from one of the lists in {folder}.")
    untrained = [name for name, count in zip(class_names, train.targets.sum(axis=0)) if count == 0]
    if untrained:
        warn(f"{len(untrained)} classes of {folder} have no training image: {', '.join(untrained)}.")
    untested = classes_without_test_positives(test.targets, class_names)
    if untested:
        warn(f"{len(untested)} classes of {folder} have no positive test image, so no AP, and are left out of "
             f"every mAP: {', '.join(untested)}.")


def _image_key(folder: Path, image: str) -> str:
    """One spelling per image file, so that ``img/a.jpg`` and ``./img/a.jpg`` are seen as the same."""
    return os.path.normpath(folder / image)


def _list_file(folder: Path, split: str) -> Path:
    found = [folder / f"{split}{suffix}" for suffix in LIST_SUFFIXES if (folder / f"{split}{suffix}").is_file()]
    if len(found) != 1:
        problem = "neither" if not found else "both"
        raise LtbenchError(f"{folder} must hold one of {split}.csv or {split}.jsonl, it holds {problem} "
                           f"({FORMAT_HINT}).")
    return found[0]


def _rows(path: Path) -> Iterator[Row]:
    try:
        yield from _csv_rows(path) if path.suffix == ".csv" else _jsonl_rows(path)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _not_utf8(path: Path) -> LtbenchError:
    return LtbenchError(f"{path} is not UTF-8 text; save it as UTF-8 ({FORMAT_HINT}).")


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open(newline="", encoding="utf-8-sig") as handle:  # spreadsheets write a byte-order mark
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"image", "labels"} <= set(reader.fieldnames):
            raise LtbenchError(f"{path} line 1: the header must be 'image,labels' ({FORMAT_HINT}).")
        for record in reader:
            labels = (record["labels"] or "").split(LABEL_SEPARATOR)
            yield reader.line_num, (record["image"] or "").strip(), [label.strip() for label in labels if label.strip()]


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise LtbenchError(f"{path} line {number}: not valid JSON ({error.msg}).") from None
            if not isinstance(record, dict) or not isinstance(record.get("image"), str) \
                    or not isinstance(record.get("labels"), list):
                raise LtbenchError(f'{path} line {number}: expected {{"image": "<path>", "labels": [<names>]}}.')
            yield number, record["image"], [str(label) for label in record["labels"]]
