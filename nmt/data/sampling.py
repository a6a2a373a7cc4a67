"""Uniform random samples of a stream in one pass: reservoir sampling (Li's Algorithm L).

A reservoir of ``size`` slots holds a uniform random sample of the items seen so far.
Algorithm L (K.-H. Li, "Reservoir-sampling algorithms of time complexity
O(n(1 + log(N/n)))", ACM TOMS 1994) draws, after each replacement, how many items to
pass before the next one enters, so a stream of ``N`` items costs O(size (1 +
log(N / size))) random draws and the items in between need not be looked at: a file
reader counts those lines instead of decoding them (:class:`nmt.data.lines.LineCursor`).

The schedule of replacements (which item enters which slot) does not depend on the
items, so it is drawn with NumPy a batch at a time: the weight ``W`` is a running
product of ``u ** (1 / size)`` (a cumulative sum of logs) and the gaps follow from it.

The sample is a uniformly random ``size``-subset of the stream (every subset equally
likely), deterministic for a seed; a stream of at most ``size`` items is taken whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")

#: Replacements drawn at a time (fixed: the schedule must not depend on how it is read).
_BATCH = 1024
#: Indices beyond any real stream (float64 holds integers exactly up to 2**53).
_FAR = float(2 ** 52)


class Reservoir(Generic[T]):
    """A seeded reservoir fed by position.

    While it fills (:attr:`filling` > 0) every item enters (:meth:`fill`); then
    :meth:`replacements` says which items enter which slots, so the caller reads only
    those (:meth:`put` them). Items not named are passed over.

    Args:
        size: slots; ``None`` keeps every item.
        seed: seeds a private ``numpy.random.Generator`` (nothing global is touched).
    """

    def __init__(self, size: int | None, seed: int):
        if size is not None and size < 1:
            raise ValueError(f"size={size} must be a positive number of slots or None")
        self.size = size
        self._random = np.random.default_rng(seed)
        self._slots: list[tuple[int, T]] = []
        self._log_weight = 0.0  # log W
        self._last = 0.0  # index of the last item that entered (float: see _FAR)
        self._pending = (np.zeros(0), np.zeros(0, np.int64))  # drawn replacements: indices, slots

    @property
    def filling(self) -> int:
        """How many of the next items enter unconditionally (the empty slots; 0 once full)."""
        if self.size is None:
            return 1 << 62
        return self.size - len(self._slots)

    @property
    def next_index(self) -> int:
        """The 0-based index of the next item that enters the sample."""
        if self.filling:
            return len(self._slots)
        self._draw()
        return int(self._pending[0][0])

    def fill(self, items: Sequence[T]) -> int:
        """Puts the next items (from :attr:`next_index` on) into empty slots; returns how many entered."""
        start = len(self._slots)
        taken = items[:self.filling]
        self._slots.extend(zip(range(start, start + len(taken)), taken))
        if not self.filling:
            self._last = float(len(self._slots) - 1)
        return len(taken)

    def _draw(self) -> None:
        """Makes sure at least one replacement is pending."""
        if len(self._pending[0]):
            return
        size, draws = self.size, self._random.random((3, _BATCH))
        log_weight = self._log_weight + np.cumsum(np.log1p(-draws[0]) / size)  # 1 - u: never log(0)
        gaps = np.floor(np.log1p(-draws[1]) / np.log1p(-np.exp(log_weight)))
        indices = np.minimum(self._last + np.cumsum(np.minimum(gaps, _FAR) + 1), _FAR)
        slots = np.minimum((draws[2] * size).astype(np.int64), size - 1)
        self._log_weight, self._last = float(log_weight[-1]), float(indices[-1])
        self._pending = (indices, slots)

    def replacements(self, end: int) -> list[tuple[int, int]]:
        """``(index, slot)`` of every replacement with ``index < end``, in order; the caller must :meth:`put` each."""
        found: list[tuple[int, int]] = []
        if self.filling:
            return found
        while True:
            self._draw()
            indices, slots = self._pending
            cut = int(np.searchsorted(indices, end))
            found.extend(zip(indices[:cut].astype(np.int64).tolist(), slots[:cut].tolist()))
            self._pending = (indices[cut:], slots[cut:])
            if cut < len(indices):
                return found

    def put(self, index: int, slot: int, item: T) -> None:
        """Item ``index`` enters ``slot`` (as :meth:`replacements` said)."""
        self._slots[slot] = (index, item)

    def sample(self) -> list[tuple[int, T]]:
        """The ``(index, item)`` pairs of the sample, in stream order."""
        return sorted(self._slots, key=lambda slot: slot[0])


def reservoir_sample(items: Iterable[T], size: int | None, seed: int) -> list[tuple[int, T]]:
    """A uniform random sample of ``size`` of ``items`` (all when fewer), as ``(index, item)`` in stream order.

    Passes over the items that cannot enter the sample without looking at them.
    """
    reservoir: Reservoir[T] = Reservoir(size, seed)
    iterator = iter(items)
    while reservoir.filling:
        wanted = min(reservoir.filling, 1 << 16)
        chunk = list(itertools.islice(iterator, wanted))
        reservoir.fill(chunk)
        if len(chunk) < wanted:
            return reservoir.sample()
    position = reservoir.size  # items consumed so far
    while True:
        index = reservoir.next_index
        item = next(itertools.islice(iterator, index - position, None), _END)
        if item is _END:
            return reservoir.sample()
        for entered, slot in reservoir.replacements(index + 1):
            reservoir.put(entered, slot, item)
        position = index + 1


_END = object()
