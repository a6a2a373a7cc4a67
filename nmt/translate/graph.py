"""The one translate graph: ``tf.string [batch]`` in, translations (and what produced them) out.

:func:`translate_text` is graph code. :class:`~nmt.translate.translator.Translator`
compiles it once per search (beam size, hypotheses, replacement, details) and feeds
it text batch by batch; every signature of the SavedModel export
(:mod:`nmt.export.writer`) traces it. So the Python translator and an export run the
same ops on the same batch and give the same bits::

    out = translate_text(tf.constant(["Ein Hund rennt.", ""]), model, src_tok, tgt_tok,
                         max_input_length=200, beam_size=5, n_best=1, length_penalty=0.6,
                         coverage_penalty=0.0, max_length_a=1.5, max_length_b=10)
    out["translations"]                                    # tf.string [2, 1]; "" for the empty input
"""

from __future__ import annotations

import tensorflow as tf

from nmt.search import SearchOutput, search
from nmt.translate.unknown import replace_unknown as _replace_unknown
from nmt.translate.values import (
    ATTENTION,
    LOG_PROBS,
    SCORES,
    SOURCE_LENGTH,
    SOURCE_TOKENS,
    TARGET_LENGTH,
    TARGET_TOKENS,
    TRANSLATIONS,
)
from nmt.vocab import END_ID, PAD_ID


def translate_text(text: tf.Tensor, model, source_tokenizer, target_tokenizer, *, max_input_length: int,
                   beam_size, n_best, length_penalty, coverage_penalty, max_length_a, max_length_b,
                   replace_unknown: bool = False, detailed: bool = False) -> dict[str, tf.Tensor]:
    """Translates ``text`` in one graph: tokenize, cut, search, detokenize, replace, scatter back.

    Each input is tokenized with ``source_tokenizer``, cut to ``max_input_length - 1``
    tokens and given END; inputs without tokens (empty, whitespace) leave the batch,
    and when none is left the model is not called. The others are searched together
    in input order, 0-padded to the longest (:func:`nmt.search.search`, which picks
    greedy or beam search), detokenized with ``target_tokenizer`` and, with
    ``replace_unknown``, the best hypothesis' unknown words are replaced
    (:func:`nmt.translate.unknown.replace_unknown`). Results go back to their
    input's row; an input without tokens gives ``""``, score 0 and length 0.

    Args:
        text: ``tf.string [batch]``, UTF-8.
        model: a :class:`~nmt.models.seq2seq.Seq2Seq`.
        source_tokenizer, target_tokenizer: :class:`~nmt.tokenizers.Tokenizer` s.
        max_input_length: source tokens the model reads, END included (a Python int).
        beam_size, n_best: Python ints (one search traced) or int32 scalar tensors
            (greedy and beam search traced; the caller checks ``1 <= n_best <= beam_size``).
        length_penalty, coverage_penalty: GNMT ``alpha`` and ``beta``, float scalars.
        max_length_a, max_length_b: at most ``floor(a * s + b)`` output tokens before END
            for ``s`` source tokens (float and int scalars).
        replace_unknown: replace unknown words in the best hypothesis (a Python bool).
        detailed: also return the detailed outputs (a Python bool).

    Returns:
        ``{"translations": tf.string [batch, n], "scores": float32 [batch, n],
        "log_probs": float32 [batch, n]}``, ``n = n_best``, best first; with
        ``detailed``, for the best hypothesis also ``"attention"`` float32
        ``[batch, T, S]``, ``"target_tokens"`` string ``[batch, T]``,
        ``"source_tokens"`` string ``[batch, S]`` (END included; zeros and ``""`` past
        the lengths) and ``"target_length"``, ``"source_length"`` int32 ``[batch]``.
    """
    source_ids, position = _sources(text, source_tokenizer, max_input_length)
    output = _search(model, source_ids, beam_size, n_best, length_penalty, coverage_penalty,
                     max_length_a, max_length_b)
    m, n, steps = tf.unstack(tf.shape(output.ids))
    texts = tf.reshape(target_tokenizer.detokenize(tf.reshape(output.ids, [m * n, steps])), [m, n])
    if replace_unknown:
        best = _replace_unknown(texts[:, 0], output.ids[:, 0], output.attention, source_ids, source_tokenizer)
        texts = tf.concat([best[:, tf.newaxis], texts[:, 1:]], axis=1)
    result = {
        TRANSLATIONS: _scatter(texts, position, ""),
        SCORES: _scatter(output.scores, position, 0.0),
        LOG_PROBS: _scatter(output.log_probs, position, 0.0),
    }
    if detailed:
        lengths = output.lengths[:, 0]
        source_lengths = tf.reduce_sum(tf.cast(source_ids != PAD_ID, tf.int32), axis=1)
        target_mask = tf.range(steps)[tf.newaxis, :] < lengths[:, tf.newaxis]  # [m, T]
        source_mask = tf.range(tf.shape(source_ids)[1])[tf.newaxis, :] < source_lengths[:, tf.newaxis]  # [m, S]
        target_tokens = target_tokenizer.id_to_token(output.ids[:, 0])
        source_tokens = source_tokenizer.id_to_token(source_ids)
        attention = tf.where(target_mask[:, :, tf.newaxis] & source_mask[:, tf.newaxis, :], output.attention, 0.0)
        result.update({
            ATTENTION: _scatter(attention, position, 0.0),
            TARGET_TOKENS: _scatter(tf.where(target_mask, target_tokens, ""), position, ""),
            SOURCE_TOKENS: _scatter(tf.where(source_mask, source_tokens, ""), position, ""),
            TARGET_LENGTH: _scatter(lengths, position, 0),
            SOURCE_LENGTH: _scatter(source_lengths, position, 0),
        })
    return result


