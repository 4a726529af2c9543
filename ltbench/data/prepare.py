"""``ltbench prepare``: check a VOC-LT / COCO-LT download against the published benchmark, then cache it.

Reading the dataset checks that every image and annotation exists; the
training class frequencies built from the user's annotations and the test-set
size are then compared with the published ones, which catches a wrong year,
a partial download or a different split file before hours of training do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ltbench.config.sections import complete
from ltbench.data import coco, voc  # noqa: F401  (registers voc_lt and coco_lt)
from ltbench.data.image_cache import check_cache_size, open_cache
from ltbench.data.split_files import CANONICAL
from ltbench.errors import LtbenchError
from ltbench.registry import DATASETS, KINDS

MAX_LISTED = 5  # differing classes quoted in an error message


@dataclass
class PrepareReport:
    """What ``prepare`` checked and built, for the CLI to print."""

    dataset: str
    title: str
    root: str
    num_train: int
    num_test: int
    num_classes: int
    groups: dict[str, list[int]]
    caches: dict[str, str] = field(default_factory=dict)  # split -> cache file
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds

    def summary(self) -> str:
        group_sizes = ", ".join(f"{name} {len(indices)}" for name, indices in self.groups.items())
        lines = [
            f"{self.dataset}: matches the published {self.title} split (Wu et al. 2020).",
            f"  root     {self.root}",
            f"  train    {self.num_train} images, {self.num_classes} classes ({group_sizes})",
            f"  test     {self.num_test} images",
        ]
        lines += [f"  cache    {split}: {path}" for split, path in self.caches.items()]
        if not self.caches:
            lines.append("  cache    none built (pass dataset.cache_size=<pixels> to build one)")
        lines.append("  timings  " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in self.timings.items()))
        return "\n".join(lines)


def prepare(name: str, **dataset_params: Any) -> PrepareReport:
    """Read ``name`` from the user's files, check it against the benchmark, and build its image caches."""
    if name not in CANONICAL:
        raise LtbenchError(f"ltbench prepare works on {' and '.join(CANONICAL)}, not {name!r}.")
    dataset_params = complete(KINDS["datasets"], {"name": name, **dataset_params})  # an unknown option: one sentence
    dataset_params.pop("name")
    cache_size = dataset_params.pop("cache_size", None)
    check_cache_size(cache_size)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    dataset = DATASETS.build(name, **dataset_params, cache_size=None)  # cache only what passed the check
    timings["annotations"] = time.perf_counter() - start
    check_against_canonical(name, dataset.train.targets, len(dataset.test), dataset.class_names)
    caches: dict[str, str] = {}
    if cache_size is not None:
        for split_name, split in (("train", dataset.train), ("test", dataset.test)):
            start = time.perf_counter()
            paths = split.images.paths  # type: ignore[attr-defined]  # ImageFiles: read with cache_size=None
            caches[split_name] = str(open_cache(paths, name, split_name, cache_size).path)
            timings[f"{split_name} cache"] = time.perf_counter() - start
    return PrepareReport(
        dataset=name, title=CANONICAL[name].title, root=dataset.meta["root"], num_train=len(dataset.train),
        num_test=len(dataset.test), num_classes=dataset.num_classes,
        groups={group: indices.tolist() for group, indices in dataset.groups.items()},
        caches=caches, timings=timings,
    )


def check_against_canonical(name: str, train_targets: np.ndarray, num_test: int, class_names: Sequence[str]) -> None:
    """Raise a one-line error naming every way the user's copy differs from the published benchmark."""
    canonical = CANONICAL[name]
    problems = []
    if len(train_targets) != canonical.num_train:
        problems.append(f"{len(train_targets)} training images instead of {canonical.num_train}")
    freq = np.asarray(train_targets).sum(axis=0)
    expected = np.asarray(canonical.class_freq)
    differ = np.flatnonzero(freq != expected)
    if differ.size:
        listed = ", ".join(f"{class_names[i]} {freq[i]} instead of {expected[i]}" for i in differ[:MAX_LISTED])
        more = ", ..." if differ.size > MAX_LISTED else ""
        problems.append(f"{differ.size} classes have other training image counts ({listed}{more})")
    if num_test != canonical.num_test:
        problems.append(f"{num_test} test images instead of {canonical.num_test}")
    if problems:
        raise LtbenchError(
            f"{name} does not match the published {canonical.title}: {'; '.join(problems)}. "
            f"Check the dataset years (VOC2012 + VOC2007 test, COCO 2017), the split files and that the "
            f"download is complete."
        )
