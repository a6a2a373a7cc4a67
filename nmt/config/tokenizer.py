"""The tokenizer configuration: which subword model, how large, how text is normalized."""

from __future__ import annotations

import dataclasses
from typing import Literal

from nmt.config.base import (
    ConfigError,
    check_fields,
    check_int,
    check_number,
    check_positive_int,
)

#: The ids 0-3 are reserved for [PAD], [UNK], [START], [END]; a vocabulary needs more.
NUM_SPECIAL_TOKENS = 4
#: SentencePiece's byte fallback reserves one piece per byte value.
NUM_BYTE_PIECES = 256
#: Unicode normalization forms (any case is accepted: ``NFKC`` or ``nfkc``; stored lowercase).
NORMALIZATIONS = ("nfkc", "nfc", "none")


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
        normalization: Unicode normalization form applied before tokenizing:
            ``"nfkc"``, ``"nfc"`` or ``"none"``, in any case (``"NFKC"`` is read as
            ``"nfkc"``, the spelling ``data.cleaning.normalization`` uses); ``"none"``
            still removes control characters and collapses whitespace (see
            :func:`nmt.tokenizers.normalize.normalize`).
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
            interleaved, so half come from each side); ``None`` uses all of them. A
            streamed corpus (``data.streaming``) trains on a seeded uniform random sample
            of this many pairs instead (half as many for ``joint``), drawn in one pass
            (:meth:`nmt.data.stream.PairStream.sample`).
        model_file: an existing SentencePiece ``.model`` file to use instead of
            training one (``kind="sentencepiece"`` only): the one model tokenizes both
            sides (as with ``joint``), and ``vocab_size``, ``model_type``,
            ``character_coverage``, ``byte_fallback`` and ``max_train_sentences`` are
            not used. A model with another special-id layout (SentencePiece's default
            is unk 0, bos 1, eos 2, no pad) is rewritten to ids 0-3 = pad, unk, bos,
            eos; the run stores that model in its tokenizer folders, so it no longer
            needs the file. Read (and checked) when the tokenizers are built
            (:func:`nmt.tokenizers.train_tokenizers`), relative to the current directory.
    """

    kind: Literal["sentencepiece", "wordpiece", "char"] = "sentencepiece"
    vocab_size: int = 8000
    lowercase: bool = False
    normalization: str = "nfkc"
    joint: bool = False
    model_type: Literal["unigram", "bpe"] = "unigram"
    character_coverage: float = 1.0
    byte_fallback: bool = False
    max_train_sentences: int | None = None
    model_file: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        if self.normalization.lower() not in NORMALIZATIONS:
            choices = ", ".join(map(repr, NORMALIZATIONS))
            raise ConfigError(f"normalization={self.normalization!r} is not one of {choices} (any case)")
        object.__setattr__(self, "normalization", self.normalization.lower())
        smallest = NUM_SPECIAL_TOKENS + 1 + (NUM_BYTE_PIECES if self.byte_fallback else 0)
        check_int("vocab_size", self.vocab_size, minimum=smallest,
                  note=f"4 special ids{' + 256 byte pieces' if self.byte_fallback else ''} + 1")
        check_number("character_coverage", self.character_coverage, above=0, at_most=1)
        if self.byte_fallback and self.kind != "sentencepiece":
            raise ConfigError(f"byte_fallback=True needs kind='sentencepiece', not {self.kind!r}")
        check_positive_int("max_train_sentences", self.max_train_sentences, optional=True)
        if self.model_file is not None:
            if self.kind != "sentencepiece":
                raise ConfigError(f"model_file={self.model_file!r} needs kind='sentencepiece', not {self.kind!r}")
            if not self.model_file.strip():
                raise ConfigError("model_file='' must be the path of a SentencePiece .model file, or null")
