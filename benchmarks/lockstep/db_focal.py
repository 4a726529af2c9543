"""DB-Focal's training step beside the authors' mmcv runner (wutong16/DistributionBalancedLoss @ 14460d0).

The authors' side is their own ``tools/train.py`` ``main()`` with their VOC
config (record ``db_focal``) or COCO config (``db_focal_coco_lt``): their
``SimpleClassifier`` (ResNet-50 with stem and layer1 frozen and BatchNorm in
eval mode, the PFC neck, the fc ``ClsHead`` with their ``ResampleLoss``),
their ``build_dataloader`` with the ``ClassAware`` sampler (reduce 4, its
reseed to 0), mmcv 0.6.2's ``EpochBasedRunner`` with the config's SGD, gradient
clipping and step lr policy with linear warm-up, applied by mmcv's hooks. The
scenario scales the config down (12 random 64 x 64 images, batch 4, or 8 with
COCO's 80 classes, 3 epochs, a 4-iteration warm-up, lr steps after epochs 1
and 2, clipping at 0.2) and feeds the images after their input pipeline; both
sides start from ltbench's weights (seed 1, each residual block's last
BatchNorm weight drawn at random so that every branch is active), copied
through ``name_map``; dropout is reseeded before each training forward on
both sides. ltbench's side runs its own ``Trainer`` epochs on the images in
the order its own sampler draws. The baselines beside DB's pipeline (records
``erm``, ``rw``, ``cb_focal``, and ``<name>_coco_lt``; DB released no config
for them) run the VOC (or COCO) config with the ResampleLoss options and no sampler, so the GroupSampler, as
their cards state; ltbench's ``group`` sampler draws the same order from the
same aspect flags (every scenario image taller than wide) and numpy seed (1,
tools/train.py's default and the preset's seed). Two checks need no model: the ClassAware index
sequence for 3 epochs at the data set's size with long-tailed labels, and the
lr of every iteration of the full schedule (121 iterations an epoch on VOC-LT,
705 on COCO-LT, 8 epochs), mmcv's ``StepLrUpdaterHook`` against ltbench's
scheduler.

    python -m benchmarks.lockstep.db_focal --checkout /tmp/DBL          # writes every preset's reference JSON
    python -m benchmarks.lockstep.db_focal --checkout /tmp/DBL --check  # compares ltbench's side with them
    python -m benchmarks.lockstep.db_focal --checkout /tmp/DBL --preset erm --check --set loss.name=focal

The authors' side needs mmcv 0.6.2's source and its requirements (addict, yapf,
OpenCV) on ``PYTHONPATH``; see benchmarks/lockstep/README.md.
"""

from __future__ import annotations

import collections
import collections.abc
import contextlib
import hashlib
import importlib.util
import pickle
import resource
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator
from unittest import mock

import numpy as np
import torch
from torch import nn

from benchmarks.lockstep import clip_authors, record

METHOD = "db_focal"
# The presets that stand beside DB's pipeline, each recorded in tests/reference_trajectories/<preset>.json: the VOC
# config as released (db_focal), and the baselines DB released no config for, with the ResampleLoss options and the
# uniform sampling their cards state (the authors' answer in DB issue 2): the config's loss_cls with these keys
# (the others at ResampleLoss's defaults) and no ``data.sampler`` (build_loader's default, the GroupSampler).
BASELINE_LOSSES: dict[str, dict[str, Any]] = {
    "erm": {"reweight_func": None, "focal": {"focal": False, "balance_param": 2.0, "gamma": 2}, "logit_reg": {}},
    "rw": {"reweight_func": "sqrt_inv", "focal": {"focal": False, "balance_param": 2.0, "gamma": 2}, "logit_reg": {}},
    "cb_focal": {"reweight_func": "CB", "CB_loss": {"CB_beta": 0.9, "CB_mode": "average_w"},
                 "focal": {"focal": True, "balance_param": 2.0, "gamma": 2}, "logit_reg": {}},
}
REPOSITORY = "wutong16/DistributionBalancedLoss"
MMCV_VERSION = "0.6.2"  # the last mmcv 0.x; EpochBasedRunner, which mllt/apis/train.py imports, is new in 0.6.0
SEED = 0  # the scenario's images and labels, the last BatchNorm weights of the blocks, the dropout reseeds
IMAGES, TEST_IMAGES, SIZE = 12, 2, 64
EPOCHS, WARMUP_ITERS, MILESTONES = 3, 4, [1, 2]
MAX_NORM = 0.2  # gradient clipping at the scenario's scale (35 at the config's): every step clips
SAMPLER_EPOCHS, SAMPLER_HEAD = 3, 48  # the sampler check's epochs; the first indices of each stored whole
SAMPLER_SEED = 1  # its labels' generator (seed 0 gives a largest class of 561 = 3 x 187: no epoch ends inside a visit)
PORTRAIT = (48, 64)  # (width, height) ltbench's side gives every training image: the authors' side flags each 0


