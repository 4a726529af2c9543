"""The lockstep recorder's own parts: what a StepRecorder writes, and where compare says two runs part."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from benchmarks.lockstep import record


def _run(lr: float = 0.1, steps: int = 2) -> tuple[dict, nn.Linear]:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD([{"params": [model.weight], "weight_decay": 0.01},
                                 {"params": [model.bias], "weight_decay": 0.0}], lr=lr, momentum=0.9)
    loss_fn = nn.MSELoss()
    recorder = record.StepRecorder(model, {"weight": "w", "bias": "b"})
    recorder.watch_logits(model)
    recorder.watch_loss(loss_fn)
    recorder.watch_optimizer(optimizer)
    x, y = torch.ones(4, 3), torch.zeros(4, 2)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        with torch.no_grad():
            model(x)  # an evaluation forward between steps is not recorded
    recorder.close()
    final = {"weights": record.weights(model.state_dict().items(), {"weight": "w", "bias": "b"})}
    return {"steps": recorder.steps, "final": final}, model


def test_step_records_hold_loss_logits_gradients_and_group_settings():
    trajectory, _ = _run(steps=1)
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    x = torch.ones(4, 3)
    loss = (model(x) ** 2).mean()
    loss.backward()
    (step,) = trajectory["steps"]
    assert step["loss"] == pytest.approx(loss.item())
    assert step["logits"]["values"] == pytest.approx(model(x).flatten().tolist())
    assert step["grad_norm"] == pytest.approx({"w": model.weight.grad.norm().item(), "b": model.bias.grad.norm().item()})
    settings = {(g["lr"], g["weight_decay"], g["momentum"]) for g in step["groups"]}
    assert settings == {(0.1, 0.01, 0.9), (0.1, 0.0, 0.9)}
    total = math.hypot(model.weight.grad.norm().item(), model.bias.grad.norm().item())
    assert sum(g["grad_norm"] ** 2 for g in step["groups"]) == pytest.approx(total ** 2)


def test_compare_names_the_first_divergence_and_passes_within_the_floor():
    ours, _ = _run()
    assert record.compare(ours, copy.deepcopy(ours), {})["loss"] == 0.0
    theirs = copy.deepcopy(ours)
    theirs["steps"][1]["grad_norm"]["b"] *= 1 + 1e-3
    theirs["final"]["weights"]["w"]["norm"] *= 1 + 1e-2  # later: not the first divergence
    with pytest.raises(record.Divergence, match="step 2, gradient norm of b"):
        record.compare(ours, theirs, {})
    assert record.compare(ours, theirs, {"grad_norm": 1e-3, "weights": 1e-2})["grad_norm"] == pytest.approx(1e-3 / 1.001)
    lr_differs, _ = _run(lr=0.2)
    with pytest.raises(record.Divergence, match=r"step 1, group \w+, lr"):
        record.compare(lr_differs, ours, {"loss": 1.0, "logits": 1.0, "grad_norm": 1.0, "weights": 1.0})


def test_noise_floor_is_the_largest_relative_difference_per_quantity():
    ours, _ = _run()
    other = copy.deepcopy(ours)
    other["steps"][0]["loss"] *= 1 + 2e-7
    floor = record.noise_floor(ours, other)
    assert floor["loss"] == pytest.approx(2e-7, rel=1e-3) and floor["grad_norm"] == 0.0


def test_parameters_outside_the_name_map_must_not_train():
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    recorder = record.StepRecorder(model, {"weight": "w"})
    recorder.watch_optimizer(optimizer)
    model(torch.ones(1, 3)).sum().backward()
    with pytest.raises(RuntimeError, match="outside the name map"):
        optimizer.step()


def test_a_number_near_zero_is_judged_at_the_scale_of_its_kind():
    assert record.relative_error(1.01e-8, 1e-8) == pytest.approx(0.01)
    assert record.relative_error(1.01e-8, 1e-8, scale=1e-4) == pytest.approx(1e-6)
    assert record.relative_error(2.0, 1.0, scale=1e-4) == 1.0  # the scale never loosens a large number's check
