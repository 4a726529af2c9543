"""The CLIP-era presets hold the recipes behind the published rows: zero-shot CLIP as LMPT ran it,
CoOp with LMPT's DB loss and ImageNet normalisation, HP-DVAL's code preset reporting stage 1's EMA model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ltbench.data.arrays import ArrayImages
from ltbench.data.base import LTDataset, Split, select_test_images
from ltbench.data.voc import CLASS_NAMES, XML_NAMES
from ltbench.errors import LtbenchError
from ltbench.experiment import build_dataset, build_experiment
from ltbench.methods.base import MethodContext
from ltbench.models.backbones import IMAGENET_MEAN, IMAGENET_STD
from ltbench.models.clip_text import ClipTextTower
from ltbench.plugins import load_plugins
from ltbench.registry import BACKBONES, METHODS
from ltbench.config.resolve import resolve_config
from clip_helpers import TINY_VIT

load_plugins()  # registers the methods


def _voc_like(test_targets: np.ndarray, size: tuple[int, int] = (8, 8)) -> LTDataset:
    """A 20-class dataset named like VOC-LT, with blank images and the given test labels."""
    train = Split(ArrayImages(np.zeros((2, *size, 3), np.uint8)), np.eye(20)[:2], ["t0", "t1"])
    test = Split(ArrayImages(np.zeros((len(test_targets), *size, 3), np.uint8)), test_targets,
                 [f"v{k}" for k in range(len(test_targets))])
    return LTDataset("voc_lt", list(CLASS_NAMES), train, test, annotated_names=list(XML_NAMES))


def _zsclip(dataset: LTDataset, monkeypatch) -> tuple[list[str], object]:
    """The zsclip lmpt_compat parts on a tiny random CLIP, and the texts its head encoded."""
    encoded: list[str] = []
    original = ClipTextTower.encode

    def record(self, texts):
        encoded.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(ClipTextTower, "encode", record)
    config = {"model": {"backbone": "clip_vit_b16", "config": TINY_VIT}}
    parts = METHODS.build("zsclip", ctx=MethodContext(config, dataset), preset="lmpt_compat")
    return encoded, parts


def test_lmpt_compat_prompts_take_lmpts_voc_label_names(monkeypatch):
    """zero_shot_clip/test.py:118 with data/voc/voc_labels.txt: "diningtable", not "dining" from "dining table"."""
    encoded, _ = _zsclip(_voc_like(np.eye(20)), monkeypatch)
    first_words = [prompt.split(".")[0].split()[-1] for prompt in encoded]  # 'a bad photo of a diningtable.'
    assert first_words == list(XML_NAMES)
    assert encoded[10].startswith("a bad photo of a diningtable. a photo of many diningtable.")


def test_lmpt_compat_test_images_are_clips_preprocess_not_squashed(monkeypatch):
    """Shorter side to 32 px then the centre 32 x 32: a wide image's red side bands are cut away, not squeezed in."""
    _, parts = _zsclip(_voc_like(np.eye(20)), monkeypatch)
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :20, 0] = image[:, 60:, 0] = 255  # red quarters left and right, black middle
    out = parts.test_transform(image)
    assert out.shape == (3, 32, 32)
    assert out[0].max() <= 8  # the centre 32 of the 64 px wide resize is all black middle
    squashed = torch.nn.functional.interpolate(torch.from_numpy(image).permute(2, 0, 1)[None].float(), (32, 32))
    assert squashed[0, 0].max() == 255  # what resizing to 32 x 32 would have kept


def test_labelled_test_images_drop_the_unlabelled_ones_as_lmpt_does():
    targets = np.eye(20)[[0, 1, 2, 3]]
    targets[[1, 3]] = 0  # two images without a label (COCO val2017 has 48)
    dataset = _voc_like(targets)
    kept = select_test_images(dataset, "labelled")
    assert list(kept.test.ids) == ["v0", "v2"] and len(kept.test.images) == 2
    np.testing.assert_array_equal(kept.test.targets, targets[[0, 2]])
    assert kept.train is dataset.train and select_test_images(dataset, "all") is dataset
    with pytest.raises(LtbenchError, match="dataset.test_images must be one of all, labelled, not 'some'"):
        select_test_images(dataset, "some")


