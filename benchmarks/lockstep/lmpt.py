"""LMPT and CoOp as LMPT's ``lmpt/train.py`` trains them (richard-peng-xia/LMPT @ aab39ca): record and replay.

One record per preset that stands beside a published row (``PRESETS``): lmpt
and coop on VOC-LT and on COCO-LT with train.sh's flags for each (ViT-B/16), and
lmpt and coop on VOC-LT with RN50's structure (the LMPT paper's RN50 rows;
ltbench's ``<method>_rn50`` presets), whose ``model.frozen_mode: train`` puts the
frozen tower's BatchNorm in train mode as the authors' ``model.train()`` does.

The scenario: the data set's classes (VOC-LT 20, COCO-LT 80), 18 training images
of random sizes (so the 224 x 224 resize acts) in one epoch at batch 4: five
steps, the last one the partial batch of 2 that the authors' loader keeps; 8
test images, every class among their labels. CLIP has ViT-B/16's structure
(patch 16, 224 px, 77-token text, the real tokenizer) at width 64 and one layer
per tower, or RN50's (a ModifiedResNet with attention pooling at 224 px) at
width 8 and one block per stage, so a test takes seconds. Both sides start from
ltbench's weights (seed 0): the OpenAI CLIP the authors' code loads is built
from ltbench's open_clip tensors, and the random contexts are copied over,
through ``name_map``. The authors' ``main()`` runs whole: their loader reads the
images from PNG files, resizes with PIL's bilinear, shuffles with their seed; the
order it drew is recorded and ltbench's Trainer is fed the same images in that
order through ltbench's own transform.

    python -m benchmarks.lockstep.lmpt --checkout /tmp/LMPT --clip /tmp/CLIP          # writes every preset's JSON
    python -m benchmarks.lockstep.lmpt --checkout /tmp/LMPT --clip /tmp/CLIP --preset lmpt_coco_lt   # one of them
    python -m benchmarks.lockstep.lmpt --checkout /tmp/LMPT --clip /tmp/CLIP --check   # compares ltbench's side

``--clip``: a checkout of OpenAI's CLIP (github.com/openai/CLIP; LMPT's
requirement.txt installs it as ``clip``), unless ``import clip`` already finds it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import sys
import tempfile
import types
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import numpy as np
import torch
from PIL import Image
from torch import nn

from benchmarks.lockstep import clip_authors, record

REPOSITORY = "richard-peng-xia/LMPT"
SEED = 0
TRAIN_IMAGES, TEST_IMAGES, BATCH, SIZE = 18, 8, 4, 224
STEPS = -(-TRAIN_IMAGES // BATCH)  # the last partial batch trains (DataLoader drop_last=False, train.py:116-121)
WIDTH = 64  # OpenAI's build_model gives width // 64 heads: 64 is the smallest width it rebuilds
TINY_CLIP = {"embed_dim": 32,
             "vision_cfg": {"image_size": SIZE, "layers": 1, "width": WIDTH, "head_width": 64, "patch_size": 16},
             "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": WIDTH, "heads": WIDTH // 64,
                          "layers": 1}}
TINY_RN50 = {"embed_dim": 32,  # OpenAI's build_model gives width * 32 // 64 pooling heads: 4 at width 8
             "vision_cfg": {"image_size": SIZE, "layers": [1, 1, 1, 1], "width": 8, "patch_size": None},
             "text_cfg": TINY_CLIP["text_cfg"]}
TOWERS = {"vit_b16": "ViT-B/16's structure, width 64, one layer",  # what the authors' clip.load gets, in words
          "rn50": "RN50's structure, width 8, one block per stage"}
LR = 5e-4  # lmpt/train.sh:11
# the switches that make ltbench's step the authors': the presets' own values (configs/lmpt_code_recipe.yaml:
# names, resize, drop_last), plus those that stay different on purpose and are named on the cards
SWITCHES = {
    "train.schedule.name": "constant",  # ReduceLROnPlateau on test mAP (train.py:143,255-256): constant within an epoch
    "train.amp": "false",               # the authors run pure float16 on a GPU; here both sides run float32 on a CPU
    "method.flip": "false",             # the flip's coin differs between the programs (patched off on their side too)
    "seed": str(SEED),
}
LMPT_SWITCHES = {"method.prior": "softmax"}  # q_c as train.py:209-210 computes it (finite at these small counts)
COMMON_OVERRIDES = ["model.pretrained=false", f"train.batch_size={BATCH}", "train.epochs=1", "train.device=cpu",
                    "train.num_workers=0", "train.feature_cache=false", "eval.interval=0"]
AUTHORS_TOP_MODULES = ("train", "coop_model", "datasets", "imagelist", "metrics", "prompt_template", "asl", "dbl",
                       "csel", "mmcv", "clip")
COMMAND = "python -m benchmarks.lockstep.lmpt --checkout CHECKOUT --clip OPENAI_CLIP_CHECKOUT"


@dataclasses.dataclass(frozen=True)
class DataSet:
    """What the scenario takes from one data set: its classes, and where and how the authors' code reads it."""

    classes: tuple[str, ...]       # ltbench's class names
    annotated: tuple[str, ...] | None  # as the annotations write them (ltbench's method.names=annotation), if other
    folder: str                    # data/<folder>/ in the authors' tree (lmpt/datasets.py:11-26)
    flag: str                      # train.py's --dataset
    neg_scale: str                 # train.sh's --neg_scale (the coco-lt line; VOC-LT's ResampleLoss uses 5.0)
    label_rate: float              # the chance of each extra label in the scenario's targets