def _sources(text: tf.Tensor, source_tokenizer, max_input_length: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Source ids of the inputs with tokens, and where each input's result is.

    Returns:
        ``source_ids`` int32 ``[m, S]``: tokens cut to ``max_input_length - 1``, END
        appended, 0-padded, for the ``m`` inputs with at least one token (in input
        order); ``position`` int32 ``[batch]``: ``1 +`` the input's row in
        ``source_ids``, or 0 for an input without tokens (see :func:`_scatter`).
    """
    tokens = source_tokenizer.tokenize(text)[:, :max_input_length - 1]
    non_empty = tokens.row_lengths() > 0
    ends = tf.RaggedTensor.from_tensor(tf.fill([tokens.nrows(), 1], END_ID), row_splits_dtype=tf.int64)
    sources = tf.concat([tokens, ends], axis=1)
    source_ids = tf.gather(sources, tf.where(non_empty)[:, 0]).to_tensor(default_value=PAD_ID)
    position = tf.where(non_empty, tf.cumsum(tf.cast(non_empty, tf.int32)), 0)
    return source_ids, position


def _search(model, source_ids, beam_size, n_best, length_penalty, coverage_penalty, a, b) -> SearchOutput:
    """:func:`nmt.search.search` on ``source_ids [m, S]``; no model call when ``m == 0``."""
    settings = dict(length_penalty=tf.cast(length_penalty, tf.float32),
                    coverage_penalty=tf.cast(coverage_penalty, tf.float32),
                    max_length_a=tf.cast(a, tf.float32), max_length_b=tf.cast(b, tf.int32))

    def run() -> SearchOutput:
        return search(model, source_ids, beam_size=beam_size, n_best=n_best, **settings)

    def nothing() -> SearchOutput:
        m, width = tf.shape(source_ids)[0], tf.shape(source_ids)[1]
        return SearchOutput(
            ids=tf.zeros([m, n_best, 0], tf.int32), lengths=tf.zeros([m, n_best], tf.int32),
            scores=tf.zeros([m, n_best], tf.float32), log_probs=tf.zeros([m, n_best], tf.float32),
            attention=tf.zeros([m, 0, width], tf.float32),
        )

    return tf.cond(tf.shape(source_ids)[0] > 0, run, nothing)


def _scatter(values: tf.Tensor, position: tf.Tensor, fill) -> tf.Tensor:
    """Rows of ``values [m, ...]`` back at their inputs: ``[batch, ...]``, ``fill`` where ``position`` is 0."""
    filler = tf.fill(tf.concat([[1], tf.shape(values)[1:]], 0), tf.constant(fill, values.dtype))
    return tf.gather(tf.concat([filler, values], axis=0), position)