@dataclass(frozen=True)
class Setting:
    """One record: the preset, its data set, the authors' config for that data set and the scenario's sizes."""

    preset: str
    dataset: str
    config: str  # the authors' config file
    classes: int
    images_per_class: int  # class c is a label of images c, c + 5, ... (mod 12): no batch is one image four times
    extra_labels: float  # each further label's probability
    steps_per_epoch: int  # the full schedule's iterations an epoch (db_focal's, used for every record of the set)
    sampler_images: int  # the sampler check's images: the data set's training-set size
    sampler_decay: float  # ... and its class c's label probability 0.5 x decay^c
    batch: int  # 8 with 80 classes: a batch of 4 would hold one or two images (the ClassAware visits of 3)


def authors_config(setting: Setting) -> dict[str, Any]:
    """The authors' config scaled to the scenario (mmcv Config keys); model.pretrained None: no torchvision
    download (the weights are ltbench's)."""
    return {"data.imgs_per_gpu": setting.batch, "data.workers_per_gpu": 0, "total_epochs": EPOCHS,
            "lr_config.warmup_iters": WARMUP_ITERS, "lr_config.step": MILESTONES,
            "optimizer_config.grad_clip.max_norm": MAX_NORM, "model.pretrained": None}


def ltbench_overrides(setting: Setting) -> list[str]:
    """ltbench's preset scaled the same way."""
    return [f"train.batch_size={setting.batch}", "train.device=cpu", "model.pretrained=false", f"input.size={SIZE}",
            "train.num_workers=0", f"train.epochs={EPOCHS}", f"train.schedule.warmup_iters={WARMUP_ITERS}",
            f"train.schedule.milestones=[{','.join(map(str, MILESTONES))}]", f"train.grad_clip={MAX_NORM}"]


# full schedules: VOC-LT 3,875 ClassAware samples an epoch (121 batches of 32), COCO-LT 22,560 (705)
VOC = {"dataset": "voc_lt", "config": "configs/voc/LT_resnet50_pfc_DB.py", "classes": 20, "images_per_class": 1,
       "extra_labels": 0.1, "steps_per_epoch": 121, "sampler_images": 1142, "sampler_decay": 0.8, "batch": 4}
COCO = {"dataset": "coco_lt", "config": "configs/coco/LT_resnet50_pfc_DB.py", "classes": 80, "images_per_class": 2,
        "extra_labels": 0.02, "steps_per_epoch": 705, "sampler_images": 1909, "sampler_decay": 0.96, "batch": 8}
# record name (tests/reference_trajectories/<name>.json) -> its setting; DB released configs for VOC and COCO
RECORDS = {METHOD: Setting(METHOD, **VOC), f"{METHOD}_coco_lt": Setting(METHOD, **COCO)} | \
    {preset: Setting(preset, **VOC) for preset in BASELINE_LOSSES} | \
    {f"{preset}_coco_lt": Setting(preset, **COCO) for preset in BASELINE_LOSSES}
COMMAND = ("PYTHONPATH=$PWD:/tmp/mmcv-0.6.2:/tmp/lockdeps python -m benchmarks.lockstep.db_focal --checkout /tmp/DBL "
           "--preset {preset} (a clone of wutong16/DistributionBalancedLoss at 14460d0 and mmcv 0.6.2's source; "
           "benchmarks/lockstep/README.md)")
AUTHORS_TOP_MODULES = ("mllt", "mmcv")
# the authors' tensors ltbench's model does not have; never used in a forward, so they get no gradient
AUTHORS_UNMATCHED = {"neck.fc_hidden_1.weight": "PFC's second Linear, used only with layers=2 (pfc.py:17,44-45)",
                     "neck.fc_hidden_1.bias": "PFC's second Linear, used only with layers=2 (pfc.py:17,44-45)"}
HEAD_NAMES = {"head.neck.0": "neck.fc", "head.neck.1": "neck.bn", "head.classifier": "head.fc_cls"}


def name_map(model: nn.Module) -> dict[str, str]:
    """Every ltbench state-dict tensor -> the authors' name, one to one (timm's ResNet names are mmdet's)."""
    names = {}
    for name in model.state_dict():
        if name.startswith("backbone.body."):
            names[name] = "backbone." + name.removeprefix("backbone.body.")
        else:
            module, _, leaf = name.rpartition(".")
            names[name] = f"{HEAD_NAMES[module]}.{leaf}"
    if len(set(names.values())) != len(names):
        raise RuntimeError("the DB name map is not one to one")
    return names


# ------------------------------------------------------------------ the shared scenario

