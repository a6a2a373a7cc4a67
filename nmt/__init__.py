"""nmt: neural machine translation with Keras 3 and TensorFlow.

The short public path (README, "Layout", for where each lives)::

    from nmt import load_dataset, load_run_config, Seq2Seq, Translator, load_translator
    from nmt import evaluate, load_exported, ExportedTranslator

``import nmt`` stays cheap (no TensorFlow import): it checks that tensorflow and
tensorflow-text share a minor version, and imports each name above on first use.
"""

from importlib import import_module

from nmt._versions import VersionMismatchError, __version__, check_tensorflow_versions

check_tensorflow_versions()

#: Public name -> the module that defines it (imported on first use).
_LAZY = {
    "load_dataset": "nmt.data.datasets",
    "load_run_config": "nmt.config.run",
    "Seq2Seq": "nmt.models.seq2seq",
    "Translator": "nmt.translate.translator",
    "Translation": "nmt.translate.values",
    "Hypothesis": "nmt.translate.values",
    "load_translator": "nmt.runs.load",
    "evaluate": "nmt.evaluation",
    "load_exported": "nmt.export.loader",
    "ExportedTranslator": "nmt.export.loader",
}

__all__ = ["VersionMismatchError", "__version__", "check_tensorflow_versions", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nmt' has no attribute {name!r}")
