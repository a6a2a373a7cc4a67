"""Training pairs read from disk as a stream: blocks of cleaned pairs, and a uniform sample in one fast pass.

A :class:`PairStream` reads the training split of ``data.dataset: files`` (two aligned
files, plain or ``.gz``, or one headerless TSV file) from its first line on every
pass, never holding more than one block:

* :meth:`PairStream.blocks` yields the pairs in blocks of a fixed number of *lines*
  (block ``b`` is lines ``[b * lines, (b + 1) * lines)`` of the first
  ``max_train_pairs``), decoded, cleaned (:class:`nmt.data.cleaning.PairCleaner`,
  the in-memory path's rules) and counted; the cleaning report of each pass is logged.
  Because a block starts at a known line, a pass can start at any block: the lines
  before it are only counted (:class:`nmt.data.lines.LineCursor`), which is how a
  resumed run finds its place (:func:`nmt.data.pipeline.stream_batches`).
* :meth:`PairStream.sample` draws a seeded uniform random sample of the pairs in one
  pass (:mod:`nmt.data.sampling`, Algorithm L): only the lines that enter the
  reservoir are read, the others are counted, and only the final sample is decoded
  and cleaned. It is a uniform sample of the lines; the pairs cleaning drops are then
  left out, which keeps it a uniform sample of the cleaned pairs (slightly smaller).
  A corpus of at most ``size`` pairs is taken whole, in order: exactly the in-memory
  path's cleaned corpus.

Errors name the file and the 1-based line (:class:`nmt.data.readers.CorpusError`):
invalid UTF-8, a TSV row with too few columns (both skipped and counted with
``on_error="skip"``), aligned files of different lengths (always an error).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Literal

from nmt.config.cleaning import CleaningConfig
from nmt.config.data import DataConfig
from nmt.data.cleaning import CleaningReport, PairCleaner
from nmt.data.corpus import ParallelCorpus
from nmt.data.lines import LineCursor
from nmt.data.readers import CorpusError, decode_line
from nmt.data.sampling import Reservoir

#: Lines read at a time while a reservoir fills.
_FILL_LINES = 1 << 16


@dataclasses.dataclass(frozen=True)
class PairFiles:
    """Where the pairs of a ``files`` split are.

    Attributes:
        paths: ``(source_file, target_file)`` for aligned files, ``(tsv_file,)`` for TSV.
        columns: for TSV, the 0-based source and target columns.
        src_lang, tgt_lang: the language codes.
        name: what reports call the split (the configured path).
    """

    paths: tuple[Path, ...]
    src_lang: str
    tgt_lang: str
    columns: tuple[int, int] = (0, 1)
    name: str = ""

    @property
    def aligned(self) -> bool:
        return len(self.paths) == 2


def split_files(data: DataConfig, where: str) -> PairFiles:
    """The files of split ``where`` (a path) of ``data.dataset: files``, read as aligned files or TSV.

    Raises:
        CorpusError: an aligned file ``PREFIX.{lang}`` (or ``.gz``) is missing.
        ValueError: the split is a table (CSV/Parquet), which is not read line by line.
    """
    src, tgt = data.pair.split("-")
    form = data.split_format(where)
    if form == "table":
        raise ValueError(f"{where} is a table, read whole by nmt.data.read_table, not line by line")
    if form == "tsv":
        columns = (int(data.source_column or 0), int(1 if data.target_column is None else data.target_column))
        return PairFiles((Path(where),), src, tgt, columns, name=str(where))
    files = []
    for lang in (src, tgt):
        candidates = [Path(f"{where}.{lang}"), Path(f"{where}.{lang}.gz")]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise CorpusError(f"no file {candidates[0].name} or {candidates[1].name} (aligned files PREFIX.{lang})",
                              candidates[0].parent)
        files.append(found)
    return PairFiles(tuple(files), src, tgt, name=str(where))


@dataclasses.dataclass(frozen=True)
class Sample:
    """What :meth:`PairStream.sample` drew.

    Attributes:
        corpus: the sampled pairs that survive cleaning, in file order.
        lines: pairs (lines) in the stream (the first ``max_train_pairs`` at most).
        drawn: pairs drawn into the reservoir (``min(size, lines)``).
        seconds: time of the pass.
    """

    corpus: ParallelCorpus
    lines: int
    drawn: int
    seconds: float

    def __str__(self) -> str:
        rate = self.lines / max(self.seconds, 1e-9)
        return (f"uniform sample of {self.drawn:,} of {self.lines:,} pairs ({len(self.corpus):,} after cleaning) "
                f"in {self.seconds:.1f} s ({rate:,.0f} lines/s)")


class PairStream:
    """The training pairs of some files, read and cleaned on the fly; see the module doc.

    Args:
        files: the files (:func:`split_files`).
        cleaning: the cleaning rules (``deduplicate`` is refused: it holds every pair seen).
        on_error: ``raise`` a :class:`CorpusError` at an unreadable line, or ``skip`` it (counted).
        limit: read only the first ``limit`` pairs (``max_train_pairs``).
        log: where each pass's cleaning report goes (``None``: nowhere).
    """

    def __init__(self, files: PairFiles, cleaning: CleaningConfig = CleaningConfig(),
                 on_error: Literal["raise", "skip"] = "raise", limit: int | None = None, log=None):
        if cleaning.deduplicate:
            raise ValueError("a stream cannot deduplicate (it would hold every pair seen)")
        self.files, self.cleaning, self.on_error, self.limit, self.log = files, cleaning, on_error, limit, log
        #: The cleaning report of the last finished pass (``None`` before one finished).
        self.report: CleaningReport | None = None
        #: The CorpusError that ended a pass read inside ``tf.data`` (which re-raises it as
        #: ``tf.errors.InvalidArgumentError``); see :meth:`raise_error`.
        self.error: CorpusError | None = None

    @classmethod
    def of(cls, data: DataConfig, log=None) -> PairStream:
        """The stream of ``data``'s training split (``data.streaming``)."""
        return cls(split_files(data, data.train), data.cleaning, data.on_error, data.max_train_pairs, log)

    @property
    def name(self) -> str:
        return self.files.name

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Turns the ``tf.errors.OpError`` a stream error became inside ``tf.data`` back into the CorpusError."""
        import tensorflow as tf

        self.error = None
        try:
            yield
        except tf.errors.OpError:
            if self.error is not None:
                raise self.error from None
            raise

    # ------------------------------------------------------------------ reading lines
    def _open(self, stack: ExitStack) -> list[LineCursor]:
        return [stack.enter_context(LineCursor(path)) for path in self.files.paths]

    def _misaligned(self, cursors: Sequence[LineCursor]) -> CorpusError:
        """The error for aligned files that ended at different lines (counts both to the end)."""
        counts = [cursor.line + cursor.count_rest() for cursor in cursors]
        shorter = min(counts)
        longer = cursors[counts.index(max(counts))].path
        return CorpusError(f"aligned files differ in length: {cursors[0].path} has {counts[0]} lines, "
                           f"{cursors[1].path} has {counts[1]} lines (not skippable: a missing line shifts every "
                           f"pair after it)", longer, shorter + 1)

    def _skip(self, cursors: Sequence[LineCursor], count: int) -> int:
        passed = [cursor.skip(count) for cursor in cursors]
        if len(set(passed)) > 1:
            raise self._misaligned(cursors)
        return passed[0]

    def _take(self, cursors: Sequence[LineCursor], count: int) -> list[list[bytes]]:
        """The next ``count`` raw lines of every file (one list per file, of equal lengths)."""
        columns = [cursor.take(count) for cursor in cursors]
        if len({len(column) for column in columns}) > 1:
            raise self._misaligned(cursors)
        return columns

    def _left(self, line: int) -> int | None:
        """Lines the stream still has from ``line`` on, by ``limit`` (``None``: no limit)."""
        return None if self.limit is None else max(0, self.limit - line)

    def _decode(self, row: tuple[bytes, ...], index: int) -> tuple[str, str] | None:
        """Line ``index`` (0-based) as ``(source, target)``; ``None`` when ``on_error: skip`` skips it."""
        try:
            texts = [decode_line(raw, path, index + 1) for raw, path in zip(row, self.files.paths)]
            if self.files.aligned:
                return texts[0], texts[1]
            fields = texts[0].split("\t")
            needed = max(*self.files.columns, 1) + 1
            if len(fields) < needed:
                raise CorpusError(f"expected at least {needed} tab-separated columns, found {len(fields)}",
                                  self.files.paths[0], index + 1)
            return fields[self.files.columns[0]], fields[self.files.columns[1]]
        except CorpusError:
            if self.on_error == "skip":
                return None
            raise

    # ------------------------------------------------------------------ passes
    def blocks(self, lines: int, start_block: int = 0, pass_index: int = 0
               ) -> Iterator[tuple[int, list[str], list[str]]]:
        """Yields ``(block, sources, targets)``: the cleaned pairs of every block of ``lines`` lines.

        Starts at block ``start_block`` (the lines before it are counted, not read), ends
        with the stream. When the pass ends its cleaning report is stored in
        :attr:`report` and logged (``pass_index`` names the pass in the log).

        Raises:
            CorpusError: see the module doc; also a pass that keeps no pair at all.
        """
        cleaner = PairCleaner(self.cleaning, self.name)
        with ExitStack() as stack:
            cursors = self._open(stack)
            first_line = start_block * lines
            if self._skip(cursors, first_line if self.limit is None else min(first_line, self.limit)) < first_line:
                return  # the stream is shorter than the start: nothing left in this pass
            block = start_block
            while True:
                left = self._left(block * lines)
                count = lines if left is None else min(lines, left)
                rows = list(zip(*self._take(cursors, count))) if count else []
                sources, targets = [], []
                for offset, row in enumerate(rows):
                    pair = self._decode(row, block * lines + offset)
                    if pair is None:
                        cleaner.skip()
                        continue
                    pair = cleaner(*pair)
                    if pair is not None:
                        sources.append(pair[0])
                        targets.append(pair[1])
                if rows:
                    yield block, sources, targets
                if len(rows) < lines:
                    break
                block += 1
        self.report = cleaner.report()
        if self.log is not None:
            where = f", from line {start_block * lines + 1:,}" if start_block else ""
            self.log(f"  cleaning (pass {pass_index + 1}{where}): {self.report}")

    def pairs(self) -> Iterator[tuple[str, str]]:
        """The cleaned pairs of one pass, in file order (the in-memory path's corpus, read as a stream)."""
        for _, sources, targets in self.blocks(_FILL_LINES):
            yield from zip(sources, targets)

    def sample(self, size: int | None, seed: int) -> Sample:
        """A uniform random sample of ``size`` pairs (all when ``None`` or the stream is smaller); see the module doc.

        Raises:
            CorpusError: misaligned files; an unreadable line among those drawn (``on_error: raise``);
                no pair left after cleaning.
        """
        start = time.perf_counter()
        reservoir: Reservoir[tuple[bytes, ...]] = Reservoir(size, seed)
        with ExitStack() as stack:
            cursors = self._open(stack)
            position = 0  # 0-based number of the next line of the cursors
            while True:
                target = reservoir.next_index
                if self.limit is not None and target >= self.limit:
                    break
                if target - position > _FILL_LINES:  # a long gap: count the lines, do not split them
                    position += self._skip(cursors, target - position)
                    if position < target:
                        break
                left = self._left(position)
                count = _FILL_LINES if left is None else min(_FILL_LINES, left)
                columns = self._take(cursors, count)
                taken = len(columns[0])
                if reservoir.filling:
                    reservoir.fill(list(zip(*columns)))
                for index, slot in reservoir.replacements(position + taken):
                    reservoir.put(index, slot, tuple(column[index - position] for column in columns))
                position += taken
                if taken < count or not count:
                    break
            left = self._left(position)
            position += self._skip(cursors, (1 << 62) if left is None else left)
        cleaner = PairCleaner(self.cleaning, self.name)
        sources, targets = [], []
        drawn = reservoir.sample()
        for index, row in drawn:
            pair = self._decode(row, index)
            pair = None if pair is None else cleaner(*pair)
            if pair is not None:
                sources.append(pair[0])
                targets.append(pair[1])
        if not sources:
            raise CorpusError(f"no training pairs left in {self.name} after cleaning"
                              f"{' (the file is empty)' if not position else ''}")
        corpus = ParallelCorpus(tuple(sources), tuple(targets), self.files.src_lang, self.files.tgt_lang, self.name)
        return Sample(corpus, position, len(drawn), time.perf_counter() - start)