def scenario_data(setting: Setting) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images ``N x 3 x 64 x 64`` (training, then test), multi-hot targets; each class has training images.

    With 80 classes on 12 images a class with one image would let the ClassAware sampler fill a batch with one
    image four times (two visits of 3), where the neck's BatchNorm1d normalises rounding noise alone."""
    generator = torch.Generator().manual_seed(SEED)
    images = torch.randint(0, 256, (IMAGES + TEST_IMAGES, 3, SIZE, SIZE), generator=generator, dtype=torch.uint8)
    classes = setting.classes
    targets = (torch.rand(IMAGES + TEST_IMAGES, classes, generator=generator) < setting.extra_labels).float()
    for offset in range(0, 5 * setting.images_per_class, 5):
        targets[(torch.arange(classes) + offset) % IMAGES, torch.arange(classes)] = 1.0
    return images, targets


def sampler_targets(setting: Setting) -> np.ndarray:
    """Long-tailed labels at the data set's size (class c present with probability 0.5 x decay^c), every class
    present; an epoch's length (VOC: 553 x 20 / 4, COCO: 976 x 80 / 4) is no multiple of 3, so an epoch ends inside
    a class visit, as VOC-LT's 3,875 and COCO-LT's 22,560 do."""
    generator = np.random.default_rng(SAMPLER_SEED)
    probability = 0.5 * setting.sampler_decay ** np.arange(setting.classes)
    targets = (generator.random((setting.sampler_images, setting.classes)) < probability).astype(np.float32)
    counts = targets.sum(axis=0)
    if counts.min() == 0 or int(counts.max() * setting.classes / 4) % 3 == 0:
        raise RuntimeError("the sampler scenario no longer ends an epoch inside a visit")
    return targets


def digest(indices: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, indices)).encode()).hexdigest()[:16]


def sampler_record(epochs: list[list[int]]) -> dict[str, Any]:
    return {"length": len(epochs[0]), "epochs": [{"digest": digest(e), "head": e[:SAMPLER_HEAD]} for e in epochs]}


# ------------------------------------------------------------------ ltbench's side

