"""Write a VOC-format tree with VOC-LT's real training ids and label sets and synthetic JPEGs of VOC's sizes.

VOC itself is the user's (not shipped, not downloadable here), but the GPU path
(prepare -> image cache -> 448 px training -> evaluation on 4,952 images) must
be exercised and timed at the benchmark's real shape. The training split is the
split files' own: the 1,142 ids of ``voc_lt/img_id.txt`` with their label sets
(``class_freq.json`` ``gt_labels``), so ``ltbench prepare voc_lt`` accepts the
tree as the published VOC-LT. The test split has VOC2007's size (4,952 ids); its
label sets are borrowed from training images, class ``i % 20`` guaranteed in
image ``i`` (every class has ~250 test positives). Each image is a smooth random
colour field with one filled shape per positive class, in that class's colour,
so a model can learn the labels. Image sizes are drawn from VOC's common ones.

    python benchmarks/make_synthetic_voc.py /tmp/voc --splits "$LTBENCH_SPLITS"
    ltbench prepare voc_lt --root /tmp/voc --splits "$LTBENCH_SPLITS" --cache-size 448

where ``$LTBENCH_SPLITS`` is a split folder holding ``voc_lt/img_id.txt`` and
``voc_lt/class_freq.json`` (the label sets of the DB repository's ``class_freq.pkl``, as JSON).

``--scale 0.1`` writes images at a tenth of the size; ``--train N --test M``
writes only the first N training ids and M test ids, plus a split folder
``<root>/splits`` listing them (``prepare`` then refuses the tree, as it is not
the published benchmark; ``ltbench run`` reads it with ``dataset.splits=<root>/splits``).
"""

from __future__ import annotations

import argparse
import colorsys
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ltbench.data.split_files import CANONICAL, read_image_ids
from ltbench.data.voc import XML_NAMES

# VOC's most common image sizes (width, height) and roughly how often they occur
VOC_SIZES = ((500, 375), (375, 500), (500, 333), (333, 500), (500, 500))
SIZE_WEIGHTS = (0.45, 0.2, 0.2, 0.1, 0.05)
# one fully saturated hue per class, spread round the colour wheel
PALETTE = [tuple(int(255 * c) for c in colorsys.hsv_to_rgb(k / len(XML_NAMES), 1.0, 1.0)) for k in range(len(XML_NAMES))]


@dataclass
class SyntheticVoc:
    """What was written: the root to pass as ``dataset.root`` and the split folder as ``dataset.splits``."""

    root: Path
    splits: Path
    num_train: int
    num_test: int
    seconds: float


def published_train(splits: Path) -> tuple[list[str], np.ndarray]:
    """VOC-LT's training ids (file order) and their label sets from ``class_freq.json``."""
    ids, _ = read_image_ids(splits, "voc_lt")
    stored = json.loads((splits / "voc_lt" / "class_freq.json").read_text())
    labels = np.asarray(stored["gt_labels"], dtype=np.uint8)
    assert labels.shape == (len(ids), len(XML_NAMES)), "class_freq.json does not match img_id.txt"
    return ids, labels


