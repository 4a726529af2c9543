"""``ltbench download {voc,coco,splits,weights}``: fetch, verify, unpack, then ``ltbench prepare`` the dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from ltbench.download import catalog
from ltbench.download.fetch import check_free_space, fetch
from ltbench.paths import SPLITS_FOLDER, data_root, splits_root
from ltbench.progress import console

DATASET_FOLDERS = {"voc": "voc_lt", "coco": "coco_lt"}
EXTRACTED = ".extracted"  # marker beside an archive once it is fully unpacked


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "download", help="fetch VOC, COCO, the split files or the pretrained weights (needs the internet)",
        epilog="Resumable and checksum-verified; a file already verified in place is not fetched again.")
    parser.add_argument("target", choices=catalog.TARGETS)
    parser.add_argument("--dest", help="voc/coco: the dataset root (default $LTBENCH_DATA/voc_lt or coco_lt); "
                        "splits: the split-file folder (default $LTBENCH_SPLITS, else $LTBENCH_DATA/splits); "
                        "weights: one folder for all (default: where torch.hub and open_clip keep them)")
    parser.add_argument("--splits", help="voc/coco: the split-file folder that ltbench prepare reads "
                        "(default $LTBENCH_SPLITS, else $LTBENCH_DATA/splits)")
    parser.add_argument("--mirror", metavar="URL", help="fetch every file from URL/<its path> instead")
    parser.add_argument("--no-prepare", dest="prepare", action="store_false",
                        help="voc/coco: skip ltbench prepare after unpacking")
    parser.add_argument("--dry-run", action="store_true", help="list the files, sizes and checksums, fetch nothing")
    parser.set_defaults(func=cmd_download)


def default_splits() -> Path:
    return splits_root() or data_root() / SPLITS_FOLDER


def build_target(name: str, dest: str | None) -> catalog.Target:
    folder = Path(dest).expanduser() if dest else None
    if name in DATASET_FOLDERS:
        root = folder or data_root() / DATASET_FOLDERS[name]
        return catalog.voc(root) if name == "voc" else catalog.coco(root)
    if name == "splits":
        return catalog.splits(folder or default_splits())
    return catalog.weights(folder)


def cmd_download(args: argparse.Namespace, extra: list[str]) -> int:
    target = build_target(args.target, args.dest)
    if args.dry_run:
        for remote, folder in target.files:
            size = f"{remote.size / 1e9:.2f} GB" if remote.size else "size not published"
            print(f"{remote.source(args.mirror)} -> {folder / remote.path} ({size}; "
                  f"{remote.checksum.algorithm} {remote.checksum.expected})")
        return 0
    missing = [(r, f) for r, f in target.files if not (f / r.path).is_file()]
    if missing:  # unpacking needs about as much again
        check_free_space(missing[0][1], sum(r.size or 0 for r, _ in missing) * (2 if target.unpack_into else 1))
    for remote, folder in target.files:
        file, fetched = fetch(remote, folder, args.mirror)
        if target.unpack_into is not None:
            unpack(file, target.unpack_into, force=fetched)
        console.print(f"[green]ok[/] {file}")
    if target.prepares is not None:
        finish_dataset(target, args)
    elif args.target == "splits":
        print(f"split files in {target.files[0][1]}; pass --dataset.splits {target.files[0][1]} or set "
              f"LTBENCH_SPLITS there unless it is the default {data_root() / SPLITS_FOLDER}")
    return 0


def unpack(archive: Path, root: Path, force: bool) -> None:
    """Unpack ``archive`` into ``root`` with torchvision's helper, once (a marker records a finished unpack)."""
    from ltbench._torchvision_compat import ensure_torchvision_importable
    from ltbench.fileio.atomic import write_text

    marker = archive.with_name(archive.name + EXTRACTED)
    if marker.is_file() and not force:
        return
    ensure_torchvision_importable()
    from torchvision.datasets.utils import extract_archive

    console.print(f"unpacking {archive.name} into {root}")
    marker.unlink(missing_ok=True)
    extract_archive(str(archive), str(root))
    write_text(marker, "")


def finish_dataset(target: catalog.Target, args: argparse.Namespace) -> None:
    """``ltbench prepare`` the dataset just fetched, or say what is still missing for it."""
    from ltbench.data.prepare import prepare

    root = target.unpack_into
    splits = Path(args.splits).expanduser() if args.splits else default_splits()
    command = f"ltbench prepare {target.prepares} --root {root} --splits {splits}"
    if not args.prepare:
        print(f"unpacked into {root}; check it with: {command}")
    elif not (splits / target.prepares).is_dir():
        print(f"unpacked into {root}; no split files in {splits} yet: run ltbench download splits, then {command}")
    else:
        print(prepare(target.prepares, root=str(root), splits=str(splits)).summary())
