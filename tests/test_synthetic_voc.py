"""The synthetic VOC-LT generator (benchmarks/make_synthetic_voc.py) and the pipeline it feeds:
generator -> ``ltbench prepare voc_lt`` -> ``ltbench run --method erm --dataset voc_lt`` on a small subset."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REAL_SPLITS, needs_split_files
from ltbench.cli import main
from ltbench.data import split_files
from ltbench.data.split_files import Canonical
from ltbench.data.voc import voc_lt

REPO = Path(__file__).resolve().parents[1]
pytestmark = needs_split_files
SCALE, NUM_TRAIN, NUM_TEST = 0.08, 240, 200

_spec = importlib.util.spec_from_file_location("make_synthetic_voc", REPO / "benchmarks" / "make_synthetic_voc.py")
synthetic = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = synthetic  # its dataclass looks its module up
_spec.loader.exec_module(synthetic)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a SyntheticVoc
    return synthetic.make_synthetic_voc(tmp_path_factory.mktemp("voc"), REAL_SPLITS, SCALE, NUM_TRAIN, NUM_TEST)


def published() -> tuple[list[str], np.ndarray]:
    stored = json.loads((REAL_SPLITS / "voc_lt" / "class_freq.json").read_text())
    return (REAL_SPLITS / "voc_lt" / "img_id.txt").read_text().split(), np.array(stored["gt_labels"], dtype=np.uint8)


def test_tree_carries_the_split_files_ids_and_labels(tree) -> None:  # noqa: ANN001
    ids, labels = published()
    dataset = voc_lt(root=str(tree.root), splits=str(tree.splits))
    assert list(dataset.train.ids) == ids[:NUM_TRAIN]  # the subset's split file keeps the published order
    np.testing.assert_array_equal(dataset.train.targets, labels[:NUM_TRAIN])
    assert list(dataset.test.ids) == [f"{k:06d}" for k in range(1, NUM_TEST + 1)]
    test = dataset.test.targets
    assert all(test[i, i % 20] for i in range(NUM_TEST))  # every class has test positives
    assert {tuple(row) for row in test} <= {tuple(row) for row in labels}  # label sets seen in training
    scaled = {(round(w * SCALE), round(h * SCALE)) for w, h in synthetic.VOC_SIZES}
    sizes = {Image.open(p).size for p in dataset.train.images.paths[:50]}
    assert sizes <= scaled and len(sizes) > 1


@pytest.mark.parametrize("k, name", [(3, "boat"), (14, "person")])  # a rectangle, an ellipse
def test_a_class_is_a_shape_in_its_own_colour(k: int, name: str) -> None:
    row = np.zeros(20, dtype=np.uint8)
    row[k] = 1
    image, boxes = synthetic.draw_image(row, (500, 375), np.random.default_rng(k))
    [(drawn, (x0, y0, x1, y1))] = boxes
    assert drawn == name and 0 <= x0 < x1 <= 500 and 0 <= y0 < y1 <= 375
    assert 0.25 * 500 - 1 <= x1 - x0 <= 0.5 * 500 and 0.25 * 375 - 1 <= y1 - y0 <= 0.5 * 375
    np.testing.assert_array_equal(np.asarray(image)[(y0 + y1) // 2, (x0 + x1) // 2], synthetic.PALETTE[k])
    assert len(set(synthetic.PALETTE)) == 20


@pytest.mark.slow
def test_prepare_then_a_short_erm_run_beats_chance(tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture) -> None:  # noqa: ANN001
    _, labels = published()
    subset = Canonical("VOC-LT", NUM_TRAIN, NUM_TEST, tuple(int(n) for n in labels[:NUM_TRAIN].sum(0)))
    monkeypatch.setitem(split_files.CANONICAL, "voc_lt", subset)  # the subset stands in for the benchmark
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "cache"))
    assert main(["prepare", "voc_lt", "--root", str(tree.root), "--splits", str(tree.splits), "--cache-size", "64"]) == 0
    assert "matches the published VOC-LT split" in capsys.readouterr().out
    caches = sorted(p.name for p in (tmp_path / "cache" / "images").glob("*.u8"))
    assert caches == ["voc_lt_test_64.u8", "voc_lt_train_64.u8"]

    tiny = tmp_path / "tiny.yaml"  # frozen cached EfficientNet-Lite0 features at 64 px: seconds on a CPU
    tiny.write_text(f"""
dataset: {{name: voc_lt, root: {tree.root}, splits: {tree.splits}, cache_size: 64}}
input: {{size: 64, augment: none}}
model: {{backbone: efficientnet_lite0, freeze: all}}
train: {{epochs: 10, batch_size: 32, optimizer: {{name: adamw, lr: 0.01}}, schedule: {{name: cosine}}}}
eval: {{interval: 0}}
output: {{root: {tmp_path / "runs"}}}
""")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a linear head on cached features: a second thread only waits on a shared machine
    try:
        assert main(["run", "--method", "erm", "--dataset", "voc_lt", "--config", str(tiny)]) == 0
    finally:
        torch.set_num_threads(threads)
    metrics = json.loads(next((tmp_path / "runs").rglob("metrics.json")).read_text())
    assert (metrics["num_train"], metrics["num_test"], metrics["dataset"]) == (NUM_TRAIN, NUM_TEST, "voc_lt")
    scores = np.load(next((tmp_path / "runs").rglob("scores.npz")))
    chance = 100 * scores["targets"].mean(0)  # expected AP of random scores: each class's prevalence
    assert metrics["map"]["total"] > chance.mean() + 8, (metrics["map"], chance.mean())
    seen = np.asarray(metrics["class_freq"]) >= 10  # classes with 10+ training images in the subset are learnt
    assert np.mean(np.asarray(metrics["per_class_ap"])[seen]) > chance[seen].mean() + 15
