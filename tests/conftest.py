"""Shared fixtures: the real corpora from NMT_DATA_DIR (../shared/data by default), the tiny translator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data_dir() -> Path | None:
    """The directory holding multi30k/ and anki/, or None when it is missing."""
    path = Path(os.environ.get("NMT_DATA_DIR") or _DEFAULT)
    return path if (path / "multi30k").is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real corpora; fails under CI (CI set) and skips elsewhere when they are missing."""
    path = shared_data_dir()
    if path is None:
        message = (f"real corpora not found: set NMT_DATA_DIR to a folder with multi30k/ and anki/ "
                   f"(tried {os.environ.get('NMT_DATA_DIR') or _DEFAULT})")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def tiny_translator():
    """The shared tiny SentencePiece translator (:func:`fakes.train_tiny` on :data:`fakes.PAIRS`), trained once."""
    from fakes import train_tiny

    return train_tiny()
