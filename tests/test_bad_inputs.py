"""Bad inputs through the command line: each ends with a non-zero exit and one sentence naming the culprit,
never a traceback, and leaves nothing behind (no run directory, manifest, stub folder or temp file).

Each case prepares files under a fresh folder and returns the command line and the text the error must
contain. The config-value cases (types and ranges) are added with the config resolve step.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Callable

import pytest
from PIL import Image

from ltbench.fileio import atomic as fileio
from ltbench.cli import main
from ltbench.data.mnist_lt import mnist_lt

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
