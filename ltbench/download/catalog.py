"""What each ``ltbench download`` target fetches, and where it puts it so that ltbench finds it.

URLs and checksums come from the libraries that publish them wherever they
exist: torchvision's VOC table (``torchvision.datasets.voc.DATASET_YEAR_DICT``,
MD5), torchvision's weight enums (URL; the SHA-256 prefix in the file name,
which ``torch.hub`` checks with ``HASH_REGEX``) and open_clip's pretrained
table (OpenAI's URL, whose folder is the file's SHA-256). COCO publishes no
checksums: its MD5s are the ones PaddleDetection's download table
(``ppdet/utils/download.py``) has checked for years. The split files are the
Distribution-Balanced Loss repository's, pinned to a commit, each checked
against its git blob id.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ltbench.download.fetch import Checksum, Remote

TARGETS = ("voc", "coco", "splits", "weights")
ARCHIVES = "downloads"  # a dataset root's folder for its archives (kept, so a rerun verifies instead of fetching)

# the published archive sizes in bytes (the servers' Content-Length), for the free-space check and the docs
VOC_SIZES = {"2007-test": 451_020_800, "2012": 1_999_639_040}  # what voc_lt reads: VOC2007 test, VOC2012 trainval
COCO = (  # (URL, MD5, size in bytes)
    ("http://images.cocodataset.org/zips/train2017.zip", "cced6f7f71b7629ddf16f17bbcfab6b2", 19_336_861_798),
    ("http://images.cocodataset.org/zips/val2017.zip", "442b8da7639aecaf257c1dceb8ba8c80", 815_585_330),
    ("http://images.cocodataset.org/annotations/annotations_trainval2017.zip", "f4bbac642086de4f52a3fdda2de5fa2c",
     252_907_541),
)
SPLITS_COMMIT = "14460d0acda6a3e77a8a6a5999b9746243cb1535"
SPLITS_BASE = f"https://raw.githubusercontent.com/wutong16/DistributionBalancedLoss/{SPLITS_COMMIT}/appendix"
SPLIT_FILES = (  # (where ltbench reads it, upstream path under appendix/, git blob id)
    ("voc_lt/img_id.txt", "VOCdevkit/longtail2012/img_id.txt", "2da2c2c01d61fec539738560090b9694af3b0268"),
    ("voc_lt/class_freq.pkl", "VOCdevkit/longtail2012/class_freq.pkl", "7f7990ca00a45165883c38e5431c70407349dd6f"),
    ("voc_lt/class_split.pkl", "VOCdevkit/longtail2012/class_split.pkl",
     "b459f54706b1f2f82618db5298260a0f96166803"),
    ("coco_lt/img_id.pkl", "coco/longtail2017/img_id.pkl", "0bcf8ea1b635257c85835690b08e2bc09fa87198"),
    ("coco_lt/class_freq.pkl", "coco/longtail2017/class_freq.pkl", "e22325913afd8d862a9ea76897b0abaf57c1dac7"),
    ("coco_lt/class_split.pkl", "coco/longtail2017/class_split.pkl", "ef0982cd083eb97b574c2bd1efadb2a761b64de7"),
)
TORCHVISION_WEIGHTS = ("ResNet50_Weights", "ResNet101_Weights")  # IMAGENET1K_V1: the weights DB and CPRFL load
CLIP_MODELS = ("RN50", "ViT-B-16")  # open_clip names of OpenAI's CLIP RN50 and ViT-B/16
CLIP_TAG = "openai"


@dataclass
class Target:
    """One target's files, each with the folder it lands in, and what follows: unpacking and ``ltbench prepare``."""

    name: str
    files: list[tuple[Remote, Path]] = field(default_factory=list)
    unpack_into: Path | None = None  # the dataset root that the archives are unpacked into
    prepares: str | None = None  # the dataset ``ltbench prepare`` checks afterwards


def voc(root: Path) -> Target:
    """VOC2007 test and VOC2012 trainval (what voc_lt reads), from torchvision's table, unpacked into ``root``."""
    from ltbench._torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from torchvision.datasets.voc import DATASET_YEAR_DICT

    files = [(Remote(entry["url"], entry["filename"], Checksum("md5", entry["md5"]), VOC_SIZES[key]), root / ARCHIVES)
             for key in VOC_SIZES for entry in [DATASET_YEAR_DICT[key]]]
    return Target("voc", files, unpack_into=root, prepares="voc_lt")


def coco(root: Path) -> Target:
    """COCO 2017 train and val images and the 2017 annotations, unpacked into ``root``."""
    files = [(Remote(url, os.path.basename(url), Checksum("md5", md5), size), root / ARCHIVES) for url, md5, size in COCO]
    return Target("coco", files, unpack_into=root, prepares="coco_lt")


def splits(folder: Path) -> Target:
    """The VOC-LT and COCO-LT split files at the pinned commit, under ``folder/voc_lt`` and ``folder/coco_lt``."""
    files = [(Remote(f"{SPLITS_BASE}/{upstream}", local, Checksum("git-blob", blob)), folder)
             for local, upstream, blob in SPLIT_FILES]
    return Target("splits", files)


def weights(folder: Path | None) -> Target:
    """torchvision's ResNet-50/101 and OpenAI's CLIP RN50 and ViT-B/16, where ltbench looks (or all in ``folder``)."""
    import torch.hub

    from ltbench._torchvision_compat import ensure_torchvision_importable
    from ltbench.pretrained.clip import open_clip_module

    ensure_torchvision_importable()
    import torchvision.models

    hub = folder or Path(torch.hub.get_dir()) / "checkpoints"
    clip = folder or Path("~/.cache/clip").expanduser()  # open_clip's URL cache, which ltbench searches
    files = []
    for enum in TORCHVISION_WEIGHTS:
        entry = getattr(torchvision.models, enum).IMAGENET1K_V1
        name = os.path.basename(entry.url)
        prefix = torch.hub.HASH_REGEX.search(name).group(1)  # type: ignore[union-attr]
        size = round(entry.meta["_file_size"] * 1e6)  # torchvision publishes MB with 3 decimals
        files.append((Remote(entry.url, name, Checksum("sha256", prefix), size), hub))
    for model in CLIP_MODELS:
        url = open_clip_module().get_pretrained_cfg(model, CLIP_TAG)["url"]
        files.append((Remote(url, os.path.basename(url), Checksum("sha256", url.split("/")[-2])), clip))
    return Target("weights", files)
