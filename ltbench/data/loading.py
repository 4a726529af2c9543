"""torch Datasets and DataLoaders over a ``Split``."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ltbench.data.base import Split
from ltbench.data.transforms import Transform


class SplitDataset(Dataset):
    """(uint8 image tensor, float multi-hot target) pairs of one split."""

    def __init__(self, split: Split, transform: Transform) -> None:
        self.split, self.transform = split, transform
        self.targets = torch.from_numpy(split.targets).float()

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(self.split.images[index]), self.targets[index]


def make_loader(
    dataset: Dataset, batch_size: int, *, shuffle: bool = False, sampler: Sampler | None = None,
    seed: int = 0, num_workers: int = 0, drop_last: bool = False,
) -> DataLoader:
    """A loader whose shuffling and worker seeds follow ``seed``.

    Workers are not persistent: each epoch starts fresh workers seeded from the
    loader's generator, so a resumed run draws exactly the augmentations that an
    uninterrupted run would have drawn.
    """
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
        num_workers=num_workers, generator=generator, drop_last=drop_last,
        pin_memory=torch.cuda.is_available(),
    )
