"""The version of nmt, file format versions, and a check that tensorflow and tensorflow-text match.

Files that a run directory or a saved model keeps (``config.yaml``, ``state.json``,
``translator.json``, ``nmt_export.json``) record ``format_version`` (an integer, raised
when a change would make older versions misread the file) and ``nmt_version`` (the
writer). :func:`format_problem` turns a format this version cannot read into one line.

tensorflow-text ships compiled kernels built against one TensorFlow minor
version; with another one its ops fail to load with cryptic errors
("undefined symbol", "Op type not registered"). We check the installed
distributions' metadata (without importing TensorFlow) and fail early instead.
"""

from __future__ import annotations

from importlib import metadata

#: The version of nmt (setup.cfg says the same).
__version__ = "0.1.0"


def format_problem(path: object, found: object, writer: object, supported: int, what: str) -> str | None:
    """Why ``path`` (its ``format_version`` ``found``, written by nmt ``writer``) cannot be read, or None.

    A missing ``format_version`` (``None``: files written before versions were recorded)
    is format 1. A format newer than ``supported`` gives, e.g., "RUN/state.json was
    written by nmt 0.3.0 (state format 2); this is nmt 0.1.0 (state format 1), which
    cannot read it: use nmt 0.3.0 or newer".
    """
    if found is None:
        return None
    if isinstance(found, bool) or not isinstance(found, int) or found < 1:
        return f"{path} is damaged: its format_version is {found!r}, not a positive integer"
    if found <= supported:
        return None
    known = isinstance(writer, str) and writer.strip() != ""
    written = f"nmt {writer}" if known else "a newer version of nmt"
    advice = f"use nmt {writer} or newer" if known else "use a newer version of nmt"
    return (f"{path} was written by {written} ({what} format {found}); this is nmt {__version__} "
            f"({what} format {supported}), which cannot read it: {advice}")


class VersionMismatchError(ImportError):
    """tensorflow and tensorflow-text are missing or from different minor releases."""


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def check_tensorflow_versions(tf_version: str | None = None, text_version: str | None = None) -> None:
    """Raises VersionMismatchError unless both versions share ``major.minor``.

    Args:
        tf_version, text_version: versions to check; by default the installed
            ``tensorflow`` (or ``tensorflow-cpu``) and ``tensorflow-text``.
    """

    def installed(*names: str) -> str | None:
        for name in names:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return None

    tf_version = tf_version or installed("tensorflow", "tensorflow-cpu", "tf-nightly")
    text_version = text_version or installed("tensorflow-text", "tensorflow_text")
    if tf_version is None or text_version is None:
        missing = "tensorflow" if tf_version is None else "tensorflow-text"
        raise VersionMismatchError(
            f"nmt needs {missing}; install matching releases, for example "
            "`pip install 'tensorflow==2.21.*' 'tensorflow-text==2.21.*'`"
        )
    if _minor(tf_version) != _minor(text_version):
        major, minor = _minor(tf_version)
        raise VersionMismatchError(
            f"tensorflow {tf_version} and tensorflow-text {text_version} are from different minor "
            f"releases, so tensorflow-text's ops will not load. Install matching versions, e.g. "
            f"`pip install 'tensorflow-text=={major}.{minor}.*'` (or "
            f"`pip install 'tensorflow=={_minor(text_version)[0]}.{_minor(text_version)[1]}.*'`)."
        )
