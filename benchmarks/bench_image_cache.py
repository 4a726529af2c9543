"""How much faster is a batch from the uint8 memmap cache than decoding and resizing its JPEGs?

Writes VOC-sized (500 x 375) JPEGs with photo-like content into a temp dir,
builds the cache at 448 px (CPRFL's input size), then times the same random
batches of 32 both ways, after one warm-up batch each (files in the page
cache for both, as during a training epoch). Result: results/benchmarks/image_cache.json.

    python benchmarks/bench_image_cache.py [--n 128] [--size 448] [--batch 32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from ltbench.data.image_cache import open_cache
from ltbench.data.image_files import decode_rgb
from ltbench.fileio.atomic import write_json

WIDTH, HEIGHT = 500, 375  # a typical VOC image
OUTPUT = Path("results/benchmarks/image_cache.json")


def make_jpegs(folder: Path, n: int, rng: np.random.Generator) -> list[Path]:
    """Smooth random colour fields plus grain: compresses like a photo (~40-80 kB), unlike pure noise."""
    paths = []
    for k in range(n):
        coarse = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
        field = np.asarray(Image.fromarray(coarse).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC), dtype=np.float32)
        pixels = np.clip(field + rng.normal(0, 10, size=field.shape), 0, 255).astype(np.uint8)
        path = folder / f"{k:06d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def median_batch_seconds(load: Callable[[int], np.ndarray], batches: list[np.ndarray]) -> float:
    """Median wall time to load one batch, after loading the first batch once to warm up."""
    times = []
    for batch in [batches[0], *batches]:
        start = time.perf_counter()
        for index in batch:
            load(int(index))
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=128, help="images written")
    parser.add_argument("--size", type=int, default=448, help="cache side in pixels")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7, help="timed batches per method")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LTBENCH_CACHE"] = str(Path(tmp) / "cache")  # never touch the user's cache
        paths = make_jpegs(Path(tmp), args.n, rng)
        start = time.perf_counter()
        cache = open_cache(paths, "bench", "train", args.size)
        build_seconds = time.perf_counter() - start
        batches = [rng.choice(args.n, size=args.batch, replace=False) for _ in range(args.repeats)]
        jpeg = median_batch_seconds(lambda i: decode_rgb(paths[i], args.size), batches)
        cached = median_batch_seconds(cache.__getitem__, batches)
        mean_kb = sum(p.stat().st_size for p in paths) / len(paths) / 1024
    result = {
        "n_images": args.n, "source_size": [WIDTH, HEIGHT], "mean_jpeg_kb": round(mean_kb, 1), "size": args.size,
        "batch": args.batch, "repeats": args.repeats, "cpu_count": os.cpu_count(),
        "jpeg_ms_per_image": round(1000 * jpeg / args.batch, 3),
        "cache_ms_per_image": round(1000 * cached / args.batch, 3),
        "speedup": round(jpeg / cached, 1), "cache_build_s": round(build_seconds, 2),
    }
    write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
