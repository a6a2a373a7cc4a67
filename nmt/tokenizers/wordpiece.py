"""WordPiece subwords: vocabulary from tensorflow-text's learner, run by FastWordpieceTokenizer.

Text is normalized (:func:`nmt.tokenizers.normalize.normalize_strings`), split into
words by BERT's basic splitter (``tensorflow_text.BasicTokenizer`` without lowercasing:
whitespace, punctuation and CJK characters separate words; control and format
characters count as whitespace), then each word into pieces (``"play"``, ``"##ing"``).
The vocabulary is learned with ``bert_vocab_from_dataset`` over the same word split.

Detokenization glues ``##`` pieces to the previous piece and joins words with one
space, so it loses: the absence of space around punctuation (``"dog's."`` comes back
as ``"dog ' s ."``), spaces between CJK characters, format characters (U+00AD, U+200B...),
case when ``lowercase`` is set, and whole words that cannot be built from the
vocabulary (or are longer than 100 bytes), which come back as ``UNK_SURFACE``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf
import tensorflow_text as tf_text

# BasicTokenizer is not exported at the top level; it is the splitter bert_vocab_from_dataset
# learns over, so using it at run time keeps training and tokenization on the same words.
from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer
from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset as bert_vocab

from nmt.config.tokenizer import TokenizerConfig
from nmt.tokenizers.base import Tokenizer
from nmt.vocab import SPECIAL_TOKENS, UNK_ID

VOCAB_FILE = "vocabulary.txt"
SUFFIX_INDICATOR = "##"
MAX_BYTES_PER_WORD = 100


@keras.saving.register_keras_serializable(package="nmt")
class WordPieceTokenizer(Tokenizer):
    """BERT-style WordPiece subwords (``tensorflow_text.FastWordpieceTokenizer``).

    Args:
        config: a :class:`TokenizerConfig` with ``kind="wordpiece"`` (or its dict).
        vocabulary: tokens in id order, starting with ``[PAD] [UNK] [START] [END]``;
            word-continuing pieces start with ``##``. ``None`` leaves the tokenizer
            empty until :meth:`load_assets`. ``get_config`` stores ``None``: the
            vocabulary is an asset (``vocabulary.txt``, one token per line).
        **kwargs: ``keras.layers.Layer`` arguments.
    """

    kind = "wordpiece"

    def __init__(
        self,
        config: TokenizerConfig | Mapping[str, Any] | None = None,
        vocabulary: Sequence[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(config, **kwargs)
        self.vocabulary = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def set_vocabulary(self, vocabulary: Sequence[str]) -> None:
        """Installs a vocabulary (checks the special tokens and that tokens are unique lines)."""
        vocabulary = tuple(vocabulary)
        if vocabulary[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise ValueError(f"a WordPiece vocabulary must start with {SPECIAL_TOKENS}, got {vocabulary[:4]}")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("a WordPiece vocabulary holds a token twice")
        bad = [token for token in vocabulary if not token or "\n" in token or "\r" in token]
        if bad:
            raise ValueError(f"WordPiece tokens must be non-empty single lines, got {bad[:3]!r}")
        self._words = BasicTokenizer(lower_case=False, normalization_form=None)
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=list(vocabulary),
            suffix_indicator=SUFFIX_INDICATOR,
            max_bytes_per_word=MAX_BYTES_PER_WORD,
            token_out_type=tf.int32,
            unknown_token=SPECIAL_TOKENS[UNK_ID],
            no_pretokenization=True,
        )
        is_suffix = [token.startswith(SUFFIX_INDICATOR) for token in vocabulary]
        surfaces = [token[len(SUFFIX_INDICATOR):] if suffix else token
                    for token, suffix in zip(vocabulary, is_suffix)]
        surfaces[: len(SPECIAL_TOKENS)] = self.SPECIAL_SURFACES
        # Detokenization writes " " + surface for a word start, the bare surface for "##" pieces.
        self._pieces_text = tf.constant([s if suffix else " " + s for s, suffix in zip(surfaces, is_suffix)])
        self.vocabulary = vocabulary
        self._set_labels(vocabulary)

    def _tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        words = self._words.tokenize(texts)  # [batch, (words)]
        pieces = self._wordpiece.tokenize(words)  # [batch, (words), (pieces)]
        return pieces.merge_dims(1, 2)

    def _detokenize(self, ids: tf.RaggedTensor) -> tf.Tensor:
        return tf.strings.reduce_join(tf.gather(self._pieces_text, ids), axis=1)

    @classmethod
    def train(
        cls, texts: Iterable[str], config: TokenizerConfig, *, name: str | None = None
    ) -> WordPieceTokenizer:
        """Learns a vocabulary of at most ``config.vocab_size`` tokens from ``texts``.

        Uses ``bert_vocab_from_dataset`` (binary search on a count threshold; the
        result is within 5% below ``vocab_size`` when the corpus allows). Every
        training character stays in the vocabulary, alone and as a ``##`` piece.
        """
        sentences = cls._training_texts(texts, config)
        dataset = tf.data.Dataset.from_tensor_slices(sentences).batch(1024)
        vocabulary = bert_vocab.bert_vocab_from_dataset(
            dataset,
            vocab_size=config.vocab_size,
            reserved_tokens=list(SPECIAL_TOKENS),
            bert_tokenizer_params={"lower_case": False, "normalization_form": None},
            learn_params={"lower_thresh": 2},
        )
        return cls(config, vocabulary=_trim(vocabulary, config.vocab_size), name=name)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocabulary": None}

    def save_assets(self, dir_path: str) -> None:
        self._check_ready()
        with open(os.path.join(dir_path, VOCAB_FILE), "w", encoding="utf-8", newline="\n") as file:
            file.write("\n".join(self.vocabulary) + "\n")

    def load_assets(self, dir_path: str) -> None:
        with open(os.path.join(dir_path, VOCAB_FILE), encoding="utf-8", newline="\n") as file:
            self.set_vocabulary(file.read().split("\n")[:-1])


def _trim(vocabulary: list[str], size: int) -> list[str]:
    """At most ``size`` tokens: drops the rarest multi-character pieces, keeps single characters.

    The learner lists special tokens, then single characters, then pieces by count;
    it may overshoot ``size`` when its threshold search runs out.
    """
    if len(vocabulary) <= size:
        return vocabulary

    def essential(token: str) -> bool:
        return token in SPECIAL_TOKENS or len(token.removeprefix(SUFFIX_INDICATOR)) <= 1

    room = size - sum(map(essential, vocabulary))
    kept = []
    for token in vocabulary:
        if essential(token):
            kept.append(token)
        elif room > 0:
            kept.append(token)
            room -= 1
    return kept
