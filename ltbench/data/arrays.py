"""An in-memory ImageSource over a uint8 array of equally sized images."""

from __future__ import annotations

import numpy as np


class ArrayImages:
    """Images held in an ``N x H x W`` (grey) or ``N x H x W x 3`` uint8 array."""

    def __init__(self, array: np.ndarray) -> None:
        if array.dtype != np.uint8 or array.ndim not in (3, 4):
            raise ValueError(f"expected N x H x W[x3] uint8 images, got {array.dtype} {array.shape}")
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: int) -> np.ndarray:
        image = self.array[index]
        return np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image
