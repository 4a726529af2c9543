"""MLC-NC's code preset beside the authors' ``train.py`` (t1neo666/AAAI25_MLC-NC @ 1dedffa): record and replay.

Two records: ``mlcnc_code`` (VOC-LT, the data set train.py defaults to) and
``mlcnc_code_coco_lt`` (``--dataname coco17 --num-classes 80``, the switch
train.py:33-35 offers; the head's sizes follow the class count: 80 ETF queries,
an 80 x 20 projection, attention.py:45-86). The scenario: the data set's classes
(20 or 80), 4 random 64 x 64 training images that together hold every class (the authors' prototype of a class never seen is 0 / 0), one
batch of 4 per epoch for 7 epochs (``--epoch 7``: the one-cycle schedule spans
those 7 steps), so that the 5 alignment-only epochs (train.py:175-181) and two
epochs of the full loss with the running prototypes (train.py:211-217,235-236)
are both stepped; then the live model's logits on a test batch of 2 (the model
the code reports, train.py:246,306). The real ResNet-50 and the real head (768
wide, 8 heads, projection 20): the authors' Attention hard-codes its widths
(src_files/attention/attention.py:48-57). Both sides start from ltbench's
weights (seed 0), copied into the authors' model through ``name_map``; dropout
draws are reseeded before each step's head forward on both sides. Batches enter
after the input pipeline (uint8 pixels for ltbench, ``ToTensor`` floats for the
authors'), in the scenario's order: neither side's sampler is compared, and
ltbench's takes ``train.sampler=random`` so that its one-cycle schedule counts
one step per epoch as the authors' loader does.

    python -m benchmarks.lockstep.mlcnc --checkout /tmp/MLC-NC          # writes the reference JSON
    python -m benchmarks.lockstep.mlcnc --checkout /tmp/MLC-NC --check  # compares ltbench's side with it

The authors' side needs only ltbench's environment (timm included); every patch,
with its reason, is listed in the JSON and in benchmarks/lockstep/README.md.
"""

from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch
from torch import nn

from benchmarks.lockstep import clip_authors, record

METHOD = "mlcnc_code"
PRESETS = {"mlcnc_code": "voc_lt", "mlcnc_code_coco_lt": "coco_lt"}  # record -> ltbench's data set
REPOSITORY = "t1neo666/AAAI25_MLC-NC"
SEED = 0
IMAGES, TEST, SIZE, EPOCHS = 4, 2, 64, 7
CLASSES = {"voc_lt": 20, "coco_lt": 80}
DATANAME = {"voc_lt": "voc2007", "coco_lt": "coco17"}  # train.py:33's choices
OVERRIDES = [f"train.batch_size={IMAGES}", f"train.epochs={EPOCHS}", f"train.schedule.total_epochs={EPOCHS}",
             "train.sampler=random", "train.device=cpu", "model.pretrained=false", f"input.size={SIZE}",
             "train.num_workers=0", "eval.interval=0", f"seed={SEED}"]
AUTHORS_TOP_MODULES = ("train", "src_files", "termcolor")
COMMAND = ("PYTHONPATH=$PWD python -m benchmarks.lockstep.mlcnc --checkout /tmp/MLC-NC "
           "(a clone of t1neo666/AAAI25_MLC-NC at 1dedffa; benchmarks/lockstep/README.md)")
HEAD_NAMES = {  # ltbench's MLCNCHead -> the authors' Attention (attention.py:50-89)
    "embed.weight": "embed_standart.weight", "embed.bias": "embed_standart.bias",
    "attention.in_proj_weight": "multihead_attn.in_proj_weight", "attention.in_proj_bias": "multihead_attn.in_proj_bias",
    "attention.out_proj.weight": "multihead_attn.out_proj.weight",
    "attention.out_proj.bias": "multihead_attn.out_proj.bias",
    "proj_weight": "duplicate_proto", "proj_bias": "duplicate_proto_bias",
    "classifier.weight": "proto_classifier.proto", "classifier.scale": "temperature",
    "queries": "query_embed",  # a plain tensor attribute there (not in its state dict), set after building
}
# ltbench head buffers without a counterpart: the authors keep the prototype state in train.py's locals
# (train.py:160-162); the record compares what they steer (the losses of the last two steps)
UNMATCHED = {f"head.{name}": "the authors' prototype sums, counts and means are train.py locals (train.py:160-162)"
             for name in ("prototype_sum", "prototype_count", "prototypes")}
