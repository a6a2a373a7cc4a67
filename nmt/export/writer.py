"""SavedModel export of a Translator: raw strings in, translations out, everything in one graph.

::

    translator.export("exports/de_en")                  # atomic; overwrite=True replaces
    exported = nmt.load_exported("exports/de_en")       # imports tensorflow_text, then loads
    out = exported.signatures["serving_default"](text=tf.constant(["Ein Hund rennt."]))
    out["translation"], out["score"]                    # tf.string [1], float32 [1]

The export is a ``tf.Module`` (:class:`TranslatorModule`) that tracks the model's
variables and three ``tf.function`` s, saved with ``tf.saved_model.save`` under three
signatures. Tokenization (normalization included), truncation, END, greedy or beam
search, detokenization and unknown-word replacement are TensorFlow and
tensorflow-text ops, so loading needs ``tensorflow`` and ``tensorflow_text`` only
(no ``nmt``, no Keras).

=========================  =================================================  ==========================================
signature                  inputs                                             outputs
=========================  =================================================  ==========================================
``serving_default``        ``text`` string ``[batch]``                        ``translation`` string ``[batch]``,
                                                                              ``score`` float32 ``[batch]``
``translate_nbest``        ``text`` string ``[batch]``, ``beam_size``,        ``translations`` string ``[batch, n]``,
                           ``num_hypotheses``, ``max_length`` (int32          ``scores``, ``log_probs`` float32
                           scalars)                                           ``[batch, n]``
``translate_with_          the same                                           the same, plus ``attention`` float32
attention``                                                                   ``[batch, T, S]``, ``target_tokens``
                                                                              string ``[batch, T]``, ``source_tokens``
                                                                              string ``[batch, S]``, ``target_length``,
                                                                              ``source_length`` int32 ``[batch]``
=========================  =================================================  ==========================================

``serving_default`` is ``Translator.translate`` with the translator's
:class:`~nmt.config.decode.DecodeConfig` (beam size, penalties, length limits,
``max_input_length``, ``replace_unknown``) fixed at export time; the other two take
the beam size (``1`` is greedy search; at most ``max_beam_size``), the number of
hypotheses ``n`` (``1 <= n <= beam_size``) and a maximum output length (a negative
value keeps the exported ``max_length_a * s + max_length_b`` rule) per call, as
``Translator.translate_nbest`` and ``Translator.translate(..., return_attention=True)``
do. One beam-search graph serves every beam size: :func:`nmt.search.search` takes
the beam size as a tensor (greedy search for 1, no branch per beam size, no retracing).

Every signature traces :func:`nmt.translate.graph.translate_text`, the graph the
Python ``Translator`` compiles too, so a signature call returns exactly what the
translator returns for the same list when that list fits in one of its batches. Each
call decodes its whole batch at once, in input order (the Python translator sorts
longer lists by length into batches of ``decode.batch_size`` first): send batches of
a reasonable size. Empty and whitespace-only inputs give ``""`` with score 0 without
running the model.

Tokenizer files: tensorflow-text keeps the SentencePiece model as an attribute of its
op (and WordPiece's compiled vocabulary as a constant), so the graph is
self-contained; the tokenizer files (``tokenizer.json`` plus ``sentencepiece.model``,
``vocabulary.txt`` or ``characters.json`` for each side) and ``nmt_export.json``
(settings, vocabulary sizes, versions) are also stored as SavedModel assets under
``assets/``, so the directory can be moved or copied anywhere (no absolute paths).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from nmt.config.base import config_to_dict
from nmt.export.loader import EXPORT_FORMAT_VERSION, is_saved_model
from nmt.fileutils import atomic_directory
from nmt.tokenizers.base import Tokenizer
from nmt.translate.graph import translate_text
from nmt.translate.values import LOG_PROBS, SCORES, TRANSLATIONS

if TYPE_CHECKING:
    from nmt.translate.translator import Translator

SERVING_DEFAULT = "serving_default"
NBEST = "translate_nbest"
ATTENTION = "translate_with_attention"
SIGNATURES = (SERVING_DEFAULT, NBEST, ATTENTION)
#: The JSON asset describing the export.
METADATA_FILE = "nmt_export.json"
#: Largest beam size the n-best signatures accept unless ``export(max_beam_size=...)`` says otherwise.
DEFAULT_MAX_BEAM_SIZE = 16

_TEXT = tf.TensorSpec([None], tf.string, name="text")
_SCALAR_SPECS = [
    tf.TensorSpec([], tf.int32, name="beam_size"),
    tf.TensorSpec([], tf.int32, name="num_hypotheses"),
    tf.TensorSpec([], tf.int32, name="max_length"),
]


class TranslatorModule(tf.Module):
    """The exported object: the model's variables, the tokenizer assets and three tf.functions.

    Attributes (also available on the object ``tf.saved_model.load`` returns):
        translate: ``text [batch] -> {"translation", "score"}`` (``serving_default``).
        translate_nbest: ``(text, beam_size, num_hypotheses, max_length) ->
            {"translations", "scores", "log_probs"}``.
        translate_with_attention: the same inputs; n-best outputs plus attention,
            token labels and lengths of the best hypothesis.
        model_variables: the ``tf.Variable`` s behind the model's Keras variables (no
            optimizer state).
        assets: ``{file name: tf.saved_model.Asset}`` (tokenizer files, ``nmt_export.json``).

    Args:
        translator: the :class:`~nmt.translate.translator.Translator` to export.
        asset_files: ``{file name: path}`` of the files to store as assets.
        max_beam_size: the largest ``beam_size`` the n-best signatures accept.
    """

    def __init__(self, translator: Translator, asset_files: Mapping[str, Path], max_beam_size: int):
        super().__init__(name="nmt_translator")
        self._translator = translator  # not trackable: only read while tracing
        self.model_variables = _tf_variables(translator.model)
        self.assets = {name: tf.saved_model.Asset(str(path)) for name, path in asset_files.items()}
        self._max_beam_size = max_beam_size
        self.translate = tf.function(self._translate_default, input_signature=[_TEXT], autograph=False)
        self.translate_nbest = tf.function(self._translate_nbest, input_signature=[_TEXT, *_SCALAR_SPECS],
                                           autograph=False)
        self.translate_with_attention = tf.function(self._translate_with_attention,
                                                    input_signature=[_TEXT, *_SCALAR_SPECS], autograph=False)

    def signatures(self) -> dict[str, Any]:
        """The functions to save under :data:`SIGNATURES`.

        The ``tf.function`` s themselves, not concrete functions: ``tf.saved_model.save``
        traces inside its save context, and a concrete function traced before would
        be stored a second time.
        """
        return {SERVING_DEFAULT: self.translate, NBEST: self.translate_nbest, ATTENTION: self.translate_with_attention}

    # ------------------------------------------------------------------ signatures
    def _translate_default(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        config = self._translator.config
        result = self._run(text, config.beam_size, 1, config.max_length_a, config.max_length_b,
                           replace_unknown=config.replace_unknown, detailed=False)
        return {"translation": result[TRANSLATIONS][:, 0], "score": result[SCORES][:, 0]}

    def _translate_nbest(self, text, beam_size, num_hypotheses, max_length) -> dict[str, tf.Tensor]:
        beam_size, num_hypotheses, a, b = self._dynamic_settings(beam_size, num_hypotheses, max_length)
        result = self._run(text, beam_size, num_hypotheses, a, b, replace_unknown=False, detailed=False)
        return {key: result[key] for key in (TRANSLATIONS, SCORES, LOG_PROBS)}

    def _translate_with_attention(self, text, beam_size, num_hypotheses, max_length) -> dict[str, tf.Tensor]:
        beam_size, num_hypotheses, a, b = self._dynamic_settings(beam_size, num_hypotheses, max_length)
        return self._run(text, beam_size, num_hypotheses, a, b,
                         replace_unknown=self._translator.config.replace_unknown, detailed=True)

    def _run(self, text, beam_size, n_best, a, b, *, replace_unknown: bool, detailed: bool) -> dict[str, tf.Tensor]:
        """:func:`nmt.translate.graph.translate_text` with the translator's model, tokenizers and penalties."""
        translator = self._translator
        config = translator.config
        return translate_text(
            text, translator.model, translator.source_tokenizer, translator.target_tokenizer,
            max_input_length=config.max_input_length, beam_size=beam_size, n_best=n_best,
            length_penalty=config.length_penalty, coverage_penalty=config.coverage_penalty,
            max_length_a=a, max_length_b=b, replace_unknown=replace_unknown, detailed=detailed)

    def _dynamic_settings(self, beam_size, num_hypotheses, max_length):
        """Checks the per-call settings (in the graph) and turns ``max_length`` into ``(a, b)``."""
        checks = [
            tf.debugging.assert_greater_equal(beam_size, 1, message="beam_size must be >= 1"),
            tf.debugging.assert_less_equal(
                beam_size, self._max_beam_size,
                message=f"beam_size must be <= {self._max_beam_size} (the export's max_beam_size)"),
            tf.debugging.assert_greater_equal(num_hypotheses, 1, message="num_hypotheses must be >= 1"),
            tf.debugging.assert_less_equal(num_hypotheses, beam_size,
                                           message="num_hypotheses must be <= beam_size"),
        ]
        with tf.control_dependencies(checks):
            beam_size, num_hypotheses = tf.identity(beam_size), tf.identity(num_hypotheses)
        config = self._translator.config
        default = max_length < 0
        a = tf.where(default, tf.constant(config.max_length_a, tf.float32), 0.0)
        b = tf.where(default, tf.constant(config.max_length_b, tf.int32), max_length)
        return beam_size, num_hypotheses, a, b

