"""Reservoir sampling (Algorithm L): uniform over subsets, deterministic for a seed, whole when the stream is small."""

import collections
import itertools

import pytest

from nmt.data.sampling import Reservoir, reservoir_sample

#: Chi-square quantiles at 0.999 (a correct sampler fails one such test in a thousand seeds' worth).
CHI2_999 = {14: 36.12, 19: 43.82, 55: 93.17}


def chi_square(counts, expected):
    return sum((count - expected) ** 2 / expected for count in counts)


def indices(sample):
    return tuple(index for index, _ in sample)


@pytest.mark.parametrize("n, size", [(6, 2), (8, 3)])
def test_every_subset_is_equally_likely(n, size):
    seeds = 60 * len(list(itertools.combinations(range(n), size)))
    counts = collections.Counter(indices(reservoir_sample(range(n), size, seed)) for seed in range(seeds))
    subsets = list(itertools.combinations(range(n), size))
    assert set(counts) == set(subsets)
    assert chi_square([counts[s] for s in subsets], seeds / len(subsets)) < CHI2_999[len(subsets) - 1]


def test_inclusion_is_uniform_along_a_long_stream():
    """Far past the fill, where Algorithm L skips most items: each of 20 stretches of 100 items equally likely."""
    seeds, n, size = 400, 2000, 25
    counts = collections.Counter(index // 100 for seed in range(seeds)
                                 for index in indices(reservoir_sample(range(n), size, seed)))
    assert chi_square([counts[k] for k in range(20)], seeds * size / 20) < CHI2_999[19]


def test_deterministic_for_a_seed_and_different_across_seeds():
    stream = [f"line {i}" for i in range(10_000)]
    first = reservoir_sample(stream, 50, seed=7)
    assert first == reservoir_sample(iter(stream), 50, seed=7)
    assert all(stream[index] == item for index, item in first)
    assert indices(first) == tuple(sorted(indices(first))) and len(set(indices(first))) == 50
    assert indices(first) != indices(reservoir_sample(stream, 50, seed=8))


@pytest.mark.parametrize("n", [0, 1, 5, 50])
def test_a_stream_no_larger_than_the_reservoir_is_taken_whole_in_order(n):
    assert reservoir_sample(range(n), 50, seed=3) == [(i, i) for i in range(n)]
    assert reservoir_sample(range(n), None, seed=3) == [(i, i) for i in range(n)]


def test_the_schedule_does_not_depend_on_how_it_is_read():
    """Asking for replacements up to different ends gives the same schedule (a file reader reads in blocks)."""
    def schedule(step):
        reservoir = Reservoir(10, seed=1)
        reservoir.fill(list(range(10)))
        found, end = [], 10
        while end < 100_000:
            end += step
            found += reservoir.replacements(end)
        return [entry for entry in found if entry[0] < 100_000]

    assert schedule(1) == schedule(997) == schedule(65_536)


def test_reservoir_checks_its_size():
    with pytest.raises(ValueError, match="size=0"):
        Reservoir(0, seed=1)
