"""Line-oriented text input/output and a stderr progress bar for the command line (:mod:`nmt.cli`).

Lines follow the corpus readers' rule (:func:`nmt.data.readers.decode_lines`): only
``\\n`` ends a line, a trailing ``\\r`` is dropped, a last line without ``\\n``
counts, so ``read_lines`` gives as many lines as ``wc -l`` (plus an unterminated
last line) and ``write_lines`` writes exactly one line per item. Other control
characters (``\\r`` inside a line, form feeds, U+2028) stay inside their line; a
UTF-8 byte order mark at the start of the input is dropped. Invalid UTF-8 is an
:class:`InputError` naming the file (``<stdin>``) and the line.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TextIO


class InputError(ValueError):
    """A user-supplied text file cannot be read or written; the message names it."""


#: The UTF-8 byte order mark, dropped from the start of the input.
_BOM = b"\xef\xbb\xbf"


def _decode(raw: bytes, where: str, number: int) -> str:
    try:
        return raw.decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError as error:
        raise InputError(f"{where}:{number}: invalid UTF-8 at byte {error.start} of the line") from None


def read_lines(source: str | Path) -> list[str]:
    """All lines of a UTF-8 file, or of stdin for ``"-"``, without line terminators."""
    where = "<stdin>" if str(source) == "-" else str(source)
    if where == "<stdin>":
        data = sys.stdin.buffer.read()
    else:
        path = Path(source)
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a text file")
        if not path.exists():
            raise InputError(f"{path}: no such file")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InputError(f"{path}: cannot read it ({error.strerror or error})") from None
    data = data.removeprefix(_BOM)
    if not data:
        return []
    raw_lines = data.split(b"\n")
    if data.endswith(b"\n"):
        raw_lines.pop()
    return [_decode(raw, where, number) for number, raw in enumerate(raw_lines, start=1)]


def iter_stdin_lines() -> Iterator[str]:
    """Lines of stdin as they arrive (interactive use)."""
    for number, raw in enumerate(iter(sys.stdin.buffer.readline, b""), start=1):
        yield _decode((raw.removeprefix(_BOM) if number == 1 else raw).removesuffix(b"\n"), "<stdin>", number)


@contextlib.contextmanager
def open_output(target: str | Path) -> Iterator[TextIO]:
    """A text stream for ``target``: stdout for ``"-"``, else the file (its folder must exist)."""
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
    try:
        handle = open(path, "w", encoding="utf-8", newline="\n")
    except OSError as error:
        raise InputError(f"{path}: cannot write it ({error.strerror or error})") from None
    with handle:
        yield handle


def write_lines(stream: IO[str], lines: Sequence[str]) -> None:
    """Writes one line per item (newlines inside an item become spaces) and flushes."""
    stream.write("".join(line.replace("\r", " ").replace("\n", " ") + "\n" for line in lines))
    stream.flush()


class Progress:
    """A one-line progress bar on stderr: ``label [#####-----] 50/100 lines, 12.3 lines/s``.

    On a terminal the line is redrawn in place; elsewhere (logs, pipes) only the
    final line is written. ``enabled=False`` writes nothing.
    """

    def __init__(self, total: int, label: str, *, unit: str = "lines", enabled: bool = True,
                 stream: TextIO | None = None, width: int = 30):
        self.total, self.label, self.unit, self.width = total, label, unit, width
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = 0
        self.start = time.perf_counter()
        self.live = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        if self.live:
            self._draw()

    def update(self, count: int) -> None:
        """Adds ``count`` finished items."""
        self.done += count
        if self.live:
            self._draw()

    def close(self) -> None:
        """Writes the final line."""
        if self.enabled:
            self._draw(final=True)

    def _draw(self, final: bool = False) -> None:
        fraction = self.done / self.total if self.total else 1.0
        filled = int(round(fraction * self.width))
        rate = self.done / max(1e-9, time.perf_counter() - self.start)
        line = (f"{self.label} [{'#' * filled}{'-' * (self.width - filled)}] {self.done:,}/{self.total:,} "
                f"{self.unit}, {rate:,.1f} {self.unit}/s")
        self.stream.write(("\r" if self.live else "") + line + ("\n" if final else ""))
        self.stream.flush()
