"""Images/s of each registered training augmentation on one CPU thread, at 224 px output.

Inputs: a VOC-sized 375 x 500 image (what a loader without a cache sees) and a
448 x 448 one (the image cache of the VOC-LT / COCO-LT presets). Each
augmentation runs ``--n`` times after a warm-up. Result:
results/benchmarks/augment-<torch>-<cpus>.json.

    python benchmarks/bench_augment.py [--n 300]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from ltbench.data.transforms import build_transform
from ltbench.fileio.atomic import write_json
from ltbench.plugins import load_plugins
from ltbench.registry import AUGMENTATIONS

SHAPES = ((375, 500), (448, 448))


def images_per_second(augment: str, shape: tuple[int, int], n: int) -> float:
    image = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    transform = build_transform(224, augment, train=True)
    for _ in range(10):
        transform(image)
    start = time.perf_counter()
    for _ in range(n):
        transform(image)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_plugins()
    results = {}
    for augment in AUGMENTATIONS.list():
        for shape in SHAPES:
            rate = images_per_second(augment, shape, args.n)
            results[f"{augment} {shape[0]}x{shape[1]}"] = round(rate, 1)
            print(f"{augment:>20} {shape[0]}x{shape[1]}: {rate:8.1f} images/s")
    output = Path(f"results/benchmarks/augment-pt{torch.__version__.split('+')[0].replace('.', '')}"
                  f"-cpu{os.cpu_count()}c.json")
    write_json(output, {"images_per_second": results, "threads": 1, "n": args.n, "output_size": 224})
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
