"""ltbench: a benchmark suite for long-tailed multi-label image classification.

The public Python API, for notebooks and scripts (imported lazily, so that
``ltbench --help`` does not load torch)::

    import ltbench
    result = ltbench.run("erm", "mnist_lt", overrides=["train.epochs=5"])
    loaded = ltbench.load_run(result.run_dir)      # model, config, metrics
    frame = ltbench.table("table1")                 # a suite's table as a pandas DataFrame
"""

from __future__ import annotations

import importlib
from typing import Any

from ltbench.registry import PUBLIC  # the component table: standard library only, no torch

# the one version (pyproject.toml reads it; every run records it): bump it, with a CHANGELOG.md entry,
# whenever numbers change
__version__ = "0.3.0"

_EXPORTS = {
    "ltbench.config.resolve": ("resolve_config",),
    "ltbench.experiment": ("run", "RunResult", "build_experiment", "run_experiment", "Experiment"),
    "ltbench.runs.reload": ("load_run", "evaluate_run", "LoadedRun"),
    "ltbench.evaluation": ("evaluate",),
    "ltbench.runs.run_dir": ("read_run",),
    "ltbench.cli.table": ("table",),
    "ltbench.methods.base": ("MethodContext", "MethodParts", "Stage", "EpochInfo", "BatchInputs", "SplitModel"),
    "ltbench.methods.baseline": ("build_baseline", "loss_method"),
    "ltbench.data.base": ("ClassStats",),
    "ltbench.testing": ("check_method", "MethodCheckError"),
    "ltbench.errors": ("LtbenchError",),
    "ltbench.registry": PUBLIC,  # every kind's registry and register_ decorator, from the component table
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ltbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    if name.isupper():
        importlib.import_module("ltbench.plugins").load_plugins()  # registries are complete when handed out
    return value


def __dir__() -> list[str]:
    return __all__
