"""Atomic file writes, strict JSON and stable digests, shared by run directories and every on-disk cache.

A crash or a concurrent writer never leaves a half-written file behind: data is
written to a temp file beside the target (named with the writer's pid, see
``ltbench.fileio.tempfiles``) and renamed over it. Files get the mode the umask asks
for, so a lab's group can read results on a shared disk. File-system faults
become one-sentence errors (``ltbench.fileio.faults``).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import yaml

# libyaml's loader when PyYAML was built with it: 8x faster than the pure-Python one on run configs
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from ltbench.fileio.faults import guard
from ltbench.fileio.tempfiles import sweep_stale_temp_files, temp_path


def atomic_write(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write via ``write(handle)`` into a temp file beside ``path``, then rename over it."""
    path = Path(path)
    with guard(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_temp_files(path.parent)  # what killed writers left in this folder
        tmp = temp_path(path)
        try:
            with open(tmp, "xb") as handle:  # mode 0666 minus the umask, unlike mkstemp's 0600
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda h: h.write(text.encode()))


def write_json(path: Path, data: Any) -> None:
    write_text(path, to_json(data, indent=2) + "\n")


def to_json(data: Any, indent: int | None = None) -> str:
    """Strict JSON (what every reader accepts): NaN and infinities become ``null``."""
    return json.dumps(finite(data), indent=indent, default=json_default, allow_nan=False)


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (and numpy float) in it replaced by None."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    if isinstance(value, np.ndarray):
        return finite(value.tolist())
    return value


def json_default(value: Any) -> Any:
    """JSON encoding of numpy values and paths."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def tensors_digest(tensors: Mapping[str, Any]) -> str:
    """sha256 of named torch tensors (names, dtypes, shapes and bytes): what produced a cache entry or a model."""
    import torch

    hasher = hashlib.sha256()
    for name, tensor in sorted(tensors.items()):
        tensor = tensor.detach().cpu().contiguous()
        hasher.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        hasher.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return hasher.hexdigest()


def digest(value: Any, length: int = 16) -> str:
    """Short sha256 of ``value``'s canonical JSON (sorted keys): a cache or run key."""
    blob = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def load_yaml_text(text: str) -> Any:
    """``yaml.safe_load`` with the C loader where available (the same values for safe YAML)."""
    return yaml.load(text, Loader=YAML_LOADER)
