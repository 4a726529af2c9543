"""Type and range checks of config values, so a bad value fails before anything is read or written.

Component parameters are checked against their factory's annotations; the
engine's own keys against ``ENGINE_SPECS`` and the component table's ``engine_keys``. A value of the wrong type is one
sentence naming the key, the value and what is expected. Ints given for floats
become floats and tuples become lists, so equal configs hash equally.
"""

from __future__ import annotations

import collections.abc
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from ltbench.errors import LtbenchError


class _Mismatch(Exception):
    """``value`` does not fit the annotation being tried."""


def _describe(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(str(a).lower() if isinstance(a, bool) else str(a) for a in args)
    if origin in (list, tuple, collections.abc.Sequence):
        return "a list" + (f" of {_describe(args[0])}s" if args and args[0] is not Ellipsis else "")
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string", type(None): "null",
             dict: "a mapping"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _coerce(value: Any, annotation: Any) -> Any:
    """``value`` as ``annotation`` expects it, or ``_Mismatch``."""
    if annotation in (Any, typing.Any) or isinstance(annotation, (str, typing.TypeVar)):
        return value  # unannotated or not evaluable: not checked
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        for member in sorted(args, key=lambda a: a is float):  # int before float keeps 3 an int in int | float
            try:
                return _coerce(value, member)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise _Mismatch
    if origin in (list, tuple, collections.abc.Sequence) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        element = args[0] if args and (origin is not tuple or len(args) == 2 and args[1] is Ellipsis) else Any
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise _Mismatch
            return [_coerce(v, a) for v, a in zip(value, args)]
        return [_coerce(v, element) for v in value]
    if origin in (dict, collections.abc.Mapping) or annotation is dict:
        if not isinstance(value, dict):
            raise _Mismatch
        return value
    if annotation is type(None) or annotation is None:
        if value is None:
            return None
        raise _Mismatch
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch
    if annotation is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    return value  # other classes (tensors, arrays) are not config values: not checked


def check_type(key: str, value: Any, annotation: Any) -> Any:
    """``value`` checked (and normalised) against ``annotation``; a one-sentence error names ``key``."""
    try:
        return _coerce(value, annotation)
    except _Mismatch:
        shown = "empty" if value is None else repr(value)
        raise LtbenchError(f"{key} must be {_describe(annotation)}, not {shown}.") from None


@dataclass(frozen=True)
class Spec:
    """The type of one engine key and, for numbers, its range."""

    annotation: Any
    minimum: float | None = None  # value >= minimum
    above: float | None = None  # value > above
    below: float | None = None  # value < below

    def check(self, key: str, value: Any) -> Any:
        value = check_type(key, value, self.annotation)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise LtbenchError(f"{key} must be at least {self.minimum:g}, not {value!r}.")
            if self.above is not None and value <= self.above:
                raise LtbenchError(f"{key} must be greater than {self.above:g}, not {value!r}.")
            if self.below is not None and value >= self.below:
                raise LtbenchError(f"{key} must be less than {self.below:g}, not {value!r}.")
        return value


DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")

# the engine's keys outside component sections (those inside are in the component table, ltbench/registry.py)
ENGINE_SPECS: dict[str, Spec] = {
    "seed": Spec(int, minimum=0),
    "label": Spec(str | None),
    "input.size": Spec(int, minimum=1),
    "input.augment": Spec(str),
    "train.epochs": Spec(int, minimum=1),
    "train.batch_size": Spec(int, minimum=1),
    "train.grad_clip": Spec(float | None, above=0),
    "train.ema": Spec(float | None, above=0, below=1),
    "train.ema_from_init": Spec(bool),
    "train.amp": Spec(bool | Literal["auto", "bf16", "fp16"]),
    "train.drop_last": Spec(bool | Literal["auto"]),
    "train.feature_cache": Spec(bool | Literal["auto"]),
    "train.num_workers": Spec(int, minimum=0),
    "train.threads": Spec(int | None, minimum=1),
    "train.device": Spec(str),
    "train.keep_checkpoint": Spec(bool),
    "eval.batch_size": Spec(int, minimum=1),
    "eval.interval": Spec(int, minimum=0),
    "output.root": Spec(str | None),
    "output.log": Spec(list[str]),
}


def check_engine_values(config: dict[str, Any]) -> None:
    """Check (and normalise in place) every engine key present in ``config``."""
    for key, spec in ENGINE_SPECS.items():
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            node[leaf] = spec.check(key, node[leaf])
    device = config["train"]["device"]
    if not DEVICE_PATTERN.match(device):
        raise LtbenchError(f"train.device must be auto, cpu, cuda or cuda:N, not {device!r}.")
