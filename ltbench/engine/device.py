"""Device choice and mixed precision: the same code on CPU and CUDA."""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from ltbench.errors import LtbenchError, check_choice

DEVICES = ("auto", "cpu", "cuda")  # "cuda:N" picks a GPU


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` takes CUDA when present; asking for CUDA without one is an error."""
    check_choice("train.device", str(requested).split(":")[0], DEVICES)
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise LtbenchError("train.device asks for CUDA, but no CUDA device is available; use train.device=cpu.")
    return torch.device(requested)


def amp_enabled(setting: bool | str, device: torch.device) -> bool:
    """``auto`` = on for CUDA only; autocast runs on CUDA only whatever the setting."""
    return device.type == "cuda" if setting == "auto" else bool(setting) and device.type == "cuda"


def amp_dtype(setting: bool | str) -> torch.dtype:
    """bfloat16 (needs no loss scaling) unless ``fp16`` asks for float16 with a GradScaler (the CPRFL code)."""
    return torch.float16 if setting == "fp16" else torch.bfloat16


def autocast(enabled: bool, device: torch.device, dtype: torch.dtype = torch.bfloat16) -> ContextManager:
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
