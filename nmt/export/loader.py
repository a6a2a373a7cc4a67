"""A SavedModel export behind the ``Translator.translate`` interface, for the CLI and evaluation.

:class:`ExportedTranslator` calls the signatures written by ``Translator.export``
(:mod:`nmt.export.writer`): ``serving_default`` with the exported decode settings,
``translate_nbest`` for another beam size, ``translate_with_attention`` for
``return_attention=True`` (attention heatmaps). Penalties and length limits are fixed
at export time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tensorflow as tf

from nmt.config.base import config_from_dict
from nmt.config.decode import DecodeConfig
from nmt.translate.values import TRANSLATIONS, Translation, translations_from_outputs

#: The export's metadata asset (written by ``nmt.export.writer``).
METADATA = Path("assets") / "nmt_export.json"


class ExportError(ValueError):
    """An export cannot do what was asked (a setting fixed at export time, a beam too large)."""


class ExportedTranslator:
    """Translates with a SavedModel export; ``translate`` accepts a ``str`` or a list of ``str``.

    Args:
        path: the export directory (holds ``saved_model.pb``).

    Attributes:
        config: the exported :class:`DecodeConfig` (defaults when the metadata is missing).
        max_beam_size: the largest beam size the export accepts.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        metadata: dict[str, Any] = {}
        if (self.path / METADATA).is_file():
            metadata = json.loads((self.path / METADATA).read_text(encoding="utf-8"))
        self.config = config_from_dict(DecodeConfig, metadata.get("decode", {}), where="decode")
        self.max_beam_size = int(metadata.get("max_beam_size", self.config.beam_size))
        self.loaded = load_exported(self.path)

    def translate(self, texts, *, beam_size: int | None = None, return_attention: bool = False,
                  batch_size: int | None = None, **fixed: Any):
        """Translations of ``texts`` (``str`` -> ``str``, list -> list), in input order.

        Args:
            beam_size: overrides the exported beam size (at most ``max_beam_size``).
            return_attention: return :class:`nmt.translate.values.Translation` objects.
            batch_size: sentences per signature call (default: the exported ``decode.batch_size``).
            **fixed: other ``Translator.translate`` overrides; only ``None`` is accepted.

        Raises:
            ExportError: a non-``None`` override of a setting fixed at export time, or a
                beam size above ``max_beam_size``.
        """
        changed = sorted(name for name, value in fixed.items() if value is not None)
        if changed:
            raise ExportError(f"{self.path} is an export: {', '.join(changed)} are fixed at export time")
        beam = self.config.beam_size if beam_size is None else beam_size
        if beam > self.max_beam_size:
            raise ExportError(f"{self.path} accepts beam sizes up to {self.max_beam_size}, not {beam}")
        single = isinstance(texts, str)
        items = [texts] if single else ["" if text is None else str(text) for text in texts]
        step = batch_size or self.config.batch_size
        results: list[Any] = []
        for start in range(0, len(items), step):
            batch = tf.constant(items[start:start + step], tf.string, shape=[len(items[start:start + step])])
            results.extend(self._call(batch, beam, return_attention))
        return results[0] if single else results

    def _call(self, text: tf.Tensor, beam: int, detailed: bool) -> list[str] | list[Translation]:
        settings = dict(beam_size=tf.constant(beam, tf.int32), num_hypotheses=tf.constant(1, tf.int32),
                        max_length=tf.constant(-1, tf.int32))
        signatures = self.loaded.signatures
        if detailed:
            out = signatures["translate_with_attention"](text=text, **settings)
            return [translations[0] for translations in translations_from_outputs(
                {key: value.numpy() for key, value in out.items()})]
        if beam == self.config.beam_size:
            texts = signatures["serving_default"](text=text)["translation"].numpy()
        else:
            texts = signatures["translate_nbest"](text=text, **settings)[TRANSLATIONS].numpy()[:, 0]
        return [t.decode("utf-8", "replace") for t in texts]


def load_exported(path: str | Path):
    """Loads an export written by :func:`export_translator` (``Translator.export``).

    Imports ``tensorflow_text`` first, which registers the tokenizer ops the graph
    uses (otherwise loading fails with "Op type not registered"), then returns
    ``tf.saved_model.load(path)``: call ``.signatures["serving_default"](text=...)``
    or the functions ``.translate``, ``.translate_nbest``, ``.translate_with_attention``.
    """
    import tensorflow_text  # noqa: F401  (registers SentencepieceOp, FastWordpiece*, ... before loading)

    path = Path(path)
    if not is_saved_model(path):
        raise FileNotFoundError(f"{path}: not a SavedModel directory (no saved_model.pb)")
    return tf.saved_model.load(str(path))


def is_saved_model(path: Path) -> bool:
    """Whether ``path`` is a directory holding a ``saved_model.pb``."""
    return (Path(path) / "saved_model.pb").is_file()
