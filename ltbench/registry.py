"""One small registry class, used for every kind of pluggable component.

Modelled on timm's ``register_model``: the registered callable's name is the key
and the first line of its docstring is the help text that ``ltbench list`` prints.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from ltbench.errors import LtbenchError

T = TypeVar("T", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry:
    """A registered component: its factory, help text and free-form metadata."""

    name: str
    factory: Callable[..., Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def help(self) -> str:
        doc = inspect.getdoc(self.factory) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""


class Registry(Generic[T]):
    """Maps names to factories for one kind of component (method, dataset, ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str | None = None, **meta: Any) -> Callable[[T], T]:
        """Decorator: register ``fn`` under ``name`` (default: its ``__name__``)."""

        def decorator(fn: T) -> T:
            key = name or fn.__name__
            existing = self._entries.get(key)
            if existing is not None and existing.factory is not fn:
                def place(f: Any) -> tuple[str | None, str | None]:
                    return getattr(f, "__module__", None), getattr(f, "__qualname__", None)

                if place(existing.factory) != place(fn):  # re-importing the same plugin file is harmless
                    raise LtbenchError(f"{self.kind} {key!r} is already registered by {existing.factory.__module__}.")
            self._entries[key] = Entry(key, fn, dict(meta))
            return fn

        return decorator

    def entry(self, name: str) -> Entry:
        """The entry for ``name``, or a one-sentence error naming close matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise LtbenchError(self._unknown_message(name)) from None

    def get(self, name: str) -> T:
        return self.entry(name).factory  # type: ignore[return-value]

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.get(name)(*args, **kwargs)

    def list(self, pattern: str = "*") -> list[str]:
        """Registered names matching a glob ``pattern``, sorted."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        known = ", ".join(self.list()) or "none"
        return f"Unknown {self.kind} {name!r}: not registered (registered: {known}).{hint}"


METHODS: Registry = Registry("method")
DATASETS: Registry = Registry("dataset")
BACKBONES: Registry = Registry("backbone")
TEXT_ENCODERS: Registry = Registry("text encoder")
LOSSES: Registry = Registry("loss")
OPTIMIZERS: Registry = Registry("optimizer")
SCHEDULES: Registry = Registry("schedule")
SAMPLERS: Registry = Registry("sampler")
AUGMENTATIONS: Registry = Registry("augmentation")
LOGGERS: Registry = Registry("logger")  # experiment trackers (ltbench.loggers)

# decorators for plugins: ``@register_method("name", loss="bce")``
register_method = METHODS.register
register_dataset = DATASETS.register
register_backbone = BACKBONES.register
register_text_encoder = TEXT_ENCODERS.register
register_loss = LOSSES.register
register_optimizer = OPTIMIZERS.register
register_schedule = SCHEDULES.register
register_sampler = SAMPLERS.register
register_augmentation = AUGMENTATIONS.register
register_logger = LOGGERS.register


@dataclass(frozen=True)
class Param:
    """One parameter of a registered factory: its default (``REQUIRED`` when none) and annotation."""

    name: str
    default: Any
    annotation: Any


REQUIRED = inspect.Parameter.empty


def factory_params(registry: Registry, name: str, skip: int = 0) -> tuple[list[Param], bool]:
    """The configurable parameters of ``name``'s factory (after ``skip``) and whether it takes ``**kwargs``.

    An entry registered with ``params_of=(callable, skip)`` takes its parameters from
    that callable's signature instead (a method that forwards ``**options`` to a module).
    """
    factory, skip = registry.entry(name).meta.get("params_of", (registry.get(name), skip))
    try:
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    except Exception:  # an annotation that cannot be evaluated is simply not type-checked
        hints = {}
    params = list(inspect.signature(factory).parameters.values())[skip:]
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    named = [Param(p.name, p.default, hints.get(p.name, Any)) for p in params
             if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
    return named, accepts_any


def resolve_params(registry: Registry, name: str, given: dict[str, Any], skip: int = 0) -> dict[str, Any]:
    """``given`` completed with the factory's defaults; unknown keys are a one-sentence error."""
    params, accepts_any = factory_params(registry, name, skip)
    known = {p.name for p in params}
    unknown = sorted(set(given) - known)
    if unknown and not accepts_any:
        raise LtbenchError(
            f"{registry.kind} {name!r} has no parameter {', '.join(unknown)} "
            f"(its parameters: {', '.join(sorted(known)) or 'none'})."
        )
    return {**{p.name: p.default for p in params if p.default is not REQUIRED}, **given}