def ltbench_config(setting: Setting, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    from ltbench.config.resolve import resolve_config

    return resolve_config(setting.preset, setting.dataset, overrides=[*ltbench_overrides(setting), *overrides])


def scenario_sizes() -> np.ndarray:
    """The training images' (width, height) on ltbench's side, for the group sampler's aspect flags."""
    return np.tile(PORTRAIT, (IMAGES, 1))


def ltbench_sampler(config: dict[str, Any], targets: np.ndarray, sizes: np.ndarray | None = None) -> Any:
    """The preset's sampler, built with the arguments the engine gives it (inputs.py's train_loader)."""
    from ltbench.config.sections import build
    from ltbench.registry import KINDS

    return build(KINDS["samplers"], config["train"]["sampler"], targets=targets, seed=config["seed"],
                 batch_size=config["train"]["batch_size"], sizes=sizes)


def activate_residual_branches(model: nn.Module) -> None:
    """Each residual block's last BatchNorm weight drawn from U(0.1, 0.3): timm zero-initialises it, which would
    leave every residual branch silent and its convolutions without gradient. (Random running statistics, by
    contrast, would wash the images out of the pooled features and leave the neck's BatchNorm1d to amplify
    rounding.)"""
    generator = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, module in model.backbone.named_modules():
            if isinstance(module, nn.BatchNorm2d) and name.endswith(".bn3"):
                module.weight.copy_(0.1 + 0.2 * torch.rand(module.num_features, generator=generator))


def ltbench_parts(setting: Setting, overrides: tuple[str, ...] = ()) -> tuple[dict[str, Any], Any, Any]:
    """The resolved preset (scaled as above), the scenario's data set and the method's parts, seeded."""
    from ltbench.data import coco, voc
    from ltbench.data.arrays import ArrayImages
    from ltbench.data.base import LTDataset, Split
    from ltbench.engine.trainer import seed_everything
    from ltbench.methods.base import MethodContext
    from ltbench.registry import METHODS

    config = ltbench_config(setting, overrides)
    images, targets = scenario_data(setting)
    pixels = images.permute(0, 2, 3, 1).contiguous().numpy()
    split = Split(ArrayImages(pixels[:IMAGES]), targets[:IMAGES].numpy(), [f"train{i}" for i in range(IMAGES)],
                  scenario_sizes())
    test = Split(ArrayImages(pixels[IMAGES:]), targets[IMAGES:].numpy(), [f"test{i}" for i in range(TEST_IMAGES)])
    names = voc.CLASS_NAMES if setting.dataset == "voc_lt" else coco.CLASS_NAMES
    dataset = LTDataset(setting.dataset, list(names), split, test)
    params = dict(config["method"])
    seed_everything(config["seed"])
    parts = METHODS.build(params.pop("name"), ctx=MethodContext(config, dataset), **params)
    activate_residual_branches(parts.model)
    return config, dataset, parts


def ltbench_side(setting: Setting, overrides: tuple[str, ...] = ()
                 ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """ltbench's trajectory through its own Trainer epochs, its sampler's and its schedule's sequences, and its
    initial state dict under the authors' names. The batches come in its own sampler's order (ClassAware for
    db_focal, the group sampler for the baselines)."""
    from ltbench.engine.active_stage import set_train_modes
    from ltbench.engine.prediction import predict_scores
    from ltbench.engine.trainer import Trainer
    from ltbench.methods.base import SCORE_FUNCTIONS, EpochInfo
    from ltbench.runs.run_dir import RunDir

    config, dataset, parts = ltbench_parts(setting, overrides)
    names = name_map(parts.model)
    initial = {names[k]: v.detach().clone() for k, v in parts.model.state_dict().items()}
    images, targets = scenario_data(setting)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(config, dataset, parts, RunDir(Path(folder) / "run"))
        run = trainer._start_stage(0, None)
        sampler = run.loader.sampler
        orders = []
        recorder = record.StepRecorder(parts.model, names)
        recorder.watch_logits(parts.model.head)
        recorder.watch_loss(trainer.loss_fn)
        recorder.watch_optimizer(run.optimizer)
        seeder = parts.model.head.register_forward_pre_hook(record.StepSeeder(SEED))
        for epoch in range(1, EPOCHS + 1):
            drawn = list(sampler)
            size = setting.batch
            batches = [drawn[i:i + size] for i in range(0, len(drawn) - size + 1, size)]  # drop_last
            orders.append([i for batch in batches for i in batch])
            if len(batches) != len(run.loader):
                raise RuntimeError(f"ltbench's loader has {len(run.loader)} batches, its sampler {len(batches)}")
            set_train_modes(parts.model, run.stage)
            epoch_run = type(run)(**{**vars(run), "loader": [(images[b], targets[b]) for b in batches]})
            trainer._train_epoch(epoch_run, EpochInfo(run.stage.name, 0, epoch, run.epochs, epoch))
        seeder.remove()
        recorder.close()
        model = parts.model
        scores = predict_scores(model, [(images[IMAGES:],)],
                                lambda x: trainer.inputs.to_features(model.backbone, x, False),
                                lambda: torch.autocast("cpu", enabled=False), parts.score)
        assert SCORE_FUNCTIONS[parts.score](torch.zeros(1)).item() == 0.0  # raw logits, as the authors rank
    final = {"weights": record.weights(_floats(model), names),
             "scores": record.summary(torch.from_numpy(np.asarray(scores)))}
    return {"steps": recorder.steps, "final": final, "order": orders,
            "sampler": ltbench_sampler_record(setting, config), "schedule": ltbench_schedule(setting)}, initial


def ltbench_initial(setting: Setting) -> dict[str, torch.Tensor]:
    """ltbench's initial state dict (seeded) under the authors' names."""
    parts = ltbench_parts(setting)[2]
    names = name_map(parts.model)
    return {names[k]: v.detach().clone() for k, v in parts.model.state_dict().items()}


def ltbench_sampler_record(setting: Setting, config: dict[str, Any]) -> dict[str, Any] | None:
    if config["train"]["sampler"]["name"] != "class_aware":
        return None  # a baseline's sampler is not the authors' (its card says why)
    sampler = ltbench_sampler(config, sampler_targets(setting))
    return sampler_record([list(sampler) for _ in range(SAMPLER_EPOCHS)])


def ltbench_schedule(setting: Setting) -> list[float]:
    """The lr of every iteration of the preset's full schedule (unscaled)."""
    from ltbench.config.resolve import resolve_config
    from ltbench.engine.optim import build_optimizer, build_scheduler

    full = resolve_config(setting.preset, setting.dataset)["train"]
    optimizer = build_optimizer([{"params": [nn.Parameter(torch.zeros(1))]}], full["optimizer"])
    scheduler = build_scheduler(optimizer, full["schedule"], setting.steps_per_epoch, full["epochs"])
    lrs = []
    for _ in range(setting.steps_per_epoch * full["epochs"]):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def _floats(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Floating-point state-dict tensors (the BatchNorm counters are integers: eval-mode BatchNorm never counts)."""
    return [(k, v) for k, v in model.state_dict().items() if v.is_floating_point()]


# ------------------------------------------------------------------ the authors' side

def authors_side(checkout: Path, initial: dict[str, torch.Tensor], dtype: torch.dtype, setting: Setting
                 ) -> tuple[dict[str, Any], list[dict[str, str]], str]:
    """The authors' ``tools/train.py`` ``main()`` on the scenario, then their test forward on the test images."""
    patches = record.Patches()
    result: dict[str, Any] = {}
    with record.checkout_on_path(checkout, AUTHORS_TOP_MODULES), tempfile.TemporaryDirectory() as work_dir:
        try:
            mmcv = _load_mmcv(patches)
            _load_mllt(patches)
            script = _load_script(checkout)
            _patch_run(patches, script, initial, dtype, result, _freq_file(Path(work_dir), setting), setting)
            # run from the repository's root, as its README does (the config names appendix/... relative to it)
            with mock.patch.object(sys, "argv", ["tools/train.py", setting.config, "--work_dir", work_dir]), \
                    contextlib.chdir(checkout):
                script.main()
            result["trajectory"]["final"]["scores"] = _test_scores(result.pop("model"), dtype, setting)
            version = mmcv.__version__
        finally:
            patches.undo()
            sys.modules.pop("db_tools_train", None)
    return result["trajectory"], patches.applied, version


def _load_mmcv(patches: record.Patches) -> types.ModuleType:
    extension = types.ModuleType("mmcv._ext")
    extension.flow_warp_c = None
    patches.module("mmcv._ext", extension,
                   "mmcv/video/optflow.py imports flow_warp_c from the Cython extension that mmcv's setup.py builds; "
                   "the source is used unbuilt and DB never warps optical flow")
    mmcv = record.import_module("mmcv")
    if mmcv.__version__ != MMCV_VERSION:
        raise RuntimeError(f"mmcv {mmcv.__version__} on the path; the record is made with mmcv {MMCV_VERSION}")
    runner_module = record.import_module("mmcv.runner.epoch_based_runner")
    patches.setattr(runner_module, "time", types.SimpleNamespace(sleep=lambda seconds: None, time=time.time),
                    "EpochBasedRunner sleeps 2 s before each epoch and 1 s after the run "
                    "(epoch_based_runner.py:26,124, guards for loader worker processes and loggers); there are no "
                    "workers here")
    patches.setattr(nn.Module, "cuda", lambda self, *a, **k: self, "CPU: .cuda() leaves modules where they are "
                                                                   "(mllt/apis/train.py:217)")
    patches.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self, "CPU: .cuda() leaves tensors where they are "
                                                                       "(resample_loss.py:80-93, simple.py:121)")
    parallel = record.import_module("mmcv.parallel")

    def forward(self: nn.Module, *inputs: Any, **kwargs: Any) -> Any:
        def unpack(value: Any) -> Any:
            return value.data[0] if isinstance(value, parallel.DataContainer) else value
        return self.module(*map(unpack, inputs), **{key: unpack(value) for key, value in kwargs.items()})
    patches.setattr(parallel.MMDataParallel, "forward", forward,
                    "CPU: torch's DataParallel without a GPU calls the model on the collated DataContainers, and "
                    "mmcv 0.6.2's scatter to the CPU asks torch 2 for a stream of device -1; the model gets what "
                    "scatter gives one device (each DataContainer's one chunk, scatter_gather.py:16-32)")
    return mmcv


def _load_mllt(patches: record.Patches) -> None:
    """What importing ``mllt`` needs beyond mmcv."""
    patches.setattr(resource, "setrlimit", lambda *args: None,
                    "tools/train.py:18-19 and build_loader.py:10-11 raise the open-file limit, to 20480 above some "
                    "machines' hard limit; the run opens a handful of files")
    patches.setattr(collections, "Sequence", collections.abc.Sequence,
                    "mllt/datasets/utils.py:2 imports Sequence from collections, which Python 3.10 removed "
                    "(collections.abc's, the same class)")
    for package, module, name in (("pycocotools", "pycocotools.coco", "COCO"), ("lvis", "lvis.lvis", "LVIS")):
        stub = types.ModuleType(module)
        setattr(stub, name, None)
        patches.module(package, types.ModuleType(package), f"mllt/datasets/__init__.py imports the COCO and LVIS "
                                                           f"dataset modules, which import {module}.{name} at import "
                                                           f"time; the VOC run never builds either")
        patches.module(module, stub, f"as import {package}")


def _load_script(checkout: Path) -> types.ModuleType:
    """``tools/train.py`` as a module (``tools`` is no package of the checkout's import path)."""
    spec = importlib.util.spec_from_file_location("db_tools_train", checkout / "tools" / "train.py")
    script = importlib.util.module_from_spec(spec)
    sys.modules["db_tools_train"] = script
    spec.loader.exec_module(script)
    return script


def _freq_file(folder: Path, setting: Setting) -> Path:
    """The scenario's class counts as DB's class_freq.pkl holds them (the keys ResampleLoss reads,
    resample_loss.py:79-82; tools/create_longtail_dataset.py writes them from the training labels)."""
    counts = scenario_data(setting)[1][:IMAGES].sum(dim=0).long().numpy()
    path = folder / "class_freq.pkl"
    path.write_bytes(pickle.dumps({"class_freq": counts, "neg_class_freq": IMAGES - counts}))
    return path


def _patch_run(patches: record.Patches, script: types.ModuleType, initial: dict[str, torch.Tensor],
               dtype: torch.dtype, result: dict[str, Any], freq_file: Path, setting: Setting) -> None:
    preset = setting.preset
    from_file = script.Config.fromfile

    def scaled(path: str) -> Any:
        cfg = from_file(path)
        cfg.model.head.loss_cls.freq_file = str(freq_file)
        if preset in BASELINE_LOSSES:
            loss = cfg.model.head.loss_cls
            cfg.model.head.loss_cls = {key: loss[key] for key in ("type", "use_sigmoid", "loss_weight", "freq_file")}
            cfg.model.head.loss_cls.update(BASELINE_LOSSES[preset])
            cfg.data.pop("sampler")
        for key, value in authors_config(setting).items():
            *parents, leaf = key.split(".")
            section = cfg
            for parent in parents:
                section = section[parent]
            section[leaf] = value
        return cfg
    patches.setattr(script.Config, "fromfile", staticmethod(scaled),
                    f"the scenario's scale: {authors_config(setting)} (no torchvision download; the weights are "
                    f"ltbench's); "
                    f"the loss's freq_file holds the scenario's class counts (ltbench counts the training labels)" +
                    (f"; {preset}: no released config, so the loss_cls of type, use_sigmoid, loss_weight and "
                     f"{BASELINE_LOSSES[preset]}, and no data.sampler (the GroupSampler), as its card states"
                     if preset in BASELINE_LOSSES else ""))
    patches.setattr(script, "build_dataset", lambda cfg: ScenarioDataset(dtype, setting),
                    "the scenario's images after the input pipeline (mmcv.imnormalize with the config's mean and "
                    "std) instead of VOC-LT's files; the labels give the ClassAware sampler its class lists")
    build = script.build_classifier

    def build_classifier(*args: Any, **kwargs: Any) -> nn.Module:
        model = build(*args, **kwargs).to(dtype)
        state = model.state_dict()
        missing = set(state) - set(initial)
        if missing != set(AUTHORS_UNMATCHED) or set(initial) - set(state):
            raise RuntimeError(f"the name map misses the authors' {sorted(missing ^ set(AUTHORS_UNMATCHED))}")
        model.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v for k, v in initial.items()},
                              strict=False)
        model.neck.register_forward_pre_hook(record.StepSeeder(SEED))
        result["model"] = model
        return model
    patches.setattr(script, "build_classifier", build_classifier,
                    "ltbench's initial weights (and dtype) loaded into the authors' model right after it is built; "
                    "dropout reseeded before each training forward (a pre-hook on the neck)")
    train_api = sys.modules["mllt.apis.train"]
    runner_class = train_api.EpochBasedRunner

    def runner(model: nn.Module, batch_processor: Callable[..., Any], optimizer: torch.optim.Optimizer,
               *args: Any) -> Any:
        trainable = {n: n.removeprefix("module.") for n, p in model.named_parameters()
                     if p.requires_grad and n.removeprefix("module.") not in AUTHORS_UNMATCHED}
        recorder = record.StepRecorder(model, trainable)
        recorder.watch_logits(model.module.head)
        recorder.watch_optimizer(optimizer)

        def observed(model: nn.Module, data: dict[str, Any], train_mode: bool) -> dict[str, Any]:
            outputs = batch_processor(model, data, train_mode)
            recorder.note_loss(outputs["loss"])
            return outputs
        made = runner_class(model, observed, optimizer, *args)
        run = made.run

        def run_and_keep(data_loaders: list[Any], workflow: Any, max_epochs: int, **kwargs: Any) -> None:
            run(data_loaders, workflow, max_epochs, **kwargs)
            recorder.close()
            fetched, per_epoch = data_loaders[0].dataset.fetched, len(data_loaders[0]) * setting.batch
            state = model.module.state_dict()
            result["trajectory"] = {
                "steps": recorder.steps,
                "order": [fetched[i:i + per_epoch] for i in range(0, len(fetched), per_epoch)],
                "final": {"weights": record.weights([(k, v) for k, v in state.items() if v.is_floating_point()],
                                                    {k: k for k in state if k not in AUTHORS_UNMATCHED})}}
        made.run = run_and_keep
        return made
    patches.setattr(train_api, "EpochBasedRunner", runner,
                    "observation only: the step recorder's hooks on the runner's model and optimizer, and the loss "
                    "batch_processor returns (the one mmcv's OptimizerHook back-propagates)")


