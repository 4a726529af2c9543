"""What a benchmark ran on, and result file names that say it (timm's benchmark-CSV style).

timm names its benchmark files ``benchmark-train-amp-nchw-pt240-cu124-rtx4090.csv``:
the measurement, its precision and memory format, the PyTorch and CUDA versions
and the device. A number is only comparable with numbers taken on the same
hardware and software, so the name carries them.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

OUT_DIR = Path(__file__).resolve().parent.parent / "results" / "benchmarks"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_tag(device: torch.device) -> str:
    """``pt213-cu128-nvidia-h100-80gb-hbm3`` on a GPU, ``pt213-cpu2c`` on a 2-core CPU."""
    version = "pt" + "".join(torch.__version__.split("+")[0].split(".")[:2])
    if device.type == "cuda":
        cuda = "cu" + "".join((torch.version.cuda or "0").split(".")[:2])
        return f"{version}-{cuda}-{_slug(torch.cuda.get_device_name(device))}"
    return f"{version}-cpu{os.cpu_count()}c"


def result_path(measurement: str, device: torch.device) -> Path:
    """``results/benchmarks/<measurement>-<device tag>.json``."""
    return OUT_DIR / f"{measurement}-{device_tag(device)}.json"


def environment(device: torch.device) -> dict[str, Any]:
    """Versions and hardware, stored inside every result file."""
    from ltbench.models.backbones import timm  # imported after ltbench's torchvision shim

    env: dict[str, Any] = {
        "device": str(device), "torch": torch.__version__, "timm": timm.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "machine": platform.machine(), "cpu": cpu_model(),
        "cpu_count": os.cpu_count(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version())
    return env