def data_set(name: str) -> DataSet:
    from ltbench.data import coco, voc

    return {"voc_lt": DataSet(voc.CLASS_NAMES, voc.XML_NAMES, "voc", "voc-lt", "5.0", 0.12),
            "coco_lt": DataSet(coco.CLASS_NAMES, None, "coco", "coco-lt", "2.0", 0.03)}[name]


@dataclasses.dataclass(frozen=True)
class Preset:
    """A preset beside a published row: the method, its data set and the CLIP tower's structure."""

    method: str
    dataset: str = "voc_lt"
    tower: str = "vit_b16"  # or rn50

    @property
    def name(self) -> str:
        """The record's name: the method, then the data set and the tower where they are not VOC-LT's ViT-B/16."""
        return "_".join([self.method] + [self.dataset] * (self.dataset != "voc_lt") + [self.tower] * (self.tower != "vit_b16"))

    @property
    def config(self) -> str | None:
        """ltbench's preset: the method's own, or ``<method>_rn50`` (configs/<dataset>/<method>_rn50.yaml)."""
        return f"{self.method}_rn50" if self.tower == "rn50" else None

    @property
    def clip(self) -> dict[str, Any]:
        return TINY_RN50 if self.tower == "rn50" else TINY_CLIP

    def argv(self) -> list[str]:
        """train.sh's flags (its COCO-LT line; VOC-LT's --neg_scale 5.0) scaled to the scenario, for this preset."""
        data = data_set(self.dataset)
        return ["train.py", "--device", "cpu", "--seed", "0", "--pretrain_clip",
                "RN50" if self.tower == "rn50" else "ViT16", "--dataset", data.flag, "--batch_size", str(BATCH),
                "--epochs", "1", "--class_token_position", "end", "--ctx_init", "", "--n_ctx", "16", "--m_ctx", "2",
                "--lr", str(LR), "--loss_function", "dbl", "--cseloss", "softmargin", "--optimizer", "sgd",
                "--neg_scale", data.neg_scale, "--gamma", "0.2", "--lam", "0.5", "--training_method", self.method]


