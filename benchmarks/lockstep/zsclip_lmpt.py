"""Zero-shot CLIP as LMPT's baseline scores it (``zero_shot_clip/test.py`` @ aab39ca) beside ``zsclip_lmpt``.

Nothing trains: the record is the test scores (the log of their softmax over
classes of 100 x cosine, which is ltbench's log-softmax score) and per-class APs
of the authors' ``main()`` on the LMPT scenario's test images
(benchmarks/lockstep/lmpt.py: VOC-LT's 20 classes or COCO-LT's 80, random sizes,
the same tiny CLIP with ViT-B/16's structure) plus one image without labels,
which their loop skips (ltbench: ``dataset.test_images: labelled``). Their CLIP
is built from ltbench's tensors; their ``preprocess`` is OpenAI's own (PIL
bicubic resize of the shorter side, centre crop), ltbench's the method's. The
class names are those of the label file the repository ships
(``data/<voc|coco>/<voc|coco>_labels.txt``), which their loader cuts at the first
space (COCO's "traffic light" is "traffic").

    python -m benchmarks.lockstep.zsclip_lmpt --checkout /tmp/LMPT --clip /tmp/CLIP   # writes zsclip_lmpt{,_coco_lt}.json
    python -m benchmarks.lockstep.zsclip_lmpt --checkout /tmp/LMPT --clip /tmp/CLIP --check   # compares ltbench's side
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch

from benchmarks.lockstep import clip_authors, lmpt, record

METHOD = "zsclip_lmpt"
PRESETS = {"zsclip_lmpt": "voc_lt", "zsclip_lmpt_coco_lt": "coco_lt"}  # record name -> data set
FLAGS = {"voc_lt": ["--nb_classes", "20", "--dataset", "VOC"], "coco_lt": ["--nb_classes", "80", "--dataset", "COCO"]}
OVERRIDES = [f"model.config={lmpt.TINY_CLIP}", "model.pretrained=false", "train.device=cpu", "train.num_workers=0",
             "train.feature_cache=false", f"seed={lmpt.SEED}"]
ARGV = ["test.py", "--device", "cpu", "--seed", "0", "--pretrain_clip_path", "../pretrained/ViT-B-16.pt"]
AUTHORS_TOP_MODULES = ("test", "datasets", "imagelist", "apmeter", "mean_ap", "prompt_template", "mmcv", "clip")
COMMAND = "python -m benchmarks.lockstep.zsclip_lmpt --checkout CHECKOUT --clip OPENAI_CLIP_CHECKOUT"


def scenario(dataset: str = "voc_lt") -> lmpt.Scenario:
    """The LMPT scenario with one more test image, without labels (the authors' loop skips it)."""
    data = lmpt.scenario(dataset)
    extra = np.random.default_rng(lmpt.SEED + 1).integers(0, 256, (200, 260, 3), dtype=np.uint8)
    unlabelled = np.zeros((1, data.test_targets.shape[1]), np.uint8)
    return dataclasses.replace(data, test_images=data.test_images + [extra],
                               test_targets=np.concatenate([data.test_targets, unlabelled]))


def argv(dataset: str) -> list[str]:
    return ARGV + FLAGS[dataset]


def ltbench_side(dataset: str = "voc_lt", changed: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """ltbench's zsclip_lmpt scores (softmax over classes) and APs on the scenario, and its CLIP's tensors."""
    from ltbench.data.base import LTDataset, Split, select_test_images
    from ltbench.engine.prediction import predict
    from ltbench.engine.trainer import Trainer, seed_everything
    from ltbench.evaluation import average_precision
    from ltbench.methods.base import MethodContext
    from ltbench.plugins import load_plugins
    from ltbench.registry import METHODS
    from ltbench.config.resolve import resolve_config
    from ltbench.runs.run_dir import RunDir

    load_plugins()
    data, classes = scenario(dataset), lmpt.data_set(dataset)
    config = resolve_config("zsclip", dataset, "zsclip_lmpt", overrides=OVERRIDES + list(changed))
    train = Split(data.train_images, data.train_targets, [f"train{i}" for i in range(len(data.train_images))])
    test = Split(data.test_images, data.test_targets, [f"test{i}" for i in range(len(data.test_images))])
    annotated = list(classes.annotated) if classes.annotated else None
    data_set = select_test_images(LTDataset(dataset, list(classes.classes), train, test, annotated_names=annotated),
                                  config["dataset"]["test_images"])
    params = dict(config["method"])
    seed_everything(config["seed"])
    parts = METHODS.build(params.pop("name"), ctx=MethodContext(config, data_set), **params)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(config, data_set, parts, RunDir(Path(folder) / "run"))
        scores = predict(parts.model, trainer.inputs, None)
    if parts.score != "log_softmax":
        raise record.Divergence(f"first divergence at the score: ltbench ranks by {parts.score}, the authors by a "
                                "softmax over classes")
    final = {"scores": record.summary(torch.from_numpy(scores).double()),
             "ap": [float(a) for a in average_precision(scores, data_set.test.targets)]}
    return {"steps": [], "final": final}, lmpt.openai_state_dict(parts.model)


def authors_side(dataset: str, checkout: Path, clip_checkout: Path | None, clip_state: dict[str, torch.Tensor],
                 dtype: torch.dtype) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The authors' ``main()`` (zero_shot_clip/test.py:66-163) on the scenario's test images."""
    patches = record.Patches()
    result: dict[str, Any] = {}
    # test.py:13 imports prompt_template, which the repository keeps in lmpt/ only: lmpt/ comes after zero_shot_clip/
    paths = [checkout / "zero_shot_clip", checkout / "lmpt"] + ([clip_checkout] if clip_checkout else [])
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        root = Path(folder)
        lmpt.write_authors_files(root, scenario(dataset), dataset, checkout)
        for path in reversed(paths):
            stack.enter_context(record.checkout_on_path(path, AUTHORS_TOP_MODULES))
        cwd = os.getcwd()
        os.chdir(root / "lmpt")  # test.py reads ../data/<voc|coco>/
        try:
            _patch(patches, dtype, clip_state, result)
            test = record.import_module("test")
            patches.setattr(test, "ltAnalysis", lambda *a, **k: None,
                            "test.py:41-64 only prints group means by VOC-LT's count thresholds (100 or more training "
                            "images: head); the scenario has no head class, a division by zero")
            eval_map = test.eval_map

            def recording_eval_map(results: Any, gt_labels: Any, **kwargs: Any) -> Any:
                mAP, APs = eval_map(results, gt_labels, **kwargs)
                # compared as log-probabilities, ltbench's score: a softmax's small entries are where pixels show
                result.update(scores=torch.from_numpy(np.asarray(results)).log(), ap=[float(a) for a in APs])
                return mAP, APs
            patches.setattr(test, "eval_map", recording_eval_map, "records the scores and APs it is given and returns")
            with mock.patch.object(sys, "argv", argv(dataset)):
                test.main(test.get_args_parser().parse_args(argv(dataset)[1:]))
        finally:
            os.chdir(cwd)
            patches.undo()
    patches.applied.insert(0, {"target": "sys.path", "reason": "lmpt/ after zero_shot_clip/: test.py:13 imports "
                                                                "prompt_template, which only lmpt/ holds"})
    return {"steps": [], "final": {"scores": record.summary(result["scores"]), "ap": result["ap"]}}, patches.applied


def _patch(patches: record.Patches, dtype: torch.dtype, clip_state: dict[str, torch.Tensor],
           result: dict[str, Any]) -> None:
    clip_authors.pickle_reader(patches, "mmcv", "test.py and mean_ap.py import mmcv only to read class_freq.pkl with "
                                                "mmcv.load; a pickle reader stands in")
    record.import_module("clip")
    transform = sys.modules["clip.clip"]._transform
    clip_authors.openai_clip(patches, dtype, clip_state, lambda model: transform(model.visual.input_resolution))


def record_reference(dataset: str, checkout: Path, clip_checkout: Path | None) -> dict[str, Any]:
    _, clip_state = ltbench_side(dataset)
    float32, patches = authors_side(dataset, checkout, clip_checkout, clip_state, torch.float32)
    float64, _ = authors_side(dataset, checkout, clip_checkout, clip_state, torch.float64)
    clip = {"clip_repository": "openai/CLIP", "clip_commit": record.checkout_commit(clip_checkout)} if clip_checkout else {}
    where = {} if dataset == "voc_lt" else {"dataset": dataset}
    return {"method": METHOD, **where, "repository": lmpt.REPOSITORY, "commit": record.checkout_commit(checkout),
            **clip, "command": COMMAND, "patches": patches, "torch": torch.__version__,
            "scenario": {"seed": lmpt.SEED, "test_images": len(scenario(dataset).test_images), "clip": lmpt.TINY_CLIP,
                         "ltbench_overrides": OVERRIDES, "authors_argv": argv(dataset)},
            "float32": float32, "float64": float64, "noise_floor": record.noise_floor(float32, float64)}


def main() -> None:
    args = clip_authors.command_line(__doc__, "richard-peng-xia/LMPT", "aab39ca", clip=True, presets=tuple(PRESETS))
    clip_authors.run_records(
        args, PRESETS, lambda name: record_reference(PRESETS[name], args.checkout, args.clip),
        lambda name, ref: record.compare(ltbench_side(PRESETS[name], tuple(args.set))[0], ref["float32"],
                                         ref["noise_floor"]))


if __name__ == "__main__":
    main()
