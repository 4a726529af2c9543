"""Completing and laying over component sections: one rule for the resolve step and the engine.

``complete`` turns a component section (its name plus any parameters) into one
with every parameter of the factory, each type-checked, and the engine keys
range-checked; ``resolve_config`` calls it for every section, and the engine for
what a method's ``Stage`` says at run time. ``laid_over`` is how a stage changes
a section, by the rule config layers follow (``config.kept_under``): its keys
win, and naming another component drops the earlier component's parameters but
keeps the engine's keys (``loss.name=asl`` does not inherit DB-Focal's ``mu``; a
stage that picks another optimizer keeps the config's ``lr``).
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Mapping

from ltbench.config.layering import deep_merge, kept_under, section_of
from ltbench.config.checks import check_type
from ltbench.errors import LtbenchError
from ltbench.registry import REQUIRED, Kind, factory_params

Section = dict[str, Any]


def check_name(kind: Kind, name: Any, where: str | None = None) -> None:
    """Refuse a name that no component of ``kind`` is registered under, in one sentence."""
    if isinstance(name, str) and name in kind.registry:
        return
    registry = kind.registry
    close = difflib.get_close_matches(str(name), registry.list(), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise LtbenchError(f"{where or '.'.join(kind.name_path)} must be one of {', '.join(registry.list())}, "
                       f"not {name!r}{hint}.")


def laid_over(kind: Kind, old: Mapping[str, Any], new: str | Mapping[str, Any] | None) -> Section:
    """Section ``old`` with ``new``'s keys laid over it (a stage's override, or a later layer's section)."""
    if not new:
        return dict(old)
    new = section_of(kind, new)
    return deep_merge(kept_under(kind, old, new), new)


def complete(kind: Kind, section: Mapping[str, Any], where: str | None = None) -> Section:
    """``section`` with its component's every parameter, each type-checked; ``where`` names it in messages."""
    where = where or kind.where
    name = section.get(kind.name_key)
    check_name(kind, name, f"{where}.{kind.name_key}")
    given = {k: v for k, v in section.items() if k != kind.name_key and k not in kind.engine_keys}
    params, accepts_any = factory_params(kind, name)
    known = {p.name: p for p in params}
    unknown = sorted(set(given) - set(known))
    if unknown and not accepts_any:
        choices = sorted(known) + list(kind.engine_keys)
        described = []
        for bad in unknown:
            close = difflib.get_close_matches(bad, choices, n=1)
            described.append(f"{where}.{bad}" + (f" (did you mean {where}.{close[0]}?)" if close else ""))
        raise LtbenchError(f"{kind.singular} {name!r} has no parameter {', '.join(described)}; "
                           f"its parameters: {', '.join(choices) or 'none'}.")
    completed = {kind.name_key: name}
    for key in section:
        if key in kind.engine_keys:
            completed[key] = kind.engine_keys[key].check(f"{where}.{key}", section[key])
    for param in params:
        if param.name in given:
            completed[param.name] = check_type(f"{where}.{param.name}", given[param.name], param.annotation)
        elif param.default is not REQUIRED:
            completed[param.name] = check_type(f"{where}.{param.name}", param.default, param.annotation)
        else:
            raise LtbenchError(f"{where}.{param.name} is required by {kind.singular} {name!r}; set it.")
    completed.update({k: given[k] for k in unknown})  # a **kwargs factory takes them as they are
    return completed


def build(kind: Kind, section: Mapping[str, Any], where: str | None = None, **engine_args: Any) -> Any:
    """The component ``section`` names, completed, with the engine's arguments passed by keyword (an offered
    argument only to a factory whose signature names it)."""
    if not set(kind.engine_args) <= set(engine_args) <= set(kind.engine_args) | set(kind.offered_args):
        raise TypeError(f"a {kind.singular} is built with {', '.join(kind.engine_args) or 'no engine arguments'}, "
                        f"not {', '.join(engine_args) or 'none'}")
    completed = complete(kind, section, where)
    name = completed.pop(kind.name_key)
    params = {k: v for k, v in completed.items() if k not in kind.engine_keys}
    named = inspect.signature(kind.registry.get(name)).parameters
    passed = {k: v for k, v in engine_args.items() if k in kind.engine_args or k in named}
    return kind.registry.build(name, **passed, **params)
