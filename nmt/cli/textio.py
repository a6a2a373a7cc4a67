"""Line-oriented text input/output and a stderr progress bar for the command line (:mod:`nmt.cli`).

Lines follow the corpus readers' rule (:func:`nmt.data.readers.decode_lines`): only
``\\n`` ends a line, a trailing ``\\r`` is dropped, a last line without ``\\n``
counts, so ``read_lines`` gives as many lines as ``wc -l`` (plus an unterminated
last line) and ``write_lines`` writes exactly one line per item. Other control
characters (``\\r`` inside a line, form feeds, U+2028) stay inside their line; a
UTF-8 byte order mark at the start of the input is dropped. Invalid UTF-8 is an
:class:`InputError` naming the file (``<stdin>``) and the line.

Big inputs stream: :func:`open_lines` reads (plain or ``.gz``) lazily, :func:`chunks`
groups the lines, and :func:`open_output` writes a file atomically (a temporary file
beside it, fsynced and renamed into place when the block succeeds), so memory stays
flat for any input length and an interrupted or failed command leaves no
half-written output file.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TextIO, TypeVar

T = TypeVar("T")


class InputError(ValueError):
    """A user-supplied text file cannot be read or written; the message names it."""


def open_lines(source: str | Path) -> Iterator[str]:
    """The lines of a UTF-8 file (``.gz``: gzip-compressed), or of stdin for ``"-"``, read lazily.

    A missing, unreadable or directory ``source`` raises :class:`InputError` here, before
    any line is read; invalid UTF-8 (or a damaged ``.gz``) raises it when that line is
    reached, naming the file and the line.
    """
    if str(source) == "-":
        return _lines(sys.stdin.buffer, "<stdin>")
    path = Path(source)
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a text file")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        handle = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as error:
        raise InputError(f"{path}: cannot read it ({error.strerror or error})") from None
    return _closing(_lines(handle, str(path)), handle)


def _closing(lines: Iterator[str], handle: IO[bytes]) -> Iterator[str]:
    with handle:
        yield from lines


def _lines(handle: Iterable[bytes], where: str) -> Iterator[str]:
    """:func:`nmt.data.readers.decode_lines` (one rule for every text input) with its errors as :class:`InputError`."""
    from nmt.data.readers import CorpusError, decode_lines

    try:
        yield from decode_lines(handle, where)
    except CorpusError as error:
        raise InputError(str(error)) from None


def read_lines(source: str | Path) -> list[str]:
    """All lines of a UTF-8 file, or of stdin for ``"-"``, without line terminators (:func:`open_lines`)."""
    return list(open_lines(source))


def count_lines(source: str | Path) -> int | None:
    """Lines in a plain regular file (as :func:`read_lines` counts them), read in blocks; ``None`` for others."""
    path = Path(source)
    if str(source) == "-" or path.suffix == ".gz" or not path.is_file():
        return None
    try:
        from nmt.data.readers import BOM

        with open(path, "rb") as handle:
            block = handle.read(1 << 20).removeprefix(BOM)
            count, last = 0, b""
            while block:
                count, last = count + block.count(b"\n"), block[-1:]
                block = handle.read(1 << 20)
    except OSError:
        return None
    return count + (last not in (b"", b"\n"))


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), taking only one list at a time from ``items``."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def iter_stdin_lines() -> Iterator[str]:
    """Lines of stdin as they arrive (interactive use)."""
    return _lines(iter(sys.stdin.buffer.readline, b""), "<stdin>")


@contextlib.contextmanager
def open_output(target: str | Path) -> Iterator[TextIO]:
    """A text stream for ``target``: stdout for ``"-"``, else the file, written atomically.

    The file is written under a temporary name beside it (``.NAME.tmp-PID``) and,
    when the block ends without an exception, flushed, fsynced and renamed over
    ``target``; an exception (``KeyboardInterrupt`` included) removes the temporary
    file and leaves ``target`` as it was. A process killed outright can leave the
    temporary file, never a partial ``target``. A symbolic link keeps pointing to the
    replaced file; a target that exists but is not a regular file (``/dev/null``, a
    named pipe) is written directly. Its folder must exist.
    """
    if str(target) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    path = Path(target)
    if not path.parent.is_dir():
        problem = "is not a folder" if path.parent.exists() else "does not exist"
        raise InputError(f"{path}: the folder {path.parent} {problem}")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file name")
    if path.exists() and not path.is_file():  # a device or a pipe: nothing to replace
        with _open_text(path, path) as handle:
            yield handle
        return
    final = path.resolve() if path.is_symlink() else path
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    with _open_text(tmp, path) as handle:
        try:
            if final.exists():
                shutil.copymode(final, tmp)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            tmp.unlink(missing_ok=True)
            raise
    try:
        os.replace(tmp, final)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write it ({error.strerror or error})") from None
    with contextlib.suppress(OSError):  # make the rename durable (not every file system allows it)
        folder = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _open_text(path: Path, named: Path) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8", newline="\n")
    except OSError as error:
        raise InputError(f"{named}: cannot write it ({error.strerror or error})") from None


def write_lines(stream: IO[str], lines: Sequence[str]) -> None:
    """Writes one line per item (newlines inside an item become spaces) and flushes."""
    stream.write("".join(line.replace("\r", " ").replace("\n", " ") + "\n" for line in lines))
    stream.flush()


class Progress:
    """A one-line progress report on stderr: ``label [#####-----] 50/100 lines, 12.3 lines/s``.

    On a terminal the line is redrawn in place; elsewhere (logs, pipes) only the
    final line is written, or with ``every_update`` one line per :meth:`update`.
    Without a ``total`` (a stream of unknown length) the bar is left out until the
    final line. ``enabled=False`` writes nothing.
    """

    def __init__(self, total: int | None, label: str, *, unit: str = "lines", enabled: bool = True,
                 every_update: bool = False, stream: TextIO | None = None, width: int = 30):
        self.total, self.label, self.unit, self.width = total, label, unit, width
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = 0
        self.start = time.perf_counter()
        self.live = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every_update = enabled and every_update and not self.live
        if self.live:
            self._draw()

    def update(self, count: int) -> None:
        """Adds ``count`` finished items."""
        self.done += count
        if self.live:
            self._draw()
        elif self.every_update:
            self._draw(final=True)

    def close(self) -> None:
        """Writes the final line (the total becomes the count done if it was unknown)."""
        if self.enabled:
            if self.total is None:
                self.total = self.done
            self._draw(final=True)

    def abandon(self) -> None:
        """Ends a redrawn line without the final report (before an error message)."""
        if self.live:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, final: bool = False) -> None:
        rate = self.done / max(1e-9, time.perf_counter() - self.start)
        if self.total is None:
            count = f"{self.done:,} {self.unit}"
        else:
            fraction = min(1.0, self.done / self.total) if self.total else 1.0
            filled = int(round(fraction * self.width))
            count = f"[{'#' * filled}{'-' * (self.width - filled)}] {self.done:,}/{self.total:,} {self.unit}"
        line = f"{self.label} {count}, {rate:,.1f} {self.unit}/s"
        self.stream.write(("\r" if self.live else "") + line + ("\n" if final else ""))
        self.stream.flush()
