"""YAML configs with ``_base_`` inheritance, component-aware layering, dotted CLI overrides and a stable hash.

``ltbench/config/resolve.py`` turns these layers into a run's resolved config.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import digest, load_yaml_text
from ltbench.paths import resolve_base
from ltbench.registry import KINDS, Kind

Config = dict[str, Any]

DEFAULTS_FILE = Path(__file__).parent.parent / "defaults.yaml"


def deep_merge(base: Config, update: Config) -> Config:
    """A new dict: ``update`` merged into ``base`` recursively (mappings merge, the rest replaces)."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def section_of(kind: Kind, value: str | Mapping[str, Any]) -> Config:
    """A section as given, or a bare name as the section naming it (``"class_aware"``)."""
    return {kind.name_key: value} if isinstance(value, str) else dict(value)


def kept_under(kind: Kind, old: Mapping[str, Any], new: Mapping[str, Any]) -> Config:
    """What of section ``old`` survives ``new`` laid over it: all, or only the engine's keys when ``new``
    names another component."""
    if kind.name_key in new and new[kind.name_key] != old.get(kind.name_key):
        return {k: v for k, v in old.items() if k in kind.engine_keys}
    return dict(old)


def merge_layers(layers: Sequence[Config]) -> Config:
    """Merge ``layers`` in order; a layer that names another component drops the earlier one's parameters
    (but not the engine's keys of that section, such as the optimizer's lr): the rule of ``kept_under``."""
    merged: Config = {}
    for layer in layers:
        layer = _normalise(layer)
        for kind in KINDS.values():
            new, old = section_at(layer, kind.section), section_at(merged, kind.section)
            if kind.has_section and new and old:
                kept = kept_under(kind, old, new)
                old.clear()
                old.update(kept)
        merged = deep_merge(merged, layer)
    return merged


def section_at(config: Config, path: Sequence[str]) -> Config | None:
    """The mapping at key ``path`` of ``config``, or None."""
    node: Any = config
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _normalise(layer: Config) -> Config:
    """A component named by a string is short for its section: ``train.sampler: class_aware`` is
    ``train.sampler: {name: class_aware}``."""
    for kind in KINDS.values():
        *parents, leaf = kind.section
        parent = section_at(layer, tuple(parents))
        if kind.has_section and parent is not None and isinstance(parent.get(leaf), str):
            layer = deep_merge(layer, {})
            section_at(layer, tuple(parents))[leaf] = section_of(kind, parent[leaf])  # type: ignore[index]
    return layer


def load_yaml(path: str | Path) -> Config:
    """Load a YAML config, following its ``_base_`` (a path or list of paths, relative to it)."""
    path = Path(path)
    if not path.is_file():
        raise LtbenchError(f"Config file {path} does not exist.")
    try:
        data = load_yaml_text(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise LtbenchError(f"Config file {path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}.") from None
    if not isinstance(data, dict):
        raise LtbenchError(f"Config file {path} must hold a mapping at the top level.")
    bases = data.pop("_base_", [])
    layers = [load_yaml(resolve_base(path, base)) for base in ([bases] if isinstance(bases, str) else bases)]
    return merge_layers([*layers, data])


def parse_overrides(pairs: Iterable[str]) -> Config:
    """``["train.epochs=5", "loss.name=asl"]`` -> nested dict; values parsed as YAML scalars."""
    result: Config = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise LtbenchError(f"Override {pair!r} must look like section.key=value.")
        node = result
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise LtbenchError(f"Override {pair!r} sets a key below a non-mapping value.")
        node[leaf] = parse_scalar(raw)
    return result


def parse_scalar(raw: str) -> Any:
    """A YAML scalar, with ``1e-3`` read as a float (YAML 1.1 would keep it a string)."""
    if raw == "":
        return None
    value = yaml.safe_load(raw)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def dump_yaml(config: Config) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def config_hash(config: Config, ignore: Iterable[str]) -> str:
    """A short stable digest of what determines a run's result; ``ignore`` holds (dotted) keys that do not."""
    relevant = deep_merge(config, {})
    for key in ignore:
        *parents, leaf = key.split(".")
        node = relevant
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    return digest(relevant, length=10)


def load_defaults() -> Config:
    return load_yaml(DEFAULTS_FILE)


# sections whose keys are fixed by defaults.yaml; a component's section holds its factory's
# parameters instead, which are checked against its signature (ltbench/config/sections.py)
STRICT_SECTIONS = ("input", "train", "eval", "output")


def component_sections() -> set[str]:
    """Dotted paths of the sections that hold a component's parameters."""
    return {".".join(kind.section) for kind in KINDS.values() if kind.has_section}


def check_known_keys(config: Config, reference: Config) -> None:
    """Refuse keys that ``reference`` (the package defaults) lacks, so a typo is not silently ignored."""
    unknown = [(key, list(reference)) for key in config if key not in reference]
    for section in STRICT_SECTIONS:
        if isinstance(config.get(section), dict):
            unknown += _unknown_keys(config[section], reference[section], section)
    if unknown:
        described = []
        for key, known in unknown:
            close = difflib.get_close_matches(key.rsplit(".", 1)[-1], known, n=1)
            prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
            described.append(key + (f" (did you mean {prefix}{close[0]}?)" if close else ""))
        raise LtbenchError(f"Unknown config key {', '.join(described)}; see ltbench/defaults.yaml for the keys.")


def _unknown_keys(section: Config, reference: Config, path: str) -> list[tuple[str, list[str]]]:
    unknown: list[tuple[str, list[str]]] = []
    for key, value in section.items():
        if f"{path}.{key}" in component_sections():
            continue
        if key not in reference:
            unknown.append((f"{path}.{key}", list(reference)))
        elif isinstance(value, dict) and isinstance(reference[key], dict):
            unknown += _unknown_keys(value, reference[key], f"{path}.{key}")
    return unknown
