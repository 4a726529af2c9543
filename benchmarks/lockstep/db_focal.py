"""DB-Focal's loss beside the authors' ResampleLoss (wutong16/DistributionBalancedLoss @ 14460d0): record and replay.

Scope: the loss only. DB's training step runs inside mmcv 0.x's runner
(``mllt/apis/train.py``: MMDataParallel, EpochBasedRunner, its optimizer and
lr hooks), which is not installable here and would have to be stubbed whole;
this recorder instead trains one linear layer (32 features -> VOC-LT's 20
classes, ltbench's initial weights on both sides) for 4 SGD steps with the DB
config's lr 0.02, momentum 0.9 and weight decay 1e-4, on batches of 16 random
features with random labels (two rows without any positive label), through the
authors' ``ResampleLoss`` built from ``configs/voc/LT_resnet50_pfc_DB.py``'s own
``loss_cls`` dict and their VOC-LT ``class_freq.pkl``, and through ltbench's
``db_focal`` loss of the VOC-LT preset on the same class counts. Every
gradient, weight and loss of the steps is the loss's doing.

    python -m benchmarks.lockstep.db_focal --checkout /tmp/DBL          # writes the reference JSON
    python -m benchmarks.lockstep.db_focal --checkout /tmp/DBL --check  # compares ltbench's side with it
"""

from __future__ import annotations

import pickle
import runpy
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from benchmarks.lockstep import record

METHOD = "db_focal"
REPOSITORY = "wutong16/DistributionBalancedLoss"
SEED, STEPS, BATCH, FEATURES = 0, 4, 16, 32
LR, MOMENTUM, WEIGHT_DECAY = 0.02, 0.9, 1e-4  # configs/voc/LT_resnet50_pfc_DB.py:85
CONFIG = "configs/voc/LT_resnet50_pfc_DB.py"
FREQ_FILE = "appendix/VOCdevkit/longtail2012/class_freq.pkl"
COMMAND = ("PYTHONPATH=$PWD python -m benchmarks.lockstep.db_focal --checkout /tmp/DBL "
           "(a clone of wutong16/DistributionBalancedLoss at 14460d0; benchmarks/lockstep/README.md)")
NAMES = {"weight": "fc.weight", "bias": "fc.bias"}


def batches(classes: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(SEED)
    out = []
    for _ in range(STEPS):
        features = torch.randn(BATCH, FEATURES, generator=generator)
        labels = (torch.rand(BATCH, classes, generator=generator) < 0.12).float()
        labels[:2] = 0.0  # images without a positive label: DB's weight is alpha + 1 there
        out.append((features, labels))
    return out


def initial_layer(classes: int) -> nn.Linear:
    torch.manual_seed(SEED)
    return nn.Linear(FEATURES, classes)


def train(layer: nn.Linear, loss_fn: nn.Module, dtype: torch.dtype) -> dict[str, Any]:
    """SGD steps of ``layer`` under ``loss_fn``, recorded."""
    layer = layer.to(dtype)
    optimizer = torch.optim.SGD(layer.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    recorder = record.StepRecorder(layer, NAMES)
    recorder.watch_logits(layer)
    recorder.watch_loss(loss_fn)
    recorder.watch_optimizer(optimizer)
    for features, labels in batches(layer.out_features):
        optimizer.zero_grad()
        loss_fn(layer(features.to(dtype)), labels.to(dtype)).backward()
        optimizer.step()
    recorder.close()
    return {"steps": recorder.steps, "final": {"weights": record.weights(layer.state_dict().items(), NAMES)}}


def ltbench_side(class_freq: list[int], num_train: int) -> dict[str, Any]:
    """ltbench's VOC-LT db_focal loss (the preset's loss section) on the authors' class counts."""
    from ltbench.data.base import ClassStats
    from ltbench.losses import build_loss
    from ltbench.plugins import load_plugins
    from ltbench.config.resolve import resolve_config

    load_plugins()
    config = resolve_config("db_focal", "voc_lt")
    loss = build_loss(config["loss"], ClassStats(np.asarray(class_freq), num_train))
    return train(initial_layer(len(class_freq)), loss, torch.float32)


def authors_side(checkout: Path, dtype: torch.dtype) -> tuple[dict[str, Any], list[dict[str, str]]]:
    patches = record.Patches()
    with record.checkout_on_path(checkout, ("mllt", "mmcv")):
        try:
            patches.module("mmcv", _mmcv(), "resample_loss.py:4 and mllt/utils/registry.py:3 import mmcv (0.x) "
                                            "for mmcv.load of the class_freq pickle and mmcv.is_str; only those two")
            for name in ("mllt", "mllt.models", "mllt.models.losses"):
                package = types.ModuleType(name)
                package.__path__ = [str(checkout / name.replace(".", "/"))]
                patches.module(name, package, "the package __init__ files import every backbone, neck and head "
                                              "(mmcv.cnn, mmcv.runner); only the loss modules are loaded")
            patches.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self,
                            "CPU: .cuda() leaves tensors where they are (resample_loss.py:80-93)")
            resample = record.import_module("mllt.models.losses.resample_loss")
            loss_cfg = dict(runpy.run_path(str(checkout / CONFIG))["model"]["head"]["loss_cls"])
            loss_cfg.pop("type")
            loss_cfg["freq_file"] = str(checkout / loss_cfg["freq_file"])
            loss = resample.ResampleLoss(**loss_cfg)
            return train(initial_layer(loss.num_classes), MeanOf(loss), dtype), patches.applied
        finally:
            patches.undo()


class MeanOf(nn.Module):
    """The runner's ``parse_losses`` (mllt/apis/train.py:24-30): the mean of the loss the head returns.

    ResampleLoss with focal=True returns the unreduced batch x classes loss (resample_loss.py:115-129).
    """

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(logits, labels).mean()


def _mmcv() -> types.ModuleType:
    module = types.ModuleType("mmcv")
    module.load = lambda file: pickle.loads(Path(file).read_bytes())  # mmcv.load of a .pkl file
    module.is_str = lambda value: isinstance(value, str)
    return module


def record_reference(checkout: Path) -> dict[str, Any]:
    freq = pickle.loads((checkout / FREQ_FILE).read_bytes())
    class_freq = [int(n) for n in freq["class_freq"]]
    num_train = int(freq["class_freq"][0] + freq["neg_class_freq"][0])
    float32, patches = authors_side(checkout, torch.float32)
    float64, _ = authors_side(checkout, torch.float64)
    return {"method": METHOD, "repository": REPOSITORY, "commit": record.checkout_commit(checkout),
            "command": COMMAND, "patches": patches, "torch": torch.__version__,
            "scenario": {"seed": SEED, "steps": STEPS, "batch": BATCH, "features": FEATURES, "lr": LR,
                         "momentum": MOMENTUM, "weight_decay": WEIGHT_DECAY, "config": CONFIG,
                         "class_freq": class_freq, "num_train": num_train, "scope": "loss only"},
            "float32": float32, "noise_floor": record.noise_floor(float32, float64)}


def main() -> None:
    record.command_line(__doc__.split("\n\n")[0], METHOD, record_reference,
                        lambda reference: ltbench_side(reference["scenario"]["class_freq"],
                                                       reference["scenario"]["num_train"]))


if __name__ == "__main__":
    main()
