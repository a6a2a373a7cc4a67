"""Atomic directory writes: build a directory under a temporary name, then rename it into place.

:func:`atomic_write` writes one file, :func:`atomic_directory` a whole directory. ``Translator.save(directory)`` and ``Translator.export(path)`` write through it,
so readers of the target see either nothing (or the previous version) or the complete
new directory, never a half-written one::

    with atomic_directory("exports/de_en", overwrite=True) as scratch:
        write_everything_into(scratch)      # an exception here leaves exports/de_en untouched
    # now exports/de_en is the complete new directory

The temporary directory lies beside the target (same parent, so the final
``os.rename`` is atomic on one file system) and is named ``.<name>.tmp-<random>``;
it is removed when the writer raises (``KeyboardInterrupt`` included). A process
killed outright (``SIGKILL``, power loss) can leave such a directory behind, never a
partial target.

Replacing an existing target takes two renames (old target aside, new one in, then
the old one deleted): a reader racing with the replacement may briefly find no
target, but never a mixture of the two versions.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

TMP_PREFIX = "tmp-"
"""Prefix of :func:`atomic_write`'s temporary files (a run directory deletes leftovers)."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Writes ``path`` so that readers see either the old file or the complete new one.

    ``write(tmp_path)`` creates the content under a temporary name in the same
    directory (the name keeps ``path``'s suffixes, which Keras checks); it is then
    fsynced and renamed over ``path``. If ``write`` raises, ``path`` is untouched
    and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        write(str(tmp))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
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

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false, or it is not a
            directory, or ``replaceable`` rejects it.
    """
    path = Path(path)
    _check_target(path, overwrite, replaceable, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = _new_directory(path, "tmp")
    try:
        yield scratch
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
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


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
    """Creates ``.<name>.<kind>-<random>`` beside ``path`` (with the umask's permissions, unlike mkdtemp)."""
    while True:
        candidate = path.with_name(f".{path.name}.{kind}-{secrets.token_hex(4)}")
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
