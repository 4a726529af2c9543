"""CPRFL's code preset beside the authors' ``train.py`` (jiexuanyan/CPRFL @ 10b5b7c): record and replay.

One record per data set with a published row (``PRESETS``): VOC-LT and COCO-LT,
the same train.py with the ``--dataset`` and ``--num-classes`` of each (its class
names are its own per data set; both cards' lr is 5e-5).

The scenario: the data set's classes (VOC-LT 20, COCO-LT 80), 8 random 64 x 64 training images in 4
batches of 2 (one epoch of the authors' loader), one test batch; the real
ResNet-101, the authors' head at a small width (d = 64, 8 heads of 16, FFN 128:
the inner width stays 2 x d as 8 x 512 at d = 2048) and a one-layer CLIP text
tower of width 32 with the real 1024-d output and the real tokenizer. Both sides
start from ltbench's weights (seed 0), copied into the authors' model through
``name_map``; dropout draws are reseeded before each step's training forward on
both sides. Batches enter after the input pipeline (uint8 pixels for ltbench,
their ``ToTensor`` floats for the authors'); the pipeline itself is checked in
tests/test_code_transforms.py.

    python -m benchmarks.lockstep.cprfl --checkout /tmp/CPRFL          # writes both reference JSONs
    python -m benchmarks.lockstep.cprfl --checkout /tmp/CPRFL --preset cprfl_code_coco_lt   # one of them
    python -m benchmarks.lockstep.cprfl --checkout /tmp/CPRFL --check  # compares ltbench's side with them

The authors' side needs einops, torchnet and randaugment (their requirements);
see benchmarks/lockstep/README.md.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

import numpy as np
import torch
from torch import nn

from benchmarks.lockstep import clip_authors, record

METHOD = "cprfl_code"
PRESETS = {"cprfl_code": "voc_lt", "cprfl_code_coco_lt": "coco_lt"}  # record name -> data set
REPOSITORY = "jiexuanyan/CPRFL"
SEED = 0
IMAGES, BATCH, SIZE = 8, 2, 64
HEAD = {"method.dim": 64, "method.dim_head": 16, "method.ffn_dim": 128}  # heads 8, tau 0.5 as the preset
AUTHORS_CONFIG = {"feature_d": 64, "dim_head": 16, "mlp_dim": 128}  # config.py's constants, scaled alike
TEXT_CFG = {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}
TINY_CLIP = {"embed_dim": 1024, "text_cfg": TEXT_CFG,  # 1024: build_model_TF.py:97-114 hard-codes RN50's width
             "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 8, "patch_size": None}}
LR = 5e-5  # the VOC-LT and COCO-LT cards' lr (ltbench/recipes/_base/cprfl_{voc,coco}_lt.yaml)
OVERRIDES = [f"{k}={v}" for k, v in HEAD.items()] + [
    f"train.batch_size={BATCH}", "train.device=cpu", "model.pretrained=false", f"input.size={SIZE}",
    "train.num_workers=0", f"seed={SEED}"]
def argv(dataset: str) -> list[str]:
    flag, classes = {"voc_lt": ("voc-lt", "20"), "coco_lt": ("coco-lt", "80")}[dataset]
    return ["train.py", "--dataset", flag, "--lr", str(LR), "-b", str(BATCH), "--num-classes", classes,
            "--pretrained", "", "-j", "0"]



COMMAND = ("PYTHONPATH=$PWD:/tmp/lockdeps python -m benchmarks.lockstep.cprfl --checkout /tmp/CPRFL "
           "(a clone of jiexuanyan/CPRFL at 10b5b7c; benchmarks/lockstep/README.md)")
AUTHORS_TOP_MODULES = ("config", "src", "utils", "clip", "train", "torchnet", "visdom", "randaugment", "einops")
# ltbench tensors the authors' model does not have; none of them may get a gradient (StepRecorder checks)
UNMATCHED = {"head.text_tower.model.logit_scale": "CLIP's temperature: the authors' TextEncoder keeps only "
                                                  "the text tower (build_model_TF.py:12-20) and nothing uses it"}
BACKBONE_INDEX = {"conv1": 0, "bn1": 1, "layer1": 4, "layer2": 5, "layer3": 6, "layer4": 7}  # build_model_TF.py:57-66
HEAD_NAMES = {  # ltbench's CPRFLHead -> MyModel (build_model_TF.py:68-119, TF.py:96-104)
    "visual_proj": "fc.0", "prompt_init.0": "label_emb.0", "prompt_init.2": "label_emb.3",
    "vsi.attn_norm": "attention.layers.0.0.norm", "vsi.attn.to_qkv": "attention.layers.0.0.fn.to_qkv",
    "vsi.attn.to_out": "attention.layers.0.0.fn.to_out.0", "vsi.ffn_norm": "attention.layers.0.1.norm",
    "vsi.ffn.0": "attention.layers.0.1.fn.net.0", "vsi.ffn.3": "attention.layers.0.1.fn.net.3",
}


def name_map(model: nn.Module) -> dict[str, str]:
    """Every ltbench state-dict tensor (parameters and persistent buffers) -> the authors' name, one to one."""
    names = {}
    for name in model.state_dict():
        if name in UNMATCHED:
            continue
        if name.startswith("backbone.body."):
            top, _, rest = name.removeprefix("backbone.body.").partition(".")
            names[name] = f"Backbone.{BACKBONE_INDEX[top]}.{rest}"
        elif name.startswith("head.text_tower.model."):
            names[name] = "text_encoder." + name.removeprefix("head.text_tower.model.")
        else:
            module, _, leaf = name.removeprefix("head.").rpartition(".")
            names[name] = f"{HEAD_NAMES[module]}.{leaf}"
    if len(set(names.values())) != len(names):
        raise RuntimeError("the CPRFL name map is not one to one")
    return names


