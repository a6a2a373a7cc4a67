"""Checks that tensorflow and tensorflow-text come from the same minor release.

tensorflow-text ships compiled kernels built against one TensorFlow minor
version; with another one its ops fail to load with cryptic errors
("undefined symbol", "Op type not registered"). We check the installed
distributions' metadata (without importing TensorFlow) and fail early instead.
"""

from __future__ import annotations

from importlib import metadata

#: The version of nmt (setup.cfg says the same).
__version__ = "0.1.0"


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
