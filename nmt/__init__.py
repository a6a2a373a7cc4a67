"""nmt: neural machine translation with Keras 3 and TensorFlow.

Data flow, one module each: corpus (``nmt.data``) -> tokenizers
(``nmt.tokenizers``) -> tf.data pipeline (``nmt.data.pipeline``) -> encoder ->
attention -> decoder -> search -> evaluation / export (``nmt.export.writer``).

``import nmt`` stays cheap (no TensorFlow import); ``nmt.load_exported`` is
imported on first use.
"""

from nmt._versions import VersionMismatchError, __version__, check_tensorflow_versions

check_tensorflow_versions()

__all__ = ["VersionMismatchError", "__version__", "check_tensorflow_versions", "load_exported"]


def __getattr__(name: str):
    # Lazy: nmt.export.writer imports TensorFlow and tensorflow-text.
    if name == "load_exported":
        from nmt.export.loader import load_exported

        return load_exported
    raise AttributeError(f"module 'nmt' has no attribute {name!r}")
