"""A SavedModel export behind the ``Translator.translate`` interface, for the CLI and evaluation.

:class:`ExportedTranslator` calls the signatures written by ``Translator.export``
(:mod:`nmt.export.writer`): ``serving_default`` with the exported decode settings,
``translate_nbest`` for another beam size, ``translate_with_attention`` for
``return_attention=True`` (attention heatmaps). Penalties and length limits are fixed
at export time.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import tensorflow as tf

from nmt._versions import format_problem
from nmt.config.base import ConfigError, config_from_dict
from nmt.config.decode import DecodeConfig
from nmt.translate.values import TRANSLATIONS, Translation, translations_from_outputs

#: The export's metadata asset (written by ``nmt.export.writer``).
METADATA = Path("assets") / "nmt_export.json"
#: The layout of the export (its signatures and metadata) this version writes and reads.
EXPORT_FORMAT_VERSION = 1


class ExportError(ValueError):
    """An export cannot do what was asked (a setting fixed at export time, a beam too large), or
    cannot be read (a damaged ``saved_model.pb``, variables or metadata); the message names the path."""


class ExportedTranslator:
    """Translates with a SavedModel export; ``translate`` accepts a ``str`` or a list of ``str``.

    Args:
        path: the export directory (holds ``saved_model.pb``).

    Attributes:
        config: the exported :class:`DecodeConfig` (defaults when the metadata is missing).
        max_beam_size: the largest beam size the export accepts.

    Raises:
        FileNotFoundError: ``path`` holds no ``saved_model.pb``.
        ExportError: the metadata asset or the SavedModel cannot be read.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        metadata = _read_metadata(self.path / METADATA)
        problem = format_problem(self.path / METADATA, metadata.get("format_version"), metadata.get("nmt_version"),
                                 EXPORT_FORMAT_VERSION, "export")
        if problem:
            raise ExportError(problem)
        try:
            self.config = config_from_dict(DecodeConfig, metadata.get("decode", {}), where="decode")
            self.max_beam_size = metadata.get("max_beam_size", self.config.beam_size)
            if isinstance(self.max_beam_size, bool) or not isinstance(self.max_beam_size, int):
                raise ConfigError(f"max_beam_size={self.max_beam_size!r} must be an integer")
        except ConfigError as error:
            raise ExportError(f"{self.path / METADATA}: {error}") from None
        self.loaded = load_exported(self.path)

    def translate(self, texts, *, beam_size: int | None = None, return_attention: bool = False,
                  batch_size: int | None = None, **fixed: Any):
        """Translations of ``texts`` (``str`` -> ``str``, list -> list), in input order.

        Args:
            beam_size: overrides the exported beam size (at most ``max_beam_size``).
            return_attention: return :class:`nmt.translate.values.Translation` objects.
            batch_size: sentences per signature call (default: the exported ``decode.batch_size``).
            **fixed: other ``Translator.translate`` overrides; only ``None`` is accepted.

        Inputs are read as ``Translator.translate`` reads them: ``None`` and NaN are
        ``""``, ``bytes`` are decoded as UTF-8 and text is encoded as UTF-8, invalid
        sequences and lone surrogates replaced, so both give the same strings.

        Raises:
            ExportError: a non-``None`` override of a setting fixed at export time, or a
                beam size outside ``1 ... max_beam_size``, or a ``batch_size`` below 1.
            TypeError: an input that is not a string.
        """
        changed = sorted(name for name, value in fixed.items() if value is not None)
        if changed:
            raise ExportError(f"{self.path} is an export: {', '.join(changed)} are fixed at export time")
        beam = self.config.beam_size if beam_size is None else beam_size
        if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= self.max_beam_size:
            raise ExportError(f"{self.path} accepts beam sizes 1 to {self.max_beam_size}, not {beam!r}")
        step = self.config.batch_size if batch_size is None else batch_size
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise ExportError(f"batch_size={step!r} must be a positive integer")
        single = isinstance(texts, (str, bytes))
        items = [_utf8(texts, 0)] if single else [_utf8(text, i) for i, text in enumerate(texts)]
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
    try:
        return tf.saved_model.load(str(path))
    except Exception as error:  # noqa: BLE001 - protobuf, OS, TensorFlow and Keras errors alike: a damaged export
        detail = " ".join(str(error).split())[:300] or "no details"
        raise ExportError(f"{path}: cannot load the SavedModel ({type(error).__name__}: {detail})") from error


def _read_metadata(path: Path) -> dict[str, Any]:
    """The export's ``nmt_export.json`` (``{}`` when it is missing: exports of other tools)."""
    if not path.is_file():
        return {}
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportError(f"{path}: cannot read the export's metadata ({error})") from None
    if not isinstance(metadata, dict):
        raise ExportError(f"{path}: the export's metadata is a {type(metadata).__name__}, not a JSON object")
    return metadata


def _utf8(value: Any, where: int) -> bytes:
    """One input as UTF-8 bytes, as ``Translator.translate`` encodes it (see :meth:`ExportedTranslator.translate`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType":
        return b""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise TypeError(f"input {where!r} is a {type(value).__name__}, not a str")
    return value.encode("utf-8", "replace")


def is_saved_model(path: Path) -> bool:
    """Whether ``path`` is a directory holding a ``saved_model.pb``."""
    return (Path(path) / "saved_model.pb").is_file()
