"""Every command's one-sentence errors, one section per command: bad input through ``ltbench.cli.main`` ends with
exit 2 and one ``ltbench: error: ...`` line that says what to change, never a traceback, and leaves nothing behind.

The last sections hold the refusals below the command line that every command meets (config keys, YAML,
weights, checkpoints, plugins). Where a command's error tests live is written in docs/testing.md.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
import types
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import ltbench.engine.trainer as trainer_module
from cli_runs import run_cli
from file_server import PAYLOAD
from ltbench.cli import main
from ltbench.config.layering import load_yaml
from ltbench.config.resolve import resolve_config
from ltbench.data.mnist_lt import mnist_lt
from ltbench.engine.checkpoint import Position, read_checkpoint, save_checkpoint
from ltbench.engine.inputs import Inputs
from ltbench.engine.trainer import Trainer
from ltbench.errors import LtbenchError
from ltbench.experiment import build_experiment, run_experiment
from ltbench.fileio import atomic as fileio
from ltbench.launch.suites import load_suite, suite_names
from ltbench.models.backbones import BACKBONES
from ltbench.paths import PACKAGED_CONFIGS
from ltbench.plugins import load_plugins
from ltbench.registry import METHODS, Registry
from ltbench.submissions.format import TEST_IMAGES_ENTRY
from ltbench.submissions.split import split_digest
from run_dirs import make_run


# -------- every command: bad files and folders (run, prepare, suite, table, plot; each case names its command) 


Case = Callable[[Path, pytest.MonkeyPatch], tuple[list[str], str]]
MNIST_RUN = ["run", "--method", "erm", "--dataset", "mnist_lt", "--train.epochs", "1"]
LONG = "n" * 300


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding the default mnist_lt draw, so cases reach the results root quickly."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LTBENCH_CACHE", str(cache))
        mnist_lt(seed=0)
    return cache


def results_is_a_file(tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    (tmp / "results").write_text("")
    return MNIST_RUN, f"{tmp / 'results'} is a file, not a folder"


def output_root_under_a_file(tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    (tmp / "plain").write_text("")
    return [*MNIST_RUN, "--output.root", str(tmp / "plain" / "runs")], f"{tmp / 'plain'} is a file"


def output_root_name_too_long(tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    return [*MNIST_RUN, "--output.root", str(tmp / LONG)], "too long"


def cache_is_a_file(tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    (tmp / "cache").write_text("")
    mp.setenv("LTBENCH_CACHE", str(tmp / "cache"))
    return MNIST_RUN, f"{tmp / 'cache'} is a file, not a folder"


def cache_name_too_long(tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
    mp.setenv("LTBENCH_CACHE", str(tmp / LONG))
    return MNIST_RUN, "too long"


def disk_fault(code: int, cause: str) -> Case:
    def case(tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
        def fail(fd: int) -> None:
            raise OSError(code, os.strerror(code))
        mp.setattr(fileio.os, "fsync", fail)
        return MNIST_RUN, cause
    return case


def report(*argv: str, culprit: str) -> Case:
    def case(tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
        (tmp / "results" / "empty").mkdir(parents=True)
        return [a.format(tmp=tmp) for a in argv], culprit.format(tmp=tmp)
    return case


def coco_tree(tmp: Path, annotations: str) -> list[str]:
    (tmp / "coco" / "annotations").mkdir(parents=True)
    (tmp / "coco" / "annotations" / "instances_train2017.json").write_text(annotations)
    (tmp / "splits" / "coco_lt").mkdir(parents=True)
    (tmp / "splits" / "coco_lt" / "img_id.txt").write_text("1\n")
    return ["--dataset.root", str(tmp / "coco"), "--dataset.splits", str(tmp / "splits")]


def voc_tree(tmp: Path, xml: bytes) -> list[str]:
    devkit = tmp / "voc" / "VOCdevkit"
    for folder in ("VOC2012/Annotations", "VOC2012/JPEGImages", "VOC2007/ImageSets/Main"):
        (devkit / folder).mkdir(parents=True)
    (devkit / "VOC2012" / "Annotations" / "2008_000001.xml").write_bytes(xml)
    Image.new("RGB", (8, 8)).save(devkit / "VOC2012" / "JPEGImages" / "2008_000001.jpg")
    (devkit / "VOC2007" / "ImageSets" / "Main" / "test.txt").write_text("000001\n")
    (tmp / "splits" / "voc_lt").mkdir(parents=True)
    (tmp / "splits" / "voc_lt" / "img_id.txt").write_text("2008_000001\n")
    return ["--dataset.root", str(tmp / "voc"), "--dataset.splits", str(tmp / "splits")]


COCO_OK = json.dumps({"images": [{"id": 1, "file_name": "1.jpg"}], "categories": [{"id": 1}],
                      "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "area": 4}]})
VOC_OK = b"<annotation><object><name>dog</name></object></annotation>"


def dataset_file(command: str, name: str, build: Callable[[Path], list[str]], culprit: str) -> Case:
    def case(tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
        options = build(tmp)
        argv = ["prepare", name, *options] if command == "prepare" else \
            ["run", "--method", "erm", "--dataset", name, *options]
        return argv, culprit.format(tmp=tmp)
    return case


COCO_FILE = "{tmp}/coco/annotations/instances_train2017.json"
VOC_FILE = "{tmp}/voc/VOCdevkit/VOC2012/Annotations/2008_000001.xml"


def custom_tree(train: list[str], test: list[str], classes: str = "cat\ndog\n", latin1: str = "") -> Case:
    """A custom dataset folder; the file named ``latin1`` is saved in Latin-1 instead of UTF-8."""
    def case(tmp: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], str]:
        folder = tmp / "mine"
        (folder / "img").mkdir(parents=True)
        for name in ("a", "b", "c"):
            Image.new("RGB", (8, 8)).save(folder / "img" / f"{name}.png")
        for name, text in (("classes.txt", classes), ("train.csv", "\n".join(["image,labels", *train]) + "\n"),
                           ("test.csv", "\n".join(["image,labels", *test]) + "\n")):
            (folder / name).write_text(text, encoding="latin-1" if name == latin1 else "utf-8")
        culprit = str(folder / latin1) + " is not UTF-8" if latin1 else str(folder)
        return ["run", "--method", "erm", "--dataset", "custom", "--dataset.root", str(folder)], culprit
    return case


CASES: dict[str, Case] = {
    "results root is a file": results_is_a_file,
    "output.root under a file": output_root_under_a_file,
    "output.root name over the limit": output_root_name_too_long,
    "cache root is a file": cache_is_a_file,
    "cache root name over the limit": cache_name_too_long,
    "disk full": disk_fault(errno.ENOSPC, "the disk is full"),
    "disk quota": disk_fault(errno.EDQUOT, "quota"),
    "read-only results": disk_fault(errno.EROFS, "read-only"),
    "unwritable results": disk_fault(errno.EACCES, "permission denied"),
    "table without runs": report("table", culprit="{tmp}/results/runs does not exist"),
    "table, --runs missing": report("table", "--runs", "{tmp}/nowhere", culprit="{tmp}/nowhere"),
    "table, runs root without runs": report("table", "--runs", "{tmp}/results/empty",
                                            culprit="under {tmp}/results/empty"),
    "plot without runs": report("plot", culprit="{tmp}/results/runs does not exist"),
    "table of a suite never run": report("table", "--suite", "table1", culprit="{tmp}/results/suites"),
    "suite on an unknown dataset": report("suite", "table1", "--dataset", "nosuch", culprit="'nosuch'"),
    "run on an unknown dataset": report("run", "--dataset", "nosuch", culprit="'nosuch'"),
    "truncated COCO JSON, run": dataset_file("run", "coco_lt", lambda t: coco_tree(t, COCO_OK[:70]), COCO_FILE),
    "truncated COCO JSON, prepare": dataset_file("prepare", "coco_lt", lambda t: coco_tree(t, COCO_OK[:70]),
                                                 COCO_FILE),
    "COCO JSON of another shape": dataset_file("run", "coco_lt", lambda t: coco_tree(t, "[1, 2]"), COCO_FILE),
    "COCO annotation without bbox": dataset_file("prepare", "coco_lt",
                                                 lambda t: coco_tree(t, COCO_OK.replace("bbox", "box")), COCO_FILE),
    "truncated VOC XML, run": dataset_file("run", "voc_lt", lambda t: voc_tree(t, VOC_OK[:30]), VOC_FILE),
    "truncated VOC XML, prepare": dataset_file("prepare", "voc_lt", lambda t: voc_tree(t, VOC_OK[:30]), VOC_FILE),
    "garbage VOC XML": dataset_file("prepare", "voc_lt", lambda t: voc_tree(t, bytes(range(256))), VOC_FILE),
    "custom image listed twice": custom_tree(["img/a.png,cat", "img/b.png,dog", "img/a.png,dog"], ["img/c.png,cat"]),
    "custom image in both splits": custom_tree(["img/a.png,cat", "img/b.png,dog"], ["img/b.png,cat"]),
    "custom unknown label": custom_tree(["img/a.png,cat|cow"], ["img/c.png,cat"]),
    "custom missing image": custom_tree(["img/z.png,cat"], ["img/c.png,cat"]),
    "custom empty classes": custom_tree(["img/a.png,cat"], ["img/c.png,cat"], classes="\n"),
    "custom classes in Latin-1": custom_tree(["img/a.png,café"], ["img/c.png,café"], "café\n", "classes.txt"),
    "custom list in Latin-1": custom_tree(["img/a.png,café"], ["img/c.png,café"], "café\n", "train.csv"),
}


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_fails_cleanly(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str], warm_cache: Path) -> None:
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("LTBENCH_CACHE", str(warm_cache))
    argv, culprit = CASES[name](tmp_path, monkeypatch)
    before, cache_before = tree(tmp_path), tree(warm_cache)
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("ltbench: error:")]
    assert code != 0 and "Traceback" not in err
    assert len(errors) == 1 and culprit in errors[0], err
    assert tree(tmp_path) == before and tree(warm_cache) == cache_before  # nothing left behind


def test_a_disk_fault_outside_the_guarded_writes_is_still_one_sentence(monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from ltbench.cli import listing

    def fail(args: object, extra: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", "/data/cache/images/x.u8")

    monkeypatch.setattr(listing, "cmd_list", fail)  # add_parser reads the name when the parser is built
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ltbench: error: Cannot use /data/cache/images/x.u8: permission denied; point ")
    assert len(err.splitlines()) == 1


# -------- run -------------------------------------------------------------------------------------


def test_a_mistyped_key_on_the_command_line_is_one_error_line(capsys):
    assert main(["run", "--method", "erm", "--dataset", "mnist_lt", "--train.epoch", "3"]) == 2
    err = capsys.readouterr().err
    assert err == "ltbench: error: Unknown config key train.epoch (did you mean train.epochs?); " \
                  "see ltbench/defaults.yaml for the keys.\n"


def test_unknown_method_lists_registered_ones(capsys):
    assert main(["run", "--method", "ermm", "--dataset", "mnist_lt"]) == 2
    err = capsys.readouterr().err
    assert "did you mean erm" in err and "cprfl" in err


@pytest.mark.parametrize("key, value, expected", [
    ("train.optimizer.name", "lamb", "must be one of adam, adamw, sgd, not 'lamb'"),
    ("train.schedule.name", "poly", "must be one of constant, cosine, onecycle, step, not 'poly'"),
    ("train.sampler", "balanced", "must be one of class_aware, group, inverse_frequency, random, reversed, not 'balanced'"),
    ("input.augment", "rand", "must be one of cutout_randaugment, db, flip_crop, none, randaugment, resized_crop_jitter, not 'rand'"),
    ("train.device", "gpu", "must be auto, cpu, cuda or cuda:N, not 'gpu'"),
])
def test_a_misspelt_choice_is_refused_before_any_data_is_read_or_written(tmp_path, monkeypatch, capsys,
                                                                          key, value, expected):
    from ltbench.registry import DATASETS

    monkeypatch.setattr(DATASETS, "build", lambda *a, **k: pytest.fail("the dataset was read"))
    assert main(["run", "--method", "erm", "--dataset", "mnist_lt", f"--{key}", value,
                 f"--output.root={tmp_path / 'runs'}"]) == 2
    key = "train.sampler.name" if key == "train.sampler" else key  # a sampler is a component with parameters
    err = capsys.readouterr().err  # may end with a "did you mean" hint
    assert err.startswith(f"ltbench: error: {key} {expected}") and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()  # no stub run directory for `ltbench table` to trip over


@pytest.mark.parametrize("override, message", [
    ("train.epochs=five", "train.epochs must be an integer, not 'five'."),
    ("train.epochs=2.5", "train.epochs must be an integer, not 2.5."),
    ("train.epochs=", "train.epochs must be an integer, not empty."),
    ("train.epochs=0", "train.epochs must be at least 1, not 0."),
    ("train.epochs=-3", "train.epochs must be at least 1, not -3."),
    ("train.optimizer.lr=1e-3x", "train.optimizer.lr must be a number, not '1e-3x'."),
    ("train.optimizer.lr=-1", "train.optimizer.lr must be greater than 0, not -1.0."),
    ("train.batch_size=0", "train.batch_size must be at least 1, not 0."),
    ("eval.batch_size=0", "eval.batch_size must be at least 1, not 0."),
    ("input.size=0", "input.size must be at least 1, not 0."),
    ("seed=-1", "seed must be at least 0, not -1."),
    ("train.ema=1.5", "train.ema must be less than 1, not 1.5."),
    ("train.schedule.warmup_iters=ten", "train.schedule.warmup_iters must be an integer, not 'ten'."),
    ("model.freeze=some", "model.freeze must be one of none, stem_layer1, all, not 'some'."),
    ("method.head=mlp", "method.head must be one of linear, db_neck, not 'mlp'."),
    ("loss.loss_weight=heavy", "loss.loss_weight must be a number, not 'heavy'."),
])
def test_a_value_of_the_wrong_type_or_range_is_one_sentence_before_anything_is_written(
        tmp_path, capsys, no_data_read, override, message):
    key, _, value = override.partition("=")
    code, _, err = run_cli(tmp_path, capsys, f"--{key}={value}")
    assert code == 2 and err == f"ltbench: error: {message}\n"
    assert not (tmp_path / "runs").exists()


def test_an_unknown_logger_names_the_registered_ones(capsys):
    assert main(["run", "--method", "erm", "--dataset", "mnist_lt", "--log", "tensorbord"]) == 2
    err = capsys.readouterr().err
    assert "Unknown logger 'tensorbord'" in err and "Did you mean tensorboard?" in err and err.count("\n") == 1


@pytest.mark.parametrize("logger, package", [("tensorboard", "tensorboard"), ("wandb", "wandb")])
@pytest.mark.parametrize("command", ["run", "suite"])
def test_a_missing_tracker_package_is_one_sentence(logger, package, command, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, package, None)  # as if the extra were not installed
    monkeypatch.setenv("LTBENCH_RESULTS", str(tmp_path))
    args = ["--method", "erm", "--dataset", "mnist_lt"] if command == "run" else ["table1", "--dataset", "mnist_lt"]
    assert main([command, *args, "--log", logger]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"ltbench: error: --log {logger} needs the {package} package; install it with "
                   f"pip install 'ltbench[{package}]'.")
    assert not tmp_path.joinpath("runs").exists()


@pytest.mark.slow
def test_non_finite_test_scores_stop_the_run_with_one_sentence(tmp_path, monkeypatch, capsys):
    def non_finite(model: nn.Module, inputs: Inputs, last_stage: object) -> np.ndarray:
        scores = np.zeros(inputs.dataset.test.targets.shape, dtype=np.float32)
        scores[:3, 1], scores[7, 2] = np.nan, np.inf
        return scores

    monkeypatch.setattr(trainer_module, "predict", non_finite)
    code = main(["run", "--method", "erm", "--dataset", "mnist_lt", "--output.root", str(tmp_path),
                 "--train.epochs", "1", "--dataset.max_count", "100", "--dataset.num_test", "200"])
    error = capsys.readouterr().err.splitlines()[-1]  # after the epoch's progress line
    assert code == 2 and error.startswith("ltbench: error: ") and "Traceback" not in capsys.readouterr().err
    assert "NaN or infinite for 4 of 200 images in 2 of 10 classes" in error


# -------- prepare ---------------------------------------------------------------------------------


def test_prepare_with_an_unknown_dataset_option_lists_the_options(capsys):
    assert main(["prepare", "voc_lt", "--dataset.colour", "red"]) == 2
    err = capsys.readouterr().err
    assert "no parameter dataset.colour" in err and "root" in err and "Traceback" not in err


def test_prepare_refuses_options_of_other_sections(capsys):
    assert main(["prepare", "voc_lt", "--train.epochs", "3"]) == 2
    assert "dataset options only" in capsys.readouterr().err


# -------- compare ---------------------------------------------------------------------------------


def test_unfinished_or_missing_runs_are_one_sentence(tmp_path: Path, compared_runs: tuple[Path, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    running = make_run(tmp_path, "running", "voc_lt", "erm", 3, (1.0, 1.0, 1.0, 1.0), status="running")
    assert main(["compare", str(compared_runs[0]), str(running)]) == 2
    assert capsys.readouterr().err.strip() == (f"ltbench: error: Run {running} has not finished (status 'running'); "
                                               f"finish it or pass another run directory.")
    assert main(["compare", str(compared_runs[0]), str(tmp_path / "gone")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("gone is not a run directory; pass two run directories, or two row labels with --suite or "
                        "--runs.") and "\n" not in err
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(compared_runs[0]), str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ltbench: error: Cannot compare") and "missing config.yaml" in err and "\n" not in err


# -------- download --------------------------------------------------------------------------------


def test_download_weights_refuses_a_file_that_does_not_match_its_published_checksum(file_server, tmp_path, capsys):
    file_server.files["resnet50-0676ba61.pth"] = PAYLOAD  # not the real weights
    assert main(["download", "weights", "--dest", str(tmp_path), "--mirror", file_server.url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"ltbench: error: {file_server.url}/resnet50-0676ba61.pth does not match its published "
                              "sha256 0676ba61, so it was deleted")
    assert not list(tmp_path.iterdir())


def test_download_splits_without_a_server_is_one_sentence(tmp_path, capsys):
    assert main(["download", "splits", "--dest", str(tmp_path), "--mirror", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Could not reach http://127.0.0.1:9/voc_lt/img_id.txt" in err


# -------- eval --scores ----------------------------------------------------------------------------


def _edit(arrays: dict, split, case: str) -> None:
    """Break a valid file's arrays the way ``case`` says."""
    ids, scores = list(arrays["image_ids"]), arrays["scores"]
    if case == "unknown id":
        ids[5] = "test_99999"
    elif case == "missing id":
        ids, scores = ids[:-2], scores[:-2]
    elif case == "repeated id":
        ids[1] = ids[0]
    elif case == "class order":
        names = list(arrays["class_names"])
        names[2], names[3] = names[3], names[2]
        arrays["class_names"] = np.array(names)
    elif case == "other classes":
        arrays["class_names"] = np.array([*arrays["class_names"][:-1], "ten"])
    elif case == "split version":
        other = split.targets.copy()
        other[0] = 1 - other[0]
        arrays["split_digest"] = np.array(split_digest("mnist_lt", split.class_names, split.image_ids, other))
    elif case == "nan":
        scores = scores.copy()
        scores[7, 3] = np.nan
    elif case == "shape":
        scores = scores[:, :-1]
    elif case == "dtype":
        scores = (scores > 0).astype(np.int64)
    elif case == "float16":
        scores = scores.astype(np.float16)
    elif case == "dataset":
        arrays["dataset"] = np.array("voc_lt")
    elif case == "entry":
        del arrays["split_digest"]
    elif case == "checkpoint":
        arrays["metadata"] = np.array(json.dumps({"method": "X", "checkpoint": "best"}))
    elif case == "metadata":
        arrays["metadata"] = np.array("{method: X}")
    elif case == "probabilities":  # logits said to be probabilities (no score: the default, sigmoid)
        arrays["metadata"] = np.array(json.dumps({"method": "X", "checkpoint": "last"}))
    elif case == "other test subset":  # the full split's file said to be the labelled subset's
        arrays["test_images"] = np.array("labelled")
    if "image_ids" in arrays:
        arrays["image_ids"], arrays["scores"] = np.array(ids), scores


