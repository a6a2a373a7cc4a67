"""Readers that turn files and DataFrames into a :class:`ParallelCorpus`.

Every reader validates as it goes and raises :class:`CorpusError` naming the
file and the 1-based line at fault. ``stream_*`` readers return a
``tf.data.Dataset`` of ``(source, target)`` string scalars that reads the files
lazily, for corpora too large to hold in memory.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from nmt.data.corpus import ParallelCorpus

PathLike = str | os.PathLike
#: The UTF-8 byte order mark, dropped from the start of a text stream.
BOM = b"\xef\xbb\xbf"


class CorpusError(ValueError):
    """Invalid corpus input; ``path`` and ``line`` (1-based, or None) locate it."""

    def __init__(self, message: str, path: PathLike | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = None if path is None else str(path)
        self.line = line


def _open_binary(path: PathLike) -> io.BufferedIOBase:
    path = Path(path)
    if not path.is_file():
        raise CorpusError("no such file", path)
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def decode_lines(handle: Iterable[bytes], where: PathLike) -> Iterator[str]:
    """Decodes a binary line stream as UTF-8, without line terminators.

    Only ``\\n`` ends a line (a trailing ``\\r`` is stripped, other characters such as
    U+2028 stay inside the line, so counts agree with ``wc -l``). A UTF-8 byte order
    mark at the start of the stream is dropped (editors on Windows write one).

    Args:
        handle: an iterable of raw lines, such as a binary file or zip member.
        where: what to call the stream in errors (a path, or ``archive:member``).

    Raises:
        CorpusError: invalid UTF-8 (with the line number) or an unreadable stream (a
            truncated or corrupt ``.gz``/zip member: the last line read is named).
    """
    number = 0
    try:
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                raw = raw.removeprefix(BOM)
                if not raw:  # only a byte order mark: an empty file
                    return
            yield decode_line(raw.removesuffix(b"\n"), where, number)
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        detail = " ".join(str(error).split()) or type(error).__name__
        raise CorpusError(f"cannot read after line {number}: {detail}", where) from error


def decode_line(raw: bytes, where: PathLike, number: int) -> str:
    """One raw line (without its ``\\n``) as text without its trailing ``\\r``.

    Raises:
        CorpusError: invalid UTF-8, naming ``where`` and the 1-based line ``number``.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"invalid UTF-8 at byte {error.start} of the line", where, number) from None
    return text.removesuffix("\r")


def iter_lines(path: PathLike) -> Iterator[str]:
    """Yields the lines of a UTF-8 text file (plain or .gz); see :func:`decode_lines`."""
    with _open_binary(path) as handle:
        yield from decode_lines(handle, path)


def iter_aligned(src_path: PathLike, tgt_path: PathLike) -> Iterator[tuple[str, str]]:
    """Yields ``(source, target)`` line pairs from two aligned files.

    Raises:
        CorpusError: the files have different line counts (both counts are given,
            counted to the end of each file), or a line is invalid.
    """
    sources, targets = iter_lines(src_path), iter_lines(tgt_path)
    count = 0
    while True:
        source = next(sources, None)
        target = next(targets, None)
        if source is None or target is None:
            break
        count += 1
        yield source, target
    # One file ended: count what is left in the other to report both totals.
    src_count = count + (source is not None) + sum(1 for _ in sources)
    tgt_count = count + (target is not None) + sum(1 for _ in targets)
    if src_count != tgt_count:
        raise CorpusError(
            f"aligned files differ in length: {src_path} has {src_count} lines, "
            f"{tgt_path} has {tgt_count} lines",
            src_path if src_count > tgt_count else tgt_path,
            count + 1,
        )


def read_aligned(
    src_path: PathLike, tgt_path: PathLike, src_lang: str, tgt_lang: str, name: str | None = None
) -> ParallelCorpus:
    """Reads two aligned text files (one sentence per line, plain or .gz)."""
    sources, targets = [], []
    for source, target in iter_aligned(src_path, tgt_path):
        sources.append(source)
        targets.append(target)
    return ParallelCorpus(tuple(sources), tuple(targets), src_lang, tgt_lang,
                          name if name is not None else Path(src_path).name)


def iter_tsv(path: PathLike, src_column: int = 0, tgt_column: int = 1) -> Iterator[tuple[str, str]]:
    """Yields ``(source, target)`` from a tab-separated file with 2+ columns per row.

    Fields are split on every tab with no quoting (the Anki format
    ``English<TAB>Spanish[<TAB>attribution]``). A blank line is an error too.

    Raises:
        CorpusError: a row with too few columns, or invalid UTF-8.
    """
    yield from split_tsv(iter_lines(path), path, src_column, tgt_column)


def split_tsv(
    lines: Iterable[str], where: PathLike, src_column: int = 0, tgt_column: int = 1
) -> Iterator[tuple[str, str]]:
    """Splits decoded TSV ``lines`` into ``(source, target)``; errors name ``where`` and the line."""
    needed = max(src_column, tgt_column, 1) + 1
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) < needed:
            raise CorpusError(f"expected at least {needed} tab-separated columns, found {len(fields)}",
                              where, number)
        yield fields[src_column], fields[tgt_column]


def read_tsv(
    path: PathLike,
    src_lang: str,
    tgt_lang: str,
    *,
    src_column: int = 0,
    tgt_column: int = 1,
    name: str | None = None,
) -> ParallelCorpus:
    """Reads a TSV file of 2+ columns; ``src_column``/``tgt_column`` pick the pair."""
    pairs = list(iter_tsv(path, src_column, tgt_column))
    return ParallelCorpus(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), src_lang, tgt_lang,
                          name if name is not None else Path(path).name)


_TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def _table_format(path: Path, format: str | None) -> str:
    if not Path(path).is_file():
        raise CorpusError("no such file", path)
    suffixes = [s for s in Path(path).suffixes if s != ".gz"]
    format = format or _TABLE_FORMATS.get(suffixes[-1] if suffixes else "")
    if format not in ("csv", "tsv", "parquet"):
        raise CorpusError("cannot tell the table format from the name; pass format='csv'|'tsv'|'parquet'", path)
    return format


def _check_columns(frame: pd.DataFrame, path: Path, source: str, target: str, offset: int) -> None:
    """Both columns exist and hold only strings; ``offset`` rows came before ``frame``."""
    for column in (source, target):
        if column not in frame.columns:
            raise CorpusError(f"no column {column!r}; columns: {list(frame.columns)}", path)
    for column in (source, target):
        for row, value in enumerate(frame[column].tolist(), start=offset + 1):
            if not isinstance(value, str):
                # pandas gives no line numbers (quoted fields may span lines): name the data row.
                raise CorpusError(f"data row {row}, column {column!r}: {value!r} is not a string", path)


def read_table(
    path: PathLike,
    *,
    source: str,
    target: str,
    src_lang: str,
    tgt_lang: str,
    format: str | None = None,
    name: str | None = None,
) -> ParallelCorpus:
    """Reads a CSV, TSV (with a header row, quoting allowed) or Parquet file through pandas.

    Args:
        source, target: the column names holding the two languages.
        format: ``"csv"``, ``"tsv"`` or ``"parquet"``; by default from the suffix
            (``.gz`` compressed CSV/TSV is accepted).

    Raises:
        CorpusError: unknown format, unreadable file, missing column (lists the
            columns found) or a missing/non-string cell (with its data row).
    """
    pairs = list(iter_table(path, source=source, target=target, format=format))
    return ParallelCorpus(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), src_lang, tgt_lang,
                          name if name is not None else Path(path).name)


def from_dataframe(
    frame: pd.DataFrame,
    *,
    source: str = "source",
    target: str = "target",
    src_lang: str | None = None,
    tgt_lang: str | None = None,
) -> ParallelCorpus:
    """An in-memory DataFrame as a corpus (see :meth:`ParallelCorpus.from_frame`)."""
    return ParallelCorpus.from_frame(frame, src_lang, tgt_lang, source=source, target=target)


def stream_pairs(pairs: Callable[[], Iterator[tuple[str, str]]]):
    """A ``tf.data.Dataset`` of ``(source, target)`` string scalars read lazily.

    Args:
        pairs: a zero-argument callable returning a fresh iterator of pairs
            (called once per pass over the dataset), such as
            ``lambda: iter_aligned(src, tgt)``. Validation errors surface as
            ``tf.errors.InvalidArgumentError`` carrying the CorpusError message.
    """
    import tensorflow as tf

    spec = (tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.string))
    return tf.data.Dataset.from_generator(pairs, output_signature=spec)


def iter_table(
    path: PathLike, *, source: str, target: str, format: str | None = None, chunk_rows: int = 10_000
) -> Iterator[tuple[str, str]]:
    """Yields ``(source, target)`` from a CSV/TSV/Parquet file, ``chunk_rows`` rows at a time.

    Same rules and errors as :func:`read_table`, without holding the file in memory.
    """
    path, format = Path(path), _table_format(path, format)
    try:
        if format == "parquet":
            import pyarrow.parquet as pq

            batches = (b.to_pandas() for b in pq.ParquetFile(path).iter_batches(chunk_rows, columns=[source, target]))
        else:
            batches = pd.read_csv(path, sep="," if format == "csv" else "\t", dtype=str, keep_default_na=False,
                                  encoding="utf-8", chunksize=chunk_rows)
        offset = 0
        for frame in batches:
            _check_columns(frame, path, source, target, offset)
            yield from zip(frame[source].tolist(), frame[target].tolist())
            offset += len(frame)
    except UnicodeDecodeError as error:
        raise _utf8_error(path, error) from None
    except (ValueError, OSError, EOFError, zlib.error, pd.errors.ParserError, KeyError) as error:
        if isinstance(error, CorpusError):
            raise
        detail = " ".join(str(error).split()) or type(error).__name__
        raise CorpusError(f"cannot read {format}: {detail}", path) from error


def _utf8_error(path: PathLike, error: UnicodeDecodeError) -> CorpusError:
    """A CorpusError naming the first line of ``path`` that is not UTF-8 (pandas gives no line number)."""
    try:
        with _open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as found:
                    located = CorpusError(f"invalid UTF-8 on line {number} (byte {found.start} of the line)", path)
                    located.line = number
                    return located
    except (OSError, EOFError, zlib.error):
        pass
    return CorpusError(f"invalid UTF-8: {error}", path)


def stream_table(path: PathLike, *, source: str, target: str, format: str | None = None):
    """Streams a CSV/TSV/Parquet file; see :func:`iter_table` and :func:`stream_pairs`."""
    return stream_pairs(lambda: iter_table(path, source=source, target=target, format=format))


def stream_aligned(src_path: PathLike, tgt_path: PathLike):
    """Streams two aligned text files; see :func:`stream_pairs`."""
    return stream_pairs(lambda: iter_aligned(src_path, tgt_path))


def stream_tsv(path: PathLike, src_column: int = 0, tgt_column: int = 1):
    """Streams a TSV file of 2+ columns; see :func:`stream_pairs`."""
    return stream_pairs(lambda: iter_tsv(path, src_column, tgt_column))
