"""Zero-shot CLIP's zsclip_lmpt preset scored beside LMPT's ``zero_shot_clip/test.py`` (aab39ca), from a record.

tests/reference_trajectories/zsclip_lmpt{,_coco_lt}.json hold the authors' scores and APs on
the VOC-LT and COCO-LT scenarios of benchmarks/lockstep/zsclip_lmpt.py (recorded by that module); the
same weights and pixels must give the same log-probabilities (to ten times the
authors' own float32-vs-float64 difference) and the same APs.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.lockstep import record, zsclip_lmpt


@pytest.mark.parametrize("name", list(zsclip_lmpt.PRESETS))
def test_reference_trajectory_of_lmpt_zero_shot_test_py(name):
    reference = record.read_reference(name)
    assert reference["commit"].startswith("aab39ca")
    assert reference["scenario"]["authors_argv"] == zsclip_lmpt.argv(zsclip_lmpt.PRESETS[name])
    ours, _ = zsclip_lmpt.ltbench_side(zsclip_lmpt.PRESETS[name])
    assert set(record.compare(ours, reference["float32"], reference["noise_floor"])) == {"scores"}
    np.testing.assert_allclose(ours["final"]["ap"], reference["float32"]["final"]["ap"], rtol=0, atol=1e-12)
