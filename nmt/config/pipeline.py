"""How sentence pairs become batches (``pipeline.*`` keys)."""

from __future__ import annotations

import dataclasses

from nmt.config.base import NOT_A_KEY, ConfigError, check_fields, check_int, check_positive_int


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """How pairs become batches (:func:`nmt.data.pipeline.make_dataset`).

    Attributes:
        batch_size: sentences per batch (when ``batch_tokens`` is None). Set in code,
            not a key of config mappings (:data:`nmt.config.base.NOT_A_KEY`): a run's
            batch size is ``train.batch_size``, which :class:`nmt.config.run.RunConfig`
            copies here.
        batch_tokens: if set, batches hold as many sentences as fit this many
            tokens, counted as ``batch rows * max(src_len, tgt_len)`` (padding included).
        max_length: pairs whose source (with END) or target (with START) is longer
            than this many tokens are dropped and counted; None keeps everything.
        bucketing: sort by length within pools (see :mod:`nmt.data.pipeline`).
        pool_batches: batches per sorting pool.
        shuffle: shuffle examples and batches (training); off for evaluation.
        shuffle_buffer: examples in the shuffle buffer; for a streamed corpus
            (``data.streaming``) the lines of a block, read, shuffled whole, bucketed and
            batched at a time (:func:`nmt.data.pipeline.stream_batches`): it bounds memory
            and sets the latency of the first batch.
        seed: seed of both shuffles; the same seed gives the same batches.
        cache: cache tokenized examples in memory (in-memory corpora only).
        tokenize_batch: sentences tokenized per vectorized call.
    """

    batch_size: int = dataclasses.field(default=64, metadata=NOT_A_KEY)
    batch_tokens: int | None = None
    max_length: int | None = 100
    bucketing: bool = True
    pool_batches: int = 300
    shuffle: bool = True
    shuffle_buffer: int = 50_000
    seed: int = 0
    cache: bool = True
    tokenize_batch: int = 256

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("batch_size", "pool_batches", "shuffle_buffer", "tokenize_batch"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("batch_tokens", self.batch_tokens, optional=True)
        check_int("max_length", self.max_length, minimum=2, optional=True, note="room for START/END")
        if self.batch_tokens is not None and self.max_length is not None and self.batch_tokens < self.max_length:
            raise ConfigError(f"batch_tokens={self.batch_tokens} cannot hold one pair of max_length={self.max_length}")
