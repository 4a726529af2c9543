"""HP-DVAL's code preset beside its authors' stage 1 (jiexuanyan/hp_dval @ c7f98f3): record and replay.

The authors' ``coco_runner.py`` trains ``models.coop.CustomCLIP`` as committed;
the published checkpoints' names point to ``models/clip_vit.py``'s ``CLIPVIT``
(the card says why), so the runner is switched to CLIPVIT here, with the two
patches that switch needs to run at all: CLIPVIT returns ``(score, patch
features, global feature)`` where ``utils/LT_engine_coop.py:164,175,201,245``
expect the score, and has no ``prompt_learner`` for ``coco_runner.py:305``.

One record per data set with a published row (``PRESETS``): VOC-LT and COCO-LT,
the same runner with the ``--dataset`` and ``--num-classes`` of each (the class
names and the DB loss's values are the runner's own per data set).

The scenario: the data set's classes, the LMPT scenario's targets, 18 random
224 x 224 training images (one epoch at batch 4: five steps, the last partial)
and 8 test images, entering after the input pipeline (uint8 for ltbench, their
ToTensor floats, no normalisation, for the authors'); CutoutPIL and RandAugment
draw differently in the two programs and stay out. The CLIP is the LMPT
scenario's (ViT-B/16's structure, width 64, one layer), built for the authors
by their own ``clip/model.py`` from ltbench's tensors.

    PYTHONPATH=$PWD:/tmp/lockdeps python -m benchmarks.lockstep.hp_dval --checkout /tmp/hp_dval        # writes both
    python -m benchmarks.lockstep.hp_dval --checkout /tmp/hp_dval --preset hp_dval_code_coco_lt        # one of them
    python -m benchmarks.lockstep.hp_dval --checkout /tmp/hp_dval --check                              # compares

The authors' side needs torchnet and randaugment (their imports; see benchmarks/lockstep/README.md).
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
import tempfile
import types
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch
from torch import nn

from benchmarks.lockstep import clip_authors, lmpt, record

METHOD = "hp_dval_code"
PRESETS = {"hp_dval_code": "voc_lt", "hp_dval_code_coco_lt": "coco_lt"}  # record name -> data set
REPOSITORY = "jiexuanyan/hp_dval"
SEED, BATCH, SIZE = 0, 4, 224
TRAIN_IMAGES, TEST_IMAGES = lmpt.TRAIN_IMAGES, lmpt.TEST_IMAGES
OVERRIDES = [f"model.config={lmpt.TINY_CLIP}", "model.pretrained=false", f"train.batch_size={BATCH}",
             "train.device=cpu", "train.num_workers=0", "train.feature_cache=false", "train.amp=false",
             "eval.interval=0", f"seed={SEED}"]
def argv(dataset: str) -> list[str]:
    """The runner's flags for the scenario (its --lr default 1e-5, the published runs' loss, k and alpha)."""
    data = lmpt.data_set(dataset)
    return ["coco_runner.py", "--dataset", data.flag, "--num-classes", str(len(data.classes)), "-b", str(BATCH),
            "-j", "0", "--lr", "1e-5", "--loss_function", "dbl", "--topk", "16", "--alpha", "0.5"]



AUTHORS_TOP_MODULES = ("coco_runner", "src", "utils", "models", "clip", "mmengine", "torchnet", "randaugment",
                       "visdom")
COMMAND = "PYTHONPATH=$PWD:LOCKDEPS python -m benchmarks.lockstep.hp_dval --checkout CHECKOUT"


def batches(dataset: str = "voc_lt") -> tuple[list[tuple[torch.Tensor, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]:
    """The LMPT scenario's targets with 224 x 224 uint8 images (B x 3 x 224 x 224), training and test."""
    data = lmpt.scenario(dataset)
    generator = torch.Generator().manual_seed(SEED)
    images = torch.randint(0, 256, (TRAIN_IMAGES + TEST_IMAGES, 3, SIZE, SIZE), generator=generator, dtype=torch.uint8)
    train = torch.from_numpy(data.train_targets).float()
    test = torch.from_numpy(data.test_targets).float()
    return [(images[:TRAIN_IMAGES], train)], (images[TRAIN_IMAGES:], test)


# ------------------------------------------------------------------ ltbench's side

