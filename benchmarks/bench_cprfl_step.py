"""Training throughput and peak memory of CPRFL's step in the VOC-LT configuration, per attention shape.

``--heads official legacy`` times the authors' head (8 heads of width 512, q/k/v
without bias, 49.3M parameters with 1024-d text) and the earlier ltbench shape
(``nn.MultiheadAttention``'s 8 x 256 with bias and probability dropout, 32.5M).
The real code path (``configs/voc_lt/cprfl.yaml`` -> ``build_experiment`` ->
``Trainer``: ResNet-101 at 448 px, d = 2048, ASL, AdamW + one-cycle, EMA,
RandAugment + Cutout, AMP and channels_last on CUDA) on a synthetic in-memory
dataset with VOC-LT's 20 class names and random images, since VOC itself is the
user's. ImageNet weights are not needed for timing (``model.pretrained=false``).
Each batch size runs in its own process so that peak memory is its own. The
first epoch warms up; the second is timed.

    python benchmarks/bench_cprfl_step.py                 # CPU: both heads at batch 1, 2, 4
    python benchmarks/bench_cprfl_step.py --heads official --batch-sizes 8 16 32 64   # e.g. on a GPU
    python benchmarks/bench_cprfl_step.py --head-only    # the two heads alone, timed in turns

Writes ``results/benchmarks/cprfl_step_<device>.json`` (``cprfl_head_<device>.json``
with ``--head-only``). ``--head-only`` times forward + backward of each head on
random 2048 x 14 x 14 features, alternating the heads so that a machine shared
with other work slows both alike; the load average is recorded with every result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ltbench.fileio.atomic import write_json

OUT_DIR = Path(__file__).resolve().parent.parent / "results" / "benchmarks"
TIMED_STEPS = 3
HEADS = {  # method overrides of each attention shape
    "official": [],
    "legacy": ["method.dim_head=256", "method.qkv_bias=true", "method.attn_dropout=0.1"],
}


def measure(head: str, batch_size: int) -> dict:
    """Run two short epochs of the real trainer; time the second."""
    import torch

    from ltbench.engine.trainer import Trainer
    from ltbench.experiment import build_experiment
    from ltbench.config.resolve import resolve_config
    from make_synthetic_voc import register_in_memory_voc_lt

    steps = 1 + TIMED_STEPS
    config = resolve_config("cprfl", "voc_lt", overrides=[*HEADS[head],
        "model.pretrained=false", "train.epochs=2", f"train.batch_size={batch_size}", "eval.interval=0",
        "train.num_workers=0", f"eval.batch_size={batch_size}", f"output.root={tempfile.mkdtemp()}"])
    config["dataset"] = {"name": register_in_memory_voc_lt(), "num_train": batch_size * steps}
    experiment = build_experiment(config)
    epoch_seconds: list[float] = []
    original = Trainer._train_epoch

    def timed_epoch(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = original(self, *args, **kwargs)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        epoch_seconds.append(time.perf_counter() - start)
        return loss

    Trainer._train_epoch = timed_epoch
    trainer = Trainer(experiment.config, experiment.dataset, experiment.parts, experiment.rundir)
    if trainer.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    trainer.fit()
    images = batch_size * steps
    result = {
        "head": head, "batch_size": batch_size, "device": str(trainer.device), "amp": trainer.amp,
        "head_params": sum(p.numel() for p in experiment.parts.model.head.parameters()),
        "model_params": sum(p.numel() for p in experiment.parts.model.parameters()),
        "images_per_second": round(images / epoch_seconds[-1], 3),
        "seconds_per_step": round(epoch_seconds[-1] / steps, 3),
        "peak_cpu_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if trainer.device.type == "cuda":
        result["peak_cuda_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        result["gpu"] = torch.cuda.get_device_name()
    return result


HEAD_ROUNDS = 5


def measure_heads(batch_size: int, rounds: int = HEAD_ROUNDS) -> list[dict]:
    """Median forward + backward seconds of each head alone at the VOC-LT shape, timed in alternation."""
    import torch

    from ltbench.models.cprfl import CPRFLHead

    shapes = {"official": {}, "legacy": {"dim_head": 256, "qkv_bias": True, "attn_dropout": 0.1}}
    torch.manual_seed(0)
    heads = {name: CPRFLHead(2048, torch.randn(20, 50), 20, **shape).train() for name, shape in shapes.items()}
    features = torch.randn(batch_size, 2048, 14, 14)
    seconds: dict[str, list[float]] = {name: [] for name in heads}
    for _ in range(rounds + 1):  # the first round warms up
        for name, head in heads.items():
            start = time.perf_counter()
            head(features).sum().backward()
            seconds[name].append(time.perf_counter() - start)
            head.zero_grad(set_to_none=True)
    return [{"head": name, "batch_size": batch_size, "params": sum(p.numel() for p in head.parameters()),
             "median_step_seconds": round(float(np.median(seconds[name][1:])), 4),
             "images_per_second": round(batch_size / float(np.median(seconds[name][1:])), 3)}
            for name, head in heads.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--heads", nargs="+", choices=list(HEADS), default=list(HEADS))
    parser.add_argument("--head-only", action="store_true", help="time the two heads alone, in turns")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # child process: one head and batch size
    args = parser.parse_args()
    if args.head_only:
        rows = [row for batch_size in args.batch_sizes for row in measure_heads(batch_size)]
        for row in rows:
            print(json.dumps(row))
        _write("cprfl_head", "CPRFLHead(2048, 50-d text, 20 classes), features 2048 x 14 x 14", HEAD_ROUNDS, rows)
        return
    if args.one is not None:
        print(json.dumps(measure(args.one[0], int(args.one[1]))))
        return
    rows = []
    for head in args.heads:
        for batch_size in args.batch_sizes:
            child = subprocess.run([sys.executable, __file__, "--one", head, str(batch_size)], capture_output=True,
                                   text=True, env={**os.environ, "LTBENCH_CACHE": tempfile.mkdtemp()})
            if child.returncode != 0:
                rows.append({"head": head, "batch_size": batch_size, "error": child.stderr.strip().splitlines()[-1]})
            else:
                rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]))
    _write("cprfl_step", "configs/voc_lt/cprfl.yaml (ResNet-101, 448 px, d=2048, 20 classes, GloVe 50-d text)",
           TIMED_STEPS, rows)


def _write(stem: str, config: str, timed_steps: int, rows: list[dict]) -> None:
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    result = {"config": config, "timed_steps": timed_steps, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
              "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()], "results": rows}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_json(OUT_DIR / f"{stem}_{device}.json", result)


if __name__ == "__main__":
    main()
