"""Multi-label losses, each registered in ``LOSSES``, and ``build_loss`` to make one from a config."""

from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from ltbench.data.base import ClassStats
from ltbench.errors import LtbenchError
from ltbench.losses import (  # noqa: F401  (registers)
    asl, bal, basic, distribution_balanced, focal, ldam, logit_adjusted, mfm, two_way,
)
from ltbench.config.sections import build
from ltbench.registry import KINDS, LOSSES


def build_loss(config: Mapping[str, Any], stats: ClassStats) -> nn.Module:
    """The loss named in ``config``, with the training split's class statistics (as ``stats``) and ``config``'s
    parameters."""
    if not config.get("name"):
        raise LtbenchError(f"The loss config needs a name (one of: {', '.join(LOSSES.list())}).")
    return build(KINDS["losses"], config, stats=stats)
