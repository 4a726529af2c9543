"""The contracts every method must keep, as one call a method author runs on their own method.

``check_method("my_method")`` trains the method on a small ``mnist_lt`` draw,
a few times, and raises ``MethodCheckError`` with one sentence naming the first
contract it breaks:

1. it builds from its defaults (``ltbench run --method NAME --dataset mnist_lt``);
2. it trains on a small mnist_lt draw to a test mAP above chance;
3. it is deterministic for a seed: a second run gives the same test scores, bit for bit;
4. a run killed between two epochs resumes, from its checkpoint, to the same scores bit for bit;
5. its saved model re-evaluates (``ltbench eval RUN_DIR``) to the run's per-class AP, to the last digit;
6. parameters that no stage trains are unchanged after training.

ltbench's own tests run it over every registered method (tests/test_every_method.py),
so a new method, built-in or plugin, is checked without writing a test.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Sequence

import numpy as np
import torch

from ltbench.errors import LtbenchError
from ltbench.evaluation import chance_map
from ltbench.methods.base import EpochInfo

CONTRACTS = ("builds", "above_chance", "deterministic", "resumes", "saved_model", "frozen_unchanged")
# The cheapest setting that still has a second epoch to kill the run before. Its draw (at most 60 training
# images a class) has medium and tail classes only: no class reaches the head group's 100 images.
SMALL_RUN = ("dataset.max_count=60", "dataset.num_test=100", "input.size=32", "train.epochs=2", "eval.interval=0")


class MethodCheckError(AssertionError):
    """A method breaks one of the contracts of ``check_method``; the message says which, in one sentence."""


class _Killed(BaseException):
    """Stands for a kill between two epochs: raised at the start of the second epoch, after its checkpoint."""


@dataclass
class MethodCheck:
    """What ``check_method`` found: each contract's result and the seconds the check took."""

    method: str
    map_total: float
    chance: float
    seconds: float
    passed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def check_method(name: str, *, overrides: Sequence[str] = (), skip: Collection[str] = (),
                 workdir: str | Path | None = None, **options: Any) -> MethodCheck:
    """Run the contracts above on method ``name``; ``options`` are its ``method.*`` parameters.

    ``overrides`` are further ``key=value`` config overrides (after the small-run ones);
    ``skip`` names contracts that do not apply (say ``above_chance`` for a method whose
    mnist_lt config loads random weights), each kept in the result's ``skipped``.
    """
    unknown = set(skip) - set(CONTRACTS)
    if unknown:
        raise ValueError(f"skip names no contract: {sorted(unknown)}; the contracts are {', '.join(CONTRACTS)}.")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"ltbench-check-{name}-", dir=workdir) as folder:
        checker = _Checker(name, [*SMALL_RUN, *(f"method.{k}={v}" for k, v in options.items()), *overrides],
                           Path(folder), set(skip))
        return checker.run_all(started)


