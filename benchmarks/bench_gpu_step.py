"""Images/s of the paper-scale training step against a plain ResNet-101 step, in one process, interleaved.

(a) ``plain``: timm ResNet-101 (20 classes), forward + BCE + backward + AdamW step, channels_last model
    and input; on CUDA bf16 autocast and fused AdamW (on the CPU fp32, as ltbench's ``train.amp=auto``).
(b) ``ltbench``: ltbench's own CPRFL step (``configs/voc_lt/cprfl.yaml``: ResNet-101 at 448 px, CPRFL
    head, ASL, AdamW + one-cycle, EMA) driven through ``Trainer._train_epoch`` on batches already on
    the device, so the number is the step alone.
(c) ``ltbench_compiled``: (b) with ``torch.compile`` on the model.
(d) ``loader``: the data loader alone, augmented batches from the uint8 image cache of synthetic
    VOC-sized JPEGs (``--augment``, default CPRFL's randaugment) with ``--workers`` workers.
(e) ``eval``: evaluation forward of ltbench's CPRFL model (no grad, autocast) at ``--eval-batch``.
(f) ``plain_resnet50_db``: (a) with ResNet-50 at half the size, the Table 1 baselines' DB recipe shape.

Each case warms up (compilation included), then ``--rounds`` rounds each time ``--steps`` steps of every
case in turn, the order rotating per round; medians are reported. Paper shape on a GPU:

    python benchmarks/bench_gpu_step.py --device cuda            # 448 px, batch 32, 16 workers
    python benchmarks/bench_gpu_step.py --device cpu --size 64 --batch 2 --steps 2 --workers 2   # a check

Writes ``results/benchmarks/gpu_step-<size>px-b<batch>-<torch>-<device>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from hardware import environment, result_path
from ltbench.fileio.atomic import write_json
from make_synthetic_voc import SIZE_WEIGHTS, VOC_SIZES, register_in_memory_voc_lt, write_year

Step = Callable[[], int]  # runs one step, returns images processed


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def staged_batch(batch: int, size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A uint8 image batch and multi-hot targets already on the device (what a pinned loader hands over)."""
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, device=device)
    return images, (torch.rand(batch, 20, device=device) < 0.1).float()


def plain_step(args: argparse.Namespace, device: torch.device, arch: str = "resnet101",
               size: int | None = None) -> Step:
    from ltbench.models.backbones import timm  # imported after ltbench's torchvision shim

    model = timm.create_model(arch, pretrained=False, num_classes=20).to(device)
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=1e-4, fused=device.type == "cuda")
    images, targets = staged_batch(args.batch, size or args.size, device)
    loss_fn = nn.BCEWithLogitsLoss()

    def step() -> int:
        inputs = images.float().div_(255).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):  # as ltbench's amp
            logits = model(inputs)
        loss = loss_fn(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return args.batch

    return step


def ltbench_trainer(args: argparse.Namespace, device: torch.device):  # noqa: ANN201 - (Trainer, experiment)
    from ltbench.engine.trainer import Trainer
    from ltbench.experiment import build_experiment
    from ltbench.config.resolve import resolve_config

    config = resolve_config("cprfl", "voc_lt", overrides=[
        "model.pretrained=false", f"train.batch_size={args.batch}", f"input.size={args.size}",
        f"train.device={device}", f"eval.batch_size={args.eval_batch}", f"output.root={tempfile.mkdtemp()}"])
    config["dataset"] = {"name": register_in_memory_voc_lt(), "num_train": args.batch, "size": args.size}
    experiment = build_experiment(config)
    return Trainer(experiment.config, experiment.dataset, experiment.parts, experiment.rundir), experiment


def ltbench_steps(args: argparse.Namespace, device: torch.device) -> dict[str, Step]:
    """(b), (c) and (e): ltbench's training step, compiled and not, and its evaluation forward."""
    from ltbench.methods.base import EpochInfo

    trainer, experiment = ltbench_trainer(args, device)
    run = trainer._start_stage(0, None)  # the stage's optimizer, schedule and EMA, as a real run builds them
    run.loader = [staged_batch(args.batch, args.size, device)]
    info = EpochInfo(run.stage.name, 0, 1, 1, 1)
    eager = trainer.model
    compiled = torch.compile(eager) if args.compile else None
    eval_images, _ = staged_batch(args.eval_batch, args.size, device)

    def train_with(model: nn.Module) -> Step:
        def step() -> int:
            trainer.model = model
            trainer._train_epoch(run, info)
            return args.batch
        return step

    @torch.no_grad()
    def evaluate() -> int:
        reported = run.ema.module if run.ema is not None else eager
        reported.eval()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=trainer.amp):
            reported.head(trainer.inputs.to_features(reported.backbone, eval_images, False)).float().sigmoid()
        return args.eval_batch

    steps = {"ltbench": train_with(eager), "eval": evaluate}
    if compiled is not None:
        steps["ltbench_compiled"] = train_with(compiled)
    return steps


