"""Training samplers: class-aware resampling (Shen et al., ECCV 2016; DB's), mmdet's aspect-ratio groups (DB's
baselines), BBN's reversed, LM-CLIP's weighted draws."""

from __future__ import annotations

import itertools
import random
from typing import Iterator, Literal

import numpy as np
import torch
from torch.utils.data import Sampler

from ltbench.errors import LtbenchError, check_choice
from ltbench.registry import SAMPLERS


Rng = Literal["torch", "python"]
RNGS = ("torch", "python")


def _shuffled_cycle(items: np.ndarray, generator: torch.Generator) -> Iterator[int]:
    """Endless pass over ``items``, a fresh torch permutation of them before every pass."""
    while True:
        for i in torch.randperm(len(items), generator=generator).tolist():
            yield int(items[i])


def _python_cycle(items: np.ndarray, generator: random.Random) -> Iterator[int]:
    """DB's ``RandomCycleIter`` (mllt/datasets/loader/sampler.py:228-247 at 14460d0): one list reshuffled in place
    by Python's ``random.shuffle`` when a pass is exhausted and the next item is asked for."""
    order = [int(i) for i in items]
    while True:
        generator.shuffle(order)
        yield from order


class ClassAwareSampler(Sampler[int]):
    """Image indices drawn class by class so that every class is visited equally often.

    As in the DB repository: classes are visited in a cycle reshuffled each
    pass; each visit yields ``num_samples_cls`` images of that class, taken
    from its own reshuffled cycle. Classes without training images are
    skipped. Length: the number of images, or with ``reduce`` the DB code's
    ``max_i n_i * num_classes / reduce`` (the DB code defaults to ``reduce=4``,
    which gives more samples per epoch than there are images).
    Successive epochs differ; the whole sequence is fixed by ``seed``.

    ``rng="python"`` draws as the DB code does, index for index: one
    ``random.Random(seed)`` shared by every cycle (DB's ``random.seed(0)`` and
    the global ``random.shuffle``), each cycle's list reshuffled in place, and
    every visit taking ``num_samples_cls`` images from its class's cycle even
    when the epoch ends inside it (``zip(*[it] * 3)``, sampler.py:250-267).
    ``rng="torch"`` (0.2.0's sequence) permutes each pass afresh from a torch
    generator and takes only the images an epoch's last visit yields.
    """

    def __init__(
        self, targets: np.ndarray, num_samples_cls: int = 3, reduce: float | None = None, seed: int = 0,
        rng: Rng = "torch",
    ) -> None:
        check_choice("train.sampler.rng", rng, RNGS)
        targets = np.asarray(targets)
        self.class_images = [np.flatnonzero(col) for col in targets.T if col.any()]
        if not self.class_images:
            raise LtbenchError("Class-aware sampling needs at least one positive label in the training targets.")
        self.num_samples_cls = num_samples_cls
        if reduce is None:
            self.num_samples = len(targets)
        else:
            self.num_samples = int(max(map(len, self.class_images)) * len(self.class_images) / reduce)
        self.whole_visits = rng == "python"
        generator = random.Random(seed) if rng == "python" else torch.Generator().manual_seed(seed)
        cycle = _python_cycle if rng == "python" else _shuffled_cycle
        # the cycles persist across epochs, as in the DB code, so every image of a class is seen in turn
        self._class_cycle = cycle(np.arange(len(self.class_images)), generator)
        self._image_cycles = [cycle(images, generator) for images in self.class_images]

    def fast_forward(self, epochs: int) -> None:
        """Draw and discard ``epochs`` epochs, so that a resumed run continues the same sequence."""
        for _ in range(epochs):
            for _ in self:
                pass

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        drawn = 0
        while drawn < self.num_samples:
            visit = min(self.num_samples_cls, self.num_samples - drawn)
            images = self._image_cycles[next(self._class_cycle)]
            yield from list(itertools.islice(images, self.num_samples_cls if self.whole_visits else visit))[:visit]
            drawn += visit


@SAMPLERS.register("random")
def random_sampler(targets: np.ndarray, seed: int) -> None:
    """Instance-balanced: every training image once per epoch, in a seeded random order."""
    return None


