"""VOC-LT / COCO-LT readers on miniature VOC and COCO trees, ``prepare``, and the real split files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REAL_SPLITS, needs_split_files
from ltbench.data import split_files
from ltbench.data.coco import CATEGORY_IDS, coco_lt
from ltbench.data.coco import CLASS_NAMES as COCO_NAMES
from ltbench.data.groups import split_groups
from ltbench.data.image_cache import CachedImages
from ltbench.data.image_files import ImageFiles
from ltbench.data.prepare import check_against_canonical, prepare
from ltbench.data.split_files import Canonical, read_image_ids
from ltbench.data.voc import CLASS_NAMES as VOC_NAMES
from ltbench.data.voc import XML_NAMES, voc_lt
from ltbench.errors import LtbenchError

needs_real_splits = needs_split_files


def write_jpeg(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, quality=95)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "cache"))


# ---- miniature VOC --------------------------------------------------------------------------------

VOC_TRAIN = {  # id -> objects (name, difficult); parts inside an object must not count
    "2008_000001": [("dog", 0), ("person", 1)],
    "2008_000002": [("cow", 1)],  # only a difficult object: still positive
    "2009_000003": [("chair", 0), ("chair", 0), ("diningtable", 0), ("person", 0)],
}
VOC_TEST = {"000001": [("pottedplant", 0)], "000002": [("tvmonitor", 0), ("sofa", 1)]}


def voc_xml(objects: list[tuple[str, int]]) -> str:
    body = "".join(
        f"<object><name> {name} </name><pose>Left</pose><difficult>{difficult}</difficult>"
        f"<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>"
        f"<part><name>head</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></part>"
        f"</object>"
        for name, difficult in objects
    )
    return f"<annotation><folder>VOC</folder><size><width>40</width><height>30</height></size>{body}</annotation>"


@pytest.fixture
def voc_tree(tmp_path: Path) -> tuple[Path, Path]:
    """(VOC root, split folder) with 3 train images (+1 outside the split) and 2 test images."""
    root = tmp_path / "data" / "voc_lt"
    devkit = root / "VOCdevkit"
    for year, images in (("VOC2012", {**VOC_TRAIN, "2010_000004": [("bus", 0)]}), ("VOC2007", VOC_TEST)):
        (devkit / year / "Annotations").mkdir(parents=True)
        for k, (image_id, objects) in enumerate(images.items()):
            (devkit / year / "Annotations" / f"{image_id}.xml").write_text(voc_xml(objects))
            write_jpeg(devkit / year / "JPEGImages" / f"{image_id}.jpg", (40 * k, 200, 10))
    (devkit / "VOC2007" / "ImageSets" / "Main").mkdir(parents=True)
    (devkit / "VOC2007" / "ImageSets" / "Main" / "test.txt").write_text("000001\n000002\n")
    splits = tmp_path / "splits"
    (splits / "voc_lt").mkdir(parents=True)
    (splits / "voc_lt" / "img_id.txt").write_text("".join(f"{i}\n" for i in VOC_TRAIN))
    return root, splits


def voc_row(*names: str) -> list[int]:
    return [int(n in names) for n in XML_NAMES]


def test_voc_labels_ids_and_images(voc_tree: tuple[Path, Path]) -> None:
    root, splits = voc_tree
    ds = voc_lt(root=str(root), splits=str(splits))
    assert ds.name == "voc_lt" and ds.num_classes == 20
    assert ds.class_names[10] == "dining table" and ds.class_names[15] == "potted plant"
    assert ds.class_names[19] == "tv monitor" and ds.class_names[0] == "aeroplane"
    assert list(ds.train.ids) == list(VOC_TRAIN)
    np.testing.assert_array_equal(ds.train.targets, [voc_row("dog", "person"), voc_row("cow"),
                                                     voc_row("chair", "diningtable", "person")])
    assert list(ds.test.ids) == ["000001", "000002"]
    np.testing.assert_array_equal(ds.test.targets, [voc_row("pottedplant"), voc_row("tvmonitor", "sofa")])
    image = ds.train.images[1]
    assert image.shape == (30, 40, 3) and image.dtype == np.uint8
    np.testing.assert_allclose(image.reshape(-1, 3).mean(0), (40, 200, 10), atol=4)
    assert isinstance(ds.train.images, ImageFiles)
    assert ds.meta["root"] == str(root) and ds.meta["train_ids"].endswith("img_id.txt")
    # the annotations' <size>, for the group sampler's aspect flags (the image cache keeps none)
    assert ds.train.sizes.tolist() == [[40, 30]] * 3 and ds.test.sizes is None


def test_voc_default_root_and_cache(voc_tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root, splits = voc_tree
    monkeypatch.setenv("LTBENCH_DATA", str(root.parent))
    monkeypatch.setenv("LTBENCH_SPLITS", str(splits))
    ds = voc_lt(cache_size=16)
    assert isinstance(ds.test.images, CachedImages)
    assert ds.test.images[0].shape == (16, 16, 3)
    assert Path(ds.meta["images"]["train"]).is_file()


def test_voc_errors(voc_tree: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, splits = voc_tree
    with pytest.raises(LtbenchError, match=r"has no VOCdevkit/VOC2012 folder; run ltbench download voc, pass "):
        voc_lt(root=str(tmp_path), splits=str(splits))
    monkeypatch.delenv("LTBENCH_SPLITS", raising=False)
    with pytest.raises(LtbenchError, match=r"dataset.splits=.*LTBENCH_SPLITS"):
        voc_lt(root=str(root))
    with pytest.raises(LtbenchError, match=r"No voc_lt/img_id.txt in the split-file folder"):
        voc_lt(root=str(root), splits=str(tmp_path))
    annotation = root / "VOCdevkit" / "VOC2007" / "Annotations" / "000002.xml"
    annotation.unlink()
    missing = rf"1 of 2 VOC2007 annotation files are missing \(e.g. {re.escape(str(annotation))}\)"
    with pytest.raises(LtbenchError, match=missing):
        voc_lt(root=str(root), splits=str(splits))
    image = root / "VOCdevkit" / "VOC2012" / "JPEGImages" / "2008_000002.jpg"
    image.unlink()
    with pytest.raises(LtbenchError, match=rf"1 of 3 VOC2012 image files are missing \(e.g. {re.escape(str(image))}"):
        voc_lt(root=str(root), splits=str(splits))
    test_list = root / "VOCdevkit" / "VOC2007" / "ImageSets" / "Main" / "test.txt"
    test_list.unlink()
    with pytest.raises(LtbenchError, match=rf"The VOC2007 test list file {re.escape(str(test_list))} is missing"):
        voc_lt(root=str(root), splits=str(splits))


def test_voc_rejects_unknown_class(voc_tree: tuple[Path, Path]) -> None:
    root, splits = voc_tree
    (root / "VOCdevkit" / "VOC2012" / "Annotations" / "2008_000001.xml").write_text(voc_xml([("dinosaur", 0)]))
    with pytest.raises(LtbenchError, match="'dinosaur' that is not a VOC class"):
        voc_lt(root=str(root), splits=str(splits))


# ---- miniature COCO -------------------------------------------------------------------------------

def annotation(image_id: int, category_id: int, bbox: list[float], area: float = 100.0, crowd: int = 0) -> dict:
    return {"image_id": image_id, "category_id": category_id, "bbox": bbox, "area": area, "iscrowd": crowd}


COCO_TRAIN = [
    annotation(10, 1, [0, 0, 10, 10]),
    annotation(10, 2, [0, 0, 10, 10], crowd=1),  # crowd: positive
    annotation(10, 3, [0, 0, 10, 10], area=0.0),  # zero area: ignored
    annotation(20, 4, [0, 0, 0.5, 10]),  # w < 1: ignored
    annotation(20, 90, [5, 5, 1, 1]),  # 1 x 1: positive (toothbrush, last class)
    annotation(30, 18, [0, 0, 10, 0.9]),  # h < 1: ignored
    annotation(30, 5, [0, 0, 3, 3]),
    annotation(40, 6, [0, 0, 3, 3]),  # image outside the split
]
COCO_VAL = [annotation(5, 89, [0, 0, 4, 4]), annotation(6, 24, [0, 0, 4, 4]), annotation(6, 24, [1, 1, 4, 4])]


def coco_row(*category_ids: int) -> list[int]:
    return [int(c in category_ids) for c in CATEGORY_IDS]


@pytest.fixture
def coco_tree(tmp_path: Path) -> tuple[Path, Path]:
    """(COCO root, split folder): 3 train images in the split (+1 outside), 3 val images, one unannotated."""
    root = tmp_path / "coco"
    categories = [{"id": c, "name": n, "supercategory": "x"} for c, n in zip(CATEGORY_IDS, COCO_NAMES)]
    categories.reverse()  # class order must come from the ids, not the file order
    for subset, ids, annotations in (("train2017", [40, 30, 20, 10], COCO_TRAIN), ("val2017", [7, 6, 5], COCO_VAL)):
        images = [{"id": i, "file_name": f"{i:012d}.jpg", "width": 40, "height": 30} for i in ids]
        for i in ids:
            write_jpeg(root / subset / f"{i:012d}.jpg", (i, 2 * i, 3 * i))
        (root / "annotations").mkdir(exist_ok=True)
        instances = {"images": images, "annotations": [dict(a, id=k) for k, a in enumerate(annotations)],
                     "categories": categories}
        (root / "annotations" / f"instances_{subset}.json").write_text(json.dumps(instances))
    splits = tmp_path / "splits"
    (splits / "coco_lt").mkdir(parents=True)
    (splits / "coco_lt" / "img_id.txt").write_text("20\n10\n30\n")
    return root, splits


def test_coco_labels_and_test_set(coco_tree: tuple[Path, Path]) -> None:
    root, splits = coco_tree
    ds = coco_lt(root=str(root), splits=str(splits))
    assert ds.num_classes == 80 and ds.class_names[0] == "person" and ds.class_names[79] == "toothbrush"
    assert ds.class_names[60] == "dining table" and ds.class_names[78] == "hair drier"
    assert list(ds.train.ids) == ["20", "10", "30"]
    np.testing.assert_array_equal(ds.train.targets, [coco_row(90), coco_row(1, 2), coco_row(5)])
    assert list(ds.test.ids) == ["5", "6", "7"]  # every val image, ascending id
    np.testing.assert_array_equal(ds.test.targets, [coco_row(89), coco_row(24), coco_row()])
    np.testing.assert_allclose(ds.test.images[1].reshape(-1, 3).mean(0), (6, 12, 18), atol=4)
    assert ds.train.sizes.tolist() == [[40, 30]] * 3 and ds.test.sizes is None  # the JSON's width, height


def test_coco_errors(coco_tree: tuple[Path, Path], tmp_path: Path) -> None:
    root, splits = coco_tree
    with pytest.raises(LtbenchError, match=r"has no annotations/ folder; run ltbench download coco, pass dataset.ro"):
        coco_lt(root=str(tmp_path / "nowhere"), splits=str(splits))
    (splits / "coco_lt" / "img_id.txt").write_text("20\n99\n")
    with pytest.raises(LtbenchError, match=r"1 ids of the coco_lt split file \(e.g. 99\) are not images of"):
        coco_lt(root=str(root), splits=str(splits))
    (splits / "coco_lt" / "img_id.txt").write_text("20\n10\n")
    image = root / "val2017" / "000000000006.jpg"
    image.unlink()
    missing = rf"1 of 3 COCO val2017 image files are missing \(e.g. {re.escape(str(image))}\)"
    with pytest.raises(LtbenchError, match=missing):
        coco_lt(root=str(root), splits=str(splits))
    annotations = root / "annotations" / "instances_val2017.json"
    annotations.unlink()
    missing = rf"The COCO annotation file {re.escape(str(annotations))} is missing; run ltbench download coco, pass"
    with pytest.raises(LtbenchError, match=missing):
        coco_lt(root=str(root), splits=str(splits))


# ---- prepare --------------------------------------------------------------------------------------

def test_prepare_rejects_a_non_benchmark_copy(voc_tree: tuple[Path, Path]) -> None:
    root, splits = voc_tree
    with pytest.raises(LtbenchError) as error:
        prepare("voc_lt", root=str(root), splits=str(splits), cache_size=16)
    message = str(error.value)
    assert "3 training images instead of 1142" in message and "2 test images instead of 4952" in message
    assert "\n" not in message
    assert not (root.parent.parent / "cache").exists()  # nothing cached before the check passes


def test_prepare_caches_a_matching_copy(voc_tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root, splits = voc_tree
    mini = Canonical("VOC-LT", 3, 2, tuple(np.array([voc_row("dog", "person"), voc_row("cow"),
                                                     voc_row("chair", "diningtable", "person")]).sum(0)))
    monkeypatch.setitem(split_files.CANONICAL, "voc_lt", mini)
    report = prepare("voc_lt", root=str(root), splits=str(splits), cache_size=16)
    assert (report.num_train, report.num_test, report.num_classes) == (3, 2, 20)
    assert report.groups["tail"] == list(range(20))
    assert set(report.caches) == {"train", "test"} and all(Path(p).is_file() for p in report.caches.values())
    assert "matches the published VOC-LT split" in report.summary() and report.caches["test"] in report.summary()
    ds = voc_lt(root=str(root), splits=str(splits), cache_size=16)  # the run after prepare reuses its caches
    assert str(ds.train.images.path) == report.caches["train"]


def test_prepare_refuses_other_datasets() -> None:
    with pytest.raises(LtbenchError, match="works on voc_lt and coco_lt, not 'custom'"):
        prepare("custom")


# ---- the real split files -------------------------------------------------------------------------

@needs_real_splits
@pytest.mark.parametrize("name, names, sizes",
                         [("voc_lt", VOC_NAMES, (6, 6, 8)), ("coco_lt", COCO_NAMES, (22, 33, 25))])
def test_real_split_files_match_the_constants(name: str, names: tuple[str, ...], sizes: tuple[int, int, int]) -> None:
    canonical = split_files.CANONICAL[name]
    ids, _ = read_image_ids(REAL_SPLITS, name)
    assert len(ids) == len(set(ids)) == canonical.num_train
    stored = json.loads((REAL_SPLITS / name / "class_freq.json").read_text())
    labels = np.array(stored["gt_labels"], dtype=np.uint8)
    assert labels.shape == (canonical.num_train, len(names))
    np.testing.assert_array_equal(labels.sum(0), canonical.class_freq)
    groups = split_groups(labels.sum(0))
    assert tuple(len(g) for g in groups.values()) == sizes
    published = json.loads((REAL_SPLITS / name / "class_split.json").read_text())
    for ours, theirs in zip(groups.values(), (published["head"], published["middle"], published["tail"])):
        assert ours.tolist() == theirs

    check_against_canonical(name, labels, canonical.num_test, names)  # the published labels pass
    perturbed = labels.copy()
    j = int(np.flatnonzero(perturbed[0])[0])
    perturbed[0, j] = 0
    with pytest.raises(LtbenchError, match=rf"1 classes have other training image counts \({names[j]} "):
        check_against_canonical(name, perturbed, canonical.num_test, names)
    with pytest.raises(LtbenchError, match=rf"{canonical.num_train - 1} training images instead of"):
        check_against_canonical(name, labels[1:], canonical.num_test, names)
    with pytest.raises(LtbenchError, match=rf"{canonical.num_test - 1} test images instead of {canonical.num_test}"):
        check_against_canonical(name, labels, canonical.num_test - 1, names)


# ---- the real split files through the readers -------------------------------------------------------
# Full-size trees whose annotations carry the split files' own labels (tiny JPEGs, real XML / JSON
# structure): the readers and ``prepare`` must give back exactly ``gt_labels``, ``class_freq`` and the
# published groups, with images outside the split and annotations that must not count mixed in.

def tiny_jpeg(tmp_path: Path) -> bytes:
    path = tmp_path / "tiny.jpg"
    write_jpeg(path, (90, 120, 30), size=(8, 6))
    return path.read_bytes()


def published_split(name: str) -> tuple[list, np.ndarray, dict[str, list[int]]]:
    stored = json.loads((REAL_SPLITS / name / "class_freq.json").read_text())
    groups = json.loads((REAL_SPLITS / name / "class_split.json").read_text())
    ids = json.loads((REAL_SPLITS / name / "img_id.json").read_text())
    return ids, np.array(stored["gt_labels"], dtype=np.uint8), groups


def build_voc_from_labels(root: Path, ids: list[str], labels: np.ndarray, jpeg: bytes) -> None:
    devkit = root / "VOCdevkit"
    test_ids = [f"{k:06d}" for k in range(1, split_files.CANONICAL["voc_lt"].num_test + 1)]
    test_labels = np.eye(20, dtype=np.uint8)[np.arange(len(test_ids)) % 20]
    for year, year_ids, year_labels in (("VOC2012", [*ids, "2012_999999"], np.vstack([labels, np.ones((1, 20))])),
                                        ("VOC2007", test_ids, test_labels)):
        for folder in ("Annotations", "JPEGImages"):
            (devkit / year / folder).mkdir(parents=True)
        for k, (image_id, row) in enumerate(zip(year_ids, year_labels)):
            objects = [(XML_NAMES[i], (k + i) % 2) for i in np.flatnonzero(row)]  # difficult ones count too
            (devkit / year / "Annotations" / f"{image_id}.xml").write_text(voc_xml(objects))
            (devkit / year / "JPEGImages" / f"{image_id}.jpg").write_bytes(jpeg)
    (devkit / "VOC2007" / "ImageSets" / "Main").mkdir(parents=True)
    (devkit / "VOC2007" / "ImageSets" / "Main" / "test.txt").write_text("".join(f"{i}\n" for i in test_ids))


def build_coco_from_labels(root: Path, ids: list[int], labels: np.ndarray, jpeg: bytes) -> None:
    val_ids = list(range(1, split_files.CANONICAL["coco_lt"].num_test + 1))
    outside = max(ids) + 1  # a train2017 image that is not in the split: it must be left out
    for subset, subset_ids, rows in (("train2017", [*ids, outside], np.vstack([labels, np.ones((1, 80))])),
                                     ("val2017", val_ids, np.eye(80, dtype=np.uint8)[np.arange(5000) % 80])):
        (root / subset).mkdir(parents=True)
        annotations = []
        for image_id, row in zip(subset_ids, rows):
            (root / subset / f"{image_id:012d}.jpg").write_bytes(jpeg)
            annotations += [annotation(image_id, CATEGORY_IDS[i], [1, 1, 5, 5], crowd=i % 2)
                            for i in np.flatnonzero(row).tolist()]
            negative = int(np.flatnonzero(row == 0)[0]) if (row == 0).any() else None
            if negative is not None:  # a zero-area box of an absent class must not make it positive
                annotations.append(annotation(image_id, CATEGORY_IDS[negative], [1, 1, 5, 5], area=0.0))
        instances = {"images": [{"id": i, "file_name": f"{i:012d}.jpg", "width": 8, "height": 6} for i in subset_ids],
                     "annotations": [dict(a, id=k) for k, a in enumerate(annotations)],
                     "categories": [{"id": c, "name": n} for c, n in zip(CATEGORY_IDS, COCO_NAMES)]}
        (root / "annotations").mkdir(exist_ok=True)
        (root / "annotations" / f"instances_{subset}.json").write_text(json.dumps(instances))


@needs_real_splits
@pytest.mark.parametrize("name, sizes", [("voc_lt", (6, 6, 8)), ("coco_lt", (22, 33, 25))])
def test_readers_reproduce_the_split_files_labels_and_groups(name: str, sizes: tuple[int, int, int],
                                                             tmp_path: Path) -> None:
    ids, labels, published_groups = published_split(name)
    root = tmp_path / name
    build = build_voc_from_labels if name == "voc_lt" else build_coco_from_labels
    build(root, ids, labels, tiny_jpeg(tmp_path))

    report = prepare(name, root=str(root), splits=str(REAL_SPLITS))  # the canonical check passes
    assert (report.num_train, report.num_test) == (len(ids), split_files.CANONICAL[name].num_test)
    assert tuple(len(report.groups[g]) for g in ("head", "medium", "tail")) == sizes
    assert [report.groups[g] for g in ("head", "medium", "tail")] == [published_groups[g] for g in
                                                                      ("head", "middle", "tail")]
    dataset = (voc_lt if name == "voc_lt" else coco_lt)(root=str(root), splits=str(REAL_SPLITS))
    assert list(dataset.train.ids) == [str(i) for i in ids]  # row k is line k of the split file
    np.testing.assert_array_equal(dataset.train.targets, labels)
    stored_freq = json.loads((REAL_SPLITS / name / "class_freq.json").read_text())["class_freq"]
    np.testing.assert_array_equal(dataset.class_freq, stored_freq)
