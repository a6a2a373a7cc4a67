"""Training the source and target tokenizers of a parallel corpus."""

from __future__ import annotations

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
