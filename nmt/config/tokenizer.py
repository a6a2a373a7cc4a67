"""The tokenizer configuration: which subword model, how large, how text is normalized."""

from __future__ import annotations

import dataclasses
from typing import Literal

from nmt.config.base import ConfigError, check_fields, check_int, check_number, check_positive_int

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
        check_fields(self)
        smallest = NUM_SPECIAL_TOKENS + 1 + (NUM_BYTE_PIECES if self.byte_fallback else 0)
        check_int("vocab_size", self.vocab_size, minimum=smallest,
                  note=f"4 special ids{' + 256 byte pieces' if self.byte_fallback else ''} + 1")
        check_number("character_coverage", self.character_coverage, above=0, at_most=1)
        if self.byte_fallback and self.kind != "sentencepiece":
            raise ConfigError(f"byte_fallback=True needs kind='sentencepiece', not {self.kind!r}")
        check_positive_int("max_train_sentences", self.max_train_sentences, optional=True)
