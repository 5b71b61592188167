from linerec.training.sampler import ResumableBatchSampler


def test_same_seed_and_epoch_give_the_same_batches():
    a = ResumableBatchSampler(50, 8, seed=3)
    b = ResumableBatchSampler(50, 8, seed=3)
    a.set_position(2)
    b.set_position(2)
    assert list(a) == list(b)
    b.set_position(3)
    assert list(a) != list(b)


def test_starting_part_way_replays_the_rest_of_the_epoch():
    sampler = ResumableBatchSampler(50, 8, seed=0)
    sampler.set_position(1, 0)
    full = list(sampler)
    sampler.set_position(1, 4)
    assert list(sampler) == full[4:]
    assert len(sampler) == len(full) - 4


def test_last_partial_batch_is_dropped_and_every_index_used_once():
    sampler = ResumableBatchSampler(50, 8, seed=0)
    batches = list(sampler)
    assert len(batches) == 6 and all(len(b) == 8 for b in batches)
    flat = [i for b in batches for i in b]
    assert len(set(flat)) == len(flat)


def test_ranks_take_disjoint_batches():
    rank0 = ResumableBatchSampler(64, 4, seed=1, rank=0, world_size=2)
    rank1 = ResumableBatchSampler(64, 4, seed=1, rank=1, world_size=2)
    seen0 = {i for b in rank0 for i in b}
    seen1 = {i for b in rank1 for i in b}
    assert not seen0 & seen1 and len(seen0 | seen1) == 64
