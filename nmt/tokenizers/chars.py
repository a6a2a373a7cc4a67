"""Character tokens: one id per Unicode character (``tensorflow_text.UnicodeCharTokenizer``).

Code points map to ids with a sorted code point vector and ``tf.searchsorted``, so the
graph holds constants only (no lookup-table resource). The vocabulary is the most
frequent training characters (ties by code point), at most ``vocab_size - 4``; spaces
are characters too, so detokenization is exact for text made of seen characters.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from nmt.config.tokenizer import TokenizerConfig
from nmt.tokenizers.base import Tokenizer
from nmt.vocab import SPECIAL_TOKENS, UNK_ID

VOCAB_FILE = "characters.json"


@keras.saving.register_keras_serializable(package="nmt")
class CharTokenizer(Tokenizer):
    """Unicode characters as tokens.

    Args:
        config: a :class:`TokenizerConfig` with ``kind="char"`` (or its dict).
        characters: single characters in id order (id ``4 + i`` is ``characters[i]``);
            ``None`` leaves the tokenizer empty until :meth:`load_assets`.
            ``get_config`` stores ``None``: the characters are an asset
            (``characters.json``, a list of code points).
        **kwargs: ``keras.layers.Layer`` arguments.
    """

    kind = "char"

    def __init__(
        self,
        config: TokenizerConfig | Mapping[str, Any] | None = None,
        characters: Sequence[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(config, **kwargs)
        self.characters = None
        if characters is not None:
            self.set_characters(characters)

    def set_characters(self, characters: Sequence[str]) -> None:
        """Installs the character vocabulary (unique single characters)."""
        characters = tuple(characters)
        if any(len(c) != 1 for c in characters) or len(set(characters)) != len(characters):
            raise ValueError("characters must be distinct strings of length 1")
        if len(SPECIAL_TOKENS) + len(characters) > self.config.vocab_size:
            raise ValueError(f"{len(characters)} characters + 4 special ids exceed "
                             f"vocab_size={self.config.vocab_size}")
        codepoints = [ord(c) for c in characters]
        order = sorted(range(len(codepoints)), key=codepoints.__getitem__)
        # A leading -1 (no code point) makes every search land somewhere and miss to UNK.
        self._sorted_codepoints = tf.constant([-1] + [codepoints[i] for i in order], tf.int32)
        self._sorted_ids = tf.constant([UNK_ID] + [len(SPECIAL_TOKENS) + i for i in order], tf.int32)
        # id -> code point for detokenization; the special ids are removed before, except UNK.
        specials = [ord(surface) if surface else 0 for surface in self.SPECIAL_SURFACES]
        self._codepoints = tf.constant(specials + codepoints, tf.int32)
        self._characters = tf_text.UnicodeCharTokenizer()
        self.characters = characters
        self._set_labels(SPECIAL_TOKENS + characters)

    def _tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        codepoints = self._characters.tokenize(texts)  # [batch, (chars)] int32
        values = codepoints.values
        last = tf.shape(self._sorted_codepoints)[0] - 1
        position = tf.minimum(tf.searchsorted(self._sorted_codepoints, values), last)
        found = tf.gather(self._sorted_codepoints, position) == values
        ids = tf.where(found, tf.gather(self._sorted_ids, position), UNK_ID)
        return codepoints.with_values(ids)

    def _detokenize(self, ids: tf.RaggedTensor) -> tf.Tensor:
        return tf.strings.unicode_encode(tf.gather(self._codepoints, ids), "UTF-8")

    @classmethod
    def train(cls, texts: Iterable[str], config: TokenizerConfig, *, name: str | None = None) -> CharTokenizer:
        """Keeps the ``config.vocab_size - 4`` most frequent characters of ``texts``."""
        counts = collections.Counter()
        for sentence in cls._training_texts(texts, config):
            counts.update(sentence)
        ranked = sorted(counts, key=lambda c: (-counts[c], ord(c)))
        return cls(config, characters=ranked[: config.vocab_size - len(SPECIAL_TOKENS)], name=name)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "characters": None}

    def save_assets(self, dir_path: str) -> None:
        self._check_ready()
        with open(os.path.join(dir_path, VOCAB_FILE), "w", encoding="utf-8") as file:
            json.dump([ord(c) for c in self.characters], file)

    def load_assets(self, dir_path: str) -> None:
        with open(os.path.join(dir_path, VOCAB_FILE), encoding="utf-8") as file:
            self.set_characters([chr(c) for c in json.load(file)])
