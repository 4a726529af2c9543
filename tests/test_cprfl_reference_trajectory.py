"""CPRFL's code preset replayed against the trajectory of the authors' train.py (benchmarks/lockstep/cprfl.py)."""

from __future__ import annotations

import pytest

from benchmarks.lockstep import cprfl, record
from ltbench.recipes.cards import find_card


@pytest.mark.slow
def test_cprfl_code_reference_trajectory():
    """ResNet-101, the authors' head at d = 64 and a 1-layer CLIP text tower: 4 AdamW steps, EMA, test scores."""
    reference = record.read_reference(cprfl.METHOD)
    card = find_card("cprfl", "voc_lt", "cprfl_code")
    assert card.repository.endswith("@" + reference["commit"][:7]) and reference["repository"] in card.repository
    ours, _ = cprfl.ltbench_side()
    record.compare(ours, reference["float32"], reference["noise_floor"])