@SAMPLERS.register("class_aware")
def class_aware_sampler(targets: np.ndarray, seed: int, num_samples_cls: int = 3,
                        reduce: float | None = None, fixed_seed: int | None = None,
                        rng: Rng = "torch") -> ClassAwareSampler:
    """Class-aware (class-balanced) resampling of the DB paper (Shen et al. 2016).

    Its draws follow the run's seed, or ``fixed_seed`` in every run: the DB
    code's sampler reseeds Python's and torch's generators to 0 when it is built
    (mllt/datasets/loader/sampler.py:273-274 at 14460d0), so its draws never vary with the seed.
    ``rng: python`` draws the DB code's own index sequence (see ``ClassAwareSampler``).
    """
    return ClassAwareSampler(targets, num_samples_cls=num_samples_cls, reduce=reduce,
                             seed=seed if fixed_seed is None else fixed_seed, rng=rng)


def aspect_flags(sizes: np.ndarray | None, count: int) -> np.ndarray:
    """DB's group flag of each training image (mllt/datasets/custom.py:188-203 at 14460d0): 1 when wider than
    tall, 0 when taller, ``i % 2`` for a square image i, and ``i % 2`` for every image when the data set gives no
    sizes (``sizes`` None: mnist_lt, a custom data set), as the authors' code does for annotations without a width."""
    alternating = np.arange(count) % 2
    if sizes is None:
        return alternating
    width, height = np.asarray(sizes, dtype=np.int64).T
    return np.where(width > height, 1, np.where(width == height, alternating, 0))


