"""Record a training trajectory (loss, logits, gradients, optimizer settings, weights, scores) and compare two.

One ``StepRecorder`` watches a model, its loss and its optimizer through hooks
only, so the authors' training loop and ltbench's run unchanged under it. Each
optimizer step closes one step record: the loss and logits of the step's
training forward, the gradient norm of every parameter (under the authors'
names, through an explicit name map), and per parameter group its lr, betas or
momentum, weight decay and gradient norm. ``final`` adds per-tensor norms, sums
and digests of the weights (and of the EMA's), and the test scores.

``compare`` walks two trajectories in order and stops at the first quantity
whose difference exceeds its tolerance, naming step, quantity and parameter.
Tolerances come from the authors' own float32-vs-float64 difference
(``noise_floor``), recorded with the reference.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import nn

from ltbench._torchvision_compat import ensure_torchvision_importable

ensure_torchvision_importable()  # before the authors' code imports torchvision (a CUDA wheel beside CPU torch)

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "tests" / "reference_trajectories"
FULL_LIMIT = 256  # tensors up to this many elements are stored whole; larger ones as summary statistics
TOLERANCE_FACTOR = 10.0  # a difference may be this many times the authors' own float32-vs-float64 difference
TOLERANCE_MIN = 1e-6     # ... and never needs to be smaller than this (relative)
SETTING_TOLERANCE = 1e-9  # lr, betas, momentum and weight decay are set, not computed: equal to rounding
SCALE_FRACTION = 1e-4  # a per-tensor number is judged against at least this fraction of its kind's largest


def tensor_digest(tensor: torch.Tensor) -> str:
    """sha256 (first 16 hex digits) of the tensor's float32 bytes: equal digests mean bit-identical values."""
    data = tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def summary(tensor: torch.Tensor) -> dict[str, Any]:
    """A tensor as numbers: whole when small, else its norm, sum, extremes and digest."""
    t = tensor.detach().to("cpu", torch.float64)
    if t.numel() <= FULL_LIMIT:
        return {"values": t.flatten().tolist(), "shape": list(t.shape)}
    return {"shape": list(t.shape), "norm": t.norm().item(), "sum": t.sum().item(), "min": t.min().item(),
            "max": t.max().item(), "digest": tensor_digest(tensor)}


