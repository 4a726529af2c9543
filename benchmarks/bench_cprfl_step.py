"""Training throughput and peak memory of CPRFL's step in the VOC-LT configuration.

The real code path (``configs/voc_lt/cprfl.yaml`` -> ``build_experiment`` ->
``Trainer``: ResNet-101 at 448 px, d = 2048, ASL, AdamW + one-cycle, EMA,
RandAugment + Cutout, AMP and channels_last on CUDA) on a synthetic in-memory
dataset with VOC-LT's 20 class names and random images, since VOC itself is the
user's. ImageNet weights are not needed for timing (``model.pretrained=false``).
Each batch size runs in its own process so that peak memory is its own. The
first epoch warms up; the second is timed.

    python benchmarks/bench_cprfl_step.py                 # CPU: batch 1, 2, 4
    python benchmarks/bench_cprfl_step.py --batch-sizes 8 16 32 64   # e.g. on a GPU

Writes ``results/benchmarks/cprfl_step_<device>.json``.
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

from ltbench.fileio import write_json

OUT_DIR = Path(__file__).resolve().parent.parent / "results" / "benchmarks"
TIMED_STEPS = 3


def measure(batch_size: int) -> dict:
    """Run two short epochs of the real trainer; time the second."""
    import torch

    from ltbench.data.arrays import ArrayImages
    from ltbench.data.base import LTDataset, Split
    from ltbench.data.split_files import CANONICAL
    from ltbench.data.voc import CLASS_NAMES
    from ltbench.engine.trainer import Trainer
    from ltbench.experiment import build_experiment
    from ltbench.resolve import resolve_config
    from ltbench.registry import DATASETS

    @DATASETS.register("synthetic_voc_lt")
    def synthetic_voc_lt(num_train: int = 8, size: int = 448) -> LTDataset:
        """Random images with VOC-LT's classes and label frequencies (benchmarks only)."""
        rng = np.random.default_rng(0)
        freq = np.asarray(CANONICAL["voc_lt"].class_freq) / CANONICAL["voc_lt"].num_train
        targets = (rng.random((num_train, len(freq))) < freq).astype(np.uint8)
        images = ArrayImages(rng.integers(0, 256, (num_train, size, size, 3), dtype=np.uint8))
        ids = [str(i) for i in range(num_train)]
        return LTDataset("synthetic_voc_lt", list(CLASS_NAMES), Split(images, targets, ids),
                         Split(images, targets, ids))

    steps = 1 + TIMED_STEPS
    config = resolve_config("cprfl", "voc_lt", overrides=[
        "model.pretrained=false", "train.epochs=2", f"train.batch_size={batch_size}", "eval.interval=0",
        "train.num_workers=0", f"eval.batch_size={batch_size}", f"output.root={tempfile.mkdtemp()}"])
    config["dataset"] = {"name": "synthetic_voc_lt", "num_train": batch_size * steps}
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
    trainer = Trainer(experiment.config, experiment.dataset, experiment.parts, experiment.run_dir)
    if trainer.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    trainer.fit()
    images = batch_size * steps
    result = {
        "batch_size": batch_size, "device": str(trainer.device), "amp": trainer.amp,
        "images_per_second": round(images / epoch_seconds[-1], 3),
        "seconds_per_step": round(epoch_seconds[-1] / steps, 3),
        "peak_cpu_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if trainer.device.type == "cuda":
        result["peak_cuda_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        result["gpu"] = torch.cuda.get_device_name()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one batch size
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one)))
        return
    rows = []
    for batch_size in args.batch_sizes:
        child = subprocess.run([sys.executable, __file__, "--one", str(batch_size)], capture_output=True, text=True,
                               env={**os.environ, "LTBENCH_CACHE": tempfile.mkdtemp()})
        if child.returncode != 0:
            rows.append({"batch_size": batch_size, "error": child.stderr.strip().splitlines()[-1]})
        else:
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]))
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    result = {"config": "configs/voc_lt/cprfl.yaml (ResNet-101, 448 px, d=2048, 20 classes)",
              "timed_steps": TIMED_STEPS, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "cpu_count": os.cpu_count(), "machine": platform.machine(), "results": rows}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_json(OUT_DIR / f"cprfl_step_{device}.json", result)


if __name__ == "__main__":
    main()