def borrowed_test_labels(train_labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Row i: the label set of a random training image holding class ``i % 20``."""
    holders = [np.flatnonzero(train_labels[:, k]) for k in range(train_labels.shape[1])]
    rows = [train_labels[rng.choice(holders[i % len(holders)])] for i in range(count)]
    return np.stack(rows)


def draw_image(row: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> tuple[Image.Image, list]:
    """A smooth grey field (photo-like JPEG size) plus one saturated shape per positive class; returns boxes.

    The field is grey so that colour says which classes are present.
    """
    width, height = size
    coarse = rng.integers(60, 196, size=(4, 5, 1), dtype=np.uint8).repeat(3, axis=2)
    field = np.asarray(Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    image = Image.fromarray(np.clip(field + rng.normal(0, 6, field.shape), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes = []
    for k in np.flatnonzero(row):
        w, h = (int(side * rng.uniform(0.25, 0.5)) for side in size)
        x0, y0 = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        box = (x0, y0, x0 + w, y0 + h)
        (draw.ellipse if k % 2 else draw.rectangle)(box, fill=PALETTE[k])
        boxes.append((XML_NAMES[k], box))
    return image, boxes


def annotation_xml(image_id: str, size: tuple[int, int], boxes: list) -> str:
    """A VOC annotation with the fields VOC's own files carry (ltbench reads the object names)."""
    objects = "".join(
        f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>"
        f"<bndbox><xmin>{x0 + 1}</xmin><ymin>{y0 + 1}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
        for name, (x0, y0, x1, y1) in boxes)
    return (f"<annotation><folder>VOC</folder><filename>{image_id}.jpg</filename><size><width>{size[0]}</width>"
            f"<height>{size[1]}</height><depth>3</depth></size><segmented>0</segmented>{objects}</annotation>")


def write_year(year_dir: Path, ids: list[str], labels: np.ndarray, scale: float, rng: np.random.Generator) -> None:
    for folder in ("Annotations", "JPEGImages"):
        (year_dir / folder).mkdir(parents=True, exist_ok=True)
    for image_id, row in zip(ids, labels):
        full = VOC_SIZES[rng.choice(len(VOC_SIZES), p=SIZE_WEIGHTS)]
        size = (max(8, round(full[0] * scale)), max(8, round(full[1] * scale)))
        image, boxes = draw_image(row, size, rng)
        image.save(year_dir / "JPEGImages" / f"{image_id}.jpg", quality=90)
        (year_dir / "Annotations" / f"{image_id}.xml").write_text(annotation_xml(image_id, size, boxes))


def make_synthetic_voc(root: Path, splits: Path, scale: float = 1.0, num_train: int | None = None,
                       num_test: int | None = None, seed: int = 0) -> SyntheticVoc:
    """Write ``root/VOCdevkit/VOC2012`` (train) and ``VOC2007`` (test, with ``ImageSets/Main/test.txt``)."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    ids, labels = published_train(Path(splits))
    full_size = num_train is None and num_test is None
    num_train = len(ids) if num_train is None else num_train
    num_test = CANONICAL["voc_lt"].num_test if num_test is None else num_test
    test_ids = [f"{k:06d}" for k in range(1, num_test + 1)]
    devkit = Path(root) / "VOCdevkit"
    write_year(devkit / "VOC2012", ids[:num_train], labels[:num_train], scale, rng)
    write_year(devkit / "VOC2007", test_ids, borrowed_test_labels(labels, num_test, rng), scale, rng)
    (devkit / "VOC2007" / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    (devkit / "VOC2007" / "ImageSets" / "Main" / "test.txt").write_text("".join(f"{i}\n" for i in test_ids))
    if not full_size:  # the subset's own split file, so the reader finds every listed image
        splits = Path(root) / "splits"
        (splits / "voc_lt").mkdir(parents=True, exist_ok=True)
        (splits / "voc_lt" / "img_id.txt").write_text("".join(f"{i}\n" for i in ids[:num_train]))
    return SyntheticVoc(Path(root), Path(splits), num_train, num_test, time.perf_counter() - start)


def register_in_memory_voc_lt() -> str:
    """Register ``synthetic_voc_lt``: random images in memory with VOC-LT's classes and label frequencies.

    For timing the GPU step, where no files need be read; returns the dataset name.
    """
    from ltbench.data.arrays import ArrayImages
    from ltbench.data.base import LTDataset, Split
    from ltbench.data.voc import CLASS_NAMES
    from ltbench.registry import DATASETS

    def synthetic_voc_lt(num_train: int = 8, size: int = 448) -> LTDataset:
        """Random images with VOC-LT's classes and label frequencies (benchmarks only)."""
        rng = np.random.default_rng(0)
        freq = np.asarray(CANONICAL["voc_lt"].class_freq) / CANONICAL["voc_lt"].num_train
        targets = (rng.random((num_train, len(freq))) < freq).astype(np.uint8)
        images = ArrayImages(rng.integers(0, 256, (num_train, size, size, 3), dtype=np.uint8))
        ids = [str(i) for i in range(num_train)]
        return LTDataset("synthetic_voc_lt", list(CLASS_NAMES), Split(images, targets, ids),
                         Split(images, targets, ids))

    if "synthetic_voc_lt" not in DATASETS:
        DATASETS.register("synthetic_voc_lt")(synthetic_voc_lt)
    return "synthetic_voc_lt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder to write VOCdevkit/ into")
    parser.add_argument("--splits", type=Path, required=True, help="split-file folder holding voc_lt/")
    parser.add_argument("--scale", type=float, default=1.0, help="image size relative to VOC's (e.g. 0.1)")
    parser.add_argument("--train", type=int, help="only the first N training ids (writes <root>/splits)")
    parser.add_argument("--test", type=int, help="only M test images (writes <root>/splits)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    made = make_synthetic_voc(args.root, args.splits, args.scale, args.train, args.test, args.seed)
    print(f"wrote {made.num_train} train + {made.num_test} test images under {made.root} in {made.seconds:.1f} s")
    print(f"next: ltbench prepare voc_lt --root {made.root} --splits {made.splits} --cache-size 448")


if __name__ == "__main__":
    main()
