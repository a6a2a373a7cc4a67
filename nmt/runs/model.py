"""The run's model, built as training builds it (for training, loading, averaging and ``nmt info``)."""

from __future__ import annotations

from nmt.config.run import RunConfig
from nmt.models.seq2seq import Seq2Seq


def build_model(config: RunConfig, source_vocab_size: int, target_vocab_size: int) -> Seq2Seq:
    """The untrained model of ``config.model`` (seeded with ``train.seed``), in the current dtype policy."""
    return Seq2Seq(config.model, source_vocab_size, target_vocab_size, seed=config.train.seed)
