"""The Translator: tokenizers + model + decoding settings, from raw text to raw text.

``Translator.translate`` sorts the inputs by token length into batches of
``decode.batch_size`` (a list that fits in one batch stays in input order) and runs
each batch as text through the one translate graph
(:func:`nmt.translate.graph.translate_text`, compiled once per search: beam size,
hypotheses, unknown-word replacement, details), which the SavedModel export's
signatures trace too; the translations come back in input order::

    translator = Translator(model, src_tok, tgt_tok, DecodeConfig(beam_size=5))
    translator.translate("Ein Hund rennt.")                # -> str
    translator.translate(["Hallo!", ""])                   # -> list[str]; "" -> ""
    translator.translate(frame["de"], beam_size=1)         # -> pandas Series, same index
    translator.save("runs/de_en")                          # directory, or "de_en.keras"
    same = Translator.load("runs/de_en")
    translator.export("exports/de_en")                     # SavedModel: strings in, strings out

Saving and exporting are atomic: everything is written under a temporary name beside
the target and renamed into place, so an interrupted write never leaves a partial
translator or SavedModel behind.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from nmt._versions import __version__, format_problem
from nmt.config.base import config_from_dict, config_to_dict
from nmt.config.decode import DecodeConfig
from nmt.fileutils import atomic_directory, atomic_write
from nmt.models.seq2seq import Seq2Seq  # noqa: F401  (registers the model class for loading)
from nmt.tokenizers import Tokenizer  # the package registers every tokenizer kind
from nmt.translate.graph import translate_text
from nmt.translate.package import TranslatorPackage
from nmt.translate.values import Hypothesis, Translation, translations_from_outputs

__all__ = ["FORMAT_VERSION", "SETTINGS_FILE", "Hypothesis", "Translation", "Translator", "TranslatorPackage",
           "TruncationWarning"]

#: Files of a saved translator directory.
SETTINGS_FILE = "translator.json"
MODEL_FILE = "model.keras"
SOURCE_TOKENIZER_DIR = "source_tokenizer"
TARGET_TOKENIZER_DIR = "target_tokenizer"
FORMAT_VERSION = 1
#: Inputs tokenized per call when counting tokens.
_TOKENIZE_CHUNK = 1024


class TruncationWarning(UserWarning):
    """``truncated`` of ``total`` inputs were longer than ``limit`` (``decode.max_input_length``) tokens and were cut."""

    def __init__(self, truncated: int, total: int, limit: int):
        super().__init__(f"{truncated} of {total} inputs are longer than max_input_length={limit} tokens "
                         f"(END included) and were truncated")
        self.truncated, self.total, self.limit = truncated, total, limit


class Translator:
    """Translates raw text with a :class:`~nmt.models.seq2seq.Seq2Seq` and its two tokenizers.

    Args:
        model: the trained model (``encode`` and ``decoder.step``).
        source_tokenizer, target_tokenizer: the tokenizers it was trained with.
        config: a :class:`DecodeConfig` (or its dict form); ``None`` is the default.

    Inputs to :meth:`translate` may be a ``str``, any iterable of ``str`` (a list,
    a tuple, a NumPy array) or a ``pandas.Series``; the result has the same form
    (a ``str``, a ``list`` or a ``Series`` with the same index). ``None`` and
    missing values (NaN) count as empty strings; empty and whitespace-only inputs
    give ``""`` without running the model.
    """

    def __init__(self, model, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer,
                 config: DecodeConfig | Mapping[str, Any] | None = None):
        if config is None:
            config = DecodeConfig()
        elif isinstance(config, Mapping):
            config = config_from_dict(DecodeConfig, config, where="decode")
        for side, tokenizer in (("source", source_tokenizer), ("target", target_tokenizer)):
            expected = getattr(model, f"{side}_vocab_size", None)
            if expected is not None and expected != tokenizer.vocab_size:
                raise ValueError(f"the model's {side} vocabulary has {expected} ids but the {side} "
                                 f"tokenizer has {tokenizer.vocab_size}")
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.config = config
        self._functions: dict[tuple[int, int, bool, bool], Any] = {}
        # Token counts (for the batches and the truncation warning) as a graph, traced once.
        self._token_counts = tf.function(lambda text: source_tokenizer.tokenize(text).row_lengths(),
                                         input_signature=[tf.TensorSpec([None], tf.string)])

    # ------------------------------------------------------------------ translation
    def translate(self, texts, *, beam_size: int | None = None, length_penalty: float | None = None,
                  coverage_penalty: float | None = None, max_length: int | None = None,
                  replace_unknown: bool | None = None, batch_size: int | None = None,
                  return_attention: bool = False):
        """Translates ``texts``; keyword arguments override ``self.config`` for this call.

        Args:
            texts: a ``str``, an iterable of ``str`` or a ``pandas.Series``.
            beam_size, length_penalty, coverage_penalty, replace_unknown, batch_size:
                see :class:`DecodeConfig`.
            max_length: at most this many output tokens before END for every input
                (instead of ``max_length_a * source_length + max_length_b``).
            return_attention: return :class:`Translation` objects (text, scores,
                token labels, attention matrix) instead of strings.

        Returns:
            Strings (or :class:`Translation` objects) in the form of ``texts``.

        Warns:
            TruncationWarning: when inputs exceed ``max_input_length`` tokens (says how many).
        """
        config = self._settings(beam_size=beam_size, length_penalty=length_penalty,
                                coverage_penalty=coverage_penalty, replace_unknown=replace_unknown,
                                batch_size=batch_size)
        items, wrap = _as_list(texts)
        results = self._run(items, config, max_length, n_best=1, detailed=return_attention)
        if return_attention:
            return wrap([translations[0] for translations in results])
        return wrap([translations[0].text for translations in results])

    def translate_nbest(self, texts, n: int, *, beam_size: int | None = None,
                        length_penalty: float | None = None, coverage_penalty: float | None = None,
                        max_length: int | None = None, batch_size: int | None = None):
        """The ``n`` best translations of each input, best first, as :class:`Hypothesis` lists.

        ``beam_size`` defaults to ``max(n, decode.beam_size)``; ``n`` may not exceed it.
        The result has the form of ``texts`` (one list of hypotheses per input).
        """
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n={n!r} must be a positive integer")
        beam_size = max(n, self.config.beam_size) if beam_size is None else beam_size
        if n > beam_size:
            raise ValueError(f"n={n} hypotheses need beam_size >= n, got beam_size={beam_size}")
        config = self._settings(beam_size=beam_size, length_penalty=length_penalty,
                                coverage_penalty=coverage_penalty, replace_unknown=False,
                                batch_size=batch_size)
        items, wrap = _as_list(texts)
        results = self._run(items, config, max_length, n_best=n, detailed=False)
        return wrap([[Hypothesis(t.text, t.score, t.log_prob) for t in translations] for translations in results])

    def translate_function(self, beam_size: int, n_best: int = 1, *, replace_unknown: bool = False,
                           detailed: bool = False):
        """The compiled one translate graph for one search (built on first use, then reused).

        Call it as ``fn(text, length_penalty, coverage_penalty, max_length_a,
        max_length_b)`` with ``tf.string [batch]`` and scalars (float32, float32,
        float32, int32); it returns :func:`nmt.translate.graph.translate_text`'s dict.
        Its input signature has an unknown batch size, so it traces once
        (``fn.experimental_get_tracing_count()``).
        """
        key = (beam_size, n_best, replace_unknown, detailed)
        if key not in self._functions:
            def run(text, length_penalty, coverage_penalty, max_length_a, max_length_b):
                return translate_text(
                    text, self.model, self.source_tokenizer, self.target_tokenizer,
                    max_input_length=self.config.max_input_length, beam_size=beam_size, n_best=n_best,
                    length_penalty=length_penalty, coverage_penalty=coverage_penalty,
                    max_length_a=max_length_a, max_length_b=max_length_b,
                    replace_unknown=replace_unknown, detailed=detailed)

            # No autograph, as the export's signatures: both trace the same graph.
            self._functions[key] = tf.function(run, autograph=False, input_signature=[
                tf.TensorSpec([None], tf.string, name="text"),
                tf.TensorSpec([], tf.float32, name="length_penalty"),
                tf.TensorSpec([], tf.float32, name="coverage_penalty"),
                tf.TensorSpec([], tf.float32, name="max_length_a"),
                tf.TensorSpec([], tf.int32, name="max_length_b"),
            ])
        return self._functions[key]

    def _settings(self, **overrides) -> DecodeConfig:
        overrides = {name: value for name, value in overrides.items() if value is not None}
        return dataclasses.replace(self.config, **overrides) if overrides else self.config

    def _run(self, texts: list[str], config: DecodeConfig, max_length: int | None, *, n_best: int,
             detailed: bool) -> list[list[Translation]]:
        """Translations of ``texts`` (``n_best`` per input) in input order."""
        if max_length is not None and (not isinstance(max_length, int) or max_length < 0):
            raise ValueError(f"max_length={max_length!r} must be a non-negative integer")
        encoded = [text.encode("utf-8", "replace") for text in texts]
        lengths = self._count_tokens(encoded)
        too_long = int(np.sum(lengths >= config.max_input_length))
        if too_long:
            warnings.warn(TruncationWarning(too_long, len(texts), config.max_input_length), stacklevel=3)
        a, b = (0.0, max_length) if max_length is not None else (config.max_length_a, config.max_length_b)
        function = self.translate_function(config.beam_size, n_best, replace_unknown=config.replace_unknown,
                                           detailed=detailed)
        settings = (tf.constant(config.length_penalty, tf.float32), tf.constant(config.coverage_penalty, tf.float32),
                    tf.constant(a, tf.float32), tf.constant(b, tf.int32))
        empty = Translation("", 0.0, 0.0, (), (), np.zeros((0, 0), np.float32))
        results: list[list[Translation]] = [[empty] * n_best for _ in texts]
        for rows in _batches(lengths, config.max_input_length, config.batch_size):
            text = tf.constant([encoded[i] for i in rows], tf.string, shape=[len(rows)])
            outputs = {key: value.numpy() for key, value in function(text, *settings).items()}
            for row, translations in zip(rows, translations_from_outputs(outputs)):
                results[row] = translations
        return results

    def _count_tokens(self, encoded: list[bytes]) -> np.ndarray:
        """Source tokens per input (before truncation, END not counted): int64 ``[len(encoded)]``."""
        chunks = [encoded[start:start + _TOKENIZE_CHUNK] for start in range(0, len(encoded), _TOKENIZE_CHUNK)]
        counts = [self._token_counts(tf.constant(chunk, tf.string, shape=[len(chunk)])).numpy() for chunk in chunks]
        return np.concatenate(counts) if counts else np.zeros([0], np.int64)

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path, *, overwrite: bool = True) -> Path:
        """Writes model, tokenizers and settings to a directory, or to one ``.keras`` file, atomically.

        A directory holds ``translator.json`` (format version and ``decode`` settings),
        ``model.keras`` and the two tokenizer directories; a path ending in ``.keras``
        becomes one Keras archive (:class:`TranslatorPackage`). Either is written under
        a temporary name beside ``path`` and renamed into place, so an interrupted save
        leaves ``path`` as it was (absent, or the previous translator).

        Args:
            path: a directory, or a file name ending in ``.keras``.
            overwrite: replace an existing translator at ``path`` (the default, as
                Keras' ``save_model``); an existing directory that is neither empty nor
                a saved translator is never replaced (``FileExistsError``).
        """
        path = Path(path)
        if path.suffix == ".keras":

            if path.exists() and not overwrite:
                raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
            package = TranslatorPackage(self.model, self.source_tokenizer, self.target_tokenizer,
                                        config_to_dict(self.config))
            return atomic_write(path, lambda tmp: keras.saving.save_model(package, tmp))
        with atomic_directory(path, overwrite=overwrite, replaceable=lambda p: (p / SETTINGS_FILE).is_file(),
                              what="saved translator") as scratch:
            settings = {"format_version": FORMAT_VERSION, "nmt_version": __version__,
                        "decode": config_to_dict(self.config)}
            (scratch / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
            keras.saving.save_model(self.model, scratch / MODEL_FILE)
            self.source_tokenizer.save(scratch / SOURCE_TOKENIZER_DIR)
            self.target_tokenizer.save(scratch / TARGET_TOKENIZER_DIR)
        return path

    def export(self, path: str | Path, overwrite: bool = False, *, max_beam_size: int | None = None) -> Path:
        """Writes a TensorFlow SavedModel that translates strings to strings (see :mod:`nmt.export.writer`).

        Signatures: ``serving_default`` (``text`` string ``[batch]`` -> ``translation``
        string ``[batch]``, ``score`` float32 ``[batch]``, with this translator's
        ``config``), ``translate_nbest`` and ``translate_with_attention`` (beam size,
        number of hypotheses and maximum length as inputs). Load it with
        :func:`nmt.load_exported` or, anywhere ``tensorflow_text`` is imported,
        ``tf.saved_model.load``. Written atomically.

        Args:
            path: the export directory.
            overwrite: replace an existing export at ``path``; otherwise an existing
                ``path`` raises ``FileExistsError``.
            max_beam_size: largest beam size the n-best signatures accept (default
                ``max(16, config.beam_size)``).
        """
        from nmt.export.writer import export_translator

        return export_translator(self, path, overwrite=overwrite, max_beam_size=max_beam_size)

    @classmethod
    def load(cls, path: str | Path) -> Translator:
        """Reads a translator written by :meth:`save` (a directory or a ``.keras`` file).

        Keras' ``safe_mode`` stays on: a file carrying Python code (a ``Lambda`` layer) is refused.

        Raises:
            FileNotFoundError: ``path`` is not a saved translator.
            ValueError: a damaged or truncated file, a format written by a newer nmt
                (the message names the file and both versions), a refused layer.
        """
        path = Path(path)
        if path.suffix == ".keras" and path.is_file():
            check_keras_archive(path)
            package = keras.saving.load_model(path, compile=False)
            if not isinstance(package, TranslatorPackage):
                raise TypeError(f"{path} holds a {type(package).__name__}, not a saved Translator")
            return cls(package.model, package.source_tokenizer, package.target_tokenizer, package.decode)
        settings_path = path / SETTINGS_FILE
        if not settings_path.is_file():
            raise FileNotFoundError(f"{path}: not a saved translator (no {SETTINGS_FILE})")
        try:
            settings = json.loads(settings_path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ValueError(f"{settings_path}: not valid JSON ({error})") from None
        if not isinstance(settings, dict):
            raise ValueError(f"{settings_path}: expected a JSON object, got {type(settings).__name__}")
        problem = format_problem(settings_path, settings.get("format_version"), settings.get("nmt_version"),
                                 FORMAT_VERSION, "translator")
        if problem or "format_version" not in settings:
            raise ValueError(problem or f"{settings_path}: no format_version (not written by Translator.save)")
        check_keras_archive(path / MODEL_FILE)
        model = keras.saving.load_model(path / MODEL_FILE, compile=False)
        return cls(model, load_tokenizer(path / SOURCE_TOKENIZER_DIR), load_tokenizer(path / TARGET_TOKENIZER_DIR),
                   settings["decode"])


def check_keras_archive(path: Path) -> None:
    """Raises ``ValueError`` naming ``path`` unless it is a complete zip archive (as every ``.keras`` file is).

    Keras reports a truncated archive as "File not found"; this says what is wrong.
    """
    if path.is_file() and not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is damaged or truncated: not a complete .keras (zip) archive "
                         f"({path.stat().st_size:,} bytes)")


def load_tokenizer(directory: Path) -> Tokenizer:
    """``Tokenizer.load(directory)``; a damaged tokenizer file is a ``ValueError`` naming ``directory``."""
    try:
        return Tokenizer.load(directory)
    except (OSError, ValueError):
        raise
    except Exception as error:  # noqa: BLE001 - SentencePiece and tensorflow-text raise RuntimeError and TF errors
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        raise ValueError(f"{directory}: cannot load the tokenizer, a file in it is damaged or truncated "
                         f"({type(error).__name__}: {detail})") from None


def _batches(lengths: np.ndarray, max_input_length: int, batch_size: int) -> list[list[int]]:
    """Input rows per graph call.

    All inputs in input order when at most ``batch_size`` have tokens (the call then
    equals a signature call of the export on the same list); otherwise the inputs with
    tokens, sorted by their truncated length (stable: equal lengths keep input order),
    ``batch_size`` per call, so each batch pads little.
    """
    todo = [i for i, n in enumerate(lengths) if n > 0]
    if len(todo) <= batch_size:
        return [list(range(len(lengths)))] if todo else []
    todo.sort(key=lambda i: min(lengths[i], max_input_length - 1))
    return [todo[start:start + batch_size] for start in range(0, len(todo), batch_size)]


def _as_list(texts) -> tuple[list[str], Any]:
    """``texts`` as a list of str, and the function that gives results the input's form."""
    if isinstance(texts, (str, bytes)):
        return [_as_text(texts, 0)], lambda results: results[0]
    if isinstance(texts, pd.Series):
        index, name = texts.index, texts.name
        items = [_as_text(value, label) for label, value in texts.items()]
        return items, lambda results: pd.Series(results, index=index, name=name, dtype=object)
    if not isinstance(texts, Iterable):
        raise TypeError(f"texts must be a str, an iterable of str or a pandas Series, not {type(texts).__name__}")
    return [_as_text(value, i) for i, value in enumerate(texts)], list


def _as_text(value, where) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise TypeError(f"input {where!r} is a {type(value).__name__}, not a str")
    return value
