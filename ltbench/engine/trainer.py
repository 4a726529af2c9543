"""The training loop: the method's stages, AMP, schedules, EMA, per-epoch checkpoints and resume.

Model selection is honest: the reported model is the one after the last epoch
of the last stage (its EMA when ``train.ema`` is set). The test set is evaluated
every ``eval.interval`` epochs only to draw learning curves; it never picks a model.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ltbench.data.base import LTDataset
from ltbench.engine import distributed
from ltbench.engine.checkpoint import Position, read_checkpoint, restore_training, save_checkpoint
from ltbench.engine.device import amp_dtype, autocast
from ltbench.engine.ema import make_ema
from ltbench.engine.active_stage import ActiveStage, set_train_modes, stage_section
from ltbench.engine.optim import build_optimizer, build_scheduler, decay_groups
from ltbench.engine.prediction import place_on_device, predict
from ltbench.errors import LtbenchError
from ltbench.evaluation import evaluate
from ltbench.loggers import LoggerGroup
from ltbench.methods.base import BatchInputs, EpochInfo, MethodParts
from ltbench.progress import console, progress_bar
from ltbench.registry import KINDS
from ltbench.runs.run_dir import RunDir


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class TrainResult:
    scores: np.ndarray  # test-set scores of the reported model (float32 logits through its score function)
    metrics: dict[str, Any]  # evaluator output for those scores
    epochs: int
    device: str
    amp: bool
    feature_cache: bool
    selection: str  # "final" or "final-ema"
    train_seconds: float
    model: nn.Module  # the reported model (the EMA's when there is one)
    history: list[dict[str, Any]]  # one row per epoch, as history.jsonl holds them


class Trainer:
    """Trains ``parts.model`` through ``parts.stages`` on ``dataset`` as ``config`` says.

    Its history (one row per epoch) is kept here, in memory; after each epoch the
    run directory ``rundir`` writes it together with the checkpoint it belongs to,
    and the loggers get it.
    """

    def __init__(self, config: dict[str, Any], dataset: LTDataset, parts: MethodParts, rundir: RunDir) -> None:
        self.config, self.dataset, self.parts, self.rundir = config, dataset, parts, rundir
        self.loggers = LoggerGroup()  # experiment trackers fed each epoch's history row (the experiment sets them)
        self.train_cfg = config["train"]
        self.inputs = place_on_device(config, dataset, parts)
        self.device, self.amp = self.inputs.device, self.inputs.amp
        self.dtype = amp_dtype(self.train_cfg["amp"])
        self.model = parts.model
        self.loss_fn = parts.loss.to(self.device)
        self.history: list[dict[str, Any]] = []
        self.stages = parts.stages
        self.epochs = [stage.epochs or self.train_cfg["epochs"] for stage in self.stages]
        self.wants_grad = {name: p.requires_grad for name, p in self.model.named_parameters()}
        trained = {n for n, wants in self.wants_grad.items() if wants and any(s.trains(n) for s in self.stages)}
        self.frozen = set(self.wants_grad) - trained  # not saved in checkpoints: rebuilt with the model
        for stage in self.stages:
            self.inputs.cached_for_training(stage)  # refuse an impossible feature_cache=true before training

    # ------------------------------------------------------------- stages
    def _start_stage(self, index: int, resume: tuple[Position, dict[str, Any]] | None) -> ActiveStage:
        stage = self.stages[index]
        if resume is None and stage.on_start is not None:
            stage.on_start(self.model)
        for name, param in self.model.named_parameters():
            param.requires_grad_(self.wants_grad[name] and stage.trains(name))
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        if not named:
            raise LtbenchError(f"Stage {stage.name!r} trains no parameter; check the method's Stage.train.")
        opt_cfg = stage_section(KINDS["optimizers"], self.train_cfg["optimizer"], stage)
        groups = (self.parts.param_groups or decay_groups)(named, opt_cfg)
        optimizer = build_optimizer(groups, opt_cfg)
        cached = self.inputs.cached_for_training(stage)
        loader, compute_loss = distributed.for_stage(self.inputs.train_loader(stage, self.model.backbone, cached), self.model)
        epochs = self.epochs[index]
        schedule_cfg = stage_section(KINDS["schedules"], self.train_cfg["schedule"], stage)
        scheduler = build_scheduler(optimizer, schedule_cfg, len(loader), epochs)
        ema = make_ema(self.model, self.train_cfg["ema"]) if self.train_cfg["ema"] else None
        if ema is not None and resume is None and self.train_cfg["ema_from_init"]:
            ema.update_parameters(self.model)  # the average starts from the stage's initial weights
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp and self.dtype == torch.float16)
        if resume is not None:
            restore_training(self.rundir.checkpoint, resume[1], self.frozen, optimizer, scheduler, ema)
            if hasattr(loader.sampler, "fast_forward"):  # a sampler whose draws continue across epochs
                loader.sampler.fast_forward(resume[0].epoch)
        return ActiveStage(index, stage, epochs, sum(self.epochs[:index]) + 1, cached, loader, optimizer, scheduler,
                           ema, scaler, compute_loss)

    # ------------------------------------------------------------- training
    def fit(self) -> TrainResult:
        seed_everything(self.config["seed"])
        checkpoint = self.rundir.checkpoint
        saved = resume = read_checkpoint(checkpoint, self.model, self.frozen) if checkpoint.is_file() else None
        start = 0
        if resume is not None:
            position = resume[0]
            console.print(f"[bold]resuming[/] {self.rundir.path.name} after stage {position.stage + 1} "
                          f"epoch {position.epoch}")
            start = position.stage
            if position.epoch >= self.epochs[position.stage]:
                start, resume = position.stage + 1, None
        done_before = sum(self.epochs[:start]) + (resume[0].epoch if resume else 0)
        self.history = [row for row in self.rundir.history() if row["epoch"] <= done_before]
        started = time.perf_counter() - sum(row.get("seconds", 0.0) for row in self.history)
        run: ActiveStage | None = None
        for index in range(start, len(self.stages)):
            run = self._start_stage(index, resume)
            first = resume[0].epoch + 1 if resume else 1
            resume = None
            for epoch in range(first, run.epochs + 1):
                self._epoch(run, epoch)
        if run is None and self.stages:  # resumed after the last epoch: rebuild the last stage's EMA state
            run = self._start_stage(len(self.stages) - 1, saved)
        ema = run.ema if run else None
        last_stage = self.stages[-1] if self.stages else None
        scores = predict(ema.module if ema is not None else self.model, self.inputs, last_stage)
        metrics = evaluate(scores, self.dataset.test.targets, self.dataset.groups)
        self._record_final_map(sum(self.epochs), metrics["total"])
        return TrainResult(scores, metrics, sum(self.epochs), str(self.device), self.amp,
                           bool(run and run.cached), "final-ema" if ema is not None else "final",
                           time.perf_counter() - started, ema.module if ema is not None else self.model,
                           self.history)

    def _epoch(self, run: ActiveStage, epoch: int) -> None:
        global_epoch = run.first_epoch + epoch - 1
        info = EpochInfo(run.stage.name, run.index, epoch, run.epochs, global_epoch)
        epoch_start = time.perf_counter()
        torch.manual_seed(self.config["seed"] * 1000 + global_epoch)  # each epoch's shuffle is reproducible
        run.loader.generator.manual_seed(self.config["seed"] * 1000 + global_epoch)
        for hook in self.parts.on_epoch:
            hook(info)
        loss = self._train_epoch(run, info)
        lrs = run.scheduler.get_last_lr()
        row: dict[str, Any] = {"epoch": global_epoch, "stage": run.stage.name, "train_loss": loss, "lr": lrs[0],
                               "lr_groups": lrs}
        interval = self.config["eval"]["interval"]
        if interval and global_epoch % interval == 0 and global_epoch < sum(self.epochs):
            model = run.ema.module if run.ema is not None else self.model
            scores = predict(model, self.inputs, run.stage)
            result = evaluate(scores, self.dataset.test.targets, self.dataset.groups)
            row["test_map"] = result["total"]
            row["test_map_groups"] = {group: result[group] for group in self.dataset.groups}
        row["seconds"] = time.perf_counter() - epoch_start
        self._end_epoch(run, epoch, row)

    def _end_epoch(self, run: ActiveStage, epoch: int, row: dict[str, Any]) -> None:
        """An epoch's history row: kept, written with the checkpoint it belongs to (rank 0 alone), shown."""
        self.history.append(row)
        if distributed.is_main_rank():
            self.rundir.write_history(self.history)
            save_checkpoint(self.rundir.checkpoint, Position(run.index, epoch), self.model, self.frozen,
                            run.optimizer, run.scheduler, run.ema)
            self.loggers.log_epoch(row)
        console.print(f"epoch {row['epoch']}/{sum(self.epochs)} ({run.stage.name})  loss {row['train_loss']:.4f}" +
                      (f"  test mAP {row['test_map']:.2f}" if "test_map" in row else ""))

    def _train_epoch(self, run: ActiveStage, info: EpochInfo) -> float:
        set_train_modes(self.model, run.stage)
        total, count = 0.0, 0
        clip = self.train_cfg["grad_clip"]
        params = [p for group in run.optimizer.param_groups for p in group["params"]]
        with progress_bar(f"epoch {info.global_epoch}", len(run.loader)) as advance:
            for batch in run.loader:
                loss = run.compute_loss(lambda: self._batch_loss(run, batch, info))  # noqa: B023 - called at once
                value = loss.item()  # the batch's only host-device synchronisation
                if not math.isfinite(value):
                    raise LtbenchError(f"The loss became {value} in epoch {info.global_epoch}; "
                                       "lower train.optimizer.lr.")
                run.optimizer.zero_grad(set_to_none=True)
                run.scaler.scale(loss).backward()
                if clip:
                    run.scaler.unscale_(run.optimizer)
                    nn.utils.clip_grad_norm_(params, clip)
                run.scaler.step(run.optimizer)
                run.scaler.update()
                run.scheduler.step()
                if run.ema is not None:
                    run.ema.update_parameters(self.model)
                size = len(batch[1])
                total += value * size
                count += size
                advance(f"loss {total / count:.4f}")
        return distributed.mean_over_ranks(total, count)

    def _batch_loss(self, run: ActiveStage, batch: tuple[Any, ...], info: EpochInfo) -> torch.Tensor:
        def features(inputs: torch.Tensor) -> torch.Tensor:
            return self.inputs.to_features(self.model.backbone, inputs, run.cached)

        with autocast(self.amp, self.device, self.dtype):  # the loss itself in float32, outside autocast
            if self.parts.batch_loss is not None:
                return self.parts.batch_loss(BatchInputs(tuple(batch), features, self.model, self.loss_fn, info))
            logits = self.model.head(features(batch[0]))
        return self.loss_fn(logits.float(), batch[1].to(self.device, non_blocking=True))

    def _record_final_map(self, epoch: int, test_map: float) -> None:
        """Put the reported model's mAP on the last epoch's history row (for the learning curves)."""
        final = self.history[-1] if self.history else None
        if final is not None and final["epoch"] == epoch and final.get("test_map") != test_map:
            final["test_map"] = test_map
            if distributed.is_main_rank():
                self.rundir.write_history(self.history)
