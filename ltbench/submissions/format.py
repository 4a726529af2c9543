"""The submission file: one ``.npz`` (a zip of ``.npy`` arrays, read without pickle) with scores and metadata.

Entries (docs/leaderboard.md gives the field-by-field spec)::

    format        0-d str   "ltbench-submission/1"
    dataset       0-d str   registered dataset name, e.g. "voc_lt"
    split_digest  0-d str   the test split's digest (``ltbench.submissions.split.split_digest``)
    image_ids     N str     test image ids, any order, each once
    class_names   C str     the split's class order
    scores        N x C     float32 or float64, finite; higher = more confident the class is present
    metadata      0-d str   JSON object: method, checkpoint (required); paper, code, seed, score, notes, ltbench
    test_images   0-d str   optional: "all" (the default) or "labelled", the test subset (``dataset.test_images``)

``read_submission`` checks what the file alone can tell (entries, types, shape,
finite scores, metadata); ``match.check_against`` checks it against a split.
Every problem is one ``LtbenchError`` sentence naming what differs.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ltbench.data.base import TEST_IMAGES
from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import atomic_write

FORMAT = "ltbench-submission/1"
ENTRIES = ("format", "dataset", "split_digest", "image_ids", "class_names", "scores", "metadata")
TEST_IMAGES_ENTRY = "test_images"  # optional; absent in files of the full test split
ALL_TEST_IMAGES = TEST_IMAGES[0]
SCORE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# how the submitted model was chosen: the last epoch, on a validation split, or on the test split itself
CHECKPOINTS = ("last", "validation", "test")
REQUIRED_METADATA = ("method", "checkpoint")
OPTIONAL_METADATA = ("paper", "code", "seed", "score", "notes", "ltbench")
# what the scores are (docs/scores.md): probabilities unless the metadata says logits or log-softmax; AP only
# ranks them, thresholded metrics (docs/metrics.md) need to know
SCORES = ("sigmoid", "logit", "log_softmax")
DEFAULT_SCORE = "sigmoid"


@dataclass(frozen=True)
class Submission:
    """A submission file's contents, checked on their own."""

    dataset: str
    split_digest: str
    image_ids: list[str]
    class_names: list[str]
    scores: np.ndarray  # N x C float
    metadata: dict[str, Any]
    test_images: str = ALL_TEST_IMAGES  # the test subset scored (``dataset.test_images``: all or labelled)

    @property
    def seed(self) -> int:
        return int(self.metadata.get("seed", 1))

    @property
    def score(self) -> str:
        return str(self.metadata.get("score", DEFAULT_SCORE))


def write_submission(path: str | Path, submission: Submission) -> Path:
    """Write ``submission`` atomically (checked first, so a written file always reads back)."""
    check_metadata(submission.metadata, str(path))
    path = Path(path)
    arrays = {
        "format": np.array(FORMAT), "dataset": np.array(submission.dataset),
        "split_digest": np.array(submission.split_digest),
        "image_ids": np.array(submission.image_ids, dtype=str), "class_names": np.array(submission.class_names, dtype=str),
        "scores": submission.scores, "metadata": np.array(json.dumps(submission.metadata, sort_keys=True)),
    }
    if submission.test_images != ALL_TEST_IMAGES:
        arrays[TEST_IMAGES_ENTRY] = np.array(submission.test_images)
    atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))
    return path


