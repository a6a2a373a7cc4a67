"""Greedy search: the most probable next token at every step, batched, in one graph loop."""

from __future__ import annotations

import tensorflow as tf

from nmt.search.common import SearchOutput, gather_rows
from nmt.vocab import END_ID, START_ID


def greedy_search(step_fn, state, max_lengths: tf.Tensor, *, start_id: int = START_ID,
                  end_id: int = END_ID) -> SearchOutput:
    """Decodes ``batch`` sentences greedily with a ``tf.while_loop``.

    Every sentence starts from ``start_id``; at each step it takes the argmax of
    the step's logits. A sentence that has emitted ``max_lengths[b]`` tokens is
    forced to emit END next. Sentences that have ended leave the batch the step
    function sees (their output is PAD from then on), and the loop ends when none
    is left.

    Args:
        step_fn: ``(token_ids [n], state) -> (logits [n, V], state, weights [n, S])``
            (see :mod:`nmt.search.common`).
        state: the initial state, a nest of ``[batch, ...]`` tensors.
        max_lengths: int32 ``[batch]`` (at least one sentence), tokens allowed before END.
        start_id, end_id: the START and END ids.

    Returns:
        A :class:`SearchOutput` with ``n = 1``; ``scores == log_probs``.
    """
    max_lengths = tf.convert_to_tensor(max_lengths, tf.int32)
    batch = tf.shape(max_lengths)[0]
    limit = tf.reduce_max(max_lengths)

    def cond(t, active, tokens, state, lengths, log_probs, ids, weights):
        return tf.logical_and(t <= limit, tf.size(active) > 0)

    def body(t, active, tokens, state, lengths, log_probs, ids, weights):
        logits, new_state, step_weights = step_fn(tokens, state)
        logits = tf.cast(logits, tf.float32)
        # END is forced at the limit; otherwise the argmax (the same as argmax of log_softmax).
        next_ids = tf.where(t >= tf.gather(max_lengths, active), end_id,
                            tf.argmax(logits, axis=-1, output_type=tf.int32))
        next_log_probs = tf.gather(logits, next_ids, batch_dims=1) - tf.reduce_logsumexp(logits, axis=-1)
        rows = active[:, tf.newaxis]
        log_probs = tf.tensor_scatter_nd_add(log_probs, rows, next_log_probs)
        lengths = tf.tensor_scatter_nd_add(lengths, rows, tf.ones_like(active))
        ids = ids.write(t, tf.scatter_nd(rows, next_ids, [batch]))  # PAD where inactive
        step_weights = tf.cast(step_weights, tf.float32)
        weights = weights.write(t, tf.scatter_nd(rows, step_weights, [batch, tf.shape(step_weights)[1]]))
        ended = tf.equal(next_ids, end_id)

        def shrink():
            keep = tf.where(tf.logical_not(ended))[:, 0]
            return tf.gather(active, keep), tf.gather(next_ids, keep), gather_rows(new_state, keep)

        def same():
            return active, next_ids, new_state

        active, tokens, state = tf.cond(tf.reduce_any(ended), shrink, same)
        return t + 1, active, tokens, state, lengths, log_probs, ids, weights

    loop_vars = (
        tf.constant(0),
        tf.range(batch),
        tf.fill([batch], start_id),
        state,
        tf.zeros([batch], tf.int32),
        tf.zeros([batch], tf.float32),
        tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None]),
        tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[None, None]),
    )
    invariants = (
        tf.TensorShape([]), tf.TensorShape([None]), tf.TensorShape([None]),
        tf.nest.map_structure(lambda x: unknown_batch(x.shape), state),
        tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape(None), tf.TensorShape(None),
    )
    _, _, _, _, lengths, log_probs, ids, weights = tf.while_loop(cond, body, loop_vars, shape_invariants=invariants)
    ids = tf.transpose(ids.stack(), [1, 0])  # [batch, T]
    attention = tf.transpose(weights.stack(), [1, 0, 2])  # [batch, T, S]
    return SearchOutput(
        ids=ids[:, tf.newaxis, :],
        lengths=lengths[:, tf.newaxis],
        scores=log_probs[:, tf.newaxis],
        log_probs=log_probs[:, tf.newaxis],
        attention=attention,
    )


def unknown_batch(shape: tf.TensorShape) -> tf.TensorShape:
    """``shape`` with its first (batch) dimension unknown."""
    return tf.TensorShape([None]).concatenate(shape[1:]) if shape.rank else shape
