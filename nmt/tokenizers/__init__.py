"""In-graph tokenizers (tensorflow-text): raw strings to ids and back, saved as Keras assets.

``TokenizerConfig`` -> ``train_tokenizers(corpus, config)`` -> ``Tokenizer`` layers
(``SentencePieceTokenizer``, ``WordPieceTokenizer``, ``CharTokenizer``) sharing the
id layout 0 [PAD], 1 [UNK], 2 [START], 3 [END]. See docs/tokenizers.md.
"""

from nmt.config.tokenizer import TokenizerConfig
from nmt.tokenizers.base import Tokenizer, tokenizer_class
from nmt.tokenizers.chars import CharTokenizer
from nmt.tokenizers.normalize import normalize, normalize_strings
from nmt.tokenizers.sentencepiece import SentencePieceTokenizer
from nmt.tokenizers.training import train_tokenizers
from nmt.tokenizers.wordpiece import WordPieceTokenizer
from nmt.vocab import END_ID, PAD_ID, SPECIAL_TOKENS, START_ID, UNK_ID, UNK_SURFACE

__all__ = [
    "END_ID",
    "PAD_ID",
    "SPECIAL_TOKENS",
    "START_ID",
    "UNK_ID",
    "UNK_SURFACE",
    "CharTokenizer",
    "SentencePieceTokenizer",
    "Tokenizer",
    "TokenizerConfig",
    "WordPieceTokenizer",
    "normalize",
    "normalize_strings",
    "tokenizer_class",
    "train_tokenizers",
]
