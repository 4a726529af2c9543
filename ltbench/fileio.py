"""Atomic file writes and stable digests, shared by run directories and every on-disk cache.

A crash or a concurrent writer never leaves a half-written file behind: data is
written to a temp file beside the target and renamed over it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

# libyaml's loader when PyYAML was built with it: 8x faster than the pure-Python one on run configs
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def atomic_write(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write via ``write(handle)`` into a temp file beside ``path``, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda h: h.write(text.encode()))


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, default=json_default) + "\n")


def json_default(value: Any) -> Any:
    """JSON encoding of numpy values and paths."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def digest(value: Any, length: int = 16) -> str:
    """Short sha256 of ``value``'s canonical JSON (sorted keys): a cache or run key."""
    blob = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def load_yaml_text(text: str) -> Any:
    """``yaml.safe_load`` with the C loader where available (the same values for safe YAML)."""
    return yaml.load(text, Loader=YAML_LOADER)
