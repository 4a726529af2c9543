"""The dataset interface every loader (embedded, VOC-LT, COCO-LT, custom) returns."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol, Sequence

import numpy as np

from ltbench.data.groups import split_groups
from ltbench.data.label_values import positives
from ltbench.errors import check_choice

PROMPT_NAMES = ("readable", "annotation")


class ImageSource(Protocol):
    """Random access to a split's images as ``H x W x 3`` uint8 RGB arrays."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> np.ndarray: ...


@dataclass
class Split:
    """One split: its images, ``N x C`` multi-hot uint8 targets and image ids.

    ``sizes``: each original image's ``(width, height)`` as its annotations state it (VOC's XML, COCO's JSON),
    which the image cache does not keep; the training split's, for the group sampler's aspect flags; None where the
    reader has none.
    """

    images: ImageSource
    targets: np.ndarray
    ids: Sequence[str]
    sizes: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.targets = np.asarray(self.targets, dtype=np.uint8)
        if len(self.images) != len(self.targets) or len(self.ids) != len(self.targets):
            raise ValueError(
                f"split has {len(self.images)} images, {len(self.targets)} targets and {len(self.ids)} ids"
            )
        if self.sizes is not None:
            self.sizes = np.asarray(self.sizes, dtype=np.int64)
            if self.sizes.shape != (len(self.targets), 2):
                raise ValueError(f"split has {len(self.targets)} images but sizes of shape {self.sizes.shape}")

    def __len__(self) -> int:
        return len(self.targets)


@dataclass(frozen=True)
class ClassStats:
    """Training-set statistics that re-balancing losses and samplers need."""

    class_freq: np.ndarray  # training images containing each class
    num_train: int  # number of training images
    cooccurrence: np.ndarray | None = None  # C x C: training images with both i and j (i != j), zero diagonal


@dataclass
class LTDataset:
    """A long-tailed multi-label benchmark: class names, train and test splits."""

    name: str
    class_names: list[str]  # readable names, used for text prompts ("potted plant")
    train: Split
    test: Split
    meta: dict = field(default_factory=dict)  # provenance: root, split files, cache paths
    annotated_names: list[str] | None = None  # as the annotations write them ("pottedplant"); None: class_names

    def prompt_names(self, names: str, option: str = "text.names") -> list[str]:
        """Class names for text prompts: ``readable`` ("potted plant") or ``annotation`` ("pottedplant").

        The CLIP-era authors' code (CPRFL, LMPT, HP-DVAL) feeds VOC's annotation
        names to CLIP; readable names are ltbench's default. ``option`` names
        the setting in the error (``method.names`` for the CLIP methods).
        """
        check_choice(option, names, PROMPT_NAMES)
        return list(self.annotated_names or self.class_names) if names == "annotation" else list(self.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_freq(self) -> np.ndarray:
        return self.train.targets.sum(axis=0).astype(np.int64)

    @property
    def stats(self) -> ClassStats:
        return ClassStats(self.class_freq, len(self.train), cooccurrence_counts(self.train.targets))

    @property
    def groups(self) -> dict[str, np.ndarray]:
        return split_groups(self.class_freq)


def cooccurrence_counts(targets: np.ndarray) -> np.ndarray:
    """``C x C`` counts of images labelled with both class i and class j, zero on the diagonal (MFM's prior)."""
    multi_hot = positives(targets).astype(np.int64)
    counts = multi_hot.T @ multi_hot
    np.fill_diagonal(counts, 0)
    return counts


TEST_IMAGES = ("all", "labelled")


class ImageSubset:
    """The images of ``rows`` of another source, in that order."""

    def __init__(self, images: ImageSource, rows: np.ndarray) -> None:
        self.images, self.rows = images, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.images[int(self.rows[index])]


def select_test_images(dataset: LTDataset, test_images: str) -> LTDataset:
    """``dataset`` with every test image (``all``) or only those with a positive label (``labelled``).

    ``labelled`` is how LMPT's zero-shot test runs (zero_shot_clip/test.py:110-112
    skips an image whose label list is empty): the 48 COCO val2017 images without
    an annotated object leave the test set; VOC2007 test has none such.
    """
    check_choice("dataset.test_images", test_images, TEST_IMAGES)
    if test_images == "all":
        return dataset
    rows = np.flatnonzero(positives(dataset.test.targets).any(axis=1))
    test = Split(ImageSubset(dataset.test.images, rows), dataset.test.targets[rows],
                 [dataset.test.ids[r] for r in rows], None if dataset.test.sizes is None else dataset.test.sizes[rows])
    meta = {**dataset.meta, "test_images": f"labelled only: {len(dataset.test) - len(rows)} unlabelled dropped"}
    return replace(dataset, test=test, meta=meta)