def _tf_variables(model) -> list[tf.Variable]:
    """The ``tf.Variable`` s behind the model's Keras variables, which the traced graphs capture.

    Tracking these (as ``keras.export.ExportArchive`` does, through the concrete
    functions' variables) rather than the Keras wrappers makes the SavedModel's
    TF1-style restore op cover them, so graph-mode loaders (``saved_model_cli run``,
    TensorFlow Serving) find initialized variables, not only ``tf.saved_model.load``.
    """
    variables = []
    for variable in model.variables:
        value = variable.value if isinstance(variable, keras.Variable) else variable
        if not isinstance(value, tf.Variable):
            raise TypeError(f"cannot export {variable.path}: its value is a {type(value).__name__}, "
                            "not a tf.Variable (is the TensorFlow backend active?)")
        variables.append(value)
    return variables


# ---------------------------------------------------------------------- writing and loading
def export_translator(translator: Translator, path: str | Path, *, overwrite: bool = False,
                      max_beam_size: int | None = None) -> Path:
    """Writes ``translator`` as a SavedModel directory at ``path`` (see the module docstring).

    The SavedModel is written into a temporary directory beside ``path`` and renamed
    into place (:func:`nmt.fileutils.atomic_directory`), so an interrupted export
    never leaves a partial model at ``path``.

    Args:
        translator: the translator to export (its ``config`` fixes ``serving_default``).
        path: the export directory.
        overwrite: replace an existing export at ``path`` (a directory holding a
            ``saved_model.pb``); otherwise an existing ``path`` is a ``FileExistsError``.
        max_beam_size: the largest beam size the n-best signatures accept;
            defaults to ``max(16, translator.config.beam_size)``.

    Returns:
        ``path``.
    """
    path = Path(path)
    if max_beam_size is None:
        max_beam_size = max(DEFAULT_MAX_BEAM_SIZE, translator.config.beam_size)
    if not isinstance(max_beam_size, int) or max_beam_size < translator.config.beam_size:
        raise ValueError(f"max_beam_size={max_beam_size!r} must be an int >= decode.beam_size "
                         f"({translator.config.beam_size})")
    with atomic_directory(path, overwrite=overwrite, replaceable=is_saved_model, what="SavedModel") as scratch, \
            tempfile.TemporaryDirectory() as staging:
        assets = _write_assets(translator, Path(staging), max_beam_size)
        module = TranslatorModule(translator, assets, max_beam_size)
        tf.saved_model.save(module, str(scratch), signatures=module.signatures())
    return path