def ltbench_parts(dataset: str, changed: tuple[str, ...] = ()) -> tuple[dict[str, Any], Any, Any]:
    from ltbench.data.arrays import ArrayImages
    from ltbench.data.base import LTDataset, Split
    from ltbench.engine.trainer import seed_everything
    from ltbench.methods.base import MethodContext
    from ltbench.plugins import load_plugins
    from ltbench.registry import METHODS
    from ltbench.config.resolve import resolve_config

    load_plugins()
    config = resolve_config("hp_dval", dataset, "hp_dval_code", overrides=OVERRIDES + list(changed))
    [(images, targets)], (test_images, test_targets) = batches(dataset)

    def split(x: torch.Tensor, y: torch.Tensor, prefix: str) -> Split:
        return Split(ArrayImages(x.permute(0, 2, 3, 1).contiguous().numpy()), y.numpy(),
                     [f"{prefix}{i}" for i in range(len(x))])
    classes = lmpt.data_set(dataset)
    data = LTDataset(dataset, list(classes.classes), split(images, targets, "train"),
                     split(test_images, test_targets, "test"),
                     annotated_names=list(classes.annotated) if classes.annotated else None)
    params = dict(config["method"])
    seed_everything(config["seed"])
    parts = METHODS.build(params.pop("name"), ctx=MethodContext(config, data), **params)
    return config, data, parts


def name_map(model: nn.Module) -> dict[str, str]:
    """ltbench's trained tensors -> CLIPVIT's (models/clip_vit.py:44-70) under the wrapper's ``model.``, one to one.

    Without counterpart: ltbench's stage-2 prompts, hand-crafted text, temperature and normalisation buffers
    (none trains in stage 1), and on the authors' side the ``projection`` head their forward never calls.
    """
    names = {}
    for name, _ in model.named_parameters():
        if name.startswith("backbone.visual."):
            rest = name.removeprefix("backbone.visual.")
            names[name] = "model." + ("projection_dist" if rest == "proj" else rest)
        elif name.startswith("head.stage1_text."):
            names[name] = "model.text_encoder." + name.removeprefix("head.stage1_text.")
    if len(set(names.values())) != len(names):
        raise RuntimeError("the HP-DVAL name map is not one to one")
    return names


