"""The training loop: seeds, AMP, schedules, EMA, per-epoch checkpoints and resume.

Model selection is honest: the reported model is the one after the last
epoch (its EMA when ``train.ema`` is set). The test set is evaluated after each
epoch only to draw learning curves (``eval.every_epoch``); it never picks a model.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ltbench.data.base import LTDataset
from ltbench.data.loading import SplitDataset, make_loader
from ltbench.data.samplers import ClassAwareSampler
from ltbench.data.transforms import AUGMENTATIONS, build_transform
from ltbench.engine.checkpoint import load_checkpoint, save_checkpoint
from ltbench.engine.device import amp_enabled, autocast, pick_device
from ltbench.engine.ema import make_ema
from ltbench.engine.features import cached_features, extract_features, to_float_images
from ltbench.engine.optim import OPTIMIZERS, SCHEDULES, build_optimizer, build_scheduler
from ltbench.progress import console, progress_bar
from ltbench.errors import LtbenchError, check_choice
from ltbench.evaluation import evaluate
from ltbench.methods.base import MethodParts
from ltbench.runs import CHECKPOINT_FILE, append_history, read_history


SAMPLERS = ("random", "class_aware")


def check_settings(config: dict[str, Any]) -> None:
    """Refuse a misspelt engine choice as soon as the config is composed, before any data is read or written."""
    train = config["train"]
    check_choice("train.optimizer.name", train["optimizer"]["name"], OPTIMIZERS)
    check_choice("train.schedule.name", train["schedule"]["name"], SCHEDULES)
    check_choice("train.sampler", train["sampler"], SAMPLERS)
    check_choice("input.augment", config["input"]["augment"], AUGMENTATIONS)
    pick_device(train["device"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class TrainResult:
    scores: np.ndarray  # test-set sigmoid scores of the reported model
    metrics: dict[str, Any]  # evaluator output for those scores
    epochs: int
    device: str
    amp: bool
    feature_cache: bool
    selection: str  # "final" or "final-ema"
    train_seconds: float


class Trainer:
    """Trains ``parts.model`` with ``parts.loss`` on ``dataset`` as ``config`` says."""

    def __init__(self, config: dict[str, Any], dataset: LTDataset, parts: MethodParts, run_dir: Path) -> None:
        self.config, self.dataset, self.parts, self.run_dir = config, dataset, parts, run_dir
        self.train_cfg = config["train"]
        self.device = pick_device(self.train_cfg["device"])
        self.amp = amp_enabled(self.train_cfg["amp"], self.device)
        self.model = parts.model.to(self.device)
        self.loss_fn = parts.loss.to(self.device)
        self.use_features = self._feature_cache_wanted()

    def _feature_cache_wanted(self) -> bool:
        setting = self.train_cfg["feature_cache"]
        frozen = not any(p.requires_grad for p in self.model.backbone.parameters())
        augmented = self.config["input"]["augment"] != "none"
        if setting == "auto":
            return frozen and not augmented
        if setting and not frozen:
            raise LtbenchError("train.feature_cache=true needs a frozen backbone; set model.freeze=all.")
        if setting and augmented:
            raise LtbenchError("train.feature_cache=true caches un-augmented features; set input.augment=none.")
        return bool(setting)

    # ----------------------------------------------------------------- data
    def _inputs(self) -> tuple[DataLoader, DataLoader]:
        """Train and test loaders of images, or of cached backbone features."""
        cfg, size = self.train_cfg, self.config["input"]["size"]
        batch, eval_batch = cfg["batch_size"], self.config["eval"]["batch_size"]
        if self.use_features:
            train_x = self._features("train", size)
            test_x = self._features("test", size)
            train_set = TensorDataset(train_x, torch.from_numpy(self.dataset.train.targets).float())
            test_set = TensorDataset(test_x, torch.from_numpy(self.dataset.test.targets).float())
        else:
            augment = self.config["input"]["augment"]
            train_set = SplitDataset(self.dataset.train, build_transform(size, augment, train=True))
            test_set = SplitDataset(self.dataset.test, build_transform(size, augment, train=False))
        check_choice("train.sampler", cfg["sampler"], SAMPLERS)
        sampler: ClassAwareSampler | None = None
        if cfg["sampler"] == "class_aware":
            sampler = ClassAwareSampler(self.dataset.train.targets, seed=self.config["seed"])
        workers = 0 if self.use_features else cfg["num_workers"]
        train_loader = make_loader(train_set, batch, shuffle=True, sampler=sampler, seed=self.config["seed"],
                                   num_workers=workers, drop_last=len(train_set) > batch)
        test_loader = make_loader(test_set, eval_batch, num_workers=workers)
        return train_loader, test_loader

    def _logits(self, model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        """Logits of a loaded batch: images through the whole model, cached features through its head."""
        if self.use_features:
            return model.head(inputs.to(self.device, non_blocking=True).float())
        return model(to_float_images(inputs, self.device))

    def _features(self, split_name: str, size: int) -> torch.Tensor:
        backbone = self.model.backbone
        source = getattr(backbone, "source", "")
        key = {"dataset": self.config["dataset"], "split": split_name, "size": size,
               "backbone": self.config["model"], "source": source, "amp": self.amp,
               # a randomly initialised backbone differs per seed; pretrained features are shared across seeds
               "init_seed": self.config["seed"] if source == "random init" else None}
        split = getattr(self.dataset, split_name)
        return cached_features(key, lambda: extract_features(
            backbone, split, size, self.device, self.config["eval"]["batch_size"], self.amp,
            f"features {split_name}"))

    # ------------------------------------------------------------- training
    def fit(self) -> TrainResult:
        cfg = self.train_cfg
        seed_everything(self.config["seed"])
        train_loader, test_loader = self._inputs()
        epochs = cfg["epochs"]
        optimizer = build_optimizer(self.model, cfg["optimizer"])
        scheduler = build_scheduler(optimizer, cfg["schedule"], len(train_loader), epochs)
        ema = make_ema(self.model, cfg["ema"]) if cfg["ema"] else None
        start_epoch = 1
        checkpoint = self.run_dir / CHECKPOINT_FILE
        if checkpoint.is_file():
            start_epoch = load_checkpoint(checkpoint, self.model, optimizer, scheduler, ema) + 1
            console.print(f"[bold]resuming[/] {self.run_dir.name} after epoch {start_epoch - 1}")
            if isinstance(train_loader.sampler, ClassAwareSampler) and start_epoch <= epochs:
                train_loader.sampler.fast_forward(start_epoch - 1)
        earlier = sum(r.get("seconds", 0.0) for r in read_history(self.run_dir) if r["epoch"] < start_epoch)
        started = time.perf_counter() - earlier
        for epoch in range(start_epoch, epochs + 1):
            epoch_start = time.perf_counter()
            torch.manual_seed(self.config["seed"] * 1000 + epoch)  # each epoch's shuffle is reproducible
            train_loader.generator.manual_seed(self.config["seed"] * 1000 + epoch)
            loss = self._train_epoch(epoch, train_loader, optimizer, scheduler, ema)
            row: dict[str, Any] = {"epoch": epoch, "train_loss": loss, "lr": scheduler.get_last_lr()[0]}
            if self.config["eval"]["every_epoch"] and epoch < epochs:
                row["test_map"] = self._evaluate(test_loader, ema)["total"]
            row["seconds"] = time.perf_counter() - epoch_start
            append_history(self.run_dir, row)
            save_checkpoint(checkpoint, epoch, self.model, optimizer, scheduler, ema)
            console.print(f"epoch {epoch}/{epochs}  loss {loss:.4f}" +
                          (f"  test mAP {row['test_map']:.2f}" if "test_map" in row else ""))
        scores = self._predict(test_loader, ema)  # the final model's evaluation is the reported one
        metrics = evaluate(scores, self.dataset.test.targets, self.dataset.groups)
        self._record_final_map(epochs, metrics["total"])
        return TrainResult(scores, metrics, epochs, str(self.device), self.amp, self.use_features,
                           "final-ema" if ema else "final", time.perf_counter() - started)

    def _train_epoch(self, epoch: int, loader: DataLoader, optimizer: torch.optim.Optimizer,
                     scheduler: Any, ema: nn.Module | None) -> float:
        self.model.train()
        total, count = 0.0, 0
        clip = self.train_cfg["grad_clip"]
        with progress_bar(f"epoch {epoch}", len(loader)) as advance:
            for inputs, targets in loader:
                targets = targets.to(self.device, non_blocking=True)
                with autocast(self.amp, self.device):
                    logits = self._logits(self.model, inputs)
                loss = self.loss_fn(logits.float(), targets)
                value = loss.item()  # the step's only host-device synchronisation
                if not math.isfinite(value):
                    raise LtbenchError(f"The loss became {value} in epoch {epoch}; lower train.optimizer.lr.")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if clip:
                    nn.utils.clip_grad_norm_(self.model.parameters(), clip)
                optimizer.step()
                scheduler.step()
                if ema is not None:
                    ema.update_parameters(self.model)
                total += value * len(targets)
                count += len(targets)
                advance(f"loss {total / count:.4f}")
        return total / max(count, 1)

    @torch.no_grad()
    def _predict(self, loader: DataLoader, ema: nn.Module | None) -> np.ndarray:
        """Sigmoid scores of the reported model (the EMA when there is one) on the test split."""
        model = ema.module if ema is not None else self.model
        model.eval()
        outputs = []
        for inputs, _ in loader:
            with autocast(self.amp, self.device):
                logits = self._logits(model, inputs)
            outputs.append(torch.sigmoid(logits.float()).cpu())
        return torch.cat(outputs).numpy()

    def _record_final_map(self, epoch: int, test_map: float) -> None:
        """Put the reported model's mAP on the last epoch's history row (for the learning curves)."""
        final = [r for r in read_history(self.run_dir) if r["epoch"] == epoch]
        if final and final[0].get("test_map") != test_map:
            append_history(self.run_dir, {**final[0], "test_map": test_map})

    def _evaluate(self, loader: DataLoader, ema: nn.Module | None) -> dict[str, Any]:
        return evaluate(self._predict(loader, ema), self.dataset.test.targets, self.dataset.groups)
