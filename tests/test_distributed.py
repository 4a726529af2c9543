"""One run on several processes: batches split by rank, and torchrun on CPU (gloo) against one process."""

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from ltbench.data.loading import make_loader
from ltbench.data.samplers import ClassAwareSampler
from ltbench.engine.distributed import Distributed, RankSlice, shard_loader
from ltbench.errors import LtbenchError


def test_each_rank_takes_its_share_of_every_global_batch_and_the_partial_one_is_dropped():
    base = list(range(14))  # global batch 6 = 2 ranks x 3: batches [0..5], [6..11]; [12, 13] is dropped
    assert list(RankSlice(base, 0, 2, 3)) == [0, 1, 2, 6, 7, 8]
    assert list(RankSlice(base, 1, 2, 3)) == [3, 4, 5, 9, 10, 11]
    assert len(RankSlice(base, 1, 2, 3)) == 6


@pytest.mark.parametrize("sampler", ["random", "class_aware"])
def test_ranks_together_draw_the_single_process_batches(sampler):
    rng = np.random.default_rng(0)
    targets = (rng.random((40, 5)) < np.array([0.6, 0.3, 0.1, 0.05, 0.3])).astype(np.float32)
    dataset = TensorDataset(torch.arange(40), torch.from_numpy(targets))

    def loader():
        class_aware = ClassAwareSampler(targets, seed=3) if sampler == "class_aware" else None
        return make_loader(dataset, 8, shuffle=True, sampler=class_aware, seed=3, drop_last=True)

    def epochs(train_loader, n=2):
        batches = []
        for epoch in range(1, n + 1):
            train_loader.generator.manual_seed(3000 + epoch)  # as the trainer seeds each epoch
            batches += [x.tolist() for x, _ in train_loader]
        return batches

    single = epochs(loader())
    ranks = [epochs(shard_loader(loader(), Distributed(rank, 2, rank, "off"))) for rank in range(2)]
    assert [a + b for a, b in zip(*ranks)] == single  # rank 0's half then rank 1's half of each global batch
    assert len(ranks[0]) == len(single)


def test_a_global_batch_that_does_not_split_evenly_is_refused():
    dataset = TensorDataset(torch.arange(20), torch.zeros(20, 2))
    with pytest.raises(LtbenchError, match="multiple of the 3 processes"):
        shard_loader(make_loader(dataset, 8, shuffle=True), Distributed(0, 3, 0, "off"))