def read_submission(path: str | Path) -> Submission:
    """Read and check a submission file on its own; one sentence on the first problem found."""
    path = Path(path)
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as saved:
            missing = [name for name in ENTRIES if name not in saved.files]
            if missing:
                raise LtbenchError(f"{where} lacks the submission entries {', '.join(missing)} "
                                   "(docs/leaderboard.md lists them).")
            arrays = {name: saved[name] for name in ENTRIES}
            subset = saved[TEST_IMAGES_ENTRY] if TEST_IMAGES_ENTRY in saved.files else np.array(ALL_TEST_IMAGES)
    except FileNotFoundError:
        raise LtbenchError(f"Submission file {where} does not exist.") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise LtbenchError(f"{where} is not a submission file (an .npz written without pickle): "
                           f"{type(exc).__name__}.") from None
    text = {name: _text(arrays[name], name, where) for name in ("format", "dataset", "split_digest", "metadata")}
    if text["format"] != FORMAT:
        raise LtbenchError(f"{where} is in format {text['format']!r}; this ltbench reads {FORMAT!r}.")
    ids, classes = (_strings(arrays[name], name, where) for name in ("image_ids", "class_names"))
    scores = _scores(arrays["scores"], len(ids), len(classes), ids, where)
    try:
        metadata = json.loads(text["metadata"])
    except json.JSONDecodeError as exc:
        raise LtbenchError(f"{where}'s metadata is not JSON ({exc.msg} at character {exc.pos}).") from None
    check_metadata(metadata, where)
    if metadata.get("score", DEFAULT_SCORE) == "sigmoid" and (scores.min() < 0 or scores.max() > 1):
        raise LtbenchError(f"{where}'s scores lie outside [0, 1] (from {scores.min():.3g} to {scores.max():.3g}), so "
                           "they are not probabilities; set metadata score to logit or log_softmax.")
    test_images = _text(subset, TEST_IMAGES_ENTRY, where)
    if test_images not in TEST_IMAGES:
        raise LtbenchError(f"{where}'s test_images must be one of {', '.join(TEST_IMAGES)}, not {test_images!r}.")
    return Submission(text["dataset"], text["split_digest"], ids, classes, scores, metadata, test_images)


def _text(array: np.ndarray, name: str, where: str) -> str:
    if array.ndim != 0 or array.dtype.kind != "U":
        raise LtbenchError(f"{where}'s {name} must be a single string, not a {array.dtype} array of shape "
                           f"{array.shape}.")
    return str(array)


def _strings(array: np.ndarray, name: str, where: str) -> list[str]:
    if array.ndim != 1 or array.dtype.kind != "U":
        raise LtbenchError(f"{where}'s {name} must be a 1-D array of strings, not {array.dtype} of shape "
                           f"{array.shape}.")
    return [str(value) for value in array]


def _scores(scores: np.ndarray, n_images: int, n_classes: int, ids: list[str], where: str) -> np.ndarray:
    if scores.dtype not in SCORE_DTYPES:
        raise LtbenchError(f"{where}'s scores are {scores.dtype}; the format takes float32 or float64 scores "
                           "(ranked per class, so logits or probabilities), not labels.")
    if scores.shape != (n_images, n_classes):
        raise LtbenchError(f"{where}'s scores have shape {scores.shape}, but it lists {n_images} image ids and "
                           f"{n_classes} classes.")
    bad = ~np.isfinite(scores).all(axis=1)
    if bad.any():
        first = ids[int(np.flatnonzero(bad)[0])]
        count = int(bad.sum())
        raise LtbenchError(f"{where}'s scores are NaN or infinite for {count:,} image{'' if count == 1 else 's'} "
                           f"(the first is {first!r}).")
    return scores


def check_metadata(metadata: Any, where: str) -> None:
    """The metadata block: a JSON object naming at least the method and how its checkpoint was chosen."""
    if not isinstance(metadata, dict):
        raise LtbenchError(f"{where}'s metadata must be a JSON object, not {type(metadata).__name__}.")
    missing = [key for key in REQUIRED_METADATA if not metadata.get(key)]
    if missing:
        raise LtbenchError(f"{where}'s metadata lacks {', '.join(missing)}.")
    unknown = sorted(set(metadata) - set(REQUIRED_METADATA) - set(OPTIONAL_METADATA))
    if unknown:
        raise LtbenchError(f"{where}'s metadata has unknown keys {', '.join(unknown)}; known: "
                           f"{', '.join(REQUIRED_METADATA + OPTIONAL_METADATA)}.")
    if metadata["checkpoint"] not in CHECKPOINTS:
        raise LtbenchError(f"{where}'s metadata checkpoint must be one of {', '.join(CHECKPOINTS)}, "
                           f"not {metadata['checkpoint']!r}.")
    if metadata.get("score", DEFAULT_SCORE) not in SCORES:
        raise LtbenchError(f"{where}'s metadata score must be one of {', '.join(SCORES)}, not {metadata['score']!r}.")
    seed = metadata.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise LtbenchError(f"{where}'s metadata seed must be an integer, not {seed!r}.")