PRESETS = {p.name: p for p in (Preset("lmpt"), Preset("coop"), Preset("lmpt", "coco_lt"), Preset("coop", "coco_lt"),
                               Preset("lmpt", tower="rn50"), Preset("coop", tower="rn50"))}


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One epoch of VOC-LT-like data: uint8 images of random sizes, multi-hot targets, captions."""

    train_images: list[np.ndarray]
    train_targets: np.ndarray
    test_images: list[np.ndarray]
    test_targets: np.ndarray
    captions: list[str]


def scenario(dataset: str = "voc_lt") -> Scenario:
    data = data_set(dataset)
    classes = len(data.classes)
    rng = np.random.default_rng(SEED)

    def images(count: int) -> list[np.ndarray]:
        return [rng.integers(0, 256, (int(rng.integers(180, 300)), int(rng.integers(180, 300)), 3), dtype=np.uint8)
                for _ in range(count)]

    def targets(count: int) -> np.ndarray:
        rows = (rng.random((count, classes)) < data.label_rate).astype(np.uint8)
        rows[np.arange(count), rng.integers(0, classes, count)] = 1
        return rows

    train, test = targets(TRAIN_IMAGES), targets(TEST_IMAGES)
    for split in (train, test):  # every class labelled in both (the DB loss's log(N / n_c - 1), AP defined)
        split[np.arange(classes) % len(split), np.arange(classes)] = 1
    captions = ["a photo of " + " and ".join(f"a {data.classes[c]}" for c in np.flatnonzero(row)) +
                " on a table next to a window with some light coming in from the left side" for row in train]
    return Scenario(images(TRAIN_IMAGES), train, images(TEST_IMAGES), test, captions)


# ------------------------------------------------------------------ ltbench's side

def overrides(preset: Preset, captions: Path | None, changed: tuple[str, ...] = ()) -> list[str]:
    """ltbench's overrides of the preset for the scenario; ``changed`` (``key=value``) goes on top."""
    extra = {**SWITCHES, **(LMPT_SWITCHES if preset.method == "lmpt" else {})}
    if preset.method == "lmpt":
        extra["method.captions"] = str(captions)
    return ([f"model.config={preset.clip}"] + COMMON_OVERRIDES + [f"{key}={value}" for key, value in extra.items()]
            + list(changed))


def ltbench_parts(preset: Preset, data: Scenario, folder: Path,
                  changed: tuple[str, ...] = ()) -> tuple[dict[str, Any], Any, Any]:
    """The preset beside the published row with the switches above, the scenario's data set, the parts."""
    from ltbench.data.arrays import ArrayImages  # noqa: F401 - images are held as a list of arrays
    from ltbench.data.base import LTDataset, Split
    from ltbench.engine.trainer import seed_everything
    from ltbench.methods.base import MethodContext
    from ltbench.plugins import load_plugins
    from ltbench.registry import METHODS
    from ltbench.config.resolve import resolve_config

    load_plugins()
    captions = folder / "captions.tsv"
    ids = [f"train{i}" for i in range(TRAIN_IMAGES)]
    captions.write_text("".join(f"{i}\t{c}\n" for i, c in zip(ids, data.captions)), encoding="utf-8")
    config = resolve_config(preset.method, preset.dataset, preset.config, overrides(preset, captions, changed))
    classes = data_set(preset.dataset)
    dataset = LTDataset(preset.dataset, list(classes.classes), Split(data.train_images, data.train_targets, ids),
                        Split(data.test_images, data.test_targets, [f"test{i}" for i in range(TEST_IMAGES)]),
                        annotated_names=list(classes.annotated) if classes.annotated else None)
    params = dict(config["method"])
    seed_everything(config["seed"])
    parts = METHODS.build(params.pop("name"), ctx=MethodContext(config, dataset), **params)
    return config, dataset, parts