def normalise(images: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """DB's ImageTransform normalisation (transforms.py:39, mmcv.imnormalize with to_rgb) of RGB uint8 images:
    in float32 as mmcv computes it, or the same formula in float64 for the float64 run."""
    mmcv = sys.modules["mmcv"]
    mean, std = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])  # LT_resnet50_pfc_DB.py:37
    out = []
    for image in images.permute(0, 2, 3, 1).numpy():
        bgr = np.ascontiguousarray(image[..., ::-1])  # mmcv.imread gives BGR; to_rgb turns it back
        if dtype == torch.float32:
            pixels = mmcv.imnormalize(bgr, mean, std, to_rgb=True)
        else:
            pixels = (image.astype(np.float64) - mean) / std
        out.append(torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1))).to(dtype))
    return torch.stack(out)


def _test_scores(model: nn.Module, dtype: torch.dtype, setting: Setting) -> dict[str, Any]:
    """The classifier's test forward (``return_loss=False``, one image a batch as tools/test.py) on the test images."""
    images, _ = scenario_data(setting)
    pixels = normalise(images[IMAGES:], dtype)
    meta = {"ori_shape": (SIZE, SIZE, 3), "img_shape": (SIZE, SIZE, 3), "pad_shape": (SIZE, SIZE, 3),
            "scale_factor": 1.0, "flip": False}
    model.eval()
    with torch.no_grad():
        scores = [model(img=[x[None]], img_meta=[[meta]], return_loss=False) for x in pixels]
    return record.summary(torch.cat(scores))


