"""HP-DVAL's code preset step for step beside its authors' stage 1 (models/clip_vit.py's CLIPVIT @ c7f98f3).

tests/reference_trajectories/hp_dval_code{,_coco_lt}.json hold the authors' side (VOC-LT, COCO-LT), recorded by
``python -m benchmarks.lockstep.hp_dval`` (see that module for the scenario, the
patches and the command): one epoch of five AdamW steps under OneCycle with the
EMA, then the EMA's test scores. ltbench's side is rebuilt from the same seed
with the preset as it ships (class names as the authors', no extra head, the
top-k mean before the class normalisation), less float16 autocast and the
augmentation's random draws, and must agree within ten times the authors' own
float32-vs-float64 difference.
"""

from __future__ import annotations

import pytest

from benchmarks.lockstep import hp_dval, record


@pytest.mark.slow
@pytest.mark.parametrize("name", list(hp_dval.PRESETS))
def test_reference_trajectory_of_hp_dval_stage_1(name):
    reference = record.read_reference(name)
    assert reference["commit"].startswith("c7f98f3")
    assert reference["scenario"]["authors_argv"] == hp_dval.argv(hp_dval.PRESETS[name])
    ours, _ = hp_dval.ltbench_side(hp_dval.PRESETS[name], reference["scenario"]["order"])
    largest = record.compare(ours, reference["float32"], reference["noise_floor"])
    assert set(largest) >= {"setting", "loss", "logits", "grad_norm", "weights", "ema", "scores"}
