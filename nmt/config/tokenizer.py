"""The tokenizer configuration: which subword model, how large, how text is normalized."""

from __future__ import annotations

import dataclasses
from typing import Literal

from nmt.config.base import ConfigError, validate_literals

#: The ids 0-3 are reserved for [PAD], [UNK], [START], [END]; a vocabulary needs more.
NUM_SPECIAL_TOKENS = 4
#: SentencePiece's byte fallback reserves one piece per byte value.
NUM_BYTE_PIECES = 256


@dataclasses.dataclass(frozen=True)
class TokenizerConfig:
    """How a tokenizer is trained and how it normalizes text.

    Attributes:
        kind: ``"sentencepiece"`` (subwords, exact detokenization), ``"wordpiece"``
            (BERT-style subwords; detokenization joins words with spaces) or
            ``"char"`` (one token per Unicode character).
        vocab_size: the largest vocabulary, the 4 special ids included. SentencePiece
            treats it as a soft limit on small corpora; WordPiece's learner may stop a
            few percent short of it; ``char`` keeps at most ``vocab_size - 4`` of the
            most frequent characters.
        lowercase: lowercase text (``str.lower``, accents kept) before tokenizing.
        normalization: Unicode normalization form applied before tokenizing;
            ``"none"`` still removes control characters and collapses whitespace
            (see :func:`nmt.tokenizers.normalize.normalize`).
        joint: one vocabulary trained on source and target text together
            (:func:`nmt.tokenizers.train_tokenizers` returns the same object twice).
        model_type: SentencePiece algorithm, ``"unigram"`` or ``"bpe"``
            (SentencePiece only).
        character_coverage: fraction of characters SentencePiece must cover; the rest
            become unknown (SentencePiece only; 1.0 keeps every training character).
        byte_fallback: SentencePiece encodes unknown characters as UTF-8 byte pieces
            instead of the unknown id; costs 256 vocabulary entries (ids 4-259)
            (SentencePiece only).
        max_train_sentences: train each vocabulary on at most this many non-empty
            sentences, the first ones (a joint vocabulary reads source and target
            interleaved, so half come from each side); ``None`` uses all of them.
    """

    kind: Literal["sentencepiece", "wordpiece", "char"] = "sentencepiece"
    vocab_size: int = 8000
    lowercase: bool = False
    normalization: Literal["nfkc", "nfc", "none"] = "nfkc"
    joint: bool = False
    model_type: Literal["unigram", "bpe"] = "unigram"
    character_coverage: float = 1.0
    byte_fallback: bool = False
    max_train_sentences: int | None = None

    def __post_init__(self) -> None:
        validate_literals(self)
        for name in ("lowercase", "joint", "byte_fallback"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}={getattr(self, name)!r} must be true or false")
        if not isinstance(self.vocab_size, int) or isinstance(self.vocab_size, bool):
            raise ConfigError(f"vocab_size={self.vocab_size!r} must be an integer")
        smallest = NUM_SPECIAL_TOKENS + 1 + (NUM_BYTE_PIECES if self.byte_fallback else 0)
        if self.vocab_size < smallest:
            raise ConfigError(f"vocab_size={self.vocab_size} must be at least {smallest} "
                              f"(4 special ids{' + 256 byte pieces' if self.byte_fallback else ''} + 1)")
        if not 0.0 < self.character_coverage <= 1.0:
            raise ConfigError(f"character_coverage={self.character_coverage!r} must be in (0, 1]")
        if self.byte_fallback and self.kind != "sentencepiece":
            raise ConfigError(f"byte_fallback=True needs kind='sentencepiece', not {self.kind!r}")
        if self.max_train_sentences is not None and (
            not isinstance(self.max_train_sentences, int) or self.max_train_sentences < 1
        ):
            raise ConfigError(f"max_train_sentences={self.max_train_sentences!r} must be None or >= 1")
