"""``ltbench prepare {voc_lt,coco_lt}``: check a local dataset copy and build its image cache."""

from __future__ import annotations

import argparse

from ltbench.cli.options import split_overrides
from ltbench.errors import LtbenchError


def cmd_prepare(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.config.layering import parse_overrides
    from ltbench.data.prepare import prepare

    overrides = parse_overrides(split_overrides(extra))
    others = [section for section in overrides if section != "dataset"]
    if others:
        raise LtbenchError(f"ltbench prepare takes dataset options only (--dataset.KEY VALUE), "
                           f"not {', '.join(others)}.")
    params = overrides.get("dataset", {})
    for option in ("root", "splits", "cache_size"):
        if getattr(args, option) is not None:
            params[option] = getattr(args, option)
    report = prepare(args.dataset, **params)
    print(report.summary())
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    prep = sub.add_parser("prepare", help="check a local VOC-LT / COCO-LT copy and build its image cache",
                          epilog="Other dataset options as --dataset.KEY VALUE.")
    prep.add_argument("dataset", choices=["voc_lt", "coco_lt"])
    prep.add_argument("--root", help="folder holding VOCdevkit/ (VOC) or annotations/ and the image folders (COCO)")
    prep.add_argument("--splits", help="folder with the split files (default $LTBENCH_SPLITS)")
    prep.add_argument("--cache-size", dest="cache_size", type=int, help="side of the cached images, e.g. 448")
    prep.set_defaults(func=cmd_prepare)
