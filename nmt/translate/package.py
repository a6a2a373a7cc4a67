"""A Translator as one Keras object (:class:`TranslatorPackage`), for ``Translator.save("x.keras")``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras


@keras.saving.register_keras_serializable(package="nmt")
class TranslatorPackage(keras.layers.Layer):
    """A Translator as one Keras object, so it saves to and loads from one ``.keras`` file.

    Keras saving stores the model's weights and the tokenizers' assets; the decode
    settings travel in the config. A joint tokenizer (source is target) is stored once.

    Args:
        model: the seq2seq model.
        source_tokenizer, target_tokenizer: the tokenizers.
        decode: the :class:`DecodeConfig` as a dict.
    """

    def __init__(self, model, source_tokenizer, target_tokenizer, decode: Mapping[str, Any], **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.decode = dict(decode)
        self.built = True

    def get_config(self) -> dict[str, Any]:
        joint = self.source_tokenizer is self.target_tokenizer
        return {
            **super().get_config(),
            "model": keras.saving.serialize_keras_object(self.model),
            "source_tokenizer": keras.saving.serialize_keras_object(self.source_tokenizer),
            "target_tokenizer": None if joint else keras.saving.serialize_keras_object(self.target_tokenizer),
            "decode": self.decode,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TranslatorPackage:
        config = dict(config)
        for key in ("model", "source_tokenizer", "target_tokenizer"):
            if config[key] is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        if config["target_tokenizer"] is None:
            config["target_tokenizer"] = config["source_tokenizer"]
        return cls(**config)
