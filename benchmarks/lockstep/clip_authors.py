"""Patches the CLIP methods' recorders share: OpenAI's CLIP on a CPU from ltbench's tensors, pickle-reading
stand-ins for mmcv / mmengine, and a DataLoader that records (or replays) the authors' shuffle; and the
recorders' command line (CPRFL's too)."""

from __future__ import annotations

import argparse
import pickle
import types
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import nn

from benchmarks.lockstep import record


def pickle_reader(patches: record.Patches, name: str, reason: str) -> None:
    """``name`` (mmcv, mmengine) as a module whose ``load`` reads a .pkl: all the authors' code asks of it."""
    module = types.ModuleType(name)
    module.load = lambda path: pickle.load(open(path, "rb"))  # noqa: SIM115 - as mmcv.load reads a .pkl
    patches.module(name, module, reason)


def openai_clip(patches: record.Patches, dtype: torch.dtype, state: dict[str, torch.Tensor],
                preprocess: Callable[[nn.Module], Any] = lambda model: None,
                structure: str = "ViT-B/16's structure, width 64, one layer") -> None:
    """``clip.load`` builds the authors' CLIP (their ``clip.model.build_model``) from ltbench's ``state`` in
    ``dtype``, with ``preprocess(model)`` as the second item; ``convert_weights`` casts to ``dtype``.
    ``structure`` says what ``state`` is, in the patch's reason."""
    clip = record.import_module("clip")
    clip_model = record.import_module("clip.model")
    patches.setattr(clip_model, "convert_weights", lambda model: model.to(dtype),
                    "float32 on a CPU (float64 for the noise floor) instead of float16 on a GPU (declared on the cards)")
    if dtype == torch.float64:
        patches.setattr(clip_model.LayerNorm, "forward", nn.LayerNorm.forward,
                        "CLIP's LayerNorm casts its input to float32 (clip/model.py, for float16 weights); the "
                        "float64 run keeps float64")

    def load(_path: str, device: str = "cpu", jit: bool = False) -> tuple[nn.Module, Any]:
        model = clip_model.build_model({k: v.clone() for k, v in state.items()}).to(dtype)
        return model, preprocess(model)
    patches.setattr(clip, "load", load, f"ltbench's CLIP ({structure}) instead of the "
                                        "checkpoint file, built by the authors' own clip.model.build_model")
    patches.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self, "CPU: .cuda() leaves tensors where they are")


def recording_loader(patches: record.Patches, drawn: list[int], replay: list[int] | None) -> None:
    """A shuffling DataLoader appends each index it draws to ``drawn``; with ``replay`` it draws those instead."""
    loader = torch.utils.data.DataLoader

    def data_loader(data: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("shuffle"):
            get = data.__getitem__

            class Recorded(type(data)):  # type: ignore[misc, valid-type]
                def __getitem__(self, idx: int) -> Any:
                    drawn.append(int(idx))
                    return get(idx)
            data.__class__ = Recorded
            if replay is not None:
                kwargs = {k: v for k, v in kwargs.items() if k != "shuffle"} | {"sampler": replay}
        return loader(data, *args, **kwargs)
    patches.setattr(torch.utils.data, "DataLoader", data_loader,
                    "records which training image each step drew (the authors' own shuffle); the float64 run "
                    "replays the float32 run's draw")


def command_line(doc: str, repository: str, commit: str, clip: bool = False,
                 presets: tuple[str, ...] = ()) -> argparse.Namespace:
    """The recorders' options: --checkout, (--clip, --preset,) --check and --set; one CPU thread (byte-identical
    JSON on the same machine type). Before recording, every citation and quote of the cards citing
    ``repository`` must hold in the checkout: a record and its cards stand on the same commit."""
    from ltbench.recipes.citations import citation_problems

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, required=True, help=f"a clone of {repository} at {commit}")
    if clip:
        parser.add_argument("--clip", type=Path, default=None, help="a checkout of OpenAI's CLIP (its clip/ package)")
    if presets:
        parser.add_argument("--preset", choices=presets, action="append", help="one record (default: every one)")
    parser.add_argument("--out", type=Path, default=record.REFERENCE_DIR,
                        help="the folder the JSON files are written to (default: tests/reference_trajectories)")
    parser.add_argument("--check", action="store_true", help="compare ltbench's side with the JSON instead")
    parser.add_argument("--set", action="append", default=[], help="with --check: an override on ltbench's side "
                        "(method.names=readable), to see one difference act")
    torch.set_num_threads(1)
    args = parser.parse_args()
    if not args.check:
        checked, problems = citation_problems(repository, args.checkout)
        if problems:
            parser.error(f"the cards citing {repository} do not hold in {args.checkout}; nothing recorded:\n  "
                         + "\n  ".join(problems))
        print(f"{checked} cards citing {repository}: every citation and quote holds in {args.checkout}")
    return args


def run_records(args: argparse.Namespace, names: Iterable[str], record_one: Callable[[str], dict[str, Any]],
                check_one: Callable[[str, dict[str, Any]], Any]) -> None:
    """Each chosen record (``--preset``, default all of ``names``): with ``--check``, print what
    ``check_one(name, committed JSON)`` finds; else write ``record_one(name)``, the authors' side, under ``--out``."""
    for name in args.preset or names:
        if args.check:
            print(name, check_one(name, record.read_reference(name)))
            continue
        path = args.out / f"{name}.json"
        record.write_reference(path, record_one(name))
        print(f"wrote {path}")
