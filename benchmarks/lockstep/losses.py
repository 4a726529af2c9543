"""The two-way, MFM and BAL losses beside their authors' own loss functions: record and replay.

Scope: the loss only (as DB-Focal's first record was). Each preset trains one
linear layer (32 features -> 20 classes, the same initial weights on both
sides) for 4 SGD steps (lr 0.02, momentum 0.9, weight decay 1e-4: the DB
baseline recipe the two_way and mfm presets train with) on batches of 16 random
features with random labels, once through the authors' loss, imported from a
checkout at the commit below and built as their training script builds it, and
once through ltbench's registered loss with the resolved config of ltbench's
preset for the method (VOC-LT). Class statistics come from a fixed 64-image
training label set: ltbench's ``ClassStats`` on ltbench's side, the authors'
own inputs (a distribution file and a co-occurrence ``.npy`` for COMIC, the
dataset loader's class weights for LM-CLIP) on theirs. Every gradient, weight
and loss of the steps is the loss's doing.

    two_way  tk1980/TwoWayMultiLabelLoss @ ef8b2d6   utils/criterion.py TwoWayLoss via get_criterion(get_parser())
    mfm      wannature/COMIC @ 1de14e5               loss/PriorFocalModifierLoss.py via create_loss(config's params)
    bal      damilab/lm-clip @ 9983999               asl_loss.py BalancedAsymmetricLossOptimized as train.py:270-283

    python -m benchmarks.lockstep.losses --preset two_way --checkout /tmp/twoway   # writes tests/reference_trajectories/two_way.json
    python -m benchmarks.lockstep.losses --preset mfm --checkout /tmp/comic --check  # compares ltbench's side with it
"""

from __future__ import annotations

import importlib.util
import runpy
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np
import torch
import yaml
from torch import nn

from benchmarks.lockstep import clip_authors, record

SEED, STEPS, BATCH, FEATURES, CLASSES, TRAIN_IMAGES = 0, 4, 16, 32, 20, 64
LR, MOMENTUM, WEIGHT_DECAY = 0.02, 0.9, 1e-4
NAMES = {"weight": "fc.weight", "bias": "fc.bias"}
COMMAND = ("PYTHONPATH=$PWD python -m benchmarks.lockstep.losses --preset {preset} --checkout {checkout} "
           "(a checkout of {repository} at {commit}; benchmarks/lockstep/README.md)")


@dataclass(frozen=True)
class Preset:
    """One record: the authors' repository, ltbench's preset and the switches ltbench's side runs with."""

    repository: str
    commit: str
    method: str
    checkout: str  # where the README's commands put the checkout
    empty_rows: bool  # two images of each batch without a positive label (the authors' code must allow it)
    switches: tuple[str, ...] = ()  # overrides on ltbench's side, each declared on the card


PRESETS = {
    "two_way": Preset("tk1980/TwoWayMultiLabelLoss", "ef8b2d6", "two_way", "/tmp/twoway", empty_rows=True),
    # COMIC sums over the B x C entries, ltbench averages (declared on the mfm cards); COMIC's attention is 0/0 for
    # an image without a positive label, so every image has one
    "mfm": Preset("wannature/COMIC", "1de14e5", "mfm", "/tmp/comic", empty_rows=False,
                  switches=("loss.reduction=sum",)),
    "bal": Preset("damilab/lm-clip", "9983999", "lmclip", "/tmp/lm-clip", empty_rows=True),
}


def training_labels() -> np.ndarray:
    """64 training images x 20 classes, long-tailed; every image has class 0 (so every class co-occurs with one)
    and image c has class c (so every class has an image)."""
    rng = np.random.default_rng(SEED)
    labels = (rng.random((TRAIN_IMAGES, CLASSES)) < 0.5 * 0.8 ** np.arange(CLASSES)).astype(np.int64)
    labels[:, 0] = 1
    labels[np.arange(CLASSES), np.arange(CLASSES)] = 1
    return labels


