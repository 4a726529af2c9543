"""``ltbench download`` against a loopback HTTP server (127.0.0.1 only): resume, checksums, errors, no refetch."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile

import pytest

from conftest import REAL_SPLITS, needs_split_files
from file_server import MD5, PAYLOAD
from ltbench.cli import main
from ltbench.download import catalog
from ltbench.download.fetch import Checksum, Remote, fetch
from ltbench.errors import LtbenchError

def remote(path: str = "a/file.bin", checksum: Checksum | None = None) -> Remote:
    return Remote("https://example.invalid/never-used", path, checksum or Checksum("md5", MD5), len(PAYLOAD))


def test_an_interrupted_transfer_resumes_with_a_range_request(file_server, tmp_path):
    file_server.files["a/file.bin"] = PAYLOAD
    file_server.drop_after["a/file.bin"] = 100_000
    path, fetched = fetch(remote(), tmp_path, file_server.url)
    assert fetched and path.read_bytes() == PAYLOAD and not list(tmp_path.rglob("*.part"))
    assert file_server.requests == [("a/file.bin", None), ("a/file.bin", "bytes=100000-")]


def test_a_part_left_by_an_earlier_process_is_continued(file_server, tmp_path):
    file_server.files["a/file.bin"] = PAYLOAD
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "file.bin.part").write_bytes(PAYLOAD[:12_345])
    path, _ = fetch(remote(), tmp_path, file_server.url)
    assert path.read_bytes() == PAYLOAD and file_server.requests == [("a/file.bin", "bytes=12345-")]


def test_a_checksum_mismatch_is_one_sentence_and_leaves_nothing_that_passes_as_complete(file_server, tmp_path):
    file_server.files["a/file.bin"] = PAYLOAD[:-1] + b"x"
    with pytest.raises(LtbenchError, match=r"does not match its published md5 .*, so it was deleted") as error:
        fetch(remote(), tmp_path, file_server.url)
    assert str(error.value).count(". ") == 0
    assert not (tmp_path / "a" / "file.bin").exists() and not (tmp_path / "a" / "file.bin.part").exists()


@pytest.mark.parametrize("status, message", [(500, "HTTP 500"), (None, "HTTP 404 Not Found")])
def test_a_server_error_or_a_missing_file_is_one_sentence(file_server, tmp_path, status, message):
    if status:
        file_server.status["a/file.bin"] = status
    with pytest.raises(LtbenchError, match=message):
        fetch(remote(), tmp_path, file_server.url)
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_an_unreachable_server_is_one_sentence(tmp_path):
    with pytest.raises(LtbenchError, match=r"Could not reach http://127\.0\.0\.1:9/a/file\.bin .*--mirror\.$"):
        fetch(remote(), tmp_path, "http://127.0.0.1:9")  # the discard port: nothing listens


def test_a_verified_file_is_not_fetched_again_and_a_corrupt_one_is(file_server, tmp_path):
    file_server.files["a/file.bin"] = PAYLOAD
    fetch(remote(), tmp_path, file_server.url)
    assert fetch(remote(), tmp_path, file_server.url) == (tmp_path / "a" / "file.bin", False)
    assert len(file_server.requests) == 1
    (tmp_path / "a" / "file.bin").write_bytes(b"truncated")
    assert fetch(remote(), tmp_path, file_server.url)[1] and len(file_server.requests) == 2


@needs_split_files
def test_git_blob_ids_of_the_split_files_match_the_pinned_upstream_ones():
    blobs = {local: blob for local, _, blob in catalog.SPLIT_FILES}
    for local, copy in (("voc_lt/img_id.txt", "voc_lt/img_id.txt"), ("coco_lt/img_id.pkl", "coco_lt/img_id.txt")):
        file = REAL_SPLITS / copy
        assert Checksum("git-blob", blobs[local]).matches(file)
        git = subprocess.run(["git", "hash-object", str(file)], capture_output=True, text=True, check=True)
        assert git.stdout.strip() == blobs[local]  # the same id git computes


def test_weights_come_from_torchvision_and_open_clip_tables(tmp_path):
    files = {remote.path: remote for remote, _ in catalog.weights(tmp_path).files}
    assert files["resnet50-0676ba61.pth"].checksum == Checksum("sha256", "0676ba61")
    assert files["RN50.pt"].checksum.expected == files["RN50.pt"].url.split("/")[-2] and len(
        files["RN50.pt"].checksum.expected) == 64


def voc_tar(member: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = text.encode()
        info = tarfile.TarInfo(member)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_download_voc_fetches_verifies_unpacks_then_prepares_and_a_rerun_fetches_nothing(file_server, tmp_path,
                                                                                          monkeypatch, capsys):
    from ltbench._torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from torchvision.datasets import voc

    prepared = []
    monkeypatch.setattr("ltbench.data.prepare.prepare",
                        lambda name, **params: prepared.append((name, params)) or type("R", (), {
                            "summary": lambda self: "prepared"})())
    for key in ("2007-test", "2012"):  # only what voc_lt reads: VOC2007 trainval is never fetched
        entry = voc.DATASET_YEAR_DICT[key]
        body = voc_tar(f"VOCdevkit/VOC{key[:4]}/{key}.txt", key)
        file_server.files[entry["filename"]] = body
        monkeypatch.setitem(voc.DATASET_YEAR_DICT, key, {**entry, "md5": hashlib.md5(body).hexdigest()})
        monkeypatch.setitem(catalog.VOC_SIZES, key, len(body))
    (tmp_path / "splits" / "voc_lt").mkdir(parents=True)
    args = ["download", "voc", "--dest", str(tmp_path / "voc"), "--splits", str(tmp_path / "splits"),
            "--mirror", file_server.url]
    assert main(args) == 0
    assert (tmp_path / "voc" / "VOCdevkit" / "VOC2007" / "2007-test.txt").read_text() == "2007-test"
    assert (tmp_path / "voc" / "VOCdevkit" / "VOC2012" / "2012.txt").read_text() == "2012"
    assert prepared == [("voc_lt", {"root": str(tmp_path / "voc"), "splits": str(tmp_path / "splits")})]
    assert len(file_server.requests) == 2 and capsys.readouterr().out.strip().endswith("prepared")
    (tmp_path / "voc" / "VOCdevkit" / "VOC2012" / "2012.txt").unlink()
    assert main(args) == 0
    assert len(file_server.requests) == 2  # verified archives are not fetched again ...
    assert not (tmp_path / "voc" / "VOCdevkit" / "VOC2012" / "2012.txt").exists()  # ... nor unpacked again


def test_weights_land_where_ltbench_looks_for_them(tmp_path, monkeypatch):
    import huggingface_hub.constants
    import torch.hub

    from ltbench.pretrained.clip import ClipWeights
    from ltbench.models.backbones import _imagenet_weights

    monkeypatch.setenv("HOME", str(tmp_path))  # ~/.cache/clip
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))  # no copy found there
    placed = {}
    for remote, folder in catalog.weights(None).files:
        placed[remote.path] = folder / remote.path
        placed[remote.path].parent.mkdir(parents=True, exist_ok=True)
        placed[remote.path].write_bytes(b"stand-in")
    assert _imagenet_weights("resnet50", allow_download=False) == placed["resnet50-0676ba61.pth"]
    assert _imagenet_weights("resnet101", allow_download=False) == placed["resnet101-63fe2227.pth"]
    assert ClipWeights("clip-rn50", "RN50", "text").file == placed["RN50.pt"]
    assert ClipWeights("clip-vit-b16", "ViT-B-16", "text").file == placed["ViT-B-16.pt"]