BAD = {  # case -> words the sentence must hold
    "unknown id": ["has 1 image id not in mnist_lt's test split", "'test_99999'"],
    "missing id": ["lacks scores for 2 of the 1,000 test images", "'test_00998'"],
    "repeated id": ["lists 1 image id more than once", "'test_00000'"],
    "class order": ["another order", "position 2", "'three' where the split has 'two'"],
    "other classes": ["'ten'", "lacks 1 of its classes ('nine')"],
    "split version": ["another version of mnist_lt's test split"],
    "nan": ["NaN or infinite for 1 image (the first is 'test_00007')"],
    "shape": ["shape (1000, 9)", "1000 image ids and 10 classes"],
    "dtype": ["int64", "float32 or float64"],
    "float16": ["float16"],
    "dataset": ["dataset 'voc_lt', not 'mnist_lt'"],
    "entry": ["lacks the submission entries split_digest"],
    "checkpoint": ["checkpoint must be one of last, validation, test, not 'best'"],
    "metadata": ["metadata is not JSON"],
    "probabilities": ["outside [0, 1]", "not probabilities", "score to logit"],
    "other test subset": ["another version of mnist_lt's test split", "test images: labelled"],
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_file_is_one_sentence_exit_2_nothing_written(case: str, exported_submission: Path,
                                                               mnist_lt_test_split, tmp_path: Path,
                                                               results_in_tmp: Path, capsys) -> None:
    arrays = dict(np.load(exported_submission))
    _edit(arrays, mnist_lt_test_split, case)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    assert main(["eval", "--scores", str(bad), "--dataset", "mnist_lt"]) == 2
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert captured.out == "" and len(message.splitlines()) == 1 and message.endswith(".")
    assert message.startswith(f"ltbench: error: {bad}")
    for words in BAD[case]:
        assert words in message
    assert not results_in_tmp.exists()


def test_not_a_submission_file(tmp_path: Path, results_in_tmp: Path, capsys) -> None:
    bad = tmp_path / "scores.json"
    bad.write_text("{}")
    assert main(["eval", "--scores", str(bad), "--dataset", "mnist_lt"]) == 2
    assert "is not a submission file" in capsys.readouterr().err
    assert not results_in_tmp.exists()


@pytest.mark.parametrize(("subset", "words"), [
    (None, "another version of mnist_lt's test split"),  # the entry dropped: scored as the full split
    ("some", "test_images must be one of all, labelled, not 'some'"),
])
def test_a_labelled_file_scored_as_another_subset_is_one_sentence(subset: str | None, words: str, tmp_path: Path,
                                                                  exported_labelled_submission: Path,
                                                                  results_in_tmp: Path, capsys) -> None:
    arrays = dict(np.load(exported_labelled_submission))
    arrays.pop(TEST_IMAGES_ENTRY)
    if subset is not None:
        arrays[TEST_IMAGES_ENTRY] = np.array(subset)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    assert main(["eval", "--scores", str(bad), "--dataset", "mnist_lt"]) == 2
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert captured.out == "" and len(message.splitlines()) == 1 and words in message
    assert not results_in_tmp.exists()


# -------- suite -----------------------------------------------------------------------------------


def test_unknown_row_and_malformed_rows_are_one_sentence_errors(tiny_suite, tmp_path, capsys):
    overrides = [f"--{override}" for override in tiny_suite]
    assert main(["suite", "tiny", "--dataset", "mnist_lt", *overrides, "--rows", "DB"]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"ltbench: error: Suite tiny has no row 'DB' .rows: ERM, Focal\)\.\n", err)
    (tmp_path / "configs" / "suites" / "tiny.yaml").write_text("rows:\n  - {label: ERM}\n")
    assert main(["suite", "tiny", "--dataset", "mnist_lt", *overrides]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ltbench: error: Suite file ") and err.endswith("row 1 needs a label and a method.\n")
    assert err.count("\n") == 1


# -------- list ------------------------------------------------------------------------------------


def test_list_of_an_unknown_component_names_the_close_ones(capsys):
    assert main(["list", "losses", "asx"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ltbench: error: Unknown loss 'asx': not registered (registered: asl, bal, bce, ")
    assert err.endswith("Did you mean asl?\n") and err.count("\n") == 1


# -------- below the command line: config keys, YAML, weights, checkpoints, plugins ----------------


def one_sentence(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_mistyped_config_key_is_refused_with_the_close_match():
    with pytest.raises(LtbenchError) as info:
        resolve_config("erm", "mnist_lt", overrides=["train.epoch=3", "evall.interval=0"])
    message = one_sentence(info)
    assert "train.epoch (did you mean train.epochs?)" in message
    assert "evall (did you mean eval?)" in message
    with pytest.raises(LtbenchError) as info:  # component sections are checked against the component's signature
        resolve_config("erm", "mnist_lt", overrides=["train.optimizer.lrr=1"])
    assert "optimizer 'sgd' has no parameter train.optimizer.lrr (did you mean train.optimizer.lr?)" in \
        one_sentence(info)


@pytest.mark.parametrize("dataset", ["mnist_lt", "voc_lt", "coco_lt"])
def test_every_shipped_config_and_suite_row_has_only_known_keys(dataset):
    load_plugins()
    for path in sorted((PACKAGED_CONFIGS / dataset).glob("*.yaml")):  # each as --config, recipes included
        method = path.stem if path.stem in METHODS else None  # a method's own file may set its parameters
        resolve_config(method, dataset=dataset, config=path)
    for suite in suite_names():
        for row in load_suite(suite).rows:
            resolve_config(row.method, dataset, row.config_file(dataset), extra=row.overrides_for(dataset))


@pytest.mark.parametrize("dataset", ["mnist_lt", "voc_lt", "coco_lt"])
def test_the_authors_code_preset_resolves_by_name(dataset):
    config = resolve_config("cprfl", dataset, config="cprfl_code")
    train = config["train"]
    assert (train["drop_last"], train["ema_from_init"], train["amp"]) == (False, True, "fp16")
    assert train["schedule"]["name"] == "onecycle" and train["schedule"]["total_epochs"] == train["epochs"] + 1
    assert config["input"]["augment"] == "cutout_randaugment" and config["model"]["normalize"] is False


def test_broken_yaml_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochs: 3\n  optimizer: {lr: 0.1\n")
    with pytest.raises(LtbenchError, match=r"bad.yaml is not valid YAML at line \d") as info:
        load_yaml(bad)
    one_sentence(info)


def test_efficientnet_stem_with_dotted_block_names_freezes_exactly_the_stem():
    backbone = BACKBONES.build("efficientnet_lite0", pretrained=False, freeze="stem_layer1")
    body = backbone.body
    assert not any(p.requires_grad for p in body.get_submodule("blocks.0").parameters())
    assert not body.conv_stem.weight.requires_grad
    assert all(p.requires_grad for p in body.get_submodule("blocks.1").parameters())


@pytest.mark.parametrize("content", [b"not a checkpoint at all", "a pickled string"])
def test_unreadable_weights_file_is_one_sentence_naming_it(tmp_path, content):
    file = tmp_path / "weights.pth"
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        torch.save(content, file)
    with pytest.raises(LtbenchError, match="weights.pth") as info:
        BACKBONES.build("resnet50", weights=str(file))
    assert "model.weights=" in one_sentence(info)


@pytest.mark.slow
def test_a_checkpoint_that_does_not_fit_the_model_says_to_delete_it(tmp_path, monkeypatch):
    overrides = [f"output.root={tmp_path}", "train.epochs=2"]
    original = Trainer._train_epoch

    def crash_in_epoch_2(self, run, info):
        if info.global_epoch == 2:
            raise KeyboardInterrupt
        return original(self, run, info)

    monkeypatch.setattr(Trainer, "_train_epoch", crash_in_epoch_2)
    experiment = build_experiment(resolve_config("erm", "mnist_lt", overrides=overrides))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(experiment)
    checkpoint = experiment.run_dir / "checkpoint.pt"
    state = torch.load(checkpoint, weights_only=False)
    state["model"] = {name + ".renamed": tensor for name, tensor in state["model"].items()}  # code changed since
    torch.save(state, checkpoint)
    monkeypatch.setattr(Trainer, "_train_epoch", original)
    with pytest.raises(LtbenchError, match="checkpoint.pt cannot be resumed") as info:
        run_experiment(build_experiment(resolve_config("erm", "mnist_lt", overrides=overrides)))
    assert "delete it" in one_sentence(info)


def tiny_training_state(width: int = 2):
    model = torch.nn.Linear(width, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, 1)


@pytest.mark.parametrize("damage", ["garbage bytes", "other shapes", "no rng state"])
def test_a_corrupt_or_foreign_checkpoint_is_one_sentence(tmp_path, damage):
    path = tmp_path / "checkpoint.pt"
    model, optimizer, scheduler = tiny_training_state()
    save_checkpoint(path, Position(0, 3), model, (), optimizer, scheduler, ema=None)
    if damage == "garbage bytes":
        path.write_bytes(b"\x00 truncated by a full disk")
    elif damage == "no rng state":
        state = torch.load(path, weights_only=False)
        del state["rng"]
        torch.save(state, path)
    width = 3 if damage == "other shapes" else 2
    with pytest.raises(LtbenchError, match="checkpoint.pt cannot be resumed") as info:
        read_checkpoint(path, tiny_training_state(width)[0], ())
    assert "delete it" in one_sentence(info) and "output.root" in str(info.value)


def test_two_plugins_registering_one_name_clash_even_with_the_same_function_name():
    registry = Registry("widget")
    first, second = types.ModuleType("plugin_a"), types.ModuleType("plugin_b")
    exec("def make():\n    return 1", first.__dict__)
    exec("def make():\n    return 2", second.__dict__)
    first.make.__module__, second.make.__module__ = "plugin_a", "plugin_b"
    registry.register("widget")(first.make)
    registry.register("widget")(first.make)  # importing the same plugin again is harmless
    with pytest.raises(LtbenchError, match="already registered by plugin_a"):
        registry.register("widget")(second.make)