ATTRIBUTES = ("fc.query_embed",)  # authors' tensors loaded by setattr, not load_state_dict
Normalise = tuple[torch.Tensor, torch.Tensor]  # the input statistics, mean and std (1 x 3 x 1 x 1)


def argv(name: str = METHOD, output: str = "OUTPUT") -> list[str]:
    dataset = PRESETS[name]
    classes = [] if dataset == "voc_lt" else ["--num-classes", str(CLASSES[dataset])]
    return ["train.py", "--dataname", DATANAME[dataset], *classes, "--epoch", str(EPOCHS), "--batch-size",
            str(IMAGES), "--model-path", "", "--output", output, "-j", "0"]


def command(name: str) -> str:
    return COMMAND if name == METHOD else COMMAND.replace(" (a clone", f" --preset {name} (a clone")


def name_map(model: nn.Module) -> dict[str, str]:
    """Every ltbench state-dict tensor -> the authors' name, one to one (the backbone's names are timm's on both)."""
    names = {name: _authors_name(name) for name in model.state_dict() if name not in UNMATCHED}
    if len(set(names.values())) != len(names):
        raise RuntimeError("the MLC-NC name map is not one to one")
    return names


def _authors_name(name: str) -> str:
    if name.startswith("backbone.body."):
        return name.removeprefix("backbone.body.")
    return "fc." + HEAD_NAMES[name.removeprefix("head.")]


# ------------------------------------------------------------------ the shared scenario