class _Checker:
    def __init__(self, name: str, overrides: list[str], folder: Path, skip: set[str]) -> None:
        self.name, self.overrides, self.folder, self.skip = name, overrides, folder, skip
        self.passed: list[str] = []
        self.resumed_identically = False

    def fail(self, sentence: str) -> MethodCheckError:
        return MethodCheckError(f"Method {self.name!r} {sentence}")

    def build(self, root: str) -> Any:
        from ltbench.experiment import build_experiment
        from ltbench.config.resolve import resolve_config

        try:
            config = resolve_config(self.name, "mnist_lt", overrides=[*self.overrides, f"output.root={self.folder / root}"])
            return build_experiment(config)
        except Exception as exc:
            raise self.fail(f"does not build from its defaults on mnist_lt: {_one_line(exc)}") from exc

    def train(self, experiment: Any) -> dict[str, Any]:
        from ltbench.experiment import run_experiment

        try:
            return run_experiment(experiment)
        except Exception as exc:
            raise self.fail(f"fails while training on a small mnist_lt draw: {_one_line(exc)}") from exc

    def run_all(self, started: float) -> MethodCheck:
        first = self.build("first")
        self.passed.append("builds")
        trained = _trained_names(first)
        before = {n: p.detach().clone() for n, p in first.parts.model.named_parameters() if n not in trained}
        metrics = self.train(first)
        scores = _scores(first.run_dir)
        chance = chance_map(first.dataset.test.targets)
        self.check("above_chance", lambda: self.above_chance(metrics, chance, first))
        self.check("resumes", lambda: self.resumes(scores))  # also proves "deterministic" when it holds
        self.check("deterministic", lambda: self.deterministic(scores))
        self.check("saved_model", lambda: self.saved_model(first.run_dir, metrics))
        self.check("frozen_unchanged", lambda: self.frozen_unchanged(before, first.parts.model))
        return MethodCheck(self.name, metrics["map"]["total"], chance, time.perf_counter() - started,
                           self.passed, sorted(self.skip))

    def check(self, contract: str, test: Any) -> None:
        if contract not in self.skip:
            test()
            self.passed.append(contract)

    def above_chance(self, metrics: dict[str, Any], chance: float, experiment: Any) -> None:
        total = metrics["map"]["total"]
        if not total > chance:
            raise self.fail(f"does not learn: test mAP {total:.2f} after {metrics['epochs']} epochs on a small "
                            f"mnist_lt draw is not above chance ({chance:.2f}).")

    def deterministic(self, scores: np.ndarray) -> None:
        if self.resumed_identically:
            return  # the resumed run trained its first epoch from scratch: a second, same-seeded run
        again = self.build("again")
        self.train(again)
        if not np.array_equal(_scores(again.run_dir), scores):
            raise self.fail("is not deterministic for a seed: two runs with the same config gave different "
                            "test scores (draw every random number from torch, numpy or random after seeding).")

    def resumes(self, scores: np.ndarray) -> None:
        killed = self.build("killed")
        if sum(stage.epochs or killed.config["train"]["epochs"] for stage in killed.parts.stages) < 2:
            return  # nothing to kill between: evaluate-only or one epoch in all
        killed.parts.on_epoch.append(_kill_at_second_epoch)
        try:
            self.train(killed)
        except _Killed:
            pass
        resumed = self.build("killed")
        self.train(resumed)
        self.resumed_identically = np.array_equal(_scores(resumed.run_dir), scores)
        if not self.resumed_identically:
            self.deterministic(scores)  # a method that is not deterministic cannot resume identically: say that
            raise self.fail("does not resume bit-identically: a run killed after its first epoch and run again "
                            "gave other test scores than the uninterrupted run (keep all training state in "
                            "the model, the optimizer or the schedule, or rebuild it from the epoch in on_epoch).")

    def saved_model(self, run_dir: Path, metrics: dict[str, Any]) -> None:
        from ltbench.runs.reload import evaluate_run

        try:
            again = evaluate_run(run_dir)
        except LtbenchError as exc:
            raise self.fail(f"saves a model that `ltbench eval` cannot load: {exc}") from exc
        if again["per_class_ap"] != metrics["per_class_ap"]:
            raise self.fail("saves a model that `ltbench eval` does not reproduce: re-evaluating model.safetensors "
                            "gave other per-class AP than the run (keep every trained tensor in the model's "
                            "state_dict).")

    def frozen_unchanged(self, before: dict[str, torch.Tensor], model: torch.nn.Module) -> None:
        after = dict(model.named_parameters())
        changed = sorted(n for n, value in before.items() if not torch.equal(value, after[n].detach().cpu()))
        if changed:
            raise self.fail(f"changes {len(changed)} parameters that no stage trains (first: {changed[0]}); "
                            "set requires_grad=False on them or let a Stage.train prefix name them.")


def _trained_names(experiment: Any) -> set[str]:
    """Parameters some stage trains: those requiring a gradient that a stage's ``train`` prefixes name."""
    stages = experiment.parts.stages
    return {n for n, p in experiment.parts.model.named_parameters() if p.requires_grad and any(s.trains(n) for s in stages)}


def _one_line(exc: Exception) -> str:
    message = " ".join(str(exc).split())
    return message if isinstance(exc, LtbenchError) else f"{type(exc).__name__}: {message}"


def _kill_at_second_epoch(info: EpochInfo) -> None:
    if info.global_epoch == 2:
        raise _Killed


def _scores(run_dir: Path) -> np.ndarray:
    from ltbench.runs.run_dir import RunDir

    return RunDir(run_dir).scores()[0]
