"""Batches whose order depends only on (seed, epoch), so a resumed run replays the same batches."""

import numpy as np
import paddle


class ResumableBatchSampler(paddle.io.BatchSampler):
    """Shuffles per epoch with a seeded generator, drops the last partial batch, and can start
    part-way through an epoch. With several ranks, each takes every world_size-th batch."""

    def __init__(self, num_samples, batch_size, seed, shuffle=True, rank=0, world_size=1):
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.start_batch = 0

    def set_position(self, epoch, start_batch=0):
        self.epoch = epoch
        self.start_batch = start_batch

    def batches_per_epoch(self):
        return (self.num_samples // self.batch_size) // self.world_size

    def _order(self):
        if not self.shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.num_samples)

    def __iter__(self):
        order = self._order()
        for batch in range(self.start_batch, self.batches_per_epoch()):
            global_batch = batch * self.world_size + self.rank
            yield order[global_batch * self.batch_size:(global_batch + 1) * self.batch_size].tolist()

    def __len__(self):
        return self.batches_per_epoch() - self.start_batch