class GroupSampler(Sampler[int]):
    """mmdet's GroupSampler as DB's baselines train with it (mllt/datasets/loader/sampler.py:37-85 at 14460d0).

    Images are grouped by ``flags``; when a group has fewer images than a batch,
    the flags become ``i % 2`` (sampler.py:48-53). Each epoch: every group
    shuffled and padded with its own first images to a multiple of
    ``samples_per_gpu``, the groups concatenated, then their batches taken in
    a random order. All draws come from one ``numpy.random.RandomState(seed)``,
    the stream DB's ``set_random_seed`` starts in numpy's global generator
    (mllt/apis/env.py:53-57; tools/train.py's ``--seed`` defaults to 1); its
    index sequence is the authors', index for index, when nothing else draws from
    that generator. A group smaller than its padding (where the authors' length
    assertion fails) repeats its images in turn.
    """

    def __init__(self, flags: np.ndarray, samples_per_gpu: int, seed: int = 0) -> None:
        if samples_per_gpu < 1:
            raise LtbenchError(f"The group sampler needs a positive batch size, not {samples_per_gpu}.")
        self.flags = np.asarray(flags, dtype=np.int64)
        if np.bincount(self.flags).min() < samples_per_gpu:
            self.flags = np.arange(len(self.flags)) % 2
        self.samples_per_gpu = samples_per_gpu
        self.group_sizes = np.bincount(self.flags)
        self.num_samples = int(sum(-(-size // samples_per_gpu) * samples_per_gpu for size in self.group_sizes))
        self.generator = np.random.RandomState(seed)

    def fast_forward(self, epochs: int) -> None:
        """Draw and discard ``epochs`` epochs, so that a resumed run continues the same sequence."""
        for _ in range(epochs):
            self._epoch()

    def _epoch(self) -> np.ndarray:
        groups = []
        for group, size in enumerate(self.group_sizes):
            if size == 0:
                continue
            images = np.flatnonzero(self.flags == group)
            self.generator.shuffle(images)
            groups.append(np.resize(images, -(-size // self.samples_per_gpu) * self.samples_per_gpu))
        order = np.concatenate(groups)
        batch = self.samples_per_gpu
        return np.concatenate([order[i * batch:(i + 1) * batch]
                               for i in self.generator.permutation(len(order) // batch)])

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        yield from self._epoch().tolist()


@SAMPLERS.register("group")
def group_sampler(targets: np.ndarray, seed: int, batch_size: int, sizes: np.ndarray | None) -> GroupSampler:
    """mmdet's GroupSampler, DB's default: images grouped by aspect ratio, each group padded to whole batches.

    ``sizes`` (each training image's width and height, from VOC's and COCO's
    annotations) and ``batch_size`` (train.batch_size, the authors'
    ``imgs_per_gpu``) come from the engine; numpy's draws follow the run's seed.
    """
    return GroupSampler(aspect_flags(sizes, len(targets)), batch_size, seed=seed)


def reversed_draws(targets: np.ndarray, count: int, generator: torch.Generator) -> np.ndarray:
    """``count`` image indices: a class with probability proportional to 1 / n_i, then one of its images.

    BBN's reversed sampler (Zhou et al., CVPR 2020) in its multi-label form:
    classes are drawn by inverse frequency, images uniformly within the drawn
    class. Classes without training images are never drawn.
    """
    class_images = [np.flatnonzero(col) for col in np.asarray(targets).T if col.any()]
    if not class_images:
        raise LtbenchError("Reversed sampling needs at least one positive label in the training targets.")
    counts = torch.tensor([len(images) for images in class_images], dtype=torch.float64)
    classes = torch.multinomial(1.0 / counts, count, replacement=True, generator=generator)
    within = (torch.rand(count, generator=generator, dtype=torch.float64) * counts[classes]).long()
    return np.array([class_images[c][k] for c, k in zip(classes.tolist(), within.tolist())], dtype=np.int64)


class ReversedSampler(Sampler[int]):
    """As many reversed draws per epoch as there are images; successive epochs differ, all fixed by ``seed``."""

    def __init__(self, targets: np.ndarray, seed: int = 0) -> None:
        self.targets = np.asarray(targets)
        self.generator = torch.Generator().manual_seed(seed)

    def fast_forward(self, epochs: int) -> None:
        """Draw and discard ``epochs`` epochs, so that a resumed run continues the same sequence."""
        for _ in range(epochs):
            reversed_draws(self.targets, len(self), self.generator)

    def __len__(self) -> int:
        return len(self.targets)

    def __iter__(self) -> Iterator[int]:
        yield from reversed_draws(self.targets, len(self), self.generator).tolist()


@SAMPLERS.register("reversed")
def reversed_sampler(targets: np.ndarray, seed: int) -> ReversedSampler:
    """BBN's reversed sampling: a class with probability proportional to 1 / n_i, then an image of it."""
    return ReversedSampler(targets, seed=seed)


def inverse_frequency_weights(targets: np.ndarray, power: float) -> np.ndarray:
    """Each image's draw weight (sum over its labels c of 1 / n_c) ^ power, normalised to sum 1.

    LM-CLIP's oversampling (damilab/lm-clip @ 9983999, dataset_loaders/voc_mlt.py:179,186-205):
    it sums N / n_c over the image's labels, raises the sum to ``power`` and
    divides by the largest; N and that division cancel in the draw probability.
    An image without labels is never drawn.
    """
    targets = np.asarray(targets, dtype=np.float64)
    counts = targets.sum(axis=0)
    inverse = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)
    weights = (targets @ inverse) ** power
    if not weights.any():
        raise LtbenchError("Inverse-frequency sampling needs at least one positive label in the training targets.")
    return weights / weights.sum()


class WeightedDrawSampler(Sampler[int]):
    """As many draws with replacement per epoch as there are images, by fixed weights; fixed by ``seed``."""

    def __init__(self, weights: np.ndarray, seed: int = 0) -> None:
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.generator = torch.Generator().manual_seed(seed)

    def fast_forward(self, epochs: int) -> None:
        """Draw and discard ``epochs`` epochs, so that a resumed run continues the same sequence."""
        for _ in range(epochs):
            self._draw()

    def _draw(self) -> torch.Tensor:
        return torch.multinomial(self.weights, len(self.weights), replacement=True, generator=self.generator)

    def __len__(self) -> int:
        return len(self.weights)

    def __iter__(self) -> Iterator[int]:
        yield from self._draw().tolist()


@SAMPLERS.register("inverse_frequency")
def inverse_frequency_sampler(targets: np.ndarray, seed: int, power: float = 1.0) -> WeightedDrawSampler:
    """LM-CLIP's oversampling: images drawn with replacement, weight (sum of 1 / n_c over its labels) ^ power."""
    return WeightedDrawSampler(inverse_frequency_weights(targets, power), seed=seed)
