"""nmt: neural machine translation with Keras 3 and TensorFlow.

Data flow, one module each: corpus (``nmt.data``) -> tokenizers
(``nmt.tokenizers``) -> tf.data pipeline (``nmt.pipeline``) -> encoder ->
attention -> decoder -> search -> evaluation / export (``nmt.export``).

``import nmt`` stays cheap (no TensorFlow import); ``nmt.load_exported`` is
imported on first use.
"""

from nmt._versions import VersionMismatchError, check_tensorflow_versions

check_tensorflow_versions()

__version__ = "0.1.0"

__all__ = ["VersionMismatchError", "__version__", "check_tensorflow_versions", "load_exported"]


def __getattr__(name: str):
    # Lazy: nmt.export imports TensorFlow and tensorflow-text.
    if name == "load_exported":
        from nmt.export import load_exported

        return load_exported
    raise AttributeError(f"module 'nmt' has no attribute {name!r}")
