"""The tokenizer contract: a Keras layer from raw strings to ids and back, in the graph.

Every tokenizer kind (SentencePiece, WordPiece, characters) shares the id layout

====  =========  ===========================================================
id    token      meaning
====  =========  ===========================================================
0     [PAD]      padding; never produced by ``tokenize``
1     [UNK]      unknown text (a character, or for WordPiece a whole word)
2     [START]    start of sequence; never produced by ``tokenize``
3     [END]      end of sequence; never produced by ``tokenize``
4...  vocabulary
====  =========  ===========================================================

and the methods of :class:`Tokenizer`. A tokenizer normalizes text with
:func:`nmt.tokenizers.normalize.normalize_strings` and tokenizes with TensorFlow ops
only, so it runs in ``tf.data.Dataset.map``, in ``tf.function`` and in exported
SavedModels that take raw strings. The vocabulary or model file travels as a Keras
asset (``save_assets``/``load_assets``), as keras-hub's tokenizers do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import keras
import tensorflow as tf

from nmt.config.base import ConfigError, config_from_dict, config_to_dict
from nmt.config.tokenizer import TokenizerConfig
from nmt.tokenizers.normalize import collapse_whitespace_strings, normalize, normalize_strings
from nmt.vocab import END_ID, PAD_ID, SPECIAL_TOKENS, START_ID, UNK_ID, UNK_SURFACE

#: The file :meth:`Tokenizer.save` writes beside the assets.
CONFIG_FILE = "tokenizer.json"

_KINDS: dict[str, type[Tokenizer]] = {}


def tokenizer_class(kind: str) -> type[Tokenizer]:
    """The Tokenizer subclass for ``kind`` (``TokenizerConfig.kind``): the one place kinds resolve."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise ConfigError(f"unknown tokenizer kind {kind!r}; known kinds: {', '.join(sorted(_KINDS))}") from None