class ScenarioDataset(torch.utils.data.Dataset):
    """The scenario's training images as DB's ``CustomDataset.prepare_train_img`` returns them (custom.py:219-250)."""

    def __init__(self, dtype: torch.dtype, setting: Setting) -> None:
        self.CLASSES = tuple(str(c) for c in range(setting.classes))
        images, targets = scenario_data(setting)
        self.images = normalise(images[:IMAGES], dtype)
        self.targets = targets[:IMAGES].to(dtype)
        # custom.py:188-203's aspect flag: 0 for every image (each taller than wide, PORTRAIT on ltbench's side), so
        # the baselines' GroupSampler has one group and an epoch of the 12 images once (12 is a multiple of 4)
        self.flag = np.zeros(IMAGES, dtype=np.uint8)
        self.fetched: list[int] = []  # the indices the loader asked for, in order

    def get_index_dic(self, list: bool = False, get_labels: bool = False) -> tuple[Any, Any]:
        """custom.py:124-165 for ``list=True, get_labels=True``: per class its images' indices and labels."""
        index = [np.flatnonzero(self.targets[:, c].numpy()).tolist() for c in range(len(self.CLASSES))]
        return index, [[self.targets[i].tolist() for i in images] for images in index]

    def __len__(self) -> int:
        return IMAGES

    def __getitem__(self, index: int) -> dict[str, Any]:
        from mmcv.parallel import DataContainer

        self.fetched.append(int(index))
        meta = {"ori_shape": (SIZE, SIZE, 3), "img_shape": (SIZE, SIZE, 3), "pad_shape": (SIZE, SIZE, 3),
                "scale_factor": 1.0, "flip": False}
        return {"img": DataContainer(self.images[index], stack=True), "img_meta": DataContainer(meta, cpu_only=True),
                "gt_labels": self.targets[index]}


