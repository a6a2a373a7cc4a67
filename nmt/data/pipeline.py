"""From sentence pairs to training batches, as small ``tf.data`` stages.

``make_dataset`` chains the stages below with ``Dataset.apply``; each stage is a
function returning a ``Dataset -> Dataset`` transformation, so users can build
their own pipeline from the same parts (as in OpenNMT-tf's ``opennmt/data``).

Batches have the structure ``((source_ids, target_input_ids), target_output_ids)``,
all ``int32``, 0-padded:

* ``source_ids``: ``[batch, src_len]``, the source tokens followed by END (3);
* ``target_input_ids``: ``[batch, tgt_len]``, START (2) followed by the target tokens;
* ``target_output_ids``: ``[batch, tgt_len]``, the target tokens followed by END,
  so ``target_output_ids[:, t]`` is what the decoder predicts after reading
  ``target_input_ids[:, :t + 1]``.

Bucketing ("pool" batching): examples are shuffled, gathered into pools of
``pool_batches`` batches, sorted by (source length, target length) inside each
pool, cut into batches (by sentence count or by token budget), and the batches
are shuffled again. Similar lengths share a batch, so padding stays low, while
the order of batches stays random.

A streamed corpus (:func:`stream_batches`, ``data.streaming``) gets the same batches
one block at a time: the block of ``shuffle_buffer`` lines
(:class:`nmt.data.stream.PairStream`) is shuffled whole, then tokenized, filtered,
bucketed and batched with whole-block tensor ops (:func:`batch_block`, equal to
:func:`examples` and :func:`batch_examples`), and its batches are shuffled; each batch
carries its position ``(pass, block, batch)``.

Resuming a stream: the position of the last trained batch is recorded with every
checkpoint (:mod:`nmt.training.loop`); the resumed stream starts at that block (the
lines before it are only counted, not decoded) and skips the block's batches already
trained. Both shuffles are seeded by ``(seed, pass, block)`` alone, so the block's
batches come out the same again: the resumed run continues with the next unseen batch
and the cost of finding it is bounded by one block, wherever the position is. Why not
the alternatives: replaying the whole stream with ``skip`` re-reads and re-tokenizes
everything trained before (its cost grows with the position: an hour into a
10-million-pair epoch it is minutes); ``tf.train.Checkpoint`` of the iterator cannot
save a ``from_generator`` source and would store the shuffle buffer (``shuffle_buffer``
tokenized pairs) in every checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging

import tensorflow as tf

from nmt.config.pipeline import PipelineConfig
from nmt.data.corpus import ParallelCorpus
from nmt.data.readers import CorpusError
from nmt.data.stream import PairStream
from nmt.tokenizers.base import Tokenizer
from nmt.vocab import END_ID, PAD_ID, START_ID, UNK_ID

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class LengthReport:
    """What the ``max_length`` filter keeps and drops, with token statistics."""

    total: int
    dropped: int
    max_length: int | None
    src_tokens: int
    tgt_tokens: int
    src_unknown: int
    tgt_unknown: int

    @property
    def kept(self) -> int:
        return self.total - self.dropped

    def __str__(self) -> str:
        limit = "no limit" if self.max_length is None else f"max_length={self.max_length}"
        return (f"kept {self.kept:,} of {self.total:,} pairs, dropped {self.dropped:,} over {limit}; "
                f"{self.src_tokens:,} source / {self.tgt_tokens:,} target tokens, unknown rate "
                f"{self.src_unknown / max(1, self.src_tokens):.3%} / {self.tgt_unknown / max(1, self.tgt_tokens):.3%}")


def corpus_to_dataset(corpus: ParallelCorpus) -> tf.data.Dataset:
    """An in-memory corpus as a dataset of ``(source, target)`` string scalars."""
    return tf.data.Dataset.from_tensor_slices(
        (tf.constant(corpus.sources, tf.string, shape=[len(corpus)]),
         tf.constant(corpus.targets, tf.string, shape=[len(corpus)]))
    )


def encode_pairs(src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer):
    """``encode(sources [n], targets [n])`` -> ragged int32 ``(src [n, (len+1)], tgt_in, tgt_out)``.

    END is appended to the source; the target becomes START+tokens and tokens+END.
    """

    def encode(sources: tf.Tensor, targets: tf.Tensor):
        src = tf.cast(src_tokenizer.tokenize(sources), tf.int32)
        tgt = tf.cast(tgt_tokenizer.tokenize(targets), tf.int32)
        rows = tf.shape(sources)[0]

        def column(value: int, like: tf.RaggedTensor) -> tf.RaggedTensor:
            return tf.RaggedTensor.from_tensor(tf.fill([rows, 1], value),
                                               row_splits_dtype=like.row_splits.dtype)

        return (tf.concat([src, column(END_ID, src)], axis=1),
                tf.concat([column(START_ID, tgt), tgt], axis=1),
                tf.concat([tgt, column(END_ID, tgt)], axis=1))

    return encode


def tokenize(src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer, batch: int = 256):
    """``(source, target)`` strings -> ``(src [n+1], tgt_in [m+1], tgt_out [m+1])`` int32 ids.

    Sentences are tokenized ``batch`` at a time in a parallel ``map`` (vectorized
    ops are much faster than one call per sentence), then unbatched; see :func:`encode_pairs`.
    """
    encode = encode_pairs(src_tokenizer, tgt_tokenizer)

    def transform(dataset: tf.data.Dataset) -> tf.data.Dataset:
        return dataset.batch(batch).map(encode, num_parallel_calls=tf.data.AUTOTUNE).unbatch()

    return transform


def filter_max_length(max_length: int | None):
    """Drops examples whose source or target sequence is longer than ``max_length``."""

    def transform(dataset: tf.data.Dataset) -> tf.data.Dataset:
        if max_length is None:
            return dataset
        return dataset.filter(
            lambda src, tgt_in, tgt_out: tf.logical_and(
                tf.size(src) <= max_length, tf.size(tgt_in) <= max_length)
        )

    return transform


def _batch_sizes(lengths: tf.Tensor, batch_size: int, batch_tokens: int | None) -> tf.Tensor:
    """Splits a pool of ``lengths`` [pool] (in order) into consecutive batch sizes [n_batches].

    By sentence count, every batch has ``batch_size`` rows but the last. By tokens,
    a batch grows while ``rows * max length so far <= batch_tokens`` (greedy, in order).
    """
    pool = tf.shape(lengths)[0]
    if batch_tokens is None:
        full = pool // batch_size
        sizes = tf.fill([full], batch_size)
        rest = pool - full * batch_size
        return tf.cond(rest > 0, lambda: tf.concat([sizes, [rest]], 0), lambda: sizes)

    def step(state, length):
        batch_id, rows, longest = state[0], state[1], state[2]
        new_longest = tf.maximum(longest, length)
        fits = (rows + 1) * new_longest <= batch_tokens
        return tf.stack([
            tf.where(fits | tf.equal(rows, 0), batch_id, batch_id + 1),
            tf.where(fits | tf.equal(rows, 0), rows + 1, 1),
            tf.where(fits | tf.equal(rows, 0), new_longest, length),
        ])

    ids = tf.scan(step, lengths, initializer=tf.constant([0, 0, 0], tf.int32))[:, 0]
    return tf.math.bincount(ids, dtype=tf.int32)


def batch_examples(config: PipelineConfig):
    """Groups ``(src, tgt_in, tgt_out)`` examples into padded batches.

    With ``config.bucketing``, examples are sorted by (source, target) length
    within pools of ``pool_batches`` batches first. The batch size is
    ``config.batch_size`` sentences or, with ``batch_tokens``, as many as fit.
    """
    split_pool = _pool_batches(config)

    def transform(dataset: tf.data.Dataset) -> tf.data.Dataset:
        return dataset.ragged_batch(_pool_size(config)).flat_map(split_pool)

    return transform


def batch_block(src: tf.RaggedTensor, tgt_in: tf.RaggedTensor, tgt_out: tf.RaggedTensor,
                config: PipelineConfig) -> tf.data.Dataset:
    """The batches of one block of examples (ragged ``[n, (len)]`` each), made with whole-block tensor ops.

    The same batches as ``from_tensor_slices((src, tgt_in, tgt_out))`` followed by
    :func:`filter_max_length` and :func:`batch_examples`, without a tf.data step per
    example (which took tens of seconds for a 50,000-line block of a streamed corpus).
    """
    if config.max_length is not None:
        keep = tf.logical_and(src.row_lengths() <= config.max_length, tgt_in.row_lengths() <= config.max_length)
        src, tgt_in, tgt_out = (tf.ragged.boolean_mask(t, keep) for t in (src, tgt_in, tgt_out))
    count, pool_size = src.nrows(), _pool_size(config)
    split_pool = _pool_batches(config)

    def pool(start):
        end = tf.minimum(start + pool_size, count)
        return split_pool(src[start:end], tgt_in[start:end], tgt_out[start:end])

    return tf.data.Dataset.range(0, count, pool_size).flat_map(pool)


def _pool_size(config: PipelineConfig) -> int:
    """Examples per sorting pool: ``pool_batches`` batches."""
    return config.pool_batches * (config.batch_size if config.batch_tokens is None
                                  else max(1, config.batch_tokens // 8))


def _pool_batches(config: PipelineConfig):
    """``split_pool(src, tgt_in, tgt_out)`` (one pool, ragged) -> a dataset of its padded batches."""

    def split_pool(src: tf.RaggedTensor, tgt_in: tf.RaggedTensor, tgt_out: tf.RaggedTensor):
        src_len = tf.cast(src.row_lengths(), tf.int32)
        tgt_len = tf.cast(tgt_in.row_lengths(), tf.int32)
        if config.bucketing:
            # Lexicographic (source, target) order; stable so ties keep the shuffled order.
            order = tf.argsort(src_len * (tf.reduce_max(tgt_len) + 1) + tgt_len, stable=True)
            src, tgt_in, tgt_out = (tf.gather(t, order) for t in (src, tgt_in, tgt_out))
            src_len, tgt_len = tf.gather(src_len, order), tf.gather(tgt_len, order)
        sizes = _batch_sizes(tf.maximum(src_len, tgt_len), config.batch_size, config.batch_tokens)
        starts = tf.cumsum(sizes, exclusive=True)

        def rows(start, size):
            def pad(t):
                return t[start:start + size].to_tensor(PAD_ID)
            return (pad(src), pad(tgt_in)), pad(tgt_out)

        return tf.data.Dataset.from_tensor_slices((starts, sizes)).map(rows)

    return split_pool


def examples(src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer, config: PipelineConfig):
    """``(source, target)`` strings -> ``(src, tgt_in, tgt_out)`` id examples within ``max_length``."""

    def transform(dataset: tf.data.Dataset) -> tf.data.Dataset:
        dataset = dataset.apply(tokenize(src_tokenizer, tgt_tokenizer, config.tokenize_batch))
        return dataset.apply(filter_max_length(config.max_length))

    return transform


def make_dataset(
    pairs: ParallelCorpus | tf.data.Dataset,
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    config: PipelineConfig = PipelineConfig(),
) -> tf.data.Dataset:
    """Batches ``((source_ids, target_input_ids), target_output_ids)`` from sentence pairs.

    Args:
        pairs: an in-memory corpus, or a dataset of ``(source, target)`` string
            scalars (for example from ``nmt.data.stream_aligned``), read lazily.
        src_tokenizer, tgt_tokenizer: in-graph tokenizers (``nmt.tokenizers``).
        config: batching, filtering and shuffling options.

    For an in-memory corpus, the number of pairs dropped by ``max_length`` is
    logged (see :func:`length_report` to get it as a value).
    """
    if isinstance(pairs, ParallelCorpus):
        if config.max_length is not None:
            report = length_report(pairs, src_tokenizer, tgt_tokenizer, config.max_length)
            if report.dropped:
                logger.warning("%s: %s", pairs.name or "corpus", report)
        dataset = corpus_to_dataset(pairs)
    else:
        dataset = pairs
    dataset = dataset.apply(examples(src_tokenizer, tgt_tokenizer, config))
    if config.cache and isinstance(pairs, ParallelCorpus):
        dataset = dataset.cache()
    if config.shuffle:
        dataset = dataset.shuffle(config.shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.apply(batch_examples(config))
    if config.shuffle:
        dataset = dataset.shuffle(config.pool_batches, seed=config.seed + 1, reshuffle_each_iteration=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


#: A position in a stream: ``(pass, block, batch)`` of :func:`stream_batches`, 0-based.
Position = tuple[int, int, int]


def stream_batches(
    stream: PairStream,
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    config: PipelineConfig = PipelineConfig(),
    *,
    start: Position = (0, 0, 0),
    endless: bool = False,
) -> tf.data.Dataset:
    """``(batch, position)`` from pairs streamed from disk, one block of ``config.shuffle_buffer`` lines at a time.

    ``batch`` is ``((source_ids, target_input_ids), target_output_ids)`` as from
    :func:`make_dataset`; ``position`` is int64 ``[3]``: ``(pass, block, batch)``, the
    batch's index among its block's batches (see the module doc).

    Args:
        stream: the training pairs (:class:`nmt.data.stream.PairStream`); its
            :class:`~nmt.data.readers.CorpusError` surfaces from the dataset as a
            ``tf.errors.InvalidArgumentError`` and is kept in ``stream.error``.
        start: the first batch: ``(pass, block, batch)``; the batches of ``block``
            before ``batch`` are made and dropped (not the earlier blocks).
        endless: follow pass ``start[0]`` with the next passes, without end; otherwise
            stop at the end of that pass.
    """
    lines = config.shuffle_buffer
    first_pass, first_block, first_skip = start

    def blocks():
        pass_index, block_start, skip = first_pass, first_block, first_skip
        try:
            while True:
                for block, sources, targets in stream.blocks(lines, block_start, pass_index):
                    yield pass_index, block, skip, sources, targets
                    skip = 0
                if not endless:
                    return
                if block_start == 0 and not stream.report.kept:  # an endless stream of nothing
                    raise CorpusError(f"no training pairs left in {stream.name} after cleaning ({stream.report})")
                pass_index, block_start, skip = pass_index + 1, 0, 0
        except CorpusError as error:
            stream.error = error
            raise

    encode = encode_pairs(src_tokenizer, tgt_tokenizer)
    scalar = tf.TensorSpec([], tf.int64)
    texts = tf.TensorSpec([None], tf.string)
    source = tf.data.Dataset.from_generator(blocks, output_signature=(scalar, scalar, scalar, texts, texts))

    def block_batches(pass_index, block, skip, sources, targets):
        seed = tf.stack([tf.cast(config.seed, tf.int64), pass_index * (1 << 32) + block])
        if config.shuffle:
            order = tf.random.experimental.stateless_shuffle(tf.range(tf.size(sources)), seed=seed)
            sources, targets = tf.gather(sources, order), tf.gather(targets, order)
        # The whole block in vectorized calls (a parallel map inside each block's dataset is much slower).
        batches = batch_block(*encode(sources, targets), config)
        if config.shuffle:
            batches = batches.shuffle(lines, seed=config.seed)  # a Python int: get_seed cannot take a tensor
        position = lambda index, batch: (batch, tf.stack([pass_index, block, index]))  # noqa: E731
        return batches.enumerate().skip(skip).map(position)

    # Blocks in order, each block's batches together (a block has at most ``lines`` batches); the next
    # block is prepared while this one trains.
    batches = source.prefetch(1).interleave(block_batches, cycle_length=2, block_length=lines,
                                            num_parallel_calls=2, deterministic=True)
    return batches.prefetch(tf.data.AUTOTUNE)


def length_report(
    pairs: ParallelCorpus | tf.data.Dataset,
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    max_length: int | None,
    batch: int = 1024,
) -> LengthReport:
    """Counts what :func:`filter_max_length` would drop, in one pass over ``pairs``."""
    dataset = corpus_to_dataset(pairs) if isinstance(pairs, ParallelCorpus) else pairs
    dataset = dataset.apply(tokenize(src_tokenizer, tgt_tokenizer, batch))
    limit = tf.int64.max if max_length is None else max_length

    def add(totals, example):
        src, tgt_in, _ = example
        src_len, tgt_len = tf.size(src, tf.int64), tf.size(tgt_in, tf.int64)
        dropped = tf.cast(tf.logical_or(src_len > limit, tgt_len > limit), tf.int64)
        unk_src = tf.reduce_sum(tf.cast(tf.equal(src, UNK_ID), tf.int64))
        unk_tgt = tf.reduce_sum(tf.cast(tf.equal(tgt_in, UNK_ID), tf.int64))
        return totals + tf.stack([1, dropped, src_len - 1, tgt_len - 1, unk_src, unk_tgt])

    totals = dataset.reduce(tf.zeros([6], tf.int64), add).numpy().tolist()
    return LengthReport(total=totals[0], dropped=totals[1], max_length=max_length,
                        src_tokens=totals[2], tgt_tokens=totals[3],
                        src_unknown=totals[4], tgt_unknown=totals[5])


def padding_ratio(dataset: tf.data.Dataset) -> float:
    """Pad tokens / all token positions over every tensor of every batch of ``dataset``."""
    pads = total = 0
    for (src, tgt_in), tgt_out in dataset:
        for t in (src, tgt_in, tgt_out):
            pads += int(tf.reduce_sum(tf.cast(tf.equal(t, PAD_ID), tf.int64)))
            total += int(tf.size(t))
    return pads / max(1, total)
