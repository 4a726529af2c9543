"""Resolve, then build: (method, dataset, config file, overrides) -> the complete, checked config.

A pure step: it reads YAML files and the registries' signatures, never a
dataset, a device or the results folder, so a GPU config can be prepared on a
laptop and every mistake is found before anything is read or written. Layers,
later ones winning: package defaults < ``configs/<dataset>/<method>.yaml`` (or
``base.yaml``; or ``--config``) < ``extra`` < CLI overrides. Every section is
completed from its component's signature; a component's parameters from lower
layers are dropped when a later layer names another component (``loss.name=asl``
does not inherit DB-Focal's ``mu``); sections the method does not use are left
out (and so out of the run's hash); every value is type- and range-checked.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Sequence

from ltbench.config import (
    ENGINE_KEYS, Config, check_known_keys, deep_merge, load_defaults, load_yaml, merge_layers, parse_overrides,
)
from ltbench.config_types import check_engine_values, check_type
from ltbench.errors import LtbenchError
from ltbench.paths import config_search_path, find_config
from ltbench.plugins import load_plugins
from ltbench.registry import (
    AUGMENTATIONS, BACKBONES, DATASETS, LOSSES, METHODS, OPTIMIZERS, SAMPLERS, SCHEDULES, TEXT_ENCODERS, REQUIRED,
    Registry, factory_params,
)

OPTIONAL_SECTIONS = ("model", "loss", "text")  # present only when the method says it uses them
DEFAULT_USES = ("model", "loss")


def config_file(name_or_path: str | Path, dataset: str | None) -> Path:
    """``--config``: a YAML path, or a preset name looked up as ``<dataset>/<name>.yaml`` then ``<name>.yaml``."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return path
    candidates = ([f"{dataset}/{path}.yaml"] if dataset else []) + [f"{path}.yaml"]
    for candidate in candidates:
        found = find_config(candidate)
        if found is not None:
            return found
    raise LtbenchError(f"No config {str(name_or_path)!r}: no {' or '.join(candidates)} in the config folders "
                       f"({', '.join(map(str, config_search_path()))}); pass a YAML file or a preset name.")


def resolve_config(
    method: str | None = None, dataset: str | None = None, config: str | Path | None = None,
    overrides: Sequence[str] = (), extra: Config | None = None,
) -> Config:
    """The fully resolved, checked config of one run; nothing is built, read or written."""
    load_plugins()
    cli = deep_merge(extra or {}, parse_overrides(overrides))
    chosen = {section: {"name": name} for section, name in (("method", method), ("dataset", dataset)) if name}
    cli = deep_merge(cli, chosen)
    # the chosen names go into the bottom layer too: the preset found for them is that method's, and must not
    # count as another component's parameters when the command line names the method again
    defaults = deep_merge(load_defaults(), chosen)
    early = merge_layers([defaults, cli])  # the dataset name, to find a preset of that name
    explicit = load_yaml(config_file(config, early["dataset"]["name"])) if config else None
    names = merge_layers([defaults, explicit or {}, cli])
    method_name, dataset_name = names["method"]["name"], names["dataset"]["name"]
    method_entry = _entry(METHODS, "method.name", method_name)
    _entry(DATASETS, "dataset.name", dataset_name)
    layers = [defaults, explicit if explicit is not None else _preset(dataset_name, method_name), cli]
    resolved = merge_layers(layers)
    check_known_keys(resolved, defaults)
    uses = method_entry.meta.get("uses", DEFAULT_USES)
    for section in OPTIONAL_SECTIONS:
        if section not in uses:
            given = sorted(f"{section}.{k}" for layer in layers[1:] for k in (layer.get(section) or {}))
            if given:
                raise LtbenchError(f"Method {method_name!r} does not use the {section} section; "
                                   f"remove {', '.join(dict.fromkeys(given))}.")
            resolved.pop(section, None)
    _complete(resolved, method_entry.meta.get("loss"))
    check_engine_values(resolved)
    return resolved


def _preset(dataset: str, method: str) -> Config:
    for candidate in (f"{dataset}/{method}.yaml", f"{dataset}/base.yaml"):
        found = find_config(candidate)
        if found is not None:
            return load_yaml(found)
    return {}


def _entry(registry: Registry, key: str, name: Any) -> Any:
    if isinstance(name, str) and name in registry:
        return registry.entry(name)
    close = difflib.get_close_matches(str(name), registry.list(), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise LtbenchError(f"{key} must be one of {', '.join(registry.list())}, not {name!r}{hint}.")


def _complete_section(section: Config, key: str, registry: Registry, name_key: str, skip: int,
                      engine_keys: Sequence[str] = ()) -> Config:
    """``section`` with its component's every parameter, each type-checked."""
    name = section.get(name_key)
    _entry(registry, f"{key}.{name_key}", name)
    given = {k: v for k, v in section.items() if k != name_key and k not in engine_keys}
    params, accepts_any = factory_params(registry, name, skip)
    known = {p.name: p for p in params}
    unknown = sorted(set(given) - set(known))
    if unknown and not accepts_any:
        choices = sorted(known) + list(engine_keys)
        described = []
        for bad in unknown:
            close = difflib.get_close_matches(bad, choices, n=1)
            described.append(f"{key}.{bad}" + (f" (did you mean {key}.{close[0]}?)" if close else ""))
        raise LtbenchError(f"{registry.kind} {name!r} has no parameter {', '.join(described)}; "
                           f"its parameters: {', '.join(choices) or 'none'}.")
    completed = {name_key: name, **{k: section[k] for k in engine_keys if k in section}}
    for param in params:
        if param.name in given:
            completed[param.name] = check_type(f"{key}.{param.name}", given[param.name], param.annotation)
        elif param.default is not REQUIRED:
            completed[param.name] = check_type(f"{key}.{param.name}", param.default, param.annotation)
        else:
            raise LtbenchError(f"{key}.{param.name} is required by {registry.kind} {name!r}; set it.")
    completed.update({k: given[k] for k in unknown})  # a **kwargs factory takes them as they are
    return completed


def _complete(config: Config, default_loss: str | None) -> None:
    """Complete every component section of ``config`` in place."""
    config["dataset"] = _complete_section(config["dataset"], "dataset", DATASETS, "name", 0,
                                          ENGINE_KEYS[("dataset",)])
    config["method"] = _complete_section(config["method"], "method", METHODS, "name", 1)
    if "model" in config:
        config["model"] = _complete_section(config["model"], "model", BACKBONES, "backbone", 0)
    if "loss" in config:
        if not config["loss"].get("name"):
            if not default_loss:
                raise LtbenchError(f"Method {config['method']['name']!r} has no default loss; set loss.name.")
            config["loss"]["name"] = default_loss
        config["loss"] = _complete_section(config["loss"], "loss", LOSSES, "name", 1)
    if "text" in config:
        config["text"] = _complete_section(config["text"], "text", TEXT_ENCODERS, "encoder", 0,
                                           ENGINE_KEYS[("text",)])
    train = config["train"]
    train["optimizer"] = _complete_section(train["optimizer"], "train.optimizer", OPTIMIZERS, "name", 2,
                                           ENGINE_KEYS[("train", "optimizer")])
    train["schedule"] = _complete_section(train["schedule"], "train.schedule", SCHEDULES, "name", 3)
    train["sampler"] = _complete_section(train["sampler"], "train.sampler", SAMPLERS, "name", 2)
    _entry(AUGMENTATIONS, "input.augment", config["input"]["augment"])

