"""A submission against the test split it claims: dataset, class order, split version and image ids.

Checked in that order, so the sentence names the first thing that differs. The
image ids may come in any order: the scores are put in the split's order here.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ltbench.errors import LtbenchError
from ltbench.submissions.format import Submission
from ltbench.submissions.split import EvalSplit

SHOWN = 3  # ids named in a sentence


def _count(n: int, noun: str) -> str:
    """``1 image id``, ``3 image ids``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _some(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN:,} more" if len(ids) > SHOWN else "")


def check_dataset(submission: Submission, dataset: str, where: str) -> None:
    """Checked before the dataset is built: a file for another dataset is refused without reading that one."""
    if submission.dataset != dataset:
        raise LtbenchError(f"{where} holds scores for dataset {submission.dataset!r}, not {dataset!r}.")


def scores_in_split_order(submission: Submission, split: EvalSplit, where: str) -> np.ndarray:
    """The submission's scores, rows in the split's image order; one sentence if it does not match ``split``."""
    check_dataset(submission, split.dataset, where)
    _check_classes(submission.class_names, split, where)
    if submission.split_digest != split.digest:
        raise LtbenchError(f"{where} was made for another version of {split.dataset}'s test split (digest "
                           f"{submission.split_digest[:12]}…, this split's is {split.digest[:12]}…, test images: "
                           f"{split.test_images}; a file of the labelled subset says so in its test_images entry).")
    repeated = [image for image, count in Counter(submission.image_ids).items() if count > 1]
    if repeated:
        raise LtbenchError(f"{where} lists {_count(len(repeated), 'image id')} more than once: {_some(repeated)}.")
    row_of = {image: row for row, image in enumerate(submission.image_ids)}
    known = set(split.image_ids)
    unknown = [image for image in submission.image_ids if image not in known]
    if unknown:
        raise LtbenchError(f"{where} has {_count(len(unknown), 'image id')} not in {split.dataset}'s test split: "
                           f"{_some(unknown)}.")
    missing = [image for image in split.image_ids if image not in row_of]
    if missing:
        raise LtbenchError(f"{where} lacks scores for {len(missing):,} of the {len(split.image_ids):,} test images: "
                           f"{_some(missing)}.")
    return submission.scores[[row_of[image] for image in split.image_ids]]


def _check_classes(names: list[str], split: EvalSplit, where: str) -> None:
    if names == split.class_names:
        return
    if sorted(names) == sorted(split.class_names):
        position = next(i for i, (a, b) in enumerate(zip(names, split.class_names)) if a != b)
        raise LtbenchError(f"{where} lists the classes in another order than {split.dataset}: at position "
                           f"{position} it has {names[position]!r} where the split has {split.class_names[position]!r}.")
    extra = [name for name in names if name not in split.class_names]
    absent = [name for name in split.class_names if name not in names]
    parts = ([f"names {len(extra)} classes {split.dataset} lacks ({', '.join(map(repr, extra[:SHOWN]))})"] if extra else [])
    parts += [f"lacks {len(absent)} of its classes ({', '.join(map(repr, absent[:SHOWN]))})"] if absent else []
    if not parts:  # same names, one repeated
        parts = [f"lists {len(names)} class names for {split.dataset}'s {len(split.class_names)}"]
    raise LtbenchError(f"{where} {' and '.join(parts)}.")
