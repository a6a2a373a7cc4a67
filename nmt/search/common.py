"""What every search strategy shares: the step-function contract, the output, length limits.

A *step function* advances ``n`` hypotheses by one token::

    logits [n, V], new_state, attention_weights [n, S] = step_fn(token_ids [n], state)

``state`` is any nest of tensors with the hypothesis first (``Decoder.step`` with the
dict from ``Seq2Seq.encode`` is one); a search reorders it with
``tf.nest.map_structure(lambda t: tf.gather(t, indices), state)`` and never looks
inside. Everything here is TensorFlow graph code, usable inside a ``tf.function``
with unknown batch and source sizes.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from nmt.vocab import END_ID, PAD_ID, START_ID

__all__ = ["END_ID", "PAD_ID", "START_ID", "SearchOutput", "gather_rows", "max_output_lengths", "reorder_rows", "top_k_rows"]


class SearchOutput(NamedTuple):
    """The result of a search over ``batch`` sentences, ``n`` hypotheses each, best first.

    Attributes:
        ids: int32 ``[batch, n, T]``: output tokens, END included, 0 (PAD) after it.
        lengths: int32 ``[batch, n]``: tokens per hypothesis, END included.
        scores: float32 ``[batch, n]``: the ranking score (``log_probs`` for greedy;
            length- and coverage-penalized for beam search).
        log_probs: float32 ``[batch, n]``: the model score, ``sum_t log P(y_t | y_<t, x)``.
        attention: float32 ``[batch, T, S]``: attention weights of the best
            hypothesis, one row per output token (zeros after its END).
    """

    ids: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor
    log_probs: tf.Tensor
    attention: tf.Tensor


def max_output_lengths(source_mask: tf.Tensor, a, b) -> tf.Tensor:
    """Per-sentence output limit ``floor(a * s + b)``, ``s`` the real source tokens.

    Args:
        source_mask: bool ``[batch, src_len]``, True at real tokens (END included).
        a: float scalar; b: int scalar (Python numbers or tensors).

    Returns:
        int32 ``[batch]``: the number of tokens a hypothesis may emit before it is
        forced to end (so at most this + 1 tokens, END included).
    """
    source_lengths = tf.reduce_sum(tf.cast(source_mask, tf.float32), axis=1)
    limit = tf.floor(tf.cast(a, tf.float32) * source_lengths) + tf.cast(b, tf.float32)
    return tf.cast(limit, tf.int32)


def gather_rows(state, rows: tf.Tensor):
    """Every leaf of ``state`` at ``rows`` (int ``[m]``): keeps or reorders hypotheses."""
    return tf.nest.map_structure(lambda x: tf.gather(x, rows), state)


def reorder_rows(old_state, new_state, rows: tf.Tensor):
    """``new_state`` at ``rows``, except leaves the step returned unchanged (the same tensor object).

    Beam search reorders hypotheses within each sentence only, and a leaf the step
    never changes (like the encoder memory) is identical across a sentence's
    hypotheses, so it needs no gather.
    """
    return tf.nest.map_structure(lambda old, new: new if new is old else tf.gather(new, rows),
                                 old_state, new_state)


#: ``top_k_rows`` switches to the blocked algorithm from this many columns on.
BLOCKED_TOP_K_MIN_COLUMNS = 1024
_BLOCK = 64


def top_k_rows(values: tf.Tensor, k) -> tuple[tf.Tensor, tf.Tensor]:
    """``tf.math.top_k(values, k)`` for ``values [n, V]``, faster for a large ``V`` and small ``k``.

    TensorFlow's CPU top-k keeps a heap per row, slow over a vocabulary. From
    :data:`BLOCKED_TOP_K_MIN_COLUMNS` columns on (static ``V``), each row is cut into
    blocks of 64, the ``k`` blocks with the largest maxima are kept (they hold the ``k``
    largest values) and top-k runs over those ``64 k`` values only. Same values; among
    exactly equal values the chosen indices may differ. Returns ``(values [n, k],
    indices [n, k])`` with ``k = min(k, V)``.
    """
    columns = values.shape[-1]
    if columns is None or columns < BLOCKED_TOP_K_MIN_COLUMNS:
        return tf.math.top_k(values, tf.minimum(k, tf.shape(values)[-1]))
    rows, blocks = tf.shape(values)[0], -(-columns // _BLOCK)
    padded = tf.pad(values, [[0, 0], [0, blocks * _BLOCK - columns]], constant_values=-float("inf"))
    padded = tf.reshape(padded, [rows, blocks, _BLOCK])
    _, best_blocks = tf.math.top_k(tf.reduce_max(padded, axis=-1), tf.minimum(k, blocks))
    candidates = tf.reshape(tf.gather(padded, best_blocks, batch_dims=1), [rows, -1])
    top, position = tf.math.top_k(candidates, k)
    indices = tf.gather(best_blocks, position // _BLOCK, batch_dims=1) * _BLOCK + position % _BLOCK
    return top, tf.minimum(indices, columns - 1)  # a padding column can only win among -inf
