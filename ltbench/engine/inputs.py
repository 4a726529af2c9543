"""What the training loop feeds the model: image batches, or cached features of a backbone that does not train.

Whether features may be cached is decided from what the method says (a stage
that trains only the head, a test transform), never by looking at the model.
The cache is keyed by what produced the features: the split's image ids and a
digest of its images' content (``ltbench.data.content``), a digest of the
backbone's weights and of the preprocessing's output on a probe image, so that
another copy of the data, or images replaced in place, never get these features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from ltbench.data.base import LTDataset, Split
from ltbench.data.content import ids_digest, images_digest
from ltbench.data.loading import SplitDataset, make_loader
from ltbench.data.transforms import build_transform, to_float_images
from ltbench.engine.device import amp_dtype
from ltbench.engine.features import cached_features, extract_features, weights_digest
from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import digest
from ltbench.methods.base import MethodParts, Stage
from ltbench.config.sections import build
from ltbench.engine.active_stage import stage_section
from ltbench.registry import KINDS


FEATURES_FORMAT = "as computed"  # features are stored in the dtype the backbone computes (was float16)


class Inputs:
    """Loaders of one run, and the function that turns a loaded batch into backbone features."""

    def __init__(self, config: dict[str, Any], dataset: LTDataset, parts: MethodParts, device: torch.device,
                 amp: bool) -> None:
        self.config, self.dataset, self.parts, self.device, self.amp = config, dataset, parts, device, amp
        self.dtype = amp_dtype(config["train"]["amp"]) if amp else None
        size, augment = config["input"]["size"], config["input"]["augment"]
        self.train_transform = parts.train_transform or build_transform(size, augment, train=True)
        self.test_transform = parts.test_transform or build_transform(size, "none", train=False)
        self.augmented = parts.train_transform is not None or augment != "none"
        self.setting = config["train"]["feature_cache"]
        probe = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
        self.preprocessing = digest(self.test_transform(probe).tolist())  # what the test transform does
        self.loaded: dict[str, torch.Tensor] = {}  # features already read this run, by cache key
        self.content: dict[str, str] = {}  # each split's images digest, computed once a run
        if self.setting is True and self.augmented:
            raise LtbenchError("train.feature_cache=true caches un-augmented features; set input.augment=none.")

    def cached_for_training(self, stage: Stage) -> bool:
        """Features are cached for a stage that trains only the head on un-augmented input."""
        if self.setting is True and not stage.head_only:
            raise LtbenchError(f"train.feature_cache=true needs a stage that trains only the head; stage "
                               f"{stage.name!r} trains more (set model.freeze=all, or train.feature_cache=auto).")
        follows = getattr(self.parts.model.backbone, "frozen_mode", None) == "train"  # batch-dependent features
        return bool(self.setting) and stage.head_only and not self.augmented and not follows

    def cached_for_evaluation(self, last_stage: Stage | None) -> bool:
        """Evaluation may use cached features when the backbone did not train in the last stage (or at all)."""
        return bool(self.setting) and (last_stage is None or last_stage.head_only)

    def features(self, backbone: nn.Module, split_name: str) -> torch.Tensor:
        """Backbone features of a split, from the cache keyed by the backbone's weights and the preprocessing.

        Read from disk once per run: the periodic evaluations reuse them.
        """
        split: Split = getattr(self.dataset, split_name)
        if split_name not in self.content:
            self.content[split_name] = images_digest(split.images)
        key = {"dataset": self.config["dataset"], "split": split_name, "amp": str(self.dtype),
               "weights": weights_digest(backbone), "preprocessing": self.preprocessing,
               "backbone_class": type(backbone).__qualname__, "ids": ids_digest(split.ids),
               "images": self.content[split_name], "stored": FEATURES_FORMAT}
        name = digest(key)
        if name not in self.loaded:
            self.loaded[name] = cached_features(key, lambda: extract_features(
                backbone, split, self.test_transform, self.device, self.config["eval"]["batch_size"], self.dtype,
                f"features {split_name}"))
        return self.loaded[name]

    def train_loader(self, stage: Stage, backbone: nn.Module, cached: bool) -> DataLoader:
        cfg, seed = self.config["train"], self.config["seed"]
        targets = self.dataset.train.targets
        train_set: Dataset
        if cached:
            train_set = TensorDataset(self.features(backbone, "train"), torch.from_numpy(targets).float())
        else:
            train_set = SplitDataset(self.dataset.train, self.train_transform)
        if self.parts.train_dataset is not None:
            train_set = self.parts.train_dataset(train_set, targets)
        samplers = KINDS["samplers"]
        batch = cfg["batch_size"]
        sampler = build(samplers, stage_section(samplers, cfg["sampler"], stage), targets=targets, seed=seed,
                        batch_size=batch, sizes=self.dataset.train.sizes)
        drop_last = len(train_set) > batch if cfg["drop_last"] == "auto" else cfg["drop_last"]
        return make_loader(train_set, batch, shuffle=True, sampler=sampler, seed=seed,
                           num_workers=0 if cached else cfg["num_workers"], drop_last=drop_last)

    def test_loader(self, backbone: nn.Module, cached: bool) -> DataLoader:
        targets = torch.from_numpy(self.dataset.test.targets).float()
        test_set = (TensorDataset(self.features(backbone, "test"), targets) if cached
                    else SplitDataset(self.dataset.test, self.test_transform))
        return make_loader(test_set, self.config["eval"]["batch_size"],
                           num_workers=0 if cached else self.config["train"]["num_workers"])

    def to_features(self, backbone: nn.Module, inputs: torch.Tensor, cached: bool) -> torch.Tensor:
        """A loaded batch as backbone features on the device."""
        if cached:
            return inputs.to(self.device, non_blocking=True).float()
        return backbone(to_float_images(inputs, self.device))
