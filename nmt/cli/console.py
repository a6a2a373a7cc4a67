"""Exit statuses, one-line user errors and quiet TensorFlow start-up for the command line."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

PROG = "nmt"


USER_ERROR = 2


INTERRUPTED = 130
#: Exit status when stdout's reader has gone away (128 + SIGPIPE, what a shell reports for `cat`).
BROKEN_PIPE = 141


class UsageError(Exception):
    """A mistake in the command line or its inputs: reported in one line, exit status 2."""


# ----------------------------------------------------------------------------- TensorFlow
@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Hides what C++ libraries write to file descriptor 2 (TensorFlow's import-time notices).

    If the block raises, the hidden text is written to stderr after all, then the
    error propagates. ``TF_CPP_MIN_LOG_LEVEL=0`` turns the hiding off.
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        yield
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as hidden:
        os.dup2(hidden.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                hidden.seek(0)
                sys.stderr.write(hidden.read().decode("utf-8", "replace"))


def import_tensorflow() -> None:
    """Imports TensorFlow, Keras and tensorflow-text without their start-up notices on stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_stderr():
        import keras  # noqa: F401
        import tensorflow as tf
        import tensorflow_text  # noqa: F401

        tf.config.list_physical_devices()  # device discovery logs (cuInit...) happen here


# ----------------------------------------------------------------------------- entry point
def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that are the user's to fix (one line, exit 2)."""
    from nmt.cli.textio import InputError
    from nmt.config.base import ConfigError
    from nmt.data import CorpusError, DatasetError, DownloadError
    from nmt.export.loader import ExportError
    from nmt.fileutils import WriteError
    from nmt.runs.layout import RunError
    from nmt.training.state import StateError

    return (UsageError, InputError, ConfigError, CorpusError, DatasetError, DownloadError, RunError, ExportError,
            StateError, WriteError)


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
