"""CPRFL's code preset replayed against the trajectory of the authors' train.py (benchmarks/lockstep/cprfl.py),
on VOC-LT and on COCO-LT (the same train.py with each data set's --dataset and --num-classes)."""

from __future__ import annotations

import pytest

from benchmarks.lockstep import cprfl, record
from ltbench.recipes.cards import find_card


@pytest.mark.slow
@pytest.mark.parametrize("name", list(cprfl.PRESETS))
def test_cprfl_code_reference_trajectory(name):
    """ResNet-101, the authors' head at d = 64 and a 1-layer CLIP text tower: 4 AdamW steps, EMA, test scores."""
    reference, dataset = record.read_reference(name), cprfl.PRESETS[name]
    card = find_card("cprfl", dataset, "cprfl_code")
    assert card.repository.endswith("@" + reference["commit"][:7]) and reference["repository"] in card.repository
    assert reference["scenario"]["authors_argv"] == cprfl.argv(dataset)
    ours, _ = cprfl.ltbench_side(dataset)
    record.compare(ours, reference["float32"], reference["noise_floor"])
