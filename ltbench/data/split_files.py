"""The VOC-LT / COCO-LT split files of Wu et al. (2020) and the published facts to check against.

The split files are not shipped (their upstream repository has no licence), so
they are read from a folder the user names; the class-frequency vectors and
set sizes are facts and live here as constants, so that ``prepare`` can tell a
faithful copy of the benchmark from a wrong year or a truncated download.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ltbench.errors import LtbenchError
from ltbench.paths import splits_root

# Upstream names the COCO list img_id.pkl although it is plain text; accept both names.
ID_FILE_NAMES = ("img_id.txt", "img_id.pkl")
HINT = (
    "run ltbench download splits, pass dataset.splits=<folder holding voc_lt/ and coco_lt/> or set LTBENCH_SPLITS "
    "(see datasets/{name}/README.md)"
)


@dataclass(frozen=True)
class Canonical:
    """What a correctly prepared copy of a benchmark must reproduce."""

    title: str
    num_train: int
    num_test: int
    class_freq: tuple[int, ...]  # training images per class, in the benchmark's class order


CANONICAL: dict[str, Canonical] = {
    "voc_lt": Canonical(
        "VOC-LT", 1142, 4952,
        (6, 34, 8, 14, 154, 17, 249, 29, 479, 4, 240, 48, 11, 20, 775, 100, 5, 82, 7, 64),
    ),
    "coco_lt": Canonical(
        "COCO-LT", 1909, 5000,
        (1128, 37, 276, 32, 9, 41, 18, 87, 20, 50, 11, 13, 8, 97, 19, 49, 70, 17, 7, 10,
         8, 6, 7, 7, 100, 39, 189, 31, 24, 11, 12, 8, 35, 10, 25, 21, 17, 10, 20, 460,
         84, 498, 126, 207, 173, 366, 39, 35, 44, 36, 29, 25, 14, 45, 16, 73, 585, 153, 164, 44,
         624, 25, 200, 137, 70, 89, 73, 127, 91, 175, 9, 237, 119, 292, 87, 113, 15, 21, 6, 11),
    ),
}


def splits_dir(splits: str | None, name: str) -> Path:
    """The split-file folder: ``splits`` if given, else $LTBENCH_SPLITS; one-sentence error if neither."""
    directory = Path(splits).expanduser() if splits else splits_root()
    if directory is None:
        raise LtbenchError(f"{name} needs the split files of Wu et al. (2020): {HINT.format(name=name)}.")
    if not directory.is_dir():
        raise LtbenchError(f"The split-file folder {directory} does not exist; {HINT.format(name=name)}.")
    return directory


def read_image_ids(directory: Path, name: str) -> tuple[list[str], Path]:
    """The training image ids of ``name`` in file order (row k of the labels is line k), and their file."""
    candidates = [directory / name / file for file in ID_FILE_NAMES]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise LtbenchError(f"No {name}/img_id.txt in the split-file folder {directory}; {HINT.format(name=name)}.")
    ids = path.read_text().split()
    if not ids:
        raise LtbenchError(f"The split file {path} lists no image ids; download it again.")
    return ids, path
