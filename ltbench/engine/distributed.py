"""One run on several processes (``torchrun``): DistributedDataParallel, batches split by rank, rank-0 files.

A run on W processes trains on the same global batches, in the same order, as
the single-process run with the same ``train.batch_size``: every rank draws the
same global index sequence (the shuffling generator and the class-aware sampler
are seeded alike on every rank) and takes its 1/W share of each global batch;
DDP averages the gradients, so each step sees the global batch's mean loss. The
run therefore keeps the single-process run's id (its config hash): how many
processes computed it is an execution detail, like the device. The numbers
agree with the single-process run up to float summation order
(``tests/test_distributed.py`` states the tolerance). BatchNorm layers that
train become SyncBatchNorm on CUDA, so their statistics are also those of the
global batch; gloo on CPU has no SyncBatchNorm.

Only rank 0 writes files and prints; every rank resumes from the same checkpoint.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Sampler

from ltbench.errors import LtbenchError

SYNC_BN = ("auto", "on", "off")
LossComputer = Callable[[Callable[[], torch.Tensor]], torch.Tensor]  # compute_loss(closure) -> closure()'s loss


@dataclass(frozen=True)
class Distributed:
    rank: int
    world: int
    local_rank: int
    sync_bn: str  # auto: SyncBatchNorm on CUDA when BatchNorm layers train

    @property
    def is_main(self) -> bool:
        return self.rank == 0


_CURRENT: Distributed | None = None


def current() -> Distributed | None:
    """The process group this process trains in, or None for a single-process run."""
    return _CURRENT


def is_main_rank() -> bool:
    """Whether this process writes the run's files: rank 0, or the only process."""
    return _CURRENT is None or _CURRENT.is_main


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_distributed(sync_bn: str = "auto") -> Distributed | None:
    """Join torchrun's process group (NCCL on CUDA, gloo on CPU); None when not started by torchrun."""
    global _CURRENT
    if not launched_by_torchrun():
        return None
    if sync_bn not in SYNC_BN:
        raise LtbenchError(f"--sync-bn must be one of {', '.join(SYNC_BN)}, not {sync_bn!r}.")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    _CURRENT = Distributed(dist.get_rank(), dist.get_world_size(), local_rank, sync_bn)
    if not _CURRENT.is_main:
        from ltbench.progress import console

        console.quiet = True  # one voice: rank 0 reports
    return _CURRENT


def device(ctx: Distributed) -> torch.device:
    """This rank's device: its own GPU (``LOCAL_RANK``) on CUDA, else the CPU."""
    return torch.device("cuda", ctx.local_rank) if torch.cuda.is_available() else torch.device("cpu")


class RankSlice(Sampler[int]):
    """Rank r's share of each global batch of ``base``'s sequence: items ``[r*b, (r+1)*b)`` of every ``W*b`` items.

    The last, partial global batch is dropped, so every rank takes the same number of steps.
    """

    def __init__(self, base: Sampler[int], rank: int, world: int, rank_batch: int) -> None:
        self.base, self.rank, self.world, self.rank_batch = base, rank, world, rank_batch

    def __len__(self) -> int:
        return len(self.base) // (self.world * self.rank_batch) * self.rank_batch

    def __iter__(self) -> Iterator[int]:
        global_batch = self.world * self.rank_batch
        chunk: list[int] = []
        for index in self.base:
            chunk.append(index)
            if len(chunk) == global_batch:
                yield from chunk[self.rank * self.rank_batch:(self.rank + 1) * self.rank_batch]
                chunk = []

    def fast_forward(self, epochs: int) -> None:
        """Resuming: the base sampler skips the epochs already trained (class-aware sampling has a memory)."""
        if hasattr(self.base, "fast_forward"):
            self.base.fast_forward(epochs)


def shard_loader(loader: DataLoader, ctx: Distributed) -> DataLoader:
    """The train loader of this rank: same dataset and generator, its share of every global batch."""
    global_batch = loader.batch_size
    if global_batch % ctx.world:
        raise LtbenchError(f"train.batch_size={global_batch} must be a multiple of the {ctx.world} processes.")
    if len(loader.sampler) < global_batch:
        raise LtbenchError(f"The training split has {len(loader.sampler)} images, fewer than one global batch "
                           f"(train.batch_size={global_batch}); lower train.batch_size.")
    sampler = RankSlice(loader.sampler, ctx.rank, ctx.world, global_batch // ctx.world)
    return DataLoader(loader.dataset, batch_size=global_batch // ctx.world, sampler=sampler,
                      num_workers=loader.num_workers, generator=loader.generator, pin_memory=loader.pin_memory,
                      collate_fn=loader.collate_fn, worker_init_fn=loader.worker_init_fn, drop_last=True)


class _Closure(nn.Module):
    """Runs a loss closure inside DDP's forward, so any batch loss (cached features, a method's own batch_loss) syncs grads."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        return compute()


def _trains_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) and any(p.requires_grad for p in m.parameters())
               for m in model.modules())


def ddp_loss_computer(model: nn.Module, ctx: Distributed) -> LossComputer:
    """``compute_loss(closure)`` returns ``closure()``'s loss, whose backward averages gradients over the ranks.

    Wrap again whenever the set of trainable parameters changes (a new stage).
    """
    sync = ctx.sync_bn == "on" or (ctx.sync_bn == "auto" and torch.cuda.is_available() and _trains_batchnorm(model))
    if sync:
        if not torch.cuda.is_available():
            raise LtbenchError("--sync-bn on needs CUDA (SyncBatchNorm has no CPU kernel); use --sync-bn off.")
        nn.SyncBatchNorm.convert_sync_batchnorm(model)  # in place below the root; parameters are kept
    return nn.parallel.DistributedDataParallel(_Closure(model), device_ids=None)


def for_stage(loader: DataLoader, model: nn.Module) -> tuple[DataLoader, LossComputer]:
    """A training stage's loader and loss computer: as they are in one process; this rank's share and DDP under torchrun."""
    ctx = current()
    if ctx is None:
        return loader, _call
    return shard_loader(loader, ctx), ddp_loss_computer(model, ctx)


def _call(compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    return compute()


def mean_over_ranks(total: float, count: int) -> float:
    """The mean of a per-sample quantity (the epoch's training loss) over every rank's samples."""
    ctx = current()
    if ctx is None:
        return total / max(count, 1)
    sums = torch.tensor([total, float(count)], dtype=torch.float64)
    dist.all_reduce(sums)
    return float(sums[0] / max(sums[1].item(), 1.0))


@contextlib.contextmanager
def main_rank_lock(lock: Callable[[], contextlib.AbstractContextManager[None]],
                   ctx: Distributed | None) -> Iterator[None]:
    """Rank 0 takes ``lock()`` (the run's lock) for all ranks; if it cannot, every rank stops with its error."""
    if ctx is None:
        with lock():
            yield
        return
    with contextlib.ExitStack() as stack:
        error = [None]
        if ctx.is_main:
            try:
                stack.enter_context(lock())
            except LtbenchError as exc:
                error = [str(exc)]
        dist.broadcast_object_list(error, src=0)
        if error[0]:
            raise LtbenchError(error[0])
        yield