@pytest.mark.parametrize("dataset", ["voc_lt", "coco_lt"])
def test_zsclip_lmpt_preset_is_lmpts_baseline(dataset):
    config = resolve_config("zsclip", dataset, "zsclip_lmpt")
    assert config["method"]["preset"] == "lmpt_compat"
    assert (config["dataset"]["test_images"], config["dataset"]["cache_size"]) == ("labelled", None)
    assert resolve_config("zsclip", dataset)["dataset"].get("test_images", "all") == "all"


def test_test_images_option_reaches_the_built_dataset(tmp_path):
    config = resolve_config("zsclip", "mnist_lt", "zsclip_lmpt", overrides=["dataset.num_test=30"])
    assert build_dataset(config).meta["test_images"] == "labelled only: 0 unlabelled dropped"
    bad = resolve_config("zsclip", "mnist_lt", overrides=["dataset.test_images=some", f"output.root={tmp_path}"])
    with pytest.raises(LtbenchError, match="dataset.test_images must be one of"):
        build_experiment(bad)


@pytest.mark.parametrize("dataset, mu, neg_scale", [("voc_lt", 0.3, 5.0), ("coco_lt", 0.2, 2.0)])
def test_coop_and_lmpt_train_with_lmpts_db_loss_on_imagenet_normalised_images(dataset, mu, neg_scale):
    """HP-DVAL Table IV: the published CoOp row was trained with DB; LMPT's loader normalises with ImageNet's."""
    for method in ("coop", "lmpt"):
        config = resolve_config(method, dataset)
        loss = config["loss"]
        assert (loss["name"], loss["focal_reduction"], loss["mu"], loss["neg_scale"]) == (
            "db_focal", "batch_mean", mu, neg_scale)
        assert config["model"]["mean_std"] == "imagenet"
    backbone = BACKBONES.build("clip_vit_b16", config=TINY_VIT, mean_std="imagenet")
    torch.testing.assert_close(backbone.mean.flatten(), torch.tensor(IMAGENET_MEAN))
    torch.testing.assert_close(backbone.std.flatten(), torch.tensor(IMAGENET_STD))


@pytest.mark.parametrize("dataset", ["voc_lt", "coco_lt"])
def test_hp_dval_code_preset_is_stage_1_of_the_repository(dataset):
    config = resolve_config("hp_dval", dataset, "hp_dval_code")
    method, train = config["method"], config["train"]
    assert (method["preset"], method["align_epochs"], method["prompt_epochs"], method["prompt_lr"]) == (
        "code", 79, 0, 1e-5)
    schedule = train["schedule"]
    assert (schedule["name"], schedule["pct_start"], schedule["total_epochs"]) == ("onecycle", 0.1, 80)
    assert (train["ema"], train["ema_from_init"], train["batch_size"], train["drop_last"]) == (0.998, True, 16, False)
    assert config["input"]["augment"] == "cutout_randaugment" and config["model"]["normalize"] is False


def test_hp_dval_without_prompt_epochs_trains_and_reports_stage_1(tmp_path):
    config = resolve_config("hp_dval", "mnist_lt", "hp_dval_code",
                            overrides=[f"output.root={tmp_path}", "dataset.max_count=20", "dataset.num_test=20"])
    assert [stage.name for stage in build_experiment(config).parts.stages] == ["align"]
    paper = resolve_config("hp_dval", "mnist_lt", overrides=[f"output.root={tmp_path}", "dataset.max_count=20",
                                                             "dataset.num_test=20"])
    assert [stage.name for stage in build_experiment(paper).parts.stages] == ["align", "prompts"]


@pytest.mark.parametrize("dataset, sizes", [("voc_lt", (6, 6, 8)), ("coco_lt", (22, 33, 25))])
def test_hp_dval_reference_groups_reproduce_its_total(dataset, sizes):
    """The repository's logs (86.36 / 94.13 / 97.28 on VOC-LT), not the printed groups that give 93.19."""
    from ltbench.reports.reference import load_reference

    row = load_reference("sota").lookup("HP-DVAL", dataset)
    groups = [row.values[group] for group in ("head", "medium", "tail")]
    assert np.dot(sizes, groups) / sum(sizes) == pytest.approx(row.values["total"], abs=0.01)