@keras.saving.register_keras_serializable(package="nmt")
class Tokenizer(keras.layers.Layer):
    """Abstract base: raw text ``tf.string [batch]`` to ids ``int32 [batch, (tokens)]`` and back.

    Subclasses set ``kind``, implement ``_tokenize``, ``_detokenize``, ``save_assets``,
    ``load_assets`` and the ``train`` classmethod, and install their vocabulary with
    :meth:`_set_labels` (the token labels in id order, special tokens first), which
    gives ``vocab_size``, ``get_vocabulary``, ``is_ready`` and ``_id_to_token``.
    Until then (vocabulary given to the constructor, trained or loaded with
    ``load_assets``) every text method raises ``RuntimeError``.

    Args:
        config: a :class:`TokenizerConfig` or its dict form; ``None`` is the default
            config for this kind. Its ``kind`` must match the class.
        **kwargs: ``keras.layers.Layer`` arguments (``name``...).

    Call arguments:
        texts: ``tf.string`` ``[batch]`` (or a scalar), same as :meth:`tokenize`.

    Masking: none; the output is ragged, pad with ``ids.to_tensor()`` (0 is ``PAD_ID``).
    """

    PAD_ID: ClassVar[int] = PAD_ID
    UNK_ID: ClassVar[int] = UNK_ID
    START_ID: ClassVar[int] = START_ID
    END_ID: ClassVar[int] = END_ID
    SPECIAL_TOKENS: ClassVar[tuple[str, ...]] = SPECIAL_TOKENS
    #: What detokenization writes for each special id: UNK_SURFACE for UNK; the others
    #: never reach ``_detokenize`` (see :meth:`_content_ids`).
    SPECIAL_SURFACES: ClassVar[tuple[str, ...]] = ("", UNK_SURFACE, "", "")
    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _KINDS[cls.kind] = cls

    def __init__(self, config: TokenizerConfig | Mapping[str, Any] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if type(self) is Tokenizer:
            raise TypeError("Tokenizer is abstract: use Tokenizer.load(), train_tokenizers() or a subclass")
        if config is None:
            config = TokenizerConfig(kind=self.kind)
        elif isinstance(config, Mapping):
            config = config_from_dict(TokenizerConfig, config, where="tokenizer")
        if config.kind != self.kind:
            raise ConfigError(f"{type(self).__name__} needs kind={self.kind!r}, got kind={config.kind!r}")
        self.config = config
        self._token_labels: tuple[str, ...] | None = None
        # Strings in, ragged ids out, no weights: skip Keras' input conversion and build.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    # ----------------------------------------------------------------- vocabulary
    @property
    def is_ready(self) -> bool:
        """Whether the vocabulary is set (given, trained or loaded)."""
        return self._token_labels is not None

    @property
    def vocab_size(self) -> int:
        """Number of ids, the 4 special ids included; every id is in ``[0, vocab_size)``."""
        self._check_ready()
        return len(self._token_labels)

    def get_vocabulary(self) -> list[str]:
        """Token labels in id order (``[PAD]``, ``[UNK]``, ``[START]``, ``[END]``, ...)."""
        self._check_ready()
        return list(self._token_labels)

    def _set_labels(self, labels: Iterable[str]) -> None:
        """Installs the token labels in id order (the vocabulary); subclasses call it last."""
        labels = tuple(labels)
        self._labels = tf.constant(labels, tf.string)
        self._token_labels = labels

    # ----------------------------------------------------------------- text <-> ids

    def tokenize(self, texts: Any) -> tf.RaggedTensor | tf.Tensor:
        """Normalizes and tokenizes raw text; adds no start or end id.

        Args:
            texts: ``tf.string`` ``[batch]`` (tensor, list or array of str), or a scalar.

        Returns:
            ``tf.RaggedTensor`` int32 ``[batch, (tokens)]`` (int64 row splits), or a
            ``tf.Tensor`` int32 ``[tokens]`` for a scalar input. Ids are in
            ``[1, vocab_size)`` and never 0, 2 or 3.
        """
        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        if texts.shape.rank == 0:
            return self.tokenize(texts[tf.newaxis])[0]
        if texts.shape.rank != 1:
            raise ValueError(f"tokenize expects a scalar or a [batch] string tensor, got shape {texts.shape}")
        self._check_ready()
        ids = self._tokenize(normalize_strings(texts, self.config))
        return ids.with_row_splits_dtype(tf.int64)

    def detokenize(self, ids: Any) -> tf.Tensor:
        """Text from ids: drops ``PAD``/``START`` ids and everything from the first ``END`` id.

        Unknown ids (and ids outside ``[0, vocab_size)``) become ``UNK_SURFACE``; runs
        of whitespace in the result are collapsed and the ends stripped.

        Args:
            ids: integer ``[batch, len]`` tensor (0-padded) or ``RaggedTensor``
                ``[batch, (len)]``, or ``[len]`` for one sentence.

        Returns:
            ``tf.string`` ``[batch]`` (a scalar for ``[len]`` input).
        """
        if isinstance(ids, tf.RaggedTensor):
            ids = tf.cast(ids, tf.int32)
        else:
            ids = tf.cast(tf.convert_to_tensor(ids), tf.int32)
            if ids.shape.rank == 1:
                return self.detokenize(ids[tf.newaxis])[0]
            if ids.shape.rank != 2:
                raise ValueError(f"detokenize expects [batch, len] or [len] ids, got shape {ids.shape}")
            ids = tf.RaggedTensor.from_tensor(ids)
        if ids.shape.rank != 2:
            raise ValueError(f"detokenize expects ragged ids [batch, (len)], got shape {ids.shape}")
        self._check_ready()
        return collapse_whitespace_strings(self._detokenize(self._content_ids(ids)))

    def id_to_token(self, ids: Any) -> tf.Tensor | tf.RaggedTensor:
        """Token labels (``"▁dog"``, ``"##s"``, ``"[END]"``) for ids of any shape, e.g. for plots.

        Ids outside ``[0, vocab_size)`` give ``"[UNK]"``. Returns ``tf.string`` with the
        shape (and raggedness) of ``ids``.
        """
        self._check_ready()
        if isinstance(ids, tf.RaggedTensor):
            return tf.ragged.map_flat_values(self.id_to_token, ids)
        ids = self._clip_ids(tf.cast(tf.convert_to_tensor(ids), tf.int32))
        return self._id_to_token(ids)

    def call(self, texts: Any) -> tf.RaggedTensor | tf.Tensor:
        return self.tokenize(texts)

    def compute_output_spec(self, texts: keras.KerasTensor) -> keras.KerasTensor:
        if len(texts.shape) == 0:
            return keras.KerasTensor((None,), dtype="int32")
        return keras.KerasTensor(tuple(texts.shape) + (None,), dtype="int32", ragged=True)

    # ----------------------------------------------------------------- subclass hooks
    def _tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Normalized ``tf.string [batch]`` -> ids ``RaggedTensor`` int32 ``[batch, (tokens)]``."""
        raise NotImplementedError

    def _detokenize(self, ids: tf.RaggedTensor) -> tf.Tensor:
        """Ids without PAD/START/END, all in range, ``[batch, (len)]`` -> ``tf.string [batch]``."""
        raise NotImplementedError

    def _id_to_token(self, ids: tf.Tensor) -> tf.Tensor:
        """In-range int32 ids of any shape -> ``tf.string`` labels of the same shape."""
        return tf.gather(self._labels, ids)

    @classmethod
    def train(cls, texts: Iterable[str], config: TokenizerConfig, *, name: str | None = None) -> Tokenizer:
        """Learns a vocabulary from raw training sentences (normalized here first)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- helpers
    def _check_ready(self) -> None:
        if not self.is_ready:
            raise RuntimeError(
                f"{type(self).__name__} {self.name!r} has no vocabulary yet: train it, pass the "
                f"vocabulary to the constructor, or call load_assets(directory)"
            )

    def _clip_ids(self, ids: tf.Tensor) -> tf.Tensor:
        return tf.where((ids < 0) | (ids >= self.vocab_size), UNK_ID, ids)

    def _content_ids(self, ids: tf.RaggedTensor) -> tf.RaggedTensor:
        """Removes PAD and START ids and everything from the first END id on, per row."""
        values, rowids = ids.values, ids.value_rowids()
        ends_so_far = tf.cumsum(tf.cast(values == END_ID, tf.int32))
        ends_before_row = tf.gather(tf.concat([[0], ends_so_far], 0), ids.row_splits[:-1])
        before_end = ends_so_far == tf.gather(ends_before_row, rowids)
        keep = before_end & (values != PAD_ID) & (values != START_ID)
        return tf.RaggedTensor.from_value_rowids(
            self._clip_ids(tf.boolean_mask(values, keep)), tf.boolean_mask(rowids, keep), nrows=ids.nrows()
        )

    @staticmethod
    def _training_texts(texts: Iterable[str], config: TokenizerConfig) -> list[str]:
        """The normalized, non-empty training sentences, at most ``config.max_train_sentences``."""
        result = []
        for text in texts:
            if config.max_train_sentences is not None and len(result) >= config.max_train_sentences:
                break
            text = normalize(text, config)
            if text:
                result.append(text)
        if not result:
            raise ValueError("cannot train a tokenizer: no non-empty training sentence")
        return result

    # ----------------------------------------------------------------- serialization
    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "config": config_to_dict(self.config)}

    def save_assets(self, dir_path: str) -> None:
        raise NotImplementedError

    def load_assets(self, dir_path: str) -> None:
        raise NotImplementedError

    def save(self, directory: str | Path) -> Path:
        """Writes ``tokenizer.json`` (kind, config, name) and the assets into ``directory``."""
        self._check_ready()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        record = {"kind": self.kind, "name": self.name, "config": config_to_dict(self.config)}
        (directory / CONFIG_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        self.save_assets(str(directory))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Tokenizer:
        """Reads a tokenizer written by :meth:`save`; the class follows the saved ``kind``."""
        directory = Path(directory)
        path = directory / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not a saved tokenizer (no {CONFIG_FILE})")
        record = json.loads(path.read_text(encoding="utf-8"))
        subclass = tokenizer_class(record.get("kind"))
        if cls is not Tokenizer and not issubclass(subclass, cls):
            raise TypeError(f"{path} holds a {subclass.__name__}, not a {cls.__name__}")
        tokenizer = subclass(config=record["config"], name=record.get("name"))
        tokenizer.load_assets(str(directory))
        return tokenizer