def ltbench_side(dataset: str = "voc_lt", order: list[list[int]] | None = None,
                 changed: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """ltbench's stage-1 trajectory through its own Trainer, fed the scenario's images in the authors' ``order``."""
    from ltbench.engine.active_stage import set_train_modes
    from ltbench.engine.prediction import predict_scores
    from ltbench.engine.trainer import Trainer
    from ltbench.methods.base import EpochInfo
    from ltbench.runs.run_dir import RunDir

    config, data, parts = ltbench_parts(dataset, changed)
    names = name_map(parts.model)
    initial = {"clip": lmpt.openai_state_dict(parts.model),
               "tensors": {names[k]: v.detach().clone() for k, v in parts.model.named_parameters() if k in names}}
    [(images, targets)], (test_images, _) = batches(dataset)
    order = order or [list(range(i, min(i + BATCH, TRAIN_IMAGES))) for i in range(0, TRAIN_IMAGES, BATCH)]
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(config, data, parts, RunDir(Path(folder) / "run"))
        for hook in parts.on_epoch:
            hook(EpochInfo("align", 0, 1, 1, 1))
        run = trainer._start_stage(0, None)
        if len(run.loader) != len(order):
            raise record.Divergence(f"first divergence at steps per epoch: ltbench {len(run.loader)}, the authors' "
                                    f"{len(order)} (train.drop_last)")
        run = dataclasses.replace(run, loader=[(images[rows], targets[rows]) for rows in order])
        recorder = record.StepRecorder(parts.model, names)
        recorder.watch_logits(parts.model.head)
        recorder.watch_optimizer(run.optimizer)
        set_train_modes(parts.model, run.stage)
        with mock.patch.object(torch.Tensor, "backward", lmpt.recording_backward(lambda: recorder)):
            trainer._train_epoch(run, EpochInfo(run.stage.name, 0, 1, run.epochs, 1))
        recorder.close()
        ema = run.ema.module
        scores = predict_scores(ema, [(test_images,)], lambda x: trainer.inputs.to_features(ema.backbone, x, False),
                                lambda: torch.autocast("cpu", enabled=False), parts.score)
    final = {"weights": record.weights(parts.model.named_parameters(), names),
             "ema": record.weights(ema.named_parameters(), names),
             "scores": record.summary(torch.from_numpy(np.asarray(scores)))}
    return {"steps": recorder.steps, "final": final, "order": order}, initial


# ------------------------------------------------------------------ the authors' side

class ScoreOnly(nn.Module):
    """CLIPVIT as the committed engine calls a model: the score alone, and an (empty) prompt learner to freeze."""

    def __init__(self, model: nn.Module, float64: bool = False) -> None:
        super().__init__()
        self.model = model
        self.prompt_learner = nn.Module()
        self.float64 = float64

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not self.float64:
            return self.model(images)[0]
        with mock.patch.object(torch.Tensor, "float", torch.Tensor.double):  # clip_vit.py:98's .float()
            return self.model(images.double())[0]  # LT_engine_coop.py:245 feeds the EMA inputData.float()


def authors_side(dataset: str, checkout: Path, initial: dict[str, dict[str, torch.Tensor]], dtype: torch.dtype,
                 order: list[int] | None = None) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """``main_coco`` (coco_runner.py:67-352) with CLIPVIT, one epoch of the scenario, then validate()."""
    patches = record.Patches()
    result: dict[str, Any] = {"order": []}
    with tempfile.TemporaryDirectory() as folder, record.checkout_on_path(checkout, AUTHORS_TOP_MODULES):
        folder_name = lmpt.data_set(dataset).folder
        data = Path(folder) / "data" / folder_name
        data.mkdir(parents=True)
        freq = lmpt.scenario(dataset).train_targets.sum(axis=0).astype(np.int64)
        with open(data / "class_freq.pkl", "wb") as file:
            pickle.dump({"class_freq": freq, "neg_class_freq": TRAIN_IMAGES - freq}, file)
        try:
            _load_authors(patches, dtype, initial)
            runner = record.import_module("coco_runner")
            _patch_main(patches, runner, dtype, initial, result, order, data / "class_freq.pkl", dataset)
            torch.manual_seed(SEED)
            with mock.patch.object(sys, "argv", argv(dataset)):
                runner.main_coco()
        finally:
            patches.undo()
    patches.applied.insert(0, {"target": "torch.manual_seed", "reason": "coco_runner.py sets no seed (:71-72 "
                               "commented out): seeded with 0 before main_coco so the shuffle, hence the record, "
                               "repeats"})
    return result["trajectory"], patches.applied


def _load_authors(patches: record.Patches, dtype: torch.dtype, initial: dict[str, dict[str, torch.Tensor]]) -> None:
    patches.module("visdom", types.ModuleType("visdom"),
                   "torchnet/logger imports visdom at import time; nothing here logs to it")
    clip_authors.pickle_reader(patches, "mmengine", "src/loss_functions/dbl.py imports mmengine only to read "
                                                    "class_freq.pkl with mmengine.load; a pickle reader stands in")
    clip_authors.openai_clip(patches, dtype, initial["clip"])
    patches.setattr(nn.Module, "cuda", lambda self, *a, **k: self, "CPU: .cuda() leaves modules where they are")


def _patch_main(patches: record.Patches, runner: types.ModuleType, dtype: torch.dtype,
                initial: dict[str, dict[str, torch.Tensor]], result: dict[str, Any], order: list[int] | None,
                freq_file: Path, dataset: str) -> None:
    clipvit = record.import_module("models.clip_vit").CLIPVIT

    def clip_vit(args: dict[str, Any], classnames: list[str], clip_model: nn.Module) -> nn.Module:
        model = ScoreOnly(clipvit(args, classnames=classnames, clip_model=clip_model), dtype == torch.float64).to(dtype)
        params = dict(model.named_parameters())
        unmatched = set(params) - set(initial["tensors"])
        if set(initial["tensors"]) - set(params) or unmatched != {n for n in params if n.startswith("model.projection.")}:
            raise RuntimeError(f"the name map does not cover CLIPVIT one to one: {sorted(unmatched)[:5]}")
        for name, tensor in initial["tensors"].items():
            if not torch.equal(params[name].double(), tensor.to(dtype).double()):
                raise RuntimeError(f"the authors' {name} differs from ltbench's counterpart at the start")
        return model
    patches.setattr(runner, "CustomCLIP", clip_vit,
                    "models.clip_vit.CLIPVIT instead of models.coop.CustomCLIP (coco_runner.py:19,284): the model "
                    "the published checkpoints' names point to; wrapped to return its score (the engine's lines "
                    "164,175,201,245 take the output as the score) and to own an empty prompt_learner (:305); in "
                    "the float64 run .float() keeps float64 inside its forward (clip_vit.py:98 casts the text "
                    "features to float32) and its input is cast to float64 (LT_engine_coop.py:245 feeds .float())")
    [(images, targets)], (test_images, test_targets) = batches(dataset)
    shown, folder = {"voc_lt": "VOC-LT", "coco_lt": "COCO-LT"}[dataset], lmpt.data_set(dataset).folder

    def floats(x: torch.Tensor) -> torch.Tensor:
        return (x.float() / 255).to(dtype)  # ToTensor, no normalisation (src/data_loader/imagelist.py:111,115)

    def scenario_set(dataset: str, split: str, inp_name: str) -> torch.utils.data.Dataset:
        x, y = (images, targets) if split == "train" else (test_images, test_targets)
        return torch.utils.data.TensorDataset(floats(x), y.to(dtype), torch.zeros(len(x), 1))
    patches.setattr(runner, "build_dataset", scenario_set,
                    "the scenario's images after the input pipeline (CutoutPIL and RandAugment draw differently in "
                    f"the two programs) instead of {shown}'s files and GloVe vectors (the third item is never used)")
    clip_authors.recording_loader(patches, result["order"], order)
    resample = runner.ResampleLoss
    patches.setattr(runner, "ResampleLoss", lambda **kwargs: resample(**(kwargs | {"freq_file": str(freq_file)})),
                    f"class_freq.pkl of the scenario's training labels instead of ./data/{folder}/class_freq.pkl")

    def learning(engine: Any, models: nn.ModuleList, clip_model: nn.Module, train_loader: Any, val_loader: Any,
                 criterion: nn.ModuleList, optimizer: torch.optim.Optimizer, scheduler: Any, model_name: str) -> None:
        regular, ema = models[0], models[1]
        names = {n: n for n in initial["tensors"]}
        recorder = record.StepRecorder(regular, names)
        recorder.watch_logits(regular)
        recorder.watch_optimizer(optimizer)
        regular.train()
        engine.meter_reset()
        # the loss read where it is back-propagated: engine.train also calls criterion[0] on the EMA's output
        with mock.patch.object(torch.Tensor, "backward", lmpt.recording_backward(lambda: recorder)):
            engine.train(models, clip_model, train_loader, criterion, optimizer, scheduler,
                         torch.amp.GradScaler("cpu", enabled=False), 1)
        recorder.close()
        scores: list[torch.Tensor] = []
        ema.module.register_forward_hook(lambda m, a, out: scores.append(out.detach().clone()))
        regular.eval()
        engine.meter_reset()
        engine.validate(models, clip_model, val_loader, criterion)
        final = {"weights": record.weights(regular.named_parameters(), names),
                 "ema": record.weights(ema.module.named_parameters(), names),
                 "scores": record.summary(torch.cat(scores))}
        _uncount_projection(recorder.steps, regular, optimizer, names)
        result["trajectory"] = {"steps": recorder.steps, "final": final, "order": result["order"]}
    patches.setattr(runner.MultiLabelEngine, "learning", learning,
                    "learning() (utils/LT_engine_coop.py:98-152) replaced by its lines 129-138 for one epoch (a "
                    "disabled GradScaler, train(), meter_reset(), train()), then validate() on the test images; no "
                    "checkpoint files, no epoch-80 assert")


def _uncount_projection(steps: list[dict[str, Any]], model: nn.Module, optimizer: torch.optim.Optimizer,
                        names: dict[str, str]) -> None:
    """Each group's tensor count less CLIPVIT's ``projection`` (clip_vit.py:63-67): add_weight_decay puts its four
    tensors in the optimizer, but the forward never calls it, so they never get a gradient and never change."""
    by_id = {id(p): n for n, p in model.named_parameters()}
    unused = {}
    for group in optimizer.param_groups:
        members = [by_id[id(p)] for p in group["params"]]
        unused[record.members_digest(names[n] for n in members if n in names)] = sum(
            n.startswith("model.projection.") for n in members)
    if sum(unused.values()) != 4:
        raise RuntimeError(f"CLIPVIT's projection has {sum(unused.values())} trainable tensors, not 4")
    for step in steps:
        for group in step["groups"]:
            group["params"] -= unused[group["members"]]


# ------------------------------------------------------------------ command line

def record_reference(dataset: str, checkout: Path) -> dict[str, Any]:
    _, initial = ltbench_side(dataset)
    float32, patches = authors_side(dataset, checkout, initial, torch.float32)
    drawn = float32.pop("order")
    float64, _ = authors_side(dataset, checkout, initial, torch.float64, drawn)
    if float64.pop("order") != drawn:
        raise RuntimeError("the float64 run did not replay the float32 run's batches")
    where = {} if dataset == "voc_lt" else {"dataset": dataset}
    return {"method": METHOD, **where, "repository": REPOSITORY, "commit": record.checkout_commit(checkout),
            "command": COMMAND, "patches": patches, "torch": torch.__version__,
            "scenario": {"seed": SEED, "train_images": TRAIN_IMAGES, "test_images": TEST_IMAGES, "batch": BATCH,
                         "clip": lmpt.TINY_CLIP, "ltbench_overrides": OVERRIDES, "authors_argv": argv(dataset),
                         "order": lmpt.order_in_batches(drawn)},
            "float32": float32, "float64": float64, "noise_floor": record.noise_floor(float32, float64)}


def main() -> None:
    args = clip_authors.command_line(__doc__, "jiexuanyan/hp_dval", "c7f98f3", presets=tuple(PRESETS))

    def check(name: str, reference: dict) -> dict:
        ours, _ = ltbench_side(PRESETS[name], reference["scenario"]["order"], tuple(args.set))
        ours.pop("order")
        return record.compare(ours, reference["float32"], reference["noise_floor"])

    clip_authors.run_records(args, PRESETS, lambda name: record_reference(PRESETS[name], args.checkout), check)


if __name__ == "__main__":
    main()
