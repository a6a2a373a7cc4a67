"""Training the source and target tokenizers of a parallel corpus."""

from __future__ import annotations

import math

from nmt.config.tokenizer import TokenizerConfig
from nmt.data.corpus import ParallelCorpus
from nmt.tokenizers.base import Tokenizer, tokenizer_class
from nmt.tokenizers.sentencepiece import SentencePieceTokenizer


def train_tokenizers(corpus: ParallelCorpus, config: TokenizerConfig) -> tuple[Tokenizer, Tokenizer]:
    """Trains ``(source_tokenizer, target_tokenizer)`` of kind ``config.kind`` on ``corpus``.

    Pass the training split only. With ``config.joint`` one tokenizer is trained on
    source and target sentences interleaved (``s0, t0, s1, t1, ...``, so
    ``max_train_sentences`` takes half from each side) and returned twice, the same
    object. Layer names are ``"{lang}_tokenizer"`` or ``"{src}_{tgt}_tokenizer"``.

    With ``config.model_file`` nothing is trained: that SentencePiece model serves
    both sides, returned twice as with ``joint`` (ConfigError naming the key and the
    path when it is missing or not a SentencePiece model).
    """
    if config.model_file is not None:
        shared = SentencePieceTokenizer.from_model_file(config.model_file, config,
                                                        name=f"{corpus.src_lang}_{corpus.tgt_lang}_tokenizer")
        return shared, shared
    cls = tokenizer_class(config.kind)
    if config.joint:
        interleaved = (text for pair in zip(corpus.sources, corpus.targets) for text in pair)
        joint = cls.train(interleaved, config, name=f"{corpus.src_lang}_{corpus.tgt_lang}_tokenizer")
        return joint, joint
    source = cls.train(corpus.sources, config, name=f"{corpus.src_lang}_tokenizer")
    target = cls.train(corpus.targets, config, name=f"{corpus.tgt_lang}_tokenizer")
    return source, target


def sample_size(config: TokenizerConfig) -> int | None:
    """Pairs a sample of the training corpus needs so that :func:`train_tokenizers` sees ``max_train_sentences``.

    ``max_train_sentences`` pairs for separate vocabularies (each side's sentences), half
    as many (rounded up) for a ``joint`` one (it reads both sides interleaved); ``None``
    (every pair) without a limit; 0 with a ``model_file`` (nothing is trained).
    """
    if config.model_file is not None:
        return 0
    if config.max_train_sentences is None:
        return None
    return math.ceil(config.max_train_sentences / 2) if config.joint else config.max_train_sentences
