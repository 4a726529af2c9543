"""Image files on disk as an ImageSource, plus the decoding and existence checks every reader shares."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ltbench.errors import LtbenchError

MAX_EXAMPLES = 3  # missing paths quoted in an error message


def decode_rgb(path: Path, size: int | None = None) -> np.ndarray:
    """Decode ``path`` to H x W x 3 uint8 RGB; with ``size``, plainly resize to size x size (as CPRFL does)."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if size is not None:
                image = image.resize((size, size), Image.Resampling.BILINEAR)
            return np.array(image)
    except FileNotFoundError:
        raise LtbenchError(f"Image {path} is missing.") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt download
        raise LtbenchError(f"Image {path} cannot be decoded ({error}); download it again.") from None


class ImageFiles:
    """Decodes each image from its file on access, at full resolution."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        return decode_rgb(self.paths[index])


def require_files(paths: Sequence[Path], what: str, hint: str) -> None:
    """Check all ``paths`` up front, so a bad download fails at once with a count and examples, not mid-epoch.

    ``what`` names one file in the singular ("VOC2012 image"); ``hint`` says how to fix it.
    """
    missing = [path for path in paths if not path.is_file()]
    if len(paths) == 1 and missing:
        raise LtbenchError(f"The {what} file {missing[0]} is missing; {hint}.")
    if missing:
        examples = ", ".join(str(path) for path in missing[:MAX_EXAMPLES])
        raise LtbenchError(f"{len(missing)} of {len(paths)} {what} files are missing (e.g. {examples}); {hint}.")