def batches(empty_rows: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(SEED)
    out = []
    for _ in range(STEPS):
        features = torch.randn(BATCH, FEATURES, generator=generator)
        labels = (torch.rand(BATCH, CLASSES, generator=generator) < 0.12).float()
        labels[torch.arange(BATCH), torch.randint(CLASSES, (BATCH,), generator=generator)] = 1.0
        if empty_rows:
            labels[:2] = 0.0
        out.append((features, labels))
    return out


def initial_layer() -> nn.Linear:
    torch.manual_seed(SEED)
    return nn.Linear(FEATURES, CLASSES)


def train(loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], dtype: torch.dtype,
          empty_rows: bool) -> dict[str, Any]:
    """SGD steps of the initial layer under ``loss_fn``, recorded."""
    layer = initial_layer().to(dtype)
    optimizer = torch.optim.SGD(layer.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    recorder = record.StepRecorder(layer, NAMES)
    recorder.watch_logits(layer)
    recorder.watch_optimizer(optimizer)
    for features, labels in batches(empty_rows):
        optimizer.zero_grad()
        loss = loss_fn(layer(features.to(dtype)), labels.to(dtype))
        recorder.note_loss(loss)
        loss.backward()
        optimizer.step()
    recorder.close()
    return {"steps": recorder.steps, "final": {"weights": record.weights(layer.state_dict().items(), NAMES)}}


# ------------------------------------------------------------------ ltbench's side

def ltbench_side(name: str, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """ltbench's registered loss from the resolved config of the method's VOC-LT preset (with the record's
    switches, then ``overrides``), on ltbench's statistics of the training labels."""
    from ltbench.config.resolve import resolve_config
    from ltbench.data.base import ClassStats, cooccurrence_counts
    from ltbench.losses import build_loss

    preset = PRESETS[name]
    config = resolve_config(preset.method, "voc_lt", overrides=preset.switches + tuple(overrides))
    labels = training_labels()
    stats = ClassStats(labels.sum(axis=0), len(labels), cooccurrence_counts(labels))
    return train(build_loss(config["loss"], stats), torch.float32, preset.empty_rows)


# ------------------------------------------------------------------ the authors' side

def load_file(path: Path, name: str) -> ModuleType:
    """One source file of the checkout as a module (by path: the repositories' ``utils`` packages share a name)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def two_way_loss(checkout: Path, patches: record.Patches, _labels: np.ndarray, _dtype: torch.dtype) -> nn.Module:
    """train.py's criterion: get_criterion(args) with get_parser()'s defaults (TwoWayLoss, Tp 4, Tn 1)."""
    parser = load_file(checkout / "utils" / "parser.py", "twoway_parser")
    criterion = load_file(checkout / "utils" / "criterion.py", "twoway_criterion")
    patches.setattr(sys, "argv", ["main.py", "data"],
                    "get_parser() parses sys.argv: given only its one positional (the data folder), it gives the "
                    "defaults train.py runs with")
    return criterion.get_criterion(parser.get_parser())


def mfm_loss(checkout: Path, patches: record.Patches, labels: np.ndarray, _dtype: torch.dtype) -> nn.Module:
    """COMIC's criterion as MltMultiLabelNetwork.py:120-123 and :271-273 build it: create_loss(*the VOC config's
    loss_params), then the co-occurrence matrix and the class weights from files (written here from the training
    labels: the distribution file's one line of per-class counts, the .npy of images with both i and j, i != j, as
    MLC-NC's get_voc.py:139-154 builds it; COMIC ships no builder)."""
    patches.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self,
                    "CPU: .cuda() leaves tensors where they are (PriorFocalModifierLoss.py:34,37)")
    config = yaml.safe_load((checkout / "config" / "voc" / "voc_resnet50_mlt.yaml").read_text())
    params = config["criterions"]["PerformanceLoss"]["loss_params"]
    loss = load_file(checkout / "loss" / "PriorFocalModifierLoss.py", "comic_mfm").create_loss(*params.values())
    folder = Path(tempfile.mkdtemp(prefix="comic_stats_"))
    counts = labels.sum(axis=0)
    (folder / "distribution.txt").write_text(", ".join(str(int(n)) for n in counts) + "\n")
    both = labels.T @ labels
    np.fill_diagonal(both, 0)
    np.save(folder / "co-occurrence.npy", both.astype(np.float64))
    loss.distribution_path = str(folder / "distribution.txt")
    loss.create_co_occurrence_matrix(str(folder / "co-occurrence.npy"))
    loss.create_weight(loss.distribution_path)
    return loss


def bal_loss(checkout: Path, _patches: record.Patches, labels: np.ndarray, _dtype: torch.dtype) -> nn.Module:
    """train.py:270-283 with configs/voc_mlt_vitb16.py's CFG; the class weights by dataset_loaders/voc_mlt.py:179,
    200,204 (N / n_c, to class_weights_power, over their largest) on the training labels, float64 as there."""
    cfg = runpy.run_path(str(checkout / "configs" / "voc_mlt_vitb16.py"))["CFG"]
    counts = torch.tensor(labels.sum(axis=0), dtype=float)
    weights = (len(labels) / counts) ** cfg.class_weights_power
    weights = weights / torch.max(weights)
    module = load_file(checkout / "asl_loss.py", "lmclip_asl")
    return module.BalancedAsymmetricLossOptimized(
        gamma_neg=cfg.asl_gamma_neg, gamma_pos=cfg.asl_gamma_pos, clip=cfg.asl_clip, eps=cfg.asl_eps,
        pos_weight=weights if cfg.use_weighted_loss else None, num_labels=CLASSES,
        label_smoothing=cfg.label_smoothing, return_mean=True)


AUTHORS_LOSS = {"two_way": two_way_loss, "mfm": mfm_loss, "bal": bal_loss}


def authors_side(name: str, checkout: Path, dtype: torch.dtype) -> tuple[dict[str, Any], list[dict[str, str]]]:
    patches = record.Patches()
    try:
        loss = AUTHORS_LOSS[name](checkout, patches, training_labels(), dtype)
        return train(loss, dtype, PRESETS[name].empty_rows), patches.applied
    finally:
        patches.undo()


def record_reference(name: str, checkout: Path) -> dict[str, Any]:
    preset = PRESETS[name]
    float32, patches = authors_side(name, checkout, torch.float32)
    float64, _ = authors_side(name, checkout, torch.float64)
    labels = training_labels()
    return {"method": name, "repository": preset.repository, "commit": record.checkout_commit(checkout),
            "command": COMMAND.format(preset=name, checkout=preset.checkout, repository=preset.repository,
                                      commit=preset.commit),
            "patches": patches, "torch": torch.__version__, "switches": list(preset.switches),
            "scenario": {"seed": SEED, "steps": STEPS, "batch": BATCH, "features": FEATURES, "classes": CLASSES,
                         "lr": LR, "momentum": MOMENTUM, "weight_decay": WEIGHT_DECAY, "scope": "loss only",
                         "empty_rows": preset.empty_rows, "class_freq": labels.sum(axis=0).tolist(),
                         "num_train": len(labels)},
            "float32": float32, "noise_floor": record.noise_floor(float32, float64)}


def replay(name: str, overrides: tuple[str, ...] = ()) -> dict[str, float]:
    """ltbench's side against the committed record; ``record.Divergence`` at the first difference."""
    reference = record.read_reference(name)
    return record.compare(ltbench_side(name, overrides), reference["float32"], reference["noise_floor"])


def main() -> None:
    preset = _preset_from_argv()
    args = clip_authors.command_line(__doc__, PRESETS[preset].repository, PRESETS[preset].commit,
                                     presets=tuple(PRESETS))
    if args.check:
        print(preset, replay(preset, tuple(args.set)))
        return
    path = args.out / f"{preset}.json"
    record.write_reference(path, record_reference(preset, args.checkout))
    print(f"wrote {path}")


def _preset_from_argv() -> str:
    """The one --preset of the command line (each preset has its own repository, so one checkout per run)."""
    chosen = [value for flag, value in zip(sys.argv, sys.argv[1:]) if flag == "--preset"]
    if len(chosen) != 1 or chosen[0] not in PRESETS:
        sys.exit(f"give exactly one --preset of {', '.join(PRESETS)} (each has its own authors' repository)")
    return chosen[0]


if __name__ == "__main__":
    main()
