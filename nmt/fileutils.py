"""Atomic directory writes: build a directory under a temporary name, then rename it into place.

:func:`atomic_write` writes one file, :func:`atomic_directory` a whole directory. ``Translator.save(directory)`` and ``Translator.export(path)`` write through it,
so readers of the target see either nothing (or the previous version) or the complete
new directory, never a half-written one::

    with atomic_directory("exports/de_en", overwrite=True) as scratch:
        write_everything_into(scratch)      # an exception here leaves exports/de_en untouched
    # now exports/de_en is the complete new directory

The temporary directory lies beside the target (same parent, so the final
``os.rename`` is atomic on one file system) and is named ``.<name>.tmp-<pid>-<random>``;
it is removed when the writer raises (``KeyboardInterrupt`` included). A process
killed outright (``SIGKILL``, power loss) can leave such a directory behind, never a
partial target; the next write of the same target (or :func:`remove_leftovers`)
deletes what a process that no longer runs left behind.

Replacing an existing target takes two renames (old target aside into
``.<name>.old-<pid>-<random>/``, new one in, then the old one deleted): a reader racing
with the replacement may briefly find no target, but never a mixture of the two
versions. A process killed between the two renames leaves no target and the
previous version aside; :func:`remove_leftovers` (run by the next write) puts it back.

A failed write (a full disk, a read-only file system, no permission) raises
:class:`WriteError`, an ``OSError`` whose message names the target and the cause.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

TMP_PREFIX = "tmp-"
"""Prefix of :func:`atomic_write`'s temporary files (a run directory deletes leftovers)."""

#: :func:`atomic_write`'s temporary file of ``NAME``: ``tmp-<pid>-NAME``.
TMP_FILE = re.compile(r"^tmp-(\d+)-(.+)$")
#: :func:`atomic_directory`'s scratch and set-aside directories of ``NAME``:
#: ``.NAME.tmp-<pid>-<hex>``, ``.NAME.old-<pid>-<hex>`` (``.NAME.tmp-<hex>`` before the pid was added).
TMP_DIRECTORY = re.compile(r"^\.(.+)\.(tmp|old)-(?:(\d+)-)?[0-9a-f]{8}$")
#: ``errno`` values that say the storage refused a write (reported as such, not as a bug).
STORAGE_ERRORS = frozenset(code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG, errno.EROFS,
                                             errno.EACCES, errno.EPERM, errno.EIO) if code is not None)


class WriteError(OSError):
    """A file or directory could not be written (a full disk, a read-only file system...).

    The message names the target and the cause in one line; ``errno`` and ``filename``
    are those of the underlying ``OSError``. The previous version of the target is untouched.
    """

    def __init__(self, path: str | os.PathLike, cause: OSError):
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        detail = cause.strerror or " ".join(str(cause).split()) or type(cause).__name__
        free = _free_space(Path(path).parent)
        self.message = (f"cannot write {path}: {detail}"
                        f"{f' ({free} free on its file system)' if cause.errno in _SPACE_ERRORS and free else ''}; "
                        f"its previous version (if any) is unchanged")

    def __str__(self) -> str:
        return self.message


_SPACE_ERRORS = frozenset(code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if code)


def _free_space(directory: Path) -> str | None:
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return None
    return f"{free / 2**20:.1f} MiB"


