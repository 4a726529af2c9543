"""Multi-label losses, each registered in ``LOSSES``, and ``build_loss`` to make one from a config."""

from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from ltbench.data.base import ClassStats
from ltbench.errors import LtbenchError
from ltbench.losses import asl, basic, distribution_balanced, focal  # noqa: F401  (registers the losses)
from ltbench.registry import LOSSES, resolve_params


def build_loss(config: Mapping[str, Any], stats: ClassStats) -> nn.Module:
    """The loss named in ``config``, with the training split's class statistics and ``config``'s parameters."""
    params = dict(config)
    name = params.pop("name", None)
    if not name:
        raise LtbenchError(f"The loss config needs a name (one of: {', '.join(LOSSES.list())}).")
    return LOSSES.build(name, stats, **resolve_params(LOSSES, name, params, skip=1))
