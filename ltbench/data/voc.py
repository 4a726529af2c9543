"""``voc_lt``: VOC-LT of Wu et al. (2020), read from the user's PASCAL VOC download.

Train = the 1,142 VOC2012 trainval images listed in the split file
``voc_lt/img_id.txt``; test = VOC2007 ``ImageSets/Main/test.txt`` (4,952
images). A class is positive when any ``<object>`` of the annotation has its
name, difficult objects included (the benchmark's rule, DB's code; ``difficult="positive"``).
``difficult="ignore"`` follows mmpretrain instead (open-mmlab/mmpretrain@ee7f2e8
``mmpretrain/datasets/voc.py:144-164`` and ``evaluation/metrics/voc_multi_label.py:52-64``):
a class present only through difficult objects is a negative in training and
ignored in evaluation (``label_values.IGNORED``: in no AP, no threshold metric).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ltbench.data.base import LTDataset, Split
from ltbench.data.image_cache import images_meta, open_images
from ltbench.data.image_files import require_files
from ltbench.data.label_values import IGNORED
from ltbench.data.split_files import read_image_ids, splits_dir
from ltbench.errors import LtbenchError, check_choice
from ltbench.paths import data_root
from ltbench.registry import DATASETS

# Names as written in the annotations, in the benchmark's class order.
XML_NAMES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
             "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
             "tvmonitor")
# Readable names for text prompts ("a photo of a potted plant.").
CLASS_NAMES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train",
               "tv monitor")
CLASS_INDEX = {name: index for index, name in enumerate(XML_NAMES)}
DIFFICULT = ("positive", "ignore")  # what a class seen only in difficult objects is
ROOT_HINT = ("run ltbench download voc, pass dataset.root=<folder holding VOCdevkit/> or set LTBENCH_DATA to the "
             "folder holding voc_lt/ (see datasets/voc_lt/README.md)")


@DATASETS.register("voc_lt")
def voc_lt(root: str | None = None, splits: str | None = None, cache_size: int | None = None,
           difficult: str = "positive") -> LTDataset:
    """VOC-LT (Wu et al. 2020): 1,142 long-tailed VOC2012 train images, VOC2007 test, 20 classes."""
    check_choice("dataset.difficult", difficult, DIFFICULT)
    base = Path(root).expanduser() if root else data_root() / "voc_lt"
    devkit = base / "VOCdevkit"
    for year in ("VOC2012", "VOC2007"):
        if not (devkit / year).is_dir():
            raise LtbenchError(f"The VOC root {base} has no VOCdevkit/{year} folder; {ROOT_HINT}.")
    split_folder = splits_dir(splits, "voc_lt")
    train_ids, train_list = read_image_ids(split_folder, "voc_lt")
    test_list = devkit / "VOC2007" / "ImageSets" / "Main" / "test.txt"
    require_files([test_list], "VOC2007 test list", ROOT_HINT)
    test_ids = test_list.read_text().split()
    train = _read_split(devkit / "VOC2012", train_ids, "train", cache_size, difficult)
    test = _read_split(devkit / "VOC2007", test_ids, "test", cache_size, difficult)
    return LTDataset(
        name="voc_lt", class_names=list(CLASS_NAMES), annotated_names=list(XML_NAMES), train=train, test=test,
        meta={"root": str(base), "train_ids": str(train_list), "test_ids": str(test_list),
              "images": images_meta(train, test), "cache_size": cache_size, "difficult": difficult,
              "source": "PASCAL VOC2012 trainval (train subset of Wu et al. 2020) and VOC2007 test"},
    )


def _read_split(year_dir: Path, ids: list[str], split: str, cache_size: int | None, difficult: str) -> Split:
    annotations = [year_dir / "Annotations" / f"{image_id}.xml" for image_id in ids]
    images = [year_dir / "JPEGImages" / f"{image_id}.jpg" for image_id in ids]
    require_files(annotations, f"{year_dir.name} annotation", ROOT_HINT)
    require_files(images, f"{year_dir.name} image", ROOT_HINT)
    targets = np.stack([voc_labels(path, difficult) for path in annotations])
    if split == "train":  # mmpretrain trains on the non-difficult labels: an ignored one is a negative there
        targets[targets == IGNORED] = 0
    sizes = [voc_size(path) for path in annotations] if split == "train" else []  # the group sampler's
    known = bool(sizes) and all(size is not None for size in sizes)
    return Split(open_images(images, "voc_lt", split, cache_size), targets, list(ids), sizes if known else None)


def voc_size(path: Path) -> tuple[int, int] | None:
    """An annotation's ``<size>`` (width, height), the original image's, which DB's reader takes for its aspect
    flag (mllt/datasets/xml_style.py:28-31 at 14460d0); None when the file has none."""
    root = ET.parse(path).getroot()
    try:
        return int(root.findtext("size/width", "")), int(root.findtext("size/height", ""))
    except ValueError:
        return None


def voc_labels(path: Path, difficult: str = "positive") -> np.ndarray:
    """Multi-hot labels of one annotation file: every ``<object>`` counts; with ``difficult="ignore"`` a class
    whose objects are all difficult is ``IGNORED`` instead of 1."""
    try:
        objects = [((obj.findtext("name") or "").strip(), (obj.findtext("difficult") or "0").strip() == "1")
                   for obj in ET.parse(path).getroot().iter("object")]
    except ET.ParseError as error:
        raise LtbenchError(f"The annotation {path} is not valid XML ({error}); download it again.") from None
    row = np.zeros(len(XML_NAMES), dtype=np.uint8)
    for name, is_difficult in sorted(objects, key=lambda item: not item[1]):  # difficult first: a plain one wins
        if name not in CLASS_INDEX:
            raise LtbenchError(f"The annotation {path} names an object {name!r} that is not a VOC class.")
        row[CLASS_INDEX[name]] = IGNORED if is_difficult and difficult == "ignore" else 1
    return row