# ------------------------------------------------------------------ the shared scenario

def batches(dataset: str = "voc_lt") -> tuple[list[tuple[torch.Tensor, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]:
    """Training batches and one test batch: uint8 images ``B x 3 x 64 x 64`` and multi-hot float targets."""
    classes = {"voc_lt": 20, "coco_lt": 80}[dataset]
    generator = torch.Generator().manual_seed(SEED)
    images = torch.randint(0, 256, (IMAGES + BATCH, 3, SIZE, SIZE), generator=generator, dtype=torch.uint8)
    targets = (torch.rand(IMAGES + BATCH, classes, generator=generator) < 0.15).float()
    targets[torch.arange(len(targets)), torch.randint(0, classes, (len(targets),), generator=generator)] = 1.0
    train = [(images[i:i + BATCH], targets[i:i + BATCH]) for i in range(0, IMAGES, BATCH)]
    return train, (images[IMAGES:], targets[IMAGES:])


# ------------------------------------------------------------------ ltbench's side

@contextmanager
def tiny_text_clip() -> Iterator[None]:
    """ltbench's CLIP text encoder gets a random tiny CLIP (seeded by the global seed) instead of RN50's file."""
    from ltbench.pretrained.clip import ClipWeights, open_clip_module, random_clip

    with mock.patch.object(ClipWeights, "load", lambda self: random_clip(TINY_CLIP)[0]), \
            mock.patch.object(ClipWeights, "tokenizer", lambda self: open_clip_module().get_tokenizer("RN50")), \
            mock.patch.object(ClipWeights, "file", property(lambda self: Path("tiny-random-clip"))), \
            mock.patch("ltbench.text.clip.OpenClipTextEncoder.dim", property(lambda self: TINY_CLIP["embed_dim"])):
        yield


def ltbench_parts(dataset: str = "voc_lt") -> tuple[dict[str, Any], Any, Any]:
    """The resolved code preset (scaled as above), the tiny data set and the method's parts, seeded."""
    from ltbench.data import coco, voc
    from ltbench.data.arrays import ArrayImages
    from ltbench.data.base import LTDataset, Split
    from ltbench.engine.trainer import seed_everything
    from ltbench.methods.base import MethodContext
    from ltbench.plugins import load_plugins
    from ltbench.registry import METHODS
    from ltbench.config.resolve import resolve_config

    load_plugins()
    config = resolve_config("cprfl", dataset, "cprfl_code", overrides=OVERRIDES)
    train, (test_images, test_targets) = batches(dataset)
    images = torch.cat([b[0] for b in train]).permute(0, 2, 3, 1).contiguous().numpy()
    targets = torch.cat([b[1] for b in train]).numpy()
    split = Split(ArrayImages(images), targets, [f"train{i}" for i in range(len(images))])
    test = Split(ArrayImages(test_images.permute(0, 2, 3, 1).contiguous().numpy()), test_targets.numpy(),
                 [f"test{i}" for i in range(len(test_images))])
    data = (LTDataset("voc_lt", list(voc.CLASS_NAMES), split, test, annotated_names=list(voc.XML_NAMES))
            if dataset == "voc_lt" else LTDataset("coco_lt", list(coco.CLASS_NAMES), split, test))
    params = dict(config["method"])
    with tiny_text_clip():
        seed_everything(config["seed"])
        parts = METHODS.build(params.pop("name"), ctx=MethodContext(config, data), **params)
    return config, data, parts


def ltbench_side(dataset: str = "voc_lt") -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """ltbench's trajectory through its own Trainer (the loader replaced by the scenario's batches)
    and its initial state dict under the authors' names."""
    from ltbench.engine.active_stage import set_train_modes
    from ltbench.engine.prediction import predict_scores
    from ltbench.engine.trainer import Trainer
    from ltbench.methods.base import SCORE_FUNCTIONS, EpochInfo
    from ltbench.runs.run_dir import RunDir

    config, data, parts = ltbench_parts(dataset)
    names = name_map(parts.model)
    initial = {names[k]: v.detach().clone() for k, v in parts.model.state_dict().items() if k in names}
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(config, data, parts, RunDir(Path(folder) / "run"))
        run = trainer._start_stage(0, None)
        if len(run.loader) != IMAGES // BATCH:
            raise RuntimeError(f"ltbench's loader has {len(run.loader)} batches, the scenario {IMAGES // BATCH}")
        train, (test_images, _) = batches(dataset)
        run = dataclasses.replace(run, loader=train)
        recorder = record.StepRecorder(parts.model, names)
        recorder.watch_logits(parts.model.head)
        recorder.watch_loss(trainer.loss_fn)
        recorder.watch_optimizer(run.optimizer)
        seeder = parts.model.head.register_forward_pre_hook(record.StepSeeder(SEED))
        set_train_modes(parts.model, run.stage)
        trainer._train_epoch(run, EpochInfo(run.stage.name, 0, 1, run.epochs, 1))
        seeder.remove()
        recorder.close()
        ema = run.ema.module
        scores = predict_scores(ema, [(test_images,)], lambda x: trainer.inputs.to_features(ema.backbone, x, False),
                                lambda: torch.autocast("cpu", enabled=False), parts.score)
        assert SCORE_FUNCTIONS[parts.score](torch.zeros(1)).item() == 0.0  # raw logits, as the authors rank
    final = {"weights": record.weights(_floats(parts.model), names), "ema": record.weights(_floats(ema), names),
             "scores": record.summary(torch.from_numpy(np.asarray(scores)))}
    return {"steps": recorder.steps, "final": final}, initial


def _floats(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Floating-point state-dict tensors (integer BatchNorm counters differ in kind: the authors' EMA averages
    them into an integer tensor, truncating to 0; ltbench copies them; BatchNorm with momentum 0.1 never reads them)."""
    return [(k, v) for k, v in model.state_dict().items() if v.is_floating_point()]


# ------------------------------------------------------------------ the authors' side

def authors_side(dataset: str, checkout: Path, initial: dict[str, torch.Tensor],
                 dtype: torch.dtype) -> tuple[dict[str, Any], list]:
    """The authors' ``main_coco`` (train.py:58-261) on the scenario, through ``engine.train`` and ``validate``."""
    patches = record.Patches()
    result: dict[str, Any] = {}
    with record.checkout_on_path(checkout, AUTHORS_TOP_MODULES):
        try:
            _load_authors(patches, dtype)
            train_module = record.import_module("train")
            _patch_main(patches, train_module, initial, dtype, result, dataset)
            with mock.patch.object(sys, "argv", argv(dataset)):
                train_module.main_coco()
        finally:
            patches.undo()
    return result["trajectory"], patches.applied


def _load_authors(patches: record.Patches, dtype: torch.dtype) -> None:
    patches.module("visdom", types.ModuleType("visdom"),
                   "torchnet/logger imports visdom at import time; nothing here logs to it")
    patches.module("utils.engine", types.ModuleType("utils.engine"),
                   "train.py:3 imports utils.engine, which is not in the repository at 10b5b7c; every name train.py "
                   "uses comes from utils.LT_engine_grouplr (train.py:17)")
    patches.module("mmengine", _mmengine(), "src/helper_functions/metrics.py:3 imports mmengine (requirements.txt: "
                   "mmengine 0.10.1) for mmengine.load of a class_freq pickle; only pickle loading is provided")
    config = record.import_module("config")
    for name, value in AUTHORS_CONFIG.items():
        patches.setattr(config, name, value, "scaled head (config.py:4-11), read by build_model_TF.py and TF.py "
                                             "through 'from config import *'")
    clip = record.import_module("clip.clip")
    patches.module("clip", clip, "requirements.txt installs OpenAI's CLIP as 'clip'; the repository ships that "
                                 "code in clip/ (its clip/_init_.py is misnamed, so 'import clip' finds no load)")

    def tiny_clip(_path: str, device: str = "cpu", jit: bool = False) -> tuple[nn.Module, None]:
        model = sys.modules["clip.model"].CLIP(
            TINY_CLIP["embed_dim"], 64, (1, 1, 1, 1), 8, None, TEXT_CFG["context_length"], TEXT_CFG["vocab_size"],
            TEXT_CFG["width"], TEXT_CFG["heads"], TEXT_CFG["layers"])
        return model.to(dtype), None
    patches.setattr(clip, "load", tiny_clip, "a tiny CLIP (1-layer text tower, width 32, 1024-d output) instead of "
                                              "RN50.pt; its weights are replaced by ltbench's below")
    if dtype == torch.float64:
        patches.setattr(sys.modules["clip.model"].LayerNorm, "forward", nn.LayerNorm.forward,
                        "float64 run only: CLIP's LayerNorm (clip/model.py:153-159) casts its input to float32 for "
                        "float16 weights; float64 weights need float64 input")
    patches.setattr(nn.Module, "cuda", lambda self, *a, **k: self, "CPU: .cuda() leaves modules where they are")
    patches.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self, "CPU: .cuda() leaves tensors where they are")


def _mmengine() -> types.ModuleType:
    import pickle

    module = types.ModuleType("mmengine")
    module.load = lambda file: pickle.loads(Path(file).read_bytes())  # mmengine.load of a .pkl file
    return module


def _patch_main(patches: record.Patches, train: types.ModuleType, initial: dict[str, torch.Tensor],
                dtype: torch.dtype, result: dict[str, Any], dataset: str) -> None:
    build = train.MyModel
    train_batches, test_batch = batches(dataset)
    float_batches = [((x.float() / 255).to(dtype), y.to(dtype)) for x, y in train_batches]  # ToTensor's x / 255
    float_test = [((test_batch[0].float() / 255).to(dtype), test_batch[1].to(dtype))]

    def my_model(*args: Any, **kwargs: Any) -> nn.Module:
        model = build(*args, **kwargs).to(dtype)
        missing = set(model.state_dict()) ^ set(initial)
        if missing:
            raise RuntimeError(f"the name map does not cover the authors' model one to one: {sorted(missing)[:5]}")
        model.load_state_dict({k: v.to(dtype) for k, v in initial.items()})
        if dtype == torch.float64:  # build_model_TF.py:134 casts the text features to float32
            model.label_emb.register_forward_pre_hook(lambda m, args: tuple(a.to(dtype) for a in args))
        return model
    patches.setattr(train, "MyModel", my_model, "ltbench's initial weights (and dtype) loaded into the authors' "
                                                "model right after it is built, before ModelEma copies it")
    patches.setattr(train, "build_dataset", lambda dataset, split: torch.utils.data.TensorDataset(
        *_stack(float_batches if split == "train" else float_test)),
        f"the scenario's images instead of {'VOC-LT' if dataset == 'voc_lt' else 'COCO-LT'}'s files (only the train "
        "loader's length is used: steps per epoch)")

    def learning(engine: Any, models: nn.ModuleList, train_loader: Any, val_loader: Any, criterion: nn.ModuleList,
                 optimizer: torch.optim.Optimizer, scheduler: Any) -> None:
        if len(train_loader) != len(float_batches):
            raise RuntimeError(f"the authors' loader has {len(train_loader)} batches, the scenario {len(float_batches)}")
        regular, ema = models[0], models[1]
        if dtype == torch.float64:  # LT_engine_grouplr.py:211 feeds the EMA inputData.float()
            ema.module.register_forward_pre_hook(lambda m, args: tuple(a.to(dtype) for a in args))
        recorder = record.StepRecorder(regular, {n: n.removeprefix("module.") for n, _ in regular.named_parameters()})
        recorder.watch_logits(regular.module, pick=lambda out: out[0])
        recorder.watch_loss(criterion[0])
        recorder.watch_optimizer(optimizer)
        regular.module.register_forward_pre_hook(record.StepSeeder(SEED))
        scaler = torch.cuda.amp.GradScaler(enabled=False)  # learning() builds GradScaler(): disabled without CUDA
        regular.train()
        engine.meter_reset()
        engine.train(models, float_batches, criterion, optimizer, scheduler, scaler, 1)
        recorder.close()
        scores = []
        ema.module.register_forward_hook(lambda m, args, out: scores.append(out[0].detach()))
        regular.eval()
        engine.meter_reset()
        engine.validate(models, float_test, criterion)
        authors = {n.removeprefix("module."): n for n in ema.module.state_dict()}
        names = {full: short for short, full in authors.items()}
        final = {"weights": record.weights(_floats(regular), {f"module.{k}": k for k in names.values()}),
                 "ema": record.weights(_floats(ema.module), names),
                 "scores": record.summary(torch.cat(scores))}
        result["trajectory"] = {"steps": recorder.steps, "final": final}
    patches.setattr(train.MultiLabelEngine, "learning", learning,
                    "learning() (LT_engine_grouplr.py:95-145) replaced by its lines 128-136 for one epoch of the "
                    "scenario's batches (GradScaler, train(), meter_reset(), engine.train), then validate() on the "
                    "test batch; no checkpoint files")


def _stack(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.cat([x for x, _ in pairs]), torch.cat([y for _, y in pairs])


# ------------------------------------------------------------------ command line

def record_reference(dataset: str, checkout: Path) -> dict[str, Any]:
    """Both precisions of the authors' side from ltbench's initial weights, with the noise floor between them."""
    _, initial = ltbench_side(dataset)
    float32, patches = authors_side(dataset, checkout, initial, torch.float32)
    float64, patches64 = authors_side(dataset, checkout, initial, torch.float64)
    where = {} if dataset == "voc_lt" else {"dataset": dataset}
    return {"method": METHOD, **where, "repository": REPOSITORY, "commit": record.checkout_commit(checkout),
            "command": COMMAND, "patches": patches, "torch": torch.__version__,
            "patches_float64_run": [p for p in patches64 if p not in patches],
            "scenario": {"seed": SEED, "images": IMAGES, "batch": BATCH, "size": SIZE, "head": HEAD,
                         "text": TEXT_CFG, "ltbench_overrides": OVERRIDES, "authors_argv": argv(dataset)},
            "float32": float32, "noise_floor": record.noise_floor(float32, float64)}


def main() -> None:
    args = clip_authors.command_line(__doc__, "jiexuanyan/CPRFL", "10b5b7c", presets=tuple(PRESETS))
    clip_authors.run_records(
        args, PRESETS, lambda name: record_reference(PRESETS[name], args.checkout),
        lambda name, ref: record.compare(ltbench_side(PRESETS[name])[0], ref["float32"], ref["noise_floor"]))


if __name__ == "__main__":
    main()