def name_map(model: nn.Module) -> dict[str, str]:
    """ltbench's tensors -> the authors' ``CustomCLIP`` names (coop_model.py:143-153), one to one.

    ltbench's image normalisation buffers, the text tower's attention mask and
    its token embedding (the authors' model uses it only while building,
    coop_model.py:45,71) have no counterpart; their values enter through the images and the prompt buffers.
    """
    names = {}
    for name, _ in _tensors(model):
        if name.startswith("backbone.visual."):
            names[name] = "image_encoder." + name.removeprefix("backbone.visual.")
        elif name.startswith("head.text.tower.") and not name.endswith(("token_embedding.weight", "attn_mask")):
            rest = name.removeprefix("head.text.tower.")
            names[name] = rest if rest == "logit_scale" else "text_encoder." + rest
        elif name.startswith("head.text.context."):
            names[name] = {"context": "prompt_learner.ctx", "prefix": "prompt_learner.token_prefix",
                           "suffix": "prompt_learner.token_suffix"}[name.removeprefix("head.text.context.")]
    if len(set(names.values())) != len(names):
        raise RuntimeError("the LMPT name map is not one to one")
    return names


def _tensors(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Parameters and buffers, persistent or not (the prompt's prefix and suffix are non-persistent buffers)."""
    return list(model.named_parameters()) + [(n, b) for n, b in model.named_buffers() if b.is_floating_point()]


def openai_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The CLIP weights of ltbench's model (its CLIP backbone's two towers) under the names OpenAI's
    ``clip.model.build_model`` reads: the same names, less ltbench's prefixes and the text tower's attention mask."""
    backbone = model.backbone
    state = {"visual." + k: v for k, v in _tensors(backbone.visual)}
    state |= {k: v for k, v in _tensors(backbone.text_tower) if k != "attn_mask"}
    return {k: v.detach().clone() for k, v in state.items()}


def recording_backward(recorder: Callable[[], record.StepRecorder]) -> Callable[..., None]:
    """``Tensor.backward`` that first records the step's loss: the first tensor back-propagated in a step."""
    backward = torch.Tensor.backward

    def recording(self: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        current = recorder()._current
        if "loss" not in current:
            current["loss"] = self.detach().double().item()
        return backward(self, *args, **kwargs)
    return recording


def test_logits(head: nn.Module) -> tuple[list[torch.Tensor], Any]:
    """Collects the head's outputs of no-grad (evaluation) forwards, copied: the authors' DB loss adds its
    init_bias to the logits in place (dbl.py's logit_reg_functions) after their scores were taken."""
    out: list[torch.Tensor] = []
    handle = head.register_forward_hook(
        lambda m, a, o: None if torch.is_grad_enabled() else out.append(o.detach().clone()))
    return out, handle


def ltbench_side(preset: Preset, order: list[list[int]] | None = None,
                 changed: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """ltbench's trajectory through its own Trainer, its loader replaced by the scenario's batches in ``order``
    (the authors' shuffle; in index order when None), and its initial tensors for the authors' model.

    ``changed``: overrides on top of the switches (``method.names=readable``), to see a difference act.
    """
    from ltbench.engine.active_stage import set_train_modes
    from ltbench.engine.prediction import predict
    from ltbench.engine.trainer import Trainer
    from ltbench.evaluation import average_precision
    from ltbench.methods.base import EpochInfo
    from ltbench.runs.run_dir import RunDir

    data = scenario(preset.dataset)
    order = order or [list(range(i, min(i + BATCH, TRAIN_IMAGES))) for i in range(0, TRAIN_IMAGES, BATCH)]
    with tempfile.TemporaryDirectory() as folder:
        config, dataset, parts = ltbench_parts(preset, data, Path(folder), changed)
        names = name_map(parts.model)
        initial = {"clip": openai_state_dict(parts.model),
                   "tensors": {names[k]: v.detach().clone() for k, v in _tensors(parts.model) if k in names}}
        trainer = Trainer(config, dataset, parts, RunDir(Path(folder) / "run"))
        run = trainer._start_stage(0, None)
        if len(run.loader) != STEPS:
            raise record.Divergence(f"first divergence at steps per epoch: ltbench's loader has {len(run.loader)} "
                                    f"batches, the authors' {STEPS} (train.drop_last)")
        transform = parts.test_transform  # no flip: the training transform less its coin
        batches = [(torch.stack([transform(data.train_images[i]) for i in rows]),
                    torch.as_tensor(data.train_targets[rows]), torch.as_tensor(rows)) for rows in order]
        run = dataclasses.replace(run, loader=batches if preset.method == "lmpt" else [b[:2] for b in batches])
        recorder = record.StepRecorder(parts.model, {k: v for k, v in names.items() if k == "head.text.context.context"})
        recorder.watch_logits(parts.model.head)
        recorder.watch_optimizer(run.optimizer)
        set_train_modes(parts.model, run.stage)
        with mock.patch.object(torch.Tensor, "backward", recording_backward(lambda: recorder)):
            trainer._train_epoch(run, EpochInfo(run.stage.name, 0, 1, run.epochs, 1))
        recorder.close()
        logits, handle = test_logits(parts.model.head)
        scores = predict(parts.model, trainer.inputs, run.stage)
        handle.remove()
    final = {"weights": record.weights(final_tensors(parts.model), names), "scores": record.summary(torch.cat(logits)),
             "ap": [float(a) for a in average_precision(scores, data.test_targets)]}
    return {"steps": recorder.steps, "final": final, "order": order}, initial


def final_tensors(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """What training changes: the contexts, and with a frozen tower in train mode its BatchNorm's running statistics."""
    return [(k, v) for k, v in _tensors(model) if k in ("head.text.context.context", "prompt_learner.ctx")
            or k.rpartition(".")[2] in ("running_mean", "running_var")]


# ------------------------------------------------------------------ the authors' side

def write_authors_files(root: Path, data: Scenario, dataset: str, checkout: Path) -> None:
    """data/voc/ or data/coco/ as lmpt/datasets.py reads it (PNG images, list files, captions, class_freq.pkl),
    with the label file the repository ships (data/<folder>/<folder>_labels.txt)."""
    folder = data_set(dataset).folder
    voc = root / "data" / folder
    (voc / "images").mkdir(parents=True)
    (root / "lmpt").mkdir()
    (root / "checkpoint").mkdir()
    for split, images, targets in (("train", data.train_images, data.train_targets),
                                   ("test", data.test_images, data.test_targets)):
        lines = []
        for i, (image, row) in enumerate(zip(images, targets)):
            name = f"images/{split}{i}.png"
            Image.fromarray(image).save(voc / name)
            lines.append(" ".join([name, *map(str, np.flatnonzero(row))]))
        (voc / f"{folder}_lt_{split}.txt").write_text("\n".join(lines) + "\n")
    (voc / f"{folder}_lt_captions.txt").write_text("".join(f"images/train{i}.png {c}\n"
                                                          for i, c in enumerate(data.captions)))
    labels = f"{folder}_labels.txt"
    (voc / labels).write_bytes((checkout / "data" / folder / labels).read_bytes())
    freq = data.train_targets.sum(axis=0).astype(np.int64)
    with open(voc / "class_freq.pkl", "wb") as file:
        pickle.dump({"class_freq": freq, "neg_class_freq": TRAIN_IMAGES - freq}, file)


class _SumOverClasses(types.ModuleType):
    """``torch`` for csel.py, whose class-weight normalisation sums a 2-D tensor over ``dim=2``."""

    def __init__(self) -> None:
        super().__init__("torch")

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)

    @staticmethod
    def sum(tensor: torch.Tensor, dim: int, **kwargs: Any) -> torch.Tensor:
        if tensor.dim() == 2 and dim == 2:
            return torch.sum(tensor, dim=1, keepdim=True)
        return torch.sum(tensor, dim=dim, **kwargs)


def authors_side(preset: Preset, checkout: Path, clip_checkout: Path | None,
                 initial: dict[str, dict[str, torch.Tensor]], dtype: torch.dtype,
                 order: list[int] | None = None) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The authors' ``main()`` (lmpt/train.py:48-272) for one epoch of the scenario, then its test pass.

    ``order``: the training images in the order a float32 run drew them, for the float64 run (whose context
    initialisation consumes torch's generator differently, so its own shuffle would draw other batches).
    """
    patches = record.Patches()
    result: dict[str, Any] = {"order": [], "ap": None}
    data = scenario(preset.dataset)
    paths = [checkout / "lmpt"] + ([clip_checkout] if clip_checkout else [])
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        root = Path(folder)
        write_authors_files(root, data, preset.dataset, checkout)
        for path in reversed(paths):
            stack.enter_context(record.checkout_on_path(path, AUTHORS_TOP_MODULES))
        cwd = os.getcwd()
        os.chdir(root / "lmpt")  # train.py reads ../data/<folder>/ and writes ../checkpoint/
        try:
            _load_authors(patches, dtype, initial, preset)
            train = record.import_module("train")
            _patch_main(patches, train, dtype, initial, result, order)
            argv = preset.argv()
            with mock.patch.object(sys, "argv", argv):
                train.main(train.get_args_parser().parse_args(argv[1:]))
        finally:
            os.chdir(cwd)
            patches.undo()
    recorder = result["recorder"]
    trained = final_tensors(result["model"])
    final = {"weights": record.weights(trained, {name: name for name, _ in trained}),
             "scores": record.summary(torch.cat(result["test_logits"])), "ap": [float(a) for a in result["ap"]]}
    return {"steps": recorder.steps, "final": final, "order": result["order"]}, patches.applied


def _load_authors(patches: record.Patches, dtype: torch.dtype, initial: dict[str, dict[str, torch.Tensor]],
                  preset: Preset) -> None:
    clip_authors.pickle_reader(patches, "mmcv", "dbl.py and metrics.py import mmcv only to read class_freq.pkl "
                                                "with mmcv.load; a pickle reader stands in")
    clip_authors.openai_clip(patches, dtype, initial["clip"], structure=TOWERS[preset.tower])
    csel = record.import_module("csel")
    patches.setattr(csel, "torch", _SumOverClasses(),
                    "csel.py:25 normalises the class weights with torch.sum(..., dim=2) over a 2-D tensor, an "
                    "IndexError (LMPT issues #5, #7); summed over classes (keepdim), ltbench's documented fix")


def _patch_main(patches: record.Patches, train: types.ModuleType, dtype: torch.dtype,
                initial: dict[str, dict[str, torch.Tensor]], result: dict[str, Any], order: list[int] | None) -> None:
    import torchvision.transforms as transforms

    build = train.CustomCLIP

    def custom_clip(*args: Any, **kwargs: Any) -> nn.Module:
        model = build(*args, **kwargs).to(dtype)
        tensors = dict(_tensors(model))  # BatchNorm's batch counters are integers, held by neither map
        missing = set(tensors) ^ set(initial["tensors"])
        if missing:
            raise RuntimeError(f"the name map does not cover the authors' model one to one: {sorted(missing)[:5]}")
        for name, tensor in initial["tensors"].items():
            if name == "prompt_learner.ctx":
                with torch.no_grad():
                    tensors[name].copy_(tensor.to(dtype))
            elif not torch.equal(tensors[name].to(torch.float64), tensor.to(torch.float64).to(dtype).double()):
                raise RuntimeError(f"the authors' {name} differs from ltbench's counterpart at the start")
        recorder = record.StepRecorder(model, {"prompt_learner.ctx": "prompt_learner.ctx"})
        recorder.watch_logits(model)
        logits, _ = test_logits(model)
        result.update(model=model, recorder=recorder, test_logits=logits)
        return model
    patches.setattr(train, "CustomCLIP", custom_clip,
                    "ltbench's initial contexts copied into the freshly built model (its own are drawn from the "
                    "global RNG); every other tensor is checked equal to ltbench's through the name map")
    patches.setattr(transforms, "RandomHorizontalFlip", lambda *a, **k: nn.Identity(),
                    "the flip's coin differs between the two programs; ltbench runs with method.flip=false")
    clip_authors.recording_loader(patches, result["order"], order)
    plateau = train.lr_scheduler.ReduceLROnPlateau
    patches.setattr(train.lr_scheduler, "ReduceLROnPlateau",
                    lambda *a, verbose=False, **k: plateau(*a, **k),
                    f"torch {torch.__version__} no longer takes verbose=True (train.py:143), which only printed")
    optimizer_class = train.optim.SGD

    def sgd(params: Any, **kwargs: Any) -> torch.optim.Optimizer:
        optimizer = optimizer_class(params, **kwargs)
        result["recorder"].watch_optimizer(optimizer)
        return optimizer
    patches.setattr(train.optim, "SGD", sgd, "records each step's gradients and lr/momentum (hooks only)")
    eval_map = train.eval_map

    def recording_eval_map(predict_p: Any, gt_labels: Any) -> Any:
        mAP, APs = eval_map(predict_p, gt_labels)
        if len(predict_p) == TEST_IMAGES:
            result["ap"] = APs
        return mAP, APs
    patches.setattr(train, "eval_map", recording_eval_map, "records the test APs it returns")
    patches.setattr(train, "ltAnalysis", lambda APs, dataset: None,
                    "metrics.py:6-53 only prints group means by VOC-LT's count thresholds (more than 100 training "
                    "images: head); the scenario has no head class, a division by zero")
    patches.setattr(torch.Tensor, "backward", recording_backward(lambda: result["recorder"]),
                    "records the back-propagated loss (the authors' total is no module's output); changes nothing")


def order_in_batches(order: list[int]) -> list[list[int]]:
    return [order[i:i + BATCH] for i in range(0, len(order), BATCH)]


# ------------------------------------------------------------------ command line

def record_reference(preset: Preset, checkout: Path, clip_checkout: Path | None) -> dict[str, Any]:
    """Both precisions of the authors' side from ltbench's initial weights, with the noise floor between them."""
    _, initial = ltbench_side(preset)
    float32, patches = authors_side(preset, checkout, clip_checkout, initial, torch.float32)
    drawn = float32.pop("order")
    float64, _ = authors_side(preset, checkout, clip_checkout, initial, torch.float64, drawn)
    order = order_in_batches(drawn)
    if order_in_batches(float64.pop("order")) != order:
        raise RuntimeError("the float64 run did not replay the float32 run's batches")
    clip = {"clip_repository": "openai/CLIP", "clip_commit": record.checkout_commit(clip_checkout)} if clip_checkout else {}
    where = {} if preset.name == preset.method else {"dataset": preset.dataset, "tower": preset.tower,
                                                     "config": preset.config}
    return {"method": preset.method, **where, "repository": REPOSITORY, "commit": record.checkout_commit(checkout),
            **clip, "command": COMMAND, "patches": patches, "torch": torch.__version__,
            "scenario": {"seed": SEED, "train_images": TRAIN_IMAGES, "test_images": TEST_IMAGES, "batch": BATCH,
                         "clip": preset.clip, "ltbench_overrides": overrides(preset, Path("CAPTIONS")),
                         "authors_argv": preset.argv(), "order": order},
            "float32": float32, "float64": float64, "noise_floor": record.noise_floor(float32, float64)}


def main() -> None:
    args = clip_authors.command_line(__doc__, "richard-peng-xia/LMPT", "aab39ca", clip=True, presets=tuple(PRESETS))

    def check(name: str, reference: dict) -> dict:
        ours, _ = ltbench_side(PRESETS[name], reference["scenario"]["order"], tuple(args.set))
        return record.compare(ours, reference["float32"], reference["noise_floor"])

    clip_authors.run_records(args, PRESETS, lambda name: record_reference(PRESETS[name], args.checkout, args.clip),
                             check)


if __name__ == "__main__":
    main()
