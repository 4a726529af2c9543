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

from pathlib import Path
from typing import Sequence

from ltbench.config.sections import check_name, complete
from ltbench.config.layering import (
    Config, check_known_keys, deep_merge, load_defaults, load_yaml, merge_layers, parse_overrides, section_at,
)
from ltbench.config.checks import check_engine_values
from ltbench.errors import LtbenchError
from ltbench.paths import config_search_path, find_config
from ltbench.plugins import load_plugins
from ltbench.registry import KINDS, METHODS, factory_params

# sections a method has only when its ``uses`` says so; by default it uses those the table marks by_default
OPTIONAL_SECTIONS = tuple(k.section[0] for k in KINDS.values() if k.uses != "always")
DEFAULT_USES = tuple(k.section[0] for k in KINDS.values() if k.uses == "by_default")


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
    check_name(KINDS["methods"], method_name)
    check_name(KINDS["datasets"], dataset_name)
    method_entry = METHODS.entry(method_name)
    layers = [defaults, explicit if explicit is not None else _preset(dataset_name, method_name), cli]
    resolved = merge_layers(layers)
    check_known_keys(resolved, defaults)
    uses = method_entry.meta.get("uses", DEFAULT_USES)
    for section in OPTIONAL_SECTIONS:
        if section not in uses:
            given = sorted(f"{section}.{k}" for layer in layers[1:] for k in (layer.get(section) or {}))
            if given:
                raise LtbenchError(f"Method {method_name!r} does not use the {section} section; "
                                   f"remove {', '.join(dict.fromkeys(given))}{_own_switches(method_name, given)}.")
            resolved.pop(section, None)
    _complete(resolved, method_entry.meta.get("loss"))
    check_engine_values(resolved)
    return resolved


def _own_switches(method: str, given: Sequence[str]) -> str:
    """Where the method has a parameter of the same name as a refused key (``text.names``: lmpt's
    ``method.names``), the pointer to it: the switch that does this for that method."""
    params = {param.name for param in factory_params(KINDS["methods"], method)[0]}
    own = [f"method.{key.rpartition('.')[2]}" for key in dict.fromkeys(given) if key.rpartition(".")[2] in params]
    return f" ({' and '.join(own)} {'do' if len(own) > 1 else 'does'} this for {method})" if own else ""


def _preset(dataset: str, method: str) -> Config:
    found = preset_file(dataset, method)
    return load_yaml(found) if found is not None else {}


def preset_file(dataset: str, method: str) -> Path | None:
    """The config a run of ``method`` on ``dataset`` without ``--config`` starts from: its own, else the
    dataset's ``base.yaml``."""
    for candidate in (f"{dataset}/{method}.yaml", f"{dataset}/base.yaml"):
        found = find_config(candidate)
        if found is not None:
            return found
    return None


def _complete(config: Config, default_loss: str | None) -> None:
    """Complete, in place, every component section that ``config`` has, from the component table."""
    loss = config.get("loss")
    if loss is not None and not loss.get("name"):
        if not default_loss:
            raise LtbenchError(f"Method {config['method']['name']!r} has no default loss; set loss.name.")
        loss["name"] = default_loss
    for kind in KINDS.values():
        *parents, leaf = kind.section if kind.has_section else kind.name_path
        parent = section_at(config, parents)
        if parent is None or leaf not in parent:
            continue  # a section the method does not use
        if kind.has_section:
            parent[leaf] = complete(kind, parent[leaf])
        elif isinstance(parent[leaf], list):  # output.log: the registry's own message names close matches
            for name in parent[leaf]:
                kind.registry.entry(name)
        else:
            check_name(kind, parent[leaf])