@contextlib.contextmanager
def authors_imports(checkout: Path) -> Iterator[None]:
    """The checkout and mmcv importable, with the import patches of ``authors_side`` (all of them listed there)."""
    patches = record.Patches()
    with record.checkout_on_path(checkout, AUTHORS_TOP_MODULES):
        try:
            _load_mmcv(patches)
            _load_mllt(patches)
            yield
        finally:
            patches.undo()


def authors_sampler(checkout: Path, setting: Setting) -> dict[str, Any]:
    """The authors' ClassAwareSampler (built as build_loader.py:44-49 builds it) on the sampler scenario's labels."""
    with authors_imports(checkout):
        sampler_module = record.import_module("mllt.datasets.loader.sampler")
        targets = sampler_targets(setting)

        class Labels:
            CLASSES = tuple(str(c) for c in range(setting.classes))

            def get_index_dic(self, list: bool = False, get_labels: bool = False) -> tuple[Any, Any]:
                index = [np.flatnonzero(targets[:, c]).tolist() for c in range(setting.classes)]
                return index, [targets[i].tolist() for i in index]
        sampler = sampler_module.ClassAwareSampler(data_source=Labels(), reduce=4)
        return sampler_record([list(sampler) for _ in range(SAMPLER_EPOCHS)])


def authors_schedule(checkout: Path, setting: Setting) -> list[float]:
    """mmcv's lr hook built from the config's ``lr_config`` (as ``register_training_hooks`` builds it), stepped
    through the full schedule by a stand-in runner: the lr of every iteration."""
    import runpy

    with authors_imports(checkout):
        hooks = record.import_module("mmcv.runner.hooks")
        config = runpy.run_path(str(checkout / setting.config))
        lr_config = dict(config["lr_config"])
        policy = lr_config.pop("policy")
        hook = getattr(hooks.lr_updater, f"{policy.title()}LrUpdaterHook")(**lr_config)
        optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=config["optimizer"]["lr"])
        runner = types.SimpleNamespace(optimizer=optimizer, epoch=0, iter=0)
        hook.before_run(runner)
        lrs = []
        for epoch in range(config["total_epochs"]):
            runner.epoch = epoch
            hook.before_train_epoch(runner)
            for _ in range(setting.steps_per_epoch):
                hook.before_train_iter(runner)
                lrs.append(optimizer.param_groups[0]["lr"])
                runner.iter += 1
        return lrs


