"""The test split a submission must match: image ids, class order, targets and the split's digest.

The digest names one version of a test split: the same dataset name, class
order, image ids (in the split's order), labels and test subset give the same
digest, and a change to any of them (another ``mnist_lt`` draw, an edited split
file, the ``labelled`` test subset of ``dataset.test_images``) gives another. It
is the sha256 of a canonical JSON object, so it can be computed without ltbench
(``split_digest``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ltbench.data.groups import GROUP_NAMES
from ltbench.data.label_values import known, positives
from ltbench.submissions.format import ALL_TEST_IMAGES


def split_digest(dataset: str, class_names: Sequence[str], image_ids: Sequence[str], targets: np.ndarray,
                 test_images: str = ALL_TEST_IMAGES) -> str:
    """sha256 of ``{"classes": [...], "dataset": ..., "images": [[id, [positive], [ignored]], ...]}``, with
    ``"test_images": "labelled"`` added for that test subset (the full split's digest has no such key).

    ``positive`` and ``ignored`` are class indices (ignored: labels left out of evaluation,
    ``label_values.IGNORED``, e.g. VOC's difficult-only classes under ``dataset.difficult=ignore``). The JSON
    has sorted keys and no spaces (``separators=(",", ":")``); images are in the split's order.
    """
    positive, ignored = positives(targets), ~known(targets)
    images = [[str(image), np.flatnonzero(pos).tolist(), np.flatnonzero(ign).tolist()]
              for image, pos, ign in zip(image_ids, positive, ignored)]
    named = {"classes": list(class_names), "dataset": dataset, "images": images}
    if test_images != ALL_TEST_IMAGES:
        named["test_images"] = test_images
    blob = json.dumps(named, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class EvalSplit:
    """What scoring a submission needs of a dataset: its test split and its training-set groups."""

    dataset: str
    dataset_config: dict[str, Any]  # the resolved ``dataset`` section that built it
    class_names: list[str]
    image_ids: list[str]
    targets: np.ndarray  # N x C uint8
    class_freq: list[int]
    groups: dict[str, list[int]]
    num_train: int
    test_images: str = ALL_TEST_IMAGES  # the test subset (``dataset.test_images``): all, or labelled only

    @property
    def digest(self) -> str:
        return split_digest(self.dataset, self.class_names, self.image_ids, self.targets, self.test_images)


def load_eval_split(dataset: str, config: dict[str, Any] | None = None,
                    test_images: str = ALL_TEST_IMAGES) -> EvalSplit:
    """The test split of ``dataset`` as a run of its base preset sees it, or its ``test_images`` subset
    (``config``: a resolved config instead, whose ``dataset.test_images`` names the subset)."""
    from ltbench.experiment import build_dataset
    from ltbench.plugins import load_plugins
    from ltbench.config.resolve import resolve_config

    load_plugins()  # registers the datasets, as building an experiment does
    if config is None:
        config = resolve_config(dataset=dataset, overrides=[f"dataset.test_images={test_images}"])
    built = build_dataset(config)
    return EvalSplit(built.name, dict(config["dataset"]), list(built.class_names),
                     [str(i) for i in built.test.ids], np.asarray(built.test.targets, dtype=np.uint8),
                     [int(f) for f in built.class_freq],
                     {g: [int(c) for c in built.groups[g]] for g in GROUP_NAMES}, len(built.train),
                     str(config["dataset"].get("test_images", ALL_TEST_IMAGES)))
