"""Image captions from a user's file, for methods that learn from captions (LMPT).

Format: a UTF-8 text file with one line per training image,
``<image id><TAB><caption>``; image ids as the split file lists them (VOC:
``2008_000123``, COCO: the integer id; mnist_lt: ``train_00042``). Blank lines and lines starting
with ``#`` are skipped; ids not in the training split are ignored.
"""

from __future__ import annotations

from typing import Sequence

from ltbench.errors import LtbenchError
from ltbench.paths import existing_file


def read_captions(path: str | None, ids: Sequence[str], option: str) -> list[str]:
    """The caption of every id in ``ids``, in order; a missing file or id is one sentence naming ``option``."""
    if path is None:
        raise LtbenchError(f"This method learns from image captions and none were given; pass {option}=/path/to/"
                           "captions.tsv (one '<image id><TAB><caption>' line per training image).")
    file = existing_file(path, "The captions file", f"{option}=/path/to/captions.tsv")
    captions: dict[str, str] = {}
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        image_id, tab, caption = line.partition("\t")
        if not tab:
            raise LtbenchError(f"Line {number} of the captions file {file} has no tab between image id and "
                               f"caption; pass {option} a file of '<image id><TAB><caption>' lines.")
        captions[image_id.strip()] = caption.strip()
    missing = [image_id for image_id in ids if image_id not in captions]
    if missing:
        raise LtbenchError(f"The captions file {file} has no caption for {len(missing)} of the {len(ids)} training "
                           f"images (first: {missing[0]!r}); pass {option} a file covering every training image.")
    return [captions[image_id] for image_id in ids]
