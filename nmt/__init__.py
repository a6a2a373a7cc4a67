"""nmt: neural machine translation with Keras 3 and TensorFlow.

Data flow, one module each: corpus (``nmt.data``) -> tokenizers
(``nmt.tokenizers``) -> tf.data pipeline (``nmt.pipeline``) -> encoder ->
attention -> decoder -> search -> evaluation / export.
"""

from nmt._versions import VersionMismatchError, check_tensorflow_versions

check_tensorflow_versions()

__version__ = "0.1.0"

__all__ = ["VersionMismatchError", "__version__", "check_tensorflow_versions"]
