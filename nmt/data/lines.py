"""Fast access to the raw lines of a text file (plain or ``.gz``) by line number, reading forward only.

:class:`LineCursor` reads the file in large blocks. Lines that are skipped are only
counted (``bytes.count`` of newlines, no Python work per line), so jumping to line
9,000,000 costs about as much as decompressing the bytes before it; lines that are
taken come back as raw ``bytes``, decoded by :func:`nmt.data.readers.decode_line`, the rule of
:func:`nmt.data.readers.decode_lines` (only ``\\n`` ends a line, a trailing ``\\r`` is
dropped, a UTF-8 byte order mark at the start of the file is dropped).
"""

from __future__ import annotations

import gzip
import io
import queue
import threading
import zlib
from pathlib import Path

from nmt.data.readers import BOM, CorpusError, PathLike

#: Bytes read at a time.
BLOCK_BYTES = 1 << 20


class LineCursor:
    """A forward-only cursor over the lines of ``path``; :attr:`line` lines have been passed.

    Use it as a context manager (or call :meth:`close`). Errors of a truncated or
    corrupt ``.gz`` are :class:`CorpusError` naming the file and the last line read.
    """

    def __init__(self, path: PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise CorpusError("no such file", self.path)
        self._blocks = _ReadAhead(self.path)
        self._buffer = b""
        self._pos = 0
        self._eof = self._started = False
        #: Lines passed so far (skipped or taken): the 0-based number of the next line.
        self.line = 0

    def __enter__(self) -> LineCursor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._blocks.close()

    def _read(self) -> bool:
        """Appends the next block to the buffer (dropping what was consumed); False at the end of the file."""
        if self._eof:
            return False
        try:
            block = self._blocks.next()
        except (OSError, EOFError, zlib.error) as error:
            detail = " ".join(str(error).split()) or type(error).__name__
            raise CorpusError(f"cannot read after line {self.line}: {detail}", self.path) from error
        if not self._started:
            self._started = True
            block = block.removeprefix(BOM)  # a BOM at the start (a file of only a BOM is empty)
        self._buffer = self._buffer[self._pos:] + block
        self._pos = 0
        self._eof = not block
        return bool(block)

    def skip(self, count: int) -> int:
        """Passes ``count`` lines without decoding them; returns how many there were (fewer at the end)."""
        left = count
        while 0 < left <= 64:  # a few lines: find them one by one (counting would scan the whole block)
            end = self._buffer.find(b"\n", self._pos)
            if end < 0:
                break
            self._pos = end + 1
            self.line += 1
            left -= 1
        while left > 0:
            newlines = self._buffer.count(b"\n", self._pos)
            if newlines >= left:
                for _ in range(left):
                    self._pos = self._buffer.index(b"\n", self._pos) + 1
                self.line += left
                return count
            left -= newlines
            self.line += newlines
            self._pos = self._buffer.rfind(b"\n") + 1 if newlines else self._pos
            if not self._read():
                if self._pos < len(self._buffer):  # a last line without a newline
                    self._pos = len(self._buffer)
                    self.line += 1
                    left -= 1
                return count - left
        return count

    def take(self, count: int) -> list[bytes]:
        """The next ``count`` raw lines (without ``\\n``); fewer at the end of the file."""
        lines: list[bytes] = []
        while len(lines) < count:
            wanted = count - len(lines)
            if wanted <= 16:  # a few lines: find them one by one (no copy of the block)
                end = self._buffer.find(b"\n", self._pos)
                if end >= 0:
                    lines.append(self._buffer[self._pos:end])
                    self._pos = end + 1
                    continue
            else:  # many: split the whole lines of the block at once
                end = self._buffer.rfind(b"\n", self._pos)
                if end >= 0:
                    chunk = self._buffer[self._pos:end].split(b"\n")
                    if len(chunk) > wanted:
                        chunk = chunk[:wanted]
                        self._pos += sum(map(len, chunk)) + wanted
                    else:
                        self._pos = end + 1
                    lines.extend(chunk)
                    continue
            if not self._read():
                if self._pos < len(self._buffer):  # a last line without a newline
                    lines.append(self._buffer[self._pos:])
                    self._pos = len(self._buffer)
                break
        self.line += len(lines)
        return lines

    def count_rest(self, limit: int | None = None) -> int:
        """Passes every line left (at most ``limit``); returns how many."""
        if limit is not None:
            return self.skip(limit)
        total = 0
        while True:
            passed = self.skip(1 << 30)
            total += passed
            if passed < 1 << 30:
                return total


class _ReadAhead:
    """Reads (and decompresses) the blocks of a file in a background thread, a few blocks ahead.

    zlib releases the GIL while it decompresses, so two aligned ``.gz`` files decompress
    in parallel with each other and with the Python work on the lines.
    """

    def __init__(self, path: Path, depth: int = 4):
        self._handle: io.BufferedIOBase = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
        self._queue: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"read-ahead {path.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                block = self._handle.read(BLOCK_BYTES)
                self._put(block)
                if not block:
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the reader, raised there
            self._put(error)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next(self) -> bytes:
        """The next block (``b""`` at the end of the file); raises what reading raised."""
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._queue.put(b"")  # later calls see the end
            raise item
        if not item:
            self._queue.put(b"")
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._handle.close()