def batches(name: str = METHOD) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The training batch (every epoch's only one) and the test batch: uint8 ``B x 3 x 64 x 64``, multi-hot targets
    over the record's data set's classes."""
    classes = CLASSES[PRESETS[name]]
    generator = torch.Generator().manual_seed(SEED)
    images = torch.randint(0, 256, (IMAGES + TEST, 3, SIZE, SIZE), generator=generator, dtype=torch.uint8)
    targets = (torch.rand(IMAGES + TEST, classes, generator=generator) < 0.15).float()
    targets[torch.arange(classes) % IMAGES, torch.arange(classes)] = 1.0  # every class in the training images
    return (images[:IMAGES], targets[:IMAGES]), (images[IMAGES:], targets[IMAGES:])


# ------------------------------------------------------------------ ltbench's side

def ltbench_parts(name: str = METHOD, overrides: list[str] = ()) -> tuple[dict[str, Any], Any, Any]:
    """The resolved code preset (scaled as above), the tiny data set and the method's parts, seeded."""
    from ltbench.config.resolve import resolve_config
    from ltbench.data import coco, voc
    from ltbench.data.arrays import ArrayImages
    from ltbench.data.base import LTDataset, Split
    from ltbench.engine.trainer import seed_everything
    from ltbench.methods.base import MethodContext
    from ltbench.plugins import load_plugins
    from ltbench.registry import METHODS

    load_plugins()
    dataset = PRESETS[name]
    config = resolve_config("mlcnc", dataset, "mlcnc_code", overrides=OVERRIDES + list(overrides))
    (images, targets), (test_images, test_targets) = batches(name)

    def split(x: torch.Tensor, y: torch.Tensor, prefix: str) -> Split:
        return Split(ArrayImages(x.permute(0, 2, 3, 1).contiguous().numpy()), y.numpy(),
                     [f"{prefix}{i}" for i in range(len(x))])
    if dataset == "voc_lt":
        data = LTDataset(dataset, list(voc.CLASS_NAMES), split(images, targets, "train"),
                         split(test_images, test_targets, "test"), annotated_names=list(voc.XML_NAMES))
    else:
        data = LTDataset(dataset, list(coco.CLASS_NAMES), split(images, targets, "train"),
                         split(test_images, test_targets, "test"))
    params = dict(config["method"])
    seed_everything(config["seed"])
    parts = METHODS.build(params.pop("name"), ctx=MethodContext(config, data), **params)
    return config, data, parts


def ltbench_side(name: str = METHOD, overrides: list[str] = ()
                 ) -> tuple[dict[str, Any], dict[str, torch.Tensor], Normalise]:
    """ltbench's trajectory through its own Trainer (each epoch's loader replaced by the scenario's batch, the
    method's epoch hooks called as ``Trainer._epoch`` calls them), its initial state under the authors' names and
    its backbone's input statistics."""
    import dataclasses

    from ltbench.engine.prediction import predict_scores
    from ltbench.engine.trainer import Trainer
    from ltbench.methods.base import EpochInfo
    from ltbench.runs.run_dir import RunDir

    config, data, parts = ltbench_parts(name, overrides)
    names = name_map(parts.model)
    initial = {names[k]: v.detach().clone() for k, v in parts.model.state_dict().items() if k in names}
    train, (test_images, _) = batches(name)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(config, data, parts, RunDir(Path(folder) / "run"))
        run = trainer._start_stage(0, None)
        if len(run.loader) != 1 or run.epochs != EPOCHS:
            raise RuntimeError(f"ltbench's stage has {run.epochs} epochs of {len(run.loader)} batches, "
                               f"the scenario {EPOCHS} of 1")
        run = dataclasses.replace(run, loader=[train])
        recorder = record.StepRecorder(parts.model, names)
        recorder.watch_logits(parts.model.head.classifier)  # batch_loss calls head.outputs, not head.forward
        recorder.watch_optimizer(run.optimizer)
        seeder = parts.model.head.attention.register_forward_pre_hook(record.StepSeeder(SEED))  # its only dropout
        batch_loss = trainer.parts.batch_loss

        def noted(inputs: Any) -> torch.Tensor:  # the back-propagated loss is the method's batch_loss
            loss = batch_loss(inputs)
            recorder.note_loss(loss)
            return loss
        trainer.parts = dataclasses.replace(trainer.parts, batch_loss=noted)
        for epoch in range(1, EPOCHS + 1):
            info = EpochInfo(run.stage.name, run.index, epoch, run.epochs, run.first_epoch + epoch - 1)
            for hook in trainer.parts.on_epoch:
                hook(info)
            trainer._train_epoch(run, info)
        seeder.remove()
        recorder.close()
        model = parts.model
        scores = predict_scores(model, [(test_images,)], lambda x: trainer.inputs.to_features(model.backbone, x, False),
                                lambda: torch.autocast("cpu", enabled=False), parts.score)
    final = {"weights": record.weights(_floats(parts.model), names),
             "scores": record.summary(torch.from_numpy(np.asarray(scores)))}
    backbone = parts.model.backbone
    return {"steps": recorder.steps, "final": final}, initial, (backbone.mean.clone(), backbone.std.clone())


def _floats(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Floating-point state-dict tensors (BatchNorm's integer counters are read by neither side: momentum 0.1)."""
    return [(k, v) for k, v in model.state_dict().items() if v.is_floating_point()]


# ------------------------------------------------------------------ the authors' side

def authors_side(checkout: Path, initial: dict[str, torch.Tensor], normalise: Normalise,
                 dtype: torch.dtype, name: str = METHOD) -> tuple[dict[str, Any], list]:
    """The authors' ``main()`` (train.py:90-133) and ``train_multi_label_coco`` (:137-262) on the scenario."""
    patches = record.Patches()
    result: dict[str, Any] = {}
    default = torch.get_default_dtype()
    with record.checkout_on_path(checkout, AUTHORS_TOP_MODULES), tempfile.TemporaryDirectory() as folder:
        try:
            termcolor = types.ModuleType("termcolor")
            termcolor.colored = lambda text, *args, **kwargs: text
            patches.module("termcolor", termcolor, "src_files/helper_functions/logger.py:6 imports termcolor for "
                                                   "coloured warnings; the logger runs with color=False (train.py:107)")
            patches.module("src_files.data.get_dataset", _dataset_module(normalise, dtype, name),
                           "src_files/data/get_dataset.py imports the file pipelines (pycocotools, seaborn, mmcv, "
                           "randaugment); the scenario's tensors enter after the input pipeline instead")
            patches.setattr(nn.Module, "cuda", lambda self, *a, **k: self, "CPU: .cuda() leaves modules where they are")
            patches.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self,
                            "CPU: .cuda() leaves tensors where they are")
            train = record.import_module("train")
            _timm_blocks(patches)
            if PRESETS[name] != "voc_lt":
                _typed_class_count(patches, train)
            _patch_train(patches, train, initial, dtype, result, name)
            with mock.patch.object(sys, "argv", argv(name, folder)):
                train.main()
        finally:
            torch.set_default_dtype(default)
            patches.undo()
    return result["trajectory"], patches.applied


def _timm_blocks(patches: record.Patches) -> None:
    resnet = sys.modules["src_files.models.resnet"]
    make_blocks = resnet.make_blocks
    patches.setattr(resnet, "make_blocks", lambda block_fn, channels, *args, **kwargs: make_blocks(
        [block_fn] * len(channels), channels, *args, **kwargs),
        "src_files/models/resnet.py:6,106 calls timm's make_blocks with one block class (timm 0.x); timm 1.x takes "
        "one per stage: the same class for each of the 4 stages, the same blocks")


def _typed_class_count(patches: record.Patches, train: types.ModuleType) -> None:
    option = next(a for a in train.parser._actions if "--num-classes" in a.option_strings)
    patches.setattr(option, "type", int, "train.py:35's --num-classes has no type, so the command line's 80 stays "
                                         "the string '80', which resnet.py:121's nn.Linear refuses; read as an int "
                                         "(the class count the COCO run needs)")


def _dataset_module(normalise: Normalise, dtype: torch.dtype, name: str) -> types.ModuleType:
    """``get_dataset`` giving the scenario's images as their transform ends: ToTensor's x / 255, then Normalize, with
    ltbench's ImageNet statistics (the card declares the code's own statistics a difference: normalisation)."""
    (images, targets), (test_images, test_targets) = batches(name)
    mean, std = (t.to(dtype) for t in normalise)
    module = types.ModuleType("src_files.data.get_dataset")
    module.get_dataset = lambda args: (
        torch.utils.data.TensorDataset((images.to(dtype) / 255 - mean) / std, targets.to(dtype)),
        torch.utils.data.TensorDataset((test_images.to(dtype) / 255 - mean) / std, test_targets.to(dtype)))
    return module


def _patch_train(patches: record.Patches, train: types.ModuleType, initial: dict[str, torch.Tensor],
                 dtype: torch.dtype, result: dict[str, Any], name: str) -> None:
    create = train.create_model
    built: dict[str, Any] = {}

    def create_model(args: Any) -> nn.Module:
        model = create(args).to(dtype)
        state = model.state_dict()
        loaded = {k: v for k, v in initial.items() if k not in ATTRIBUTES}
        missing = set(loaded) - set(state)
        if missing:
            raise RuntimeError(f"the name map names tensors the authors' model lacks: {sorted(missing)[:5]}")
        model.load_state_dict({k: v.to(dtype).reshape(state[k].shape) for k, v in loaded.items()}, strict=False)
        model.fc.query_embed = initial["fc.query_embed"].to(dtype).clone()
        names = {n: n for n in initial if n not in ATTRIBUTES}
        built.update(model=model, recorder=record.StepRecorder(model, names))
        built["recorder"].watch_logits(model.fc, pick=lambda out: out[0])
        model.fc.register_forward_pre_hook(record.StepSeeder(SEED))
        return model
    patches.setattr(train, "create_model", create_model,
                    "ltbench's initial weights (and dtype) loaded into the authors' model right after it is built "
                    "(their resnet50.pth is skipped: --model-path ''); its unused tensors (sup_embed, "
                    "query_embed_group, duplicate_pooling, projection_layers, rand_classifier, "
                    "ablation_proto_classifier, scaling_train) keep their own values and never get a gradient")
    patches.setattr(train, "source_import", lambda path: types.SimpleNamespace(
        get_sampler=lambda: lambda data, num_classes: torch.utils.data.SequentialSampler(data)),
        "the scenario's order instead of the ClassAwareSampler's draws (train.py:117-126; samplers not compared)")
    one_cycle = train.lr_scheduler.OneCycleLR

    def watched_one_cycle(optimizer: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        built["recorder"].watch_optimizer(optimizer)
        return one_cycle(optimizer, *args, **kwargs)
    patches.setattr(train, "lr_scheduler", types.SimpleNamespace(OneCycleLR=watched_one_cycle),
                    "train.py:147's OneCycleLR, unchanged, also hands the optimizer to the step recorder")
    combined = train.CombinedTwoWayProtoFLfaLoss

    def watched_loss(**weights: float) -> nn.Module:
        criterion = combined(**weights)
        built["recorder"].watch_loss(criterion)
        return criterion
    patches.setattr(train, "CombinedTwoWayProtoFLfaLoss", watched_loss,
                    "train.py:178,181's criterion, unchanged, with the step recorder's hook on its output")

    def validate_multi(args: Any, val_loader: Any, model: nn.Module, ema: Any, logger: Any) -> tuple[float, float]:
        with torch.no_grad():
            built["scores"] = torch.cat([model(x)[0] for x, _ in val_loader]).detach()
        return 0.0, 0.0
    patches.setattr(train, "validate_multi", validate_multi,
                    "the live model's logits on the test batch (what validate_multi scores, train.py:277, before "
                    "its sigmoid) instead of the mAP with class_split.pkl; returning 0 saves no checkpoint "
                    "(train.py:248-257)")
    original = train.train_multi_label_coco

    def train_multi_label_coco(*args: Any) -> None:
        if dtype == torch.float64:  # reset by authors_side's finally
            torch.set_default_dtype(torch.float64)
        original(*args)
        built["recorder"].close()
        model = built["model"]
        tensors = _floats(model) + [(name, model.get_submodule("fc").query_embed) for name in ATTRIBUTES]
        final = {"weights": record.weights(tensors, {n: n for n in initial}),
                 "scores": record.summary(built["scores"])}
        result["trajectory"] = {"steps": built["recorder"].steps, "final": final}
    patches.setattr(train, "train_multi_label_coco", train_multi_label_coco,
                    "unchanged, then the final weights and the last epoch's test logits are read")
    if dtype == torch.float64:
        patches.applied.append({"target": "torch.set_default_dtype", "reason": (
            "float64 run only, inside train_multi_label_coco: the prototype buffers train.py:160-162 makes with "
            "torch.zeros are float64 like the model (prototypeloss.py:70 multiplies them with the features)")})


# ------------------------------------------------------------------ command line

def record_reference(checkout: Path, name: str = METHOD) -> dict[str, Any]:
    """Both precisions of the authors' side from ltbench's initial weights, with the noise floor between them."""
    _, initial, normalise = ltbench_side(name)
    float32, patches = authors_side(checkout, initial, normalise, torch.float32, name)
    float64, patches64 = authors_side(checkout, initial, normalise, torch.float64, name)
    return {"method": METHOD, "repository": REPOSITORY, "commit": record.checkout_commit(checkout),
            "command": command(name), "patches": patches, "torch": torch.__version__,
            "patches_float64_run": [p for p in patches64 if p not in patches],
            "scenario": {"seed": SEED, "images": IMAGES, "batch": IMAGES, "epochs": EPOCHS, "test": TEST,
                         "size": SIZE, "ltbench_overrides": OVERRIDES, "authors_argv": argv(name)},
            "float32": float32, "noise_floor": record.noise_floor(float32, float64)}


def main() -> None:
    args = clip_authors.command_line(__doc__, REPOSITORY, "1dedffa", presets=tuple(PRESETS))
    clip_authors.run_records(
        args, PRESETS, lambda name: record_reference(args.checkout, name),
        lambda name, ref: record.compare(ltbench_side(name, args.set)[0], ref["float32"], ref["noise_floor"]))


if __name__ == "__main__":
    main()