# ------------------------------------------------------------------ command line

def record_reference(checkout: Path, name: str) -> dict[str, Any]:
    """Both precisions of the authors' side from ltbench's initial weights, with the noise floor between them."""
    setting = RECORDS[name]
    initial = ltbench_initial(setting)
    float32, patches, version = authors_side(checkout, initial, torch.float32, setting)
    float64, patches64, _ = authors_side(checkout, initial, torch.float64, setting)
    order = float32.pop("order")
    if float64.pop("order") != order:
        raise RuntimeError("the authors' sampler drew another order in the float64 run")
    class_aware = setting.preset == METHOD
    return {"method": setting.preset, "dataset": setting.dataset, "repository": REPOSITORY,
            "commit": record.checkout_commit(checkout), "command": COMMAND.format(preset=name),
            "patches": patches, "torch": torch.__version__, "mmcv": version,
            "patches_float64_run": [p for p in patches64 if p not in patches],
            "scenario": {"seed": SEED, "images": IMAGES, "test_images": TEST_IMAGES, "batch": setting.batch,
                         "size": SIZE, "epochs": EPOCHS, "ltbench_overrides": ltbench_overrides(setting),
                         "authors_config": setting.config, "authors_config_scaled": authors_config(setting),
                         "authors_loss": BASELINE_LOSSES.get(setting.preset),
                         "classes": setting.classes, "images_per_class": setting.images_per_class,
                         "extra_labels": setting.extra_labels,
                         "full_schedule_steps_per_epoch": setting.steps_per_epoch,
                         "sampler_images": setting.sampler_images, "sampler_decay": setting.sampler_decay,
                         "sampler_seed": SAMPLER_SEED, "sampler_epochs": SAMPLER_EPOCHS},
            "order": order, "sampler": authors_sampler(checkout, setting) if class_aware else None,
            "schedule": authors_schedule(checkout, setting), "float32": float32,
            "noise_floor": record.noise_floor(float32, float64)}


def replay(name: str, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """ltbench's side for a record, in its own sampler's order (``compare`` checks it against the authors')."""
    return ltbench_side(RECORDS[name], overrides)[0]


def compare(ours: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """The training order, the sampler, the full schedule, then the trajectory; ``record.Divergence`` at the first."""
    for epoch, (mine, theirs) in enumerate(zip(ours["order"], reference["order"], strict=True), start=1):
        if mine != theirs:
            raise record.Divergence(f"epoch {epoch}'s training order: ltbench {mine}, authors {theirs}")
    compare_sequences(ours, reference)
    return record.compare(ours, reference["float32"], reference["noise_floor"])


def compare_sequences(ours: dict[str, Any], reference: dict[str, Any]) -> None:
    """The ClassAware sampler's sequence (db_focal's) and the full schedule's lr (``record.Divergence`` at the first
    difference)."""
    if (ours["sampler"] is None) != (reference["sampler"] is None):
        raise record.Divergence(f"ClassAware sampler: ltbench {ours['sampler']}, authors {reference['sampler']}")
    images = reference["scenario"]["sampler_images"]
    for epoch, (mine, theirs) in enumerate(zip(*(r["sampler"]["epochs"] if r["sampler"] else []
                                                 for r in (ours, reference))), start=1):
        if mine != theirs or ours["sampler"]["length"] != reference["sampler"]["length"]:
            raise record.Divergence(f"ClassAware sampler, {images} images, epoch {epoch}: ltbench "
                                    f"{ours['sampler']['length']} indices {mine['head'][:12]}..., authors "
                                    f"{reference['sampler']['length']} indices {theirs['head'][:12]}...")
    for iteration, (mine, theirs) in enumerate(zip(ours["schedule"], reference["schedule"], strict=True)):
        if abs(mine - theirs) > record.SETTING_TOLERANCE * theirs:
            raise record.Divergence(f"full schedule, iteration {iteration}: ltbench lr {mine}, authors {theirs}")


def main() -> None:
    args = clip_authors.command_line(__doc__, "wutong16/DistributionBalancedLoss", "14460d0", presets=tuple(RECORDS))
    clip_authors.run_records(args, RECORDS, lambda name: record_reference(args.checkout, name),
                             lambda name, reference: compare(replay(name, tuple(args.set)), reference))


if __name__ == "__main__":
    main()