def weights(named: Iterable[tuple[str, torch.Tensor]], names: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per tensor (under the authors' name): norm, sum and float32 digest."""
    out = {}
    for name, tensor in named:
        if name in names:
            t = tensor.detach().to("cpu", torch.float64)
            out[names[name]] = {"norm": t.norm().item(), "sum": t.sum().item(), "digest": tensor_digest(tensor)}
    return dict(sorted(out.items()))


def members_digest(names: Iterable[str]) -> str:
    """Which parameters a group holds, as a digest of their sorted authors' names (groups matched by content)."""
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:16]


@dataclass
class StepRecorder:
    """Hooks on a model, its loss and its optimizer that write one record per optimizer step.

    ``names`` maps each watched parameter's name in ``model`` to the authors'
    name (the one-to-one map of the method's recorder); parameters outside the
    map must never get a gradient (``extra_grad`` fails the record otherwise).
    """

    model: nn.Module
    names: dict[str, str]
    steps: list[dict[str, Any]] = field(default_factory=list)
    _current: dict[str, Any] = field(default_factory=dict)
    _handles: list[Any] = field(default_factory=list)

    def watch_logits(self, module: nn.Module, pick: Callable[[Any], torch.Tensor] = lambda out: out) -> None:
        """Record ``pick(output)`` of ``module``'s first training (grad-enabled) forward of each step."""
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if torch.is_grad_enabled() and "logits" not in self._current:
                self._current["logits"] = summary(pick(output))
        self._handles.append(module.register_forward_hook(hook))

    def watch_loss(self, module: nn.Module) -> None:
        """Record ``module``'s first output of each step that carries a gradient (the loss that is back-propagated)."""
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            if output.requires_grad and "loss" not in self._current:
                self._current["loss"] = output.detach().double().item()
        self._handles.append(module.register_forward_hook(hook))

    def note_loss(self, loss: torch.Tensor) -> None:
        """Record ``loss`` as the step's back-propagated loss, for a loop where no module returns it (mmcv's runner)."""
        if "loss" not in self._current:
            self._current["loss"] = loss.detach().double().item()

    def watch_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Before each step: gradients and group settings; the step's record is closed there."""
        by_id = {id(p): n for n, p in self.model.named_parameters()}

        def hook(opt: torch.optim.Optimizer, _args: Any, _kwargs: Any) -> None:
            grads, groups = {}, []
            for group in opt.param_groups:
                named = [(by_id[id(p)], p) for p in group["params"]]
                if not named:
                    continue  # an empty group is no setting of any weight
                unmapped = [n for n, p in named if n not in self.names and p.grad is not None]
                if unmapped:
                    raise RuntimeError(f"parameters outside the name map got gradients: {unmapped[:5]}")
                square = 0.0
                for name, p in named:
                    if name in self.names:
                        norm = 0.0 if p.grad is None else p.grad.detach().double().norm().item()
                        grads[self.names[name]] = norm
                        square += norm ** 2
                groups.append(_settings(group) | {"grad_norm": math.sqrt(square), "params": len(named),
                                                   "members": members_digest(self.names[n] for n, _ in named
                                                                             if n in self.names)})
            self._current["grad_norm"] = dict(sorted(grads.items()))
            self._current["groups"] = sorted(groups, key=lambda g: g["members"])
            self.steps.append(self._current)
            self._current = {}
        self._handles.append(optimizer.register_step_pre_hook(hook))

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


class StepSeeder:
    """A forward pre-hook that reseeds torch (``seed * 1000 + step``) before each training forward, so that both
    sides draw the same dropout."""

    def __init__(self, seed: int) -> None:
        self.seed, self.step = seed, 0

    def __call__(self, _module: nn.Module, _inputs: Any) -> None:
        if torch.is_grad_enabled():
            self.step += 1
            torch.manual_seed(self.seed * 1000 + self.step)


def _settings(group: dict[str, Any]) -> dict[str, Any]:
    """The group's hyper-parameters that a schedule or a recipe sets."""
    out = {"lr": float(group["lr"]), "weight_decay": float(group.get("weight_decay", 0.0))}
    if "betas" in group:
        out["betas"] = [float(b) for b in group["betas"]]
    if "momentum" in group:
        out["momentum"] = float(group["momentum"])
    return out


# ------------------------------------------------------------------ comparison

class Divergence(AssertionError):
    """The first quantity where two trajectories part, with where and by how much."""


def relative_error(ours: Any, reference: Any, scale: float = 0.0) -> float:
    """max |ours - reference| / max(max |reference|, scale) over a number, a list or a summary's numbers
    (inf if their lengths differ)."""
    a, b = _numbers(ours), _numbers(reference)
    if len(a) != len(b):
        return math.inf
    if not b:
        return 0.0
    denominator = max(max(abs(x) for x in b), scale, 1e-30)
    return max(abs(x - y) for x, y in zip(a, b)) / denominator


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        if "values" in value:
            return [float(v) for v in value["values"]]
        return [float(value[k]) for k in ("norm", "sum", "min", "max") if k in value]
    if isinstance(value, (list, tuple)):
        return [float(v) for v in value]
    return [float(value)]


def quantities(trajectory: dict[str, Any]) -> Iterator[tuple[str, str, Any, float]]:
    """(where, quantity kind, value, scale) in the order a divergence should be reported: step by step, then final.

    A per-tensor number is judged against ``SCALE_FRACTION`` of the largest of its kind in the same step (or
    state) at least, so that a tensor near zero (a gradient of 1e-8, a bias that starts at 0) is held to the
    model's scale rather than to its own, where float32 rounding alone moves it by percents.
    """
    for index, step in enumerate(trajectory["steps"], start=1):
        for group in step["groups"]:
            for key in ("lr", "betas", "momentum", "weight_decay"):
                if key in group:
                    yield f"step {index}, group {group['members']}, {key}", "setting", group[key], 0.0
        yield f"step {index}, loss", "loss", step["loss"], 0.0
        yield f"step {index}, logits", "logits", step["logits"], 0.0
        scale = SCALE_FRACTION * max(step["grad_norm"].values(), default=0.0)
        for name, norm in step["grad_norm"].items():
            yield f"step {index}, gradient norm of {name}", "grad_norm", norm, scale
    for part in ("weights", "ema"):
        tensors = trajectory["final"].get(part, {})
        scale = SCALE_FRACTION * max((stats["norm"] for stats in tensors.values()), default=0.0)
        for name, stats in tensors.items():
            yield f"after the steps, {part} {name}", part, [stats["norm"], stats["sum"]], scale
    if "scores" in trajectory["final"]:
        yield "after the steps, test scores", "scores", trajectory["final"]["scores"], 0.0


def noise_floor(float32: dict[str, Any], float64: dict[str, Any]) -> dict[str, float]:
    """The authors' own float32-vs-float64 difference, the largest per quantity kind."""
    floor: dict[str, float] = {}
    for (where, kind, a, _), (where64, _, b, scale) in zip(quantities(float32), quantities(float64), strict=True):
        assert where == where64, (where, where64)
        if kind != "setting":
            floor[kind] = max(floor.get(kind, 0.0), relative_error(a, b, scale))
    return floor


def tolerances(floor: dict[str, float]) -> dict[str, float]:
    return {kind: max(TOLERANCE_FACTOR * value, TOLERANCE_MIN) for kind, value in floor.items()} | \
        {"setting": SETTING_TOLERANCE}


def compare(ours: dict[str, Any], reference: dict[str, Any], floor: dict[str, float]) -> dict[str, float]:
    """Raise ``Divergence`` at the first quantity beyond tolerance; else the largest error per quantity kind."""
    tol = tolerances(floor)
    mine = {where: value for where, _, value, _ in quantities(ours)}
    theirs = list(quantities(reference))
    largest: dict[str, float] = {}
    for where, _, _, _ in theirs:
        if where not in mine:
            raise Divergence(f"{where}: in the authors' trajectory, not in ltbench's")
    for where, kind, value, scale in theirs:
        error = relative_error(mine[where], value, scale)
        largest[kind] = max(largest.get(kind, 0.0), error)
        limit = tol.get(kind, TOLERANCE_MIN)
        if not error <= limit:
            raise Divergence(f"first divergence at {where}: ltbench {_short(mine[where])}, authors "
                             f"{_short(value)} (relative {error:.3g} > tolerance {limit:.3g})")
    extra = sorted(set(mine) - {where for where, _, _, _ in theirs})
    if extra:
        raise Divergence(f"{extra[0]}: in ltbench's trajectory, not in the authors'")
    return largest


def _short(value: Any) -> str:
    numbers = _numbers(value)
    text = ", ".join(f"{x:.7g}" for x in numbers[:4])
    return f"[{text}{', ...' if len(numbers) > 4 else ''}]" if len(numbers) > 1 else text


# ------------------------------------------------------------------ files and the authors' checkout

def write_reference(path: Path, record: dict[str, Any]) -> None:
    """The reference JSON: sorted keys, fixed float text, so a re-run can be compared with ``cmp``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def read_reference(name: str) -> dict[str, Any]:
    return json.loads((REFERENCE_DIR / f"{name}.json").read_text())


@dataclass
class Patches:
    """Monkeypatches applied to the authors' code, each with its reason; undone on exit; listed in the JSON."""

    applied: list[dict[str, str]] = field(default_factory=list)
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def setattr(self, owner: Any, name: str, value: Any, reason: str) -> None:
        old = getattr(owner, name, _ABSENT)
        setattr(owner, name, value)
        self._undo.append(lambda: delattr(owner, name) if old is _ABSENT else setattr(owner, name, old))
        self.applied.append({"target": f"{getattr(owner, '__name__', type(owner).__name__)}.{name}",
                             "reason": reason})

    def module(self, name: str, module: ModuleType, reason: str) -> None:
        """Put ``module`` in ``sys.modules`` under ``name`` (a stub, or the repository's own copy of a package)."""
        old = sys.modules.get(name)
        sys.modules[name] = module
        self._undo.append(lambda: sys.modules.pop(name) if old is None else sys.modules.__setitem__(name, old))
        self.applied.append({"target": f"import {name}", "reason": reason})

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


_ABSENT = object()


@contextlib.contextmanager
def checkout_on_path(checkout: Path, top_modules: Iterable[str]) -> Iterator[None]:
    """The authors' checkout first on ``sys.path``; their top-level modules forgotten again afterwards."""
    sys.path.insert(0, str(checkout))
    try:
        yield
    finally:
        sys.path.remove(str(checkout))
        for name in list(sys.modules):
            if name.split(".")[0] in set(top_modules):
                del sys.modules[name]


def checkout_commit(checkout: Path) -> str:
    """The commit a checkout is at: from git when it is a work tree, else from its COMMIT file (git archive)."""
    head = checkout / "COMMIT"
    if head.is_file():
        return head.read_text().strip()
    import subprocess

    return subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def import_module(name: str) -> ModuleType:
    importlib.invalidate_caches()
    return importlib.import_module(name)