def _write_assets(translator: Translator, staging: Path, max_beam_size: int) -> dict[str, Path]:
    """Writes the tokenizer files and the metadata into ``staging``; returns ``{asset name: path}``.

    Asset names are flat and unique (``source_sentencepiece.model``...): SavedModel
    copies every asset into one ``assets/`` directory.
    """
    files: dict[str, Path] = {}
    for side, tokenizer in (("source", translator.source_tokenizer), ("target", translator.target_tokenizer)):
        written = tokenizer.save(staging / side)
        for file in sorted(written.iterdir()):
            name = f"{side}_{file.name}"
            shutil.move(str(file), staging / name)
            files[name] = staging / name
    metadata = {
        "format_version": EXPORT_FORMAT_VERSION,
        "nmt_version": _nmt_version(),
        "tensorflow_version": tf.__version__,
        "signatures": list(SIGNATURES),
        "decode": config_to_dict(translator.config),
        "max_beam_size": max_beam_size,
        "source_tokenizer": _describe(translator.source_tokenizer),
        "target_tokenizer": _describe(translator.target_tokenizer),
    }
    files[METADATA_FILE] = staging / METADATA_FILE
    files[METADATA_FILE].write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return files


def _describe(tokenizer: Tokenizer) -> dict[str, Any]:
    return {"kind": tokenizer.kind, "vocab_size": tokenizer.vocab_size}


def _nmt_version() -> str:
    from nmt._versions import __version__

    return __version__