def loader_step(args: argparse.Namespace, folder: Path) -> Step:
    """(d): an endless iterator over the real loader of augmented batches from the image cache."""
    from ltbench.data.base import Split
    from ltbench.data.image_cache import open_cache
    from ltbench.data.loading import SplitDataset, make_loader
    from ltbench.data.transforms import build_transform

    rng = np.random.default_rng(0)
    labels = (rng.random((args.images, 20)) < 0.1).astype(np.uint8)
    ids = [f"{k:06d}" for k in range(args.images)]
    write_year(folder, ids, labels, args.jpeg_scale, rng)
    cache = open_cache([folder / "JPEGImages" / f"{i}.jpg" for i in ids], "bench", "train", args.size)
    dataset = SplitDataset(Split(cache, labels, ids), build_transform(args.size, args.augment, train=True))
    loader = make_loader(dataset, args.batch, shuffle=True, num_workers=args.workers, drop_last=True)
    batches = itertools.chain.from_iterable(itertools.repeat(loader))  # a new epoch (new workers) as needed

    def step() -> int:
        images, _ = next(batches)
        return len(images)

    return step


def measure(cases: dict[str, Step], args: argparse.Namespace, device: torch.device) -> dict[str, dict]:
    """Warm every case up, then time ``--steps`` steps of each in turn, ``--rounds`` times."""
    for step in cases.values():
        for _ in range(args.warmup):
            step()
    synchronize(device)
    rates: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for round_index in range(args.rounds):
        for name in names[round_index % len(names):] + names[:round_index % len(names)]:
            start, images = time.perf_counter(), 0
            for _ in range(args.steps):
                images += cases[name]()
            synchronize(device)
            rates[name].append(images / (time.perf_counter() - start))
    result = {name: {"images_per_s": round(statistics.median(r), 3), "rounds": [round(x, 3) for x in r]}
              for name, r in rates.items()}
    if device.type == "cuda":
        result["peak_cuda_allocated_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return result


def projections(rates: dict[str, dict]) -> dict[str, float]:
    """Ratios against the targets and the run times they imply on VOC-LT (1,142 train, 4,952 test images).

    CPRFL: 30 epochs at (b)'s rate plus one evaluation at (e)'s. A Table 1 baseline (DB recipe: ResNet-50
    at half the size, 8 epochs) at ``plain_resnet50_db``'s rate, its evaluation counted as a third of a
    training step (forward only). Table 1 = 3 seeds x (CPRFL + 6 baselines).
    """
    rate = {name: r["images_per_s"] for name, r in rates.items() if isinstance(r, dict)}
    out = {"ltbench_over_plain": rate["ltbench"] / rate["plain"]}
    if "loader" in rate:
        out["loader_over_ltbench"] = rate["loader"] / rate["ltbench"]
    cprfl_s = 30 * 1142 / rate["ltbench"] + 4952 / rate["eval"]
    baseline_s = 8 * 1142 / rate["plain_resnet50_db"] + 4952 / (3 * rate["plain_resnet50_db"])
    out["voc_lt_cprfl_run_minutes"] = cprfl_s / 60
    out["voc_lt_table1_minutes"] = 3 * (cprfl_s + 6 * baseline_s) / 60
    return {k: round(v, 3) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, default=448)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--eval-batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1))
    parser.add_argument("--augment", default="randaugment", help="the loader's augmentation (CPRFL: randaugment)")
    parser.add_argument("--images", type=int, default=256, help="JPEGs in the loader's image cache")
    parser.add_argument("--jpeg-scale", type=float, default=1.0, help="JPEG size relative to VOC's")
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip case (c)")
    parser.add_argument("--no-loader", dest="loader", action="store_false", help="skip case (d)")
    args = parser.parse_args()
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LTBENCH_CACHE"] = str(Path(tmp) / "cache")  # never touch the user's cache
        cases = {"plain": plain_step(args, device), **ltbench_steps(args, device),
                 "plain_resnet50_db": plain_step(args, device, "resnet50", args.size // 2)}
        if args.loader:
            cases["loader"] = loader_step(args, Path(tmp) / "jpeg")
        rates = measure(cases, args, device)
    paper_shape = args.size == 448 and args.batch == 32 and device.type == "cuda"
    result = {
        "what": "images/s: (a) plain timm ResNet-101 step, (b) ltbench CPRFL step with EMA, (c) (b) compiled, "
                "(d) loader alone, (e) evaluation forward, (f) plain ResNet-50 step at half the size",
        "paper_shape": paper_shape,
        "note": "" if paper_shape else "reduced shape or CPU: proves the script runs; NOT the GPU target numbers",
        "settings": {k: v for k, v in vars(args).items()}, "environment": environment(device),
        "voc_jpeg_sizes": [VOC_SIZES, SIZE_WEIGHTS], "results": rates, "derived": projections(rates),
    }
    path = result_path(f"gpu_step-{args.size}px-b{args.batch}", device)
    write_json(path, result)
    print(json.dumps({"results": {k: v["images_per_s"] if isinstance(v, dict) else v for k, v in rates.items()},
                      "derived": result["derived"]}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
