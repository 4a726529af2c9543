"""``model.safetensors``: the format of a finished run's model (read and written through ``ltbench.runs.run_dir.RunDir``).

The file holds the reported model's tensors that training changed (trained
parameters and buffers); the frozen ones are rebuilt from the run's config
(their weights file or seeded initialisation), and a digest of them, stored in
the file's metadata, proves on loading that they are the ones the run used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Collection

from torch import nn

from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import atomic_write, tensors_digest

FORMAT = "ltbench-trained-state-1"


def _frozen_digest(model: nn.Module, frozen: Collection[str]) -> str:
    return tensors_digest({k: v for k, v in model.state_dict().items() if k in frozen})


def save_model(path: Path, model: nn.Module, frozen: Collection[str]) -> None:
    """Write ``model``'s trained tensors and the digest of its frozen ones."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items() if k not in frozen}
    metadata = {"format": FORMAT, "frozen_digest": _frozen_digest(model, frozen)}
    blob = save(state, metadata=metadata)
    atomic_write(path, lambda handle: handle.write(blob))


def load_model(path: Path, model: nn.Module) -> None:
    """Load a ``save_model`` file into a freshly built ``model`` of the same config, checking its frozen part."""
    from safetensors import safe_open

    if not path.is_file():
        raise LtbenchError(f"{path} does not exist; only runs finished by this version of ltbench have a model file.")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise LtbenchError(f"{path} is not a readable model file ({type(exc).__name__}); re-run the run.") from None
    frozen = set(model.state_dict()) - set(state)
    if metadata.get("frozen_digest") != _frozen_digest(model, frozen):
        raise LtbenchError(f"The frozen weights rebuilt for {path.parent} differ from the ones it was trained with "
                           "(was model.weights or its file changed?).")
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys or set(result.missing_keys) - frozen:
        raise LtbenchError(f"{path} does not fit the model its config builds.")
