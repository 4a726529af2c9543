"""The test split a submission must match: image ids, class order, targets and the split's digest.

The digest names one version of a test split: the same dataset name, class
order, image ids (in the split's order) and labels give the same digest, and a
change to any of them (another ``mnist_lt`` draw, an edited split file, the
``labelled`` test subset) gives another. It is the sha256 of a canonical JSON
object, so it can be computed without ltbench (``split_digest``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ltbench.data.groups import GROUP_NAMES
from ltbench.data.label_values import known, positives


def split_digest(dataset: str, class_names: Sequence[str], image_ids: Sequence[str], targets: np.ndarray) -> str:
    """sha256 of ``{"classes": [...], "dataset": ..., "images": [[id, [positive], [ignored]], ...]}``.

    ``positive`` and ``ignored`` are class indices (ignored: labels left out of evaluation,
    ``label_values.IGNORED``, e.g. VOC's difficult-only classes under ``dataset.difficult=ignore``). The JSON
    has sorted keys and no spaces (``separators=(",", ":")``); images are in the split's order.
    """
    positive, ignored = positives(targets), ~known(targets)
    images = [[str(image), np.flatnonzero(pos).tolist(), np.flatnonzero(ign).tolist()]
              for image, pos, ign in zip(image_ids, positive, ignored)]
    blob = json.dumps({"classes": list(class_names), "dataset": dataset, "images": images},
                      sort_keys=True, separators=(",", ":"))
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

    @property
    def digest(self) -> str:
        return split_digest(self.dataset, self.class_names, self.image_ids, self.targets)


def load_eval_split(dataset: str, config: dict[str, Any] | None = None) -> EvalSplit:
    """The test split of ``dataset`` as a run of its base preset sees it (``config``: a resolved config instead)."""
    from ltbench.experiment import build_dataset
    from ltbench.plugins import load_plugins
    from ltbench.config.resolve import resolve_config

    load_plugins()  # registers the datasets, as building an experiment does
    config = config if config is not None else resolve_config(dataset=dataset)
    built = build_dataset(config)
    return EvalSplit(built.name, dict(config["dataset"]), list(built.class_names),
                     [str(i) for i in built.test.ids], np.asarray(built.test.targets, dtype=np.uint8),
                     [int(f) for f in built.class_freq],
                     {g: [int(c) for c in built.groups[g]] for g in GROUP_NAMES}, len(built.train))