def _process_running(pid: int) -> bool:
    """Whether process ``pid`` exists (a reused pid counts as running: its files are kept)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def remove_leftovers(path: str | os.PathLike) -> None:
    """Deletes what killed writers of ``path`` left beside it; puts a set-aside previous version back.

    Only names of :data:`TMP_FILE` (``tmp-<pid>-NAME``) and :data:`TMP_DIRECTORY`
    (``.NAME.tmp-...``, ``.NAME.old-...``) of ``path``'s own ``NAME`` are touched, and
    only those whose process no longer runs. When ``path`` is missing and a set-aside
    ``.NAME.old-.../NAME`` exists (a replacement killed between its two renames), that
    previous version is renamed back to ``path``.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return
    for entry in path.parent.iterdir():
        file = TMP_FILE.match(entry.name)
        if file and file.group(2) == path.name and not _process_running(int(file.group(1))):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                entry.unlink()
            continue
        directory = TMP_DIRECTORY.match(entry.name)
        if not directory or directory.group(1) != path.name or not entry.is_dir() or entry.is_symlink():
            continue
        if directory.group(3) is not None and _process_running(int(directory.group(3))):
            continue
        if directory.group(2) == "old" and not os.path.lexists(path) and (entry / path.name).is_dir():
            os.rename(entry / path.name, path)
        shutil.rmtree(entry, ignore_errors=True)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Writes ``path`` so that readers see either the old file or the complete new one.

    ``write(tmp_path)`` creates the content under a temporary name in the same
    directory (the name keeps ``path``'s suffixes, which Keras checks); it is then
    fsynced and renamed over ``path``. If ``write`` raises, ``path`` is untouched
    and the temporary file is removed. Temporary files of ``path`` that killed
    processes left behind are deleted first (:func:`remove_leftovers`).

    Raises:
        WriteError: an ``OSError`` while writing (a full disk...): names ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(path)
        write(str(tmp))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_directory(path.parent)
    except WriteError:
        raise
    except OSError as error:
        raise WriteError(path, error) from error
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return path


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, overwrite: bool = False,
                     replaceable: Callable[[Path], bool] | None = None,
                     what: str = "directory") -> Iterator[Path]:
    """Yields an empty temporary directory that becomes ``path`` when the block succeeds.

    Args:
        path: the target directory.
        overwrite: replace an existing ``path``; without it an existing ``path`` raises
            ``FileExistsError`` before anything is written.
        replaceable: with ``overwrite``, a check that an existing non-empty ``path`` is
            something this writer may delete (e.g. "holds a saved_model.pb"), so a
            mistyped path never wipes an unrelated directory. ``None`` accepts any.
        what: what is written, for error messages ("SavedModel", "translator").

    What killed writers of ``path`` left behind is cleaned first (:func:`remove_leftovers`).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false, or it is not a
            directory, or ``replaceable`` rejects it.
        WriteError: the storage refused a write (:data:`STORAGE_ERRORS`: a full disk...),
            in the block or while renaming: names ``path``.
    """
    path = Path(path)
    try:
        remove_leftovers(path)
        _check_target(path, overwrite, replaceable, what)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = _new_directory(path, "tmp")
    except FileExistsError:
        raise
    except OSError as error:
        raise WriteError(path, error) from error
    try:
        try:
            yield scratch
        except WriteError:
            raise
        except OSError as error:
            if error.errno in STORAGE_ERRORS:
                raise WriteError(path, error) from error
            raise
        try:
            _replace_directory(scratch, path, overwrite, replaceable, what)
        except (FileExistsError, WriteError):
            raise
        except OSError as error:
            raise WriteError(path, error) from error
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def _replace_directory(scratch: Path, path: Path, overwrite: bool,
                       replaceable: Callable[[Path], bool] | None, what: str) -> None:
    """Flushes ``scratch`` and renames it to ``path`` (setting a previous ``path`` aside, then deleting it)."""
    _fsync_tree(scratch)
    _check_target(path, overwrite, replaceable, what)  # it may have appeared meanwhile
    if os.path.lexists(path):
        old = _new_directory(path, "old")
        os.rename(path, old / path.name)
        try:
            os.rename(scratch, path)
        except BaseException:
            os.rename(old / path.name, path)  # put the previous version back
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(scratch, path)
    _fsync_directory(path.parent)


def _check_target(path: Path, overwrite: bool, replaceable: Callable[[Path], bool] | None, what: str) -> None:
    if not os.path.lexists(path):
        return
    if not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it with the new {what}")
    if path.is_symlink() or not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a directory; refusing to replace it with a {what}")
    if replaceable is not None and any(path.iterdir()) and not replaceable(path):
        raise FileExistsError(f"{path} exists and does not look like a {what}; refusing to replace it "
                              f"(remove it yourself or choose another path)")


def _new_directory(path: Path, kind: str) -> Path:
    """Creates ``.<name>.<kind>-<pid>-<random>`` beside ``path`` (with the umask's permissions, unlike mkdtemp)."""
    while True:
        candidate = path.with_name(f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue


def _fsync_tree(root: Path) -> None:
    """Flushes every file and directory under ``root`` to disk."""
    for directory, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(directory, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_directory(Path(directory))


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
