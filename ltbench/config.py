"""YAML configs with ``_base_`` inheritance, dotted CLI overrides and a stable hash.

A run's config is resolved in layers, later ones winning:
package defaults < ``configs/<dataset>/<method>.yaml`` (or, when there is none,
``configs/<dataset>/base.yaml``; either may inherit with ``_base_``) or ``--config``
< CLI overrides.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any, Iterable

import yaml

from ltbench.errors import LtbenchError
from ltbench.fileio import digest

Config = dict[str, Any]

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")


def deep_merge(base: Config, update: Config) -> Config:
    """A new dict: ``update`` merged into ``base`` recursively (mappings merge, the rest replaces)."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_yaml(path: str | Path) -> Config:
    """Load a YAML config, following its ``_base_`` (a path or list of paths, relative to it)."""
    path = Path(path)
    if not path.is_file():
        raise LtbenchError(f"Config file {path} does not exist.")
    try:
        with path.open() as handle:
            data = yaml.safe_load(handle) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise LtbenchError(f"Config file {path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}.") from None
    if not isinstance(data, dict):
        raise LtbenchError(f"Config file {path} must hold a mapping at the top level.")
    bases = data.pop("_base_", [])
    merged: Config = {}
    for base in [bases] if isinstance(bases, str) else bases:
        merged = deep_merge(merged, load_yaml(path.parent / base))
    return deep_merge(merged, data)


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


def config_hash(config: Config, ignore: Iterable[str] = ("output",)) -> str:
    """A short stable digest of what determines a run's result (output locations excluded)."""
    relevant = {k: v for k, v in config.items() if k not in set(ignore)}
    return digest(relevant, length=10)


def load_defaults() -> Config:
    return load_yaml(DEFAULTS_FILE)


# sections whose keys are fixed by defaults.yaml; the others (dataset, method, model,
# loss, text) hold a component's parameters, which the registry checks
STRICT_SECTIONS = ("input", "train", "eval", "output")


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
        if key not in reference:
            unknown.append((f"{path}.{key}", list(reference)))
        elif isinstance(value, dict) and isinstance(reference[key], dict):
            unknown += _unknown_keys(value, reference[key], f"{path}.{key}")
    return unknown
