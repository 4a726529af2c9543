"""``coco_lt``: COCO-LT of Wu et al. (2020), read from the user's COCO 2017 download.

Train = the 1,909 train2017 images listed in the split file ``coco_lt/img_id.txt``;
test = all 5,000 val2017 images, those without annotations as all-zero rows.
A class is positive when the image has an annotation of it with area > 0 and
a bbox at least 1 px wide and high, crowd annotations included. Class order =
ascending ``category_id``. The JSON is parsed with the standard library.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ltbench.data.base import LTDataset, Split
from ltbench.data.image_cache import images_meta, open_images
from ltbench.data.image_files import require_files
from ltbench.data.split_files import read_image_ids, splits_dir
from ltbench.errors import LtbenchError
from ltbench.paths import data_root
from ltbench.registry import DATASETS

CATEGORY_IDS = (*range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70,
                *range(72, 83), *range(84, 91))
CLASS_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
)
ROOT_HINT = ("run ltbench download coco, pass dataset.root=<folder holding annotations/, train2017/ and val2017/> "
             "or set LTBENCH_DATA to the folder holding coco_lt/ (see datasets/coco_lt/README.md)")


@DATASETS.register("coco_lt")
def coco_lt(root: str | None = None, splits: str | None = None, cache_size: int | None = None) -> LTDataset:
    """COCO-LT (Wu et al. 2020): 1,909 long-tailed COCO2017 train images, all val2017 as test, 80 classes."""
    base = Path(root).expanduser() if root else data_root() / "coco_lt"
    if not (base / "annotations").is_dir():
        raise LtbenchError(f"The COCO root {base} has no annotations/ folder; {ROOT_HINT}.")
    train_ids, train_list = read_image_ids(splits_dir(splits, "coco_lt"), "coco_lt")
    if not all(image_id.isdigit() for image_id in train_ids):
        raise LtbenchError(f"The split file {train_list} must list integer COCO image ids; download it again.")
    train = _read_split(base, "train2017", [int(i) for i in train_ids], "train", cache_size)
    test = _read_split(base, "val2017", None, "test", cache_size)
    return LTDataset(
        name="coco_lt", class_names=list(CLASS_NAMES), train=train, test=test,
        meta={"root": str(base), "train_ids": str(train_list), "images": images_meta(train, test),
              "cache_size": cache_size,
              "source": "COCO 2017 train (subset of Wu et al. 2020) and all of val2017"},
    )


def _read_split(base: Path, subset: str, ids: list[int] | None, split: str, cache_size: int | None) -> Split:
    """One split from ``instances_<subset>.json``; ``ids=None`` takes every image, in ascending id order."""
    annotation_file = base / "annotations" / f"instances_{subset}.json"
    require_files([annotation_file], "COCO annotation", ROOT_HINT)
    instances = read_instances(annotation_file)
    file_names = {image["id"]: image["file_name"] for image in instances["images"]}
    if ids is None:
        ids = sorted(file_names)
    unknown = [image_id for image_id in ids if image_id not in file_names]
    if unknown:
        raise LtbenchError(f"{len(unknown)} ids of the coco_lt split file (e.g. {unknown[0]}) are not images of "
                           f"{annotation_file}; it must be the COCO 2017 annotation file.")
    targets = coco_targets(instances, ids, annotation_file)
    images = [base / subset / file_names[image_id] for image_id in ids]
    require_files(images, f"COCO {subset} image", ROOT_HINT)
    size = {image["id"]: (image.get("width"), image.get("height")) for image in instances["images"]}
    sizes = [size[image_id] for image_id in ids]
    known = split == "train" and all(isinstance(v, int) for pair in sizes for v in pair)  # the group sampler's
    return Split(open_images(images, "coco_lt", split, cache_size), targets, [str(i) for i in ids],
                 sizes if known else None)


def read_instances(path: Path) -> dict[str, Any]:
    """An ``instances_*.json`` checked down to the fields the reader uses; a damaged file is one sentence."""
    problem = "it must be the COCO 2017 annotation file; download it again"
    try:
        instances = json.loads(path.read_bytes())
    except ValueError as error:  # JSON or UTF-8 decoding: a truncated download ends mid-value
        raise LtbenchError(f"The COCO annotation file {path} is not valid JSON ({error}); {problem}.") from None
    if not _has_instance_fields(instances):
        raise LtbenchError(f"The COCO annotation file {path} lacks the fields of an instances file (images with "
                           f"id and file_name, categories, annotations with image_id, category_id, bbox and area); "
                           f"{problem}.")
    return instances


def _has_instance_fields(instances: Any) -> bool:
    try:
        categories = {category["id"] for category in instances["categories"]}
        images_ok = all(isinstance(image["id"], int) and isinstance(image["file_name"], str)
                        for image in instances["images"])
        return images_ok and all(
            isinstance(a["image_id"], int) and a["category_id"] in categories and len(a["bbox"]) == 4
            and all(isinstance(v, (int, float)) for v in (*a["bbox"], a["area"]))
            for a in instances["annotations"])
    except (KeyError, TypeError):
        return False


def coco_targets(instances: dict[str, Any], ids: Sequence[int], source: Path) -> np.ndarray:
    """``len(ids) x 80`` labels: area > 0, bbox w >= 1 and h >= 1, crowd included."""
    category_ids = sorted(category["id"] for category in instances["categories"])
    if tuple(category_ids) != CATEGORY_IDS:
        raise LtbenchError(f"{source} does not have the 80 COCO categories; it must be the COCO 2017 annotation file.")
    column = {category_id: index for index, category_id in enumerate(category_ids)}
    row = {image_id: index for index, image_id in enumerate(ids)}
    targets = np.zeros((len(ids), len(category_ids)), dtype=np.uint8)
    for annotation in instances["annotations"]:
        index = row.get(annotation["image_id"])
        _, _, width, height = annotation["bbox"]
        if index is not None and annotation["area"] > 0 and width >= 1 and height >= 1:
            targets[index, column[annotation["category_id"]]] = 1
    return targets
