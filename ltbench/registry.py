"""The registries and the component table: for each kind, where a config names it and what the engine passes.

A registry is modelled on timm's ``register_model``: the registered callable's
name is the key and the first line of its docstring is the help text that
``ltbench list`` prints. ``KINDS`` is the one table of the kinds of component;
config merging, known-key checks, completion (``ltbench/config/sections.py``),
``ltbench list``, plugin entry points and the package's exports all read it, so
adding a kind is one row here (and the code that builds it).
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Literal, Mapping, TypeVar

from ltbench.config.checks import Spec
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
    """Maps names to factories for one kind of component (method, dataset, ...).

    ``engine_args`` are the arguments the engine passes every factory of the kind, by keyword
    (a loss's ``stats``); a factory that cannot take one of them by name is refused when registered.
    """

    def __init__(self, kind: str, engine_args: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.engine_args = engine_args
        self._entries: dict[str, Entry] = {}

    def register(self, name: str | None = None, **meta: Any) -> Callable[[T], T]:
        """Decorator: register ``fn`` under ``name`` (default: its ``__name__``)."""

        def decorator(fn: T) -> T:
            key = name or fn.__name__
            self._check_engine_args(key, fn)
            existing = self._entries.get(key)
            if existing is not None and existing.factory is not fn:
                def place(f: Any) -> tuple[str | None, str | None]:
                    return getattr(f, "__module__", None), getattr(f, "__qualname__", None)

                if place(existing.factory) != place(fn):  # re-importing the same plugin file is harmless
                    raise LtbenchError(f"{self.kind} {key!r} is already registered by {existing.factory.__module__}.")
            self._entries[key] = Entry(key, fn, dict(meta))
            return fn

        return decorator

    def _check_engine_args(self, key: str, fn: Callable[..., Any]) -> None:
        params = inspect.signature(fn).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return
        by_name = {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                          inspect.Parameter.KEYWORD_ONLY)}
        missing = [arg for arg in self.engine_args if arg not in by_name]
        if missing:
            raise LtbenchError(f"{self.kind} {key!r} must take the engine's argument{'s' * (len(missing) > 1)} "
                               f"{', '.join(missing)} by name (the engine passes {', '.join(self.engine_args)} "
                               f"as keywords); add {'them' if len(missing) > 1 else 'it'} to its signature.")

    def entry(self, name: str) -> Entry:
        """The entry for ``name``, or a one-sentence error naming close matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise LtbenchError(unknown_message(self.kind, name, self.list())) from None

    def get(self, name: str) -> T:
        return self.entry(name).factory  # type: ignore[return-value]

    def build(self, name: str, **kwargs: Any) -> Any:
        """``name``'s factory called with keywords only, so an engine argument never lands in another slot."""
        return self.get(name)(**kwargs)

    def list(self, pattern: str = "*") -> list[str]:
        """Registered names matching a glob ``pattern``, sorted."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries


def unknown_message(kind: str, name: str, registered: list[str]) -> str:
    """One sentence for a name no component of ``kind`` has, with the close matches among ``registered``."""
    close = difflib.get_close_matches(name, registered, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"Unknown {kind} {name!r}: not registered (registered: {', '.join(sorted(registered)) or 'none'}).{hint}"


Uses = Literal["always", "by_default", "on_request"]


@dataclass(frozen=True)
class Kind:
    """One kind of component: its registry and where a resolved config names and configures it.

    ``name_path`` is the config key that names the component; the rest of its section holds the
    factory's parameters, except ``engine_keys`` (read by the engine, kept when another component is
    named). ``engine_args`` are what the engine passes every factory, by keyword; ``offered_args`` what it
    passes only to a factory that names them (the group sampler's image sizes). ``uses``: whether every method has the section, methods unless their ``uses`` leaves it out,
    or only methods whose ``uses`` names it. ``has_section=False``: named by one key of an engine section
    (a name, or a list of names).
    """

    plural: str  # the `ltbench list` kind; entry-point group ltbench.<plural, '-' as '_'>
    singular: str
    name_path: tuple[str, ...]
    builtins: tuple[str, ...]  # modules that register the built-in components
    engine_args: tuple[str, ...] = ()
    offered_args: tuple[str, ...] = ()
    engine_keys: Mapping[str, Spec] = field(default_factory=dict)
    uses: Uses = "always"
    has_section: bool = True
    registry: Registry = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "registry", Registry(self.singular, self.engine_args))

    @property
    def section(self) -> tuple[str, ...]:
        return self.name_path[:-1]

    @property
    def name_key(self) -> str:
        return self.name_path[-1]

    @property
    def where(self) -> str:
        """The section's dotted config key, for messages."""
        return ".".join(self.section)

    @property
    def entry_point_group(self) -> str:
        return "ltbench." + self.plural.replace("-", "_")


_OPTIMIZER_KEYS = {"lr": Spec(float, above=0), "weight_decay": Spec(float, minimum=0),
                   "decay_norm_and_bias": Spec(bool)}
_METHOD_MODULES = tuple(f"ltbench.methods.{m}" for m in (
    "baseline", "bbn", "cprfl", "decoupling", "ldam_drw", "logit_adjusted", "ml_gcn", "zsclip", "coop", "lmpt",
    "hp_dval", "capnet", "lmclip", "mlcnc", "etf"))
KINDS: dict[str, Kind] = {kind.plural: kind for kind in (
    Kind("methods", "method", ("method", "name"), _METHOD_MODULES, engine_args=("ctx",)),
    Kind("datasets", "dataset", ("dataset", "name"),
         tuple(f"ltbench.data.{m}" for m in ("mnist_lt", "voc", "coco", "custom")),
         engine_keys={"test_images": Spec(str)}),
    Kind("backbones", "backbone", ("model", "backbone"), ("ltbench.models.backbones", "ltbench.models.clip_image"),
         uses="by_default"),
    Kind("text-encoders", "text encoder", ("text", "encoder"), ("ltbench.text",), uses="on_request",
         engine_keys={"template": Spec(str), "trainable": Spec(bool), "names": Spec(str)}),
    Kind("losses", "loss", ("loss", "name"), ("ltbench.losses",), engine_args=("stats",), uses="by_default"),
    Kind("optimizers", "optimizer", ("train", "optimizer", "name"), ("ltbench.engine.optim",),
         engine_args=("groups", "lr"), engine_keys=_OPTIMIZER_KEYS),
    Kind("schedules", "schedule", ("train", "schedule", "name"), ("ltbench.engine.optim",),
         engine_args=("optimizer", "steps_per_epoch", "epochs")),
    Kind("samplers", "sampler", ("train", "sampler", "name"), ("ltbench.data.samplers",),
         engine_args=("targets", "seed"), offered_args=("batch_size", "sizes")),
    Kind("augmentations", "augmentation", ("input", "augment"),
         ("ltbench.data.transforms", "ltbench.data.randaugment", "ltbench.data.db_augment"),
         engine_args=("size", "train"), has_section=False),
    Kind("loggers", "logger", ("output", "log"), ("ltbench.loggers.tensorboard_logger", "ltbench.loggers.wandb_logger"),
         engine_args=("run",), has_section=False),  # experiment trackers (ltbench.loggers); output.log lists names
)}

METHODS: Registry = KINDS["methods"].registry
DATASETS: Registry = KINDS["datasets"].registry
BACKBONES: Registry = KINDS["backbones"].registry
TEXT_ENCODERS: Registry = KINDS["text-encoders"].registry
LOSSES: Registry = KINDS["losses"].registry
OPTIMIZERS: Registry = KINDS["optimizers"].registry
SCHEDULES: Registry = KINDS["schedules"].registry
SAMPLERS: Registry = KINDS["samplers"].registry
AUGMENTATIONS: Registry = KINDS["augmentations"].registry
LOGGERS: Registry = KINDS["loggers"].registry

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

# what ``import ltbench`` hands out from this module
PUBLIC = tuple(name for name, value in list(globals().items())
               if isinstance(value, Registry) or name.startswith("register_"))


@dataclass(frozen=True)
class Param:
    """One parameter of a registered factory: its default (``REQUIRED`` when none) and annotation."""

    name: str
    default: Any
    annotation: Any


REQUIRED = inspect.Parameter.empty


def factory_params(kind: Kind, name: str) -> tuple[list[Param], bool]:
    """The configurable parameters of ``name``'s factory (all but the engine's) and whether it takes ``**kwargs``.

    An entry registered with ``params_of=(callable, skip)`` takes its parameters from that callable's
    signature after its first ``skip`` (a method that forwards ``**options`` to a module).
    """
    entry = kind.registry.entry(name)
    factory, skip = entry.meta.get("params_of", (entry.factory, 0))
    try:
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    except Exception:  # an annotation that cannot be evaluated is simply not type-checked
        hints = {}
    params = list(inspect.signature(factory).parameters.values())[skip:]
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    named = [Param(p.name, p.default, hints.get(p.name, Any)) for p in params
             if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
             and p.name not in kind.engine_args and p.name not in kind.offered_args]
    return named, accepts_any
