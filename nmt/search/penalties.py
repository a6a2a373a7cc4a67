"""GNMT's length and coverage penalties (Wu et al. 2016, section 7), as TensorFlow ops.

A finished hypothesis ``Y`` of source ``X`` is ranked by

    s(Y, X) = log P(Y | X) / lp(Y) + cp(X; Y)
    lp(Y)   = ((5 + |Y|) / 6) ** alpha
    cp(X;Y) = beta * sum_i log(min(sum_j p_ij, 1.0))

where ``p_ij`` is the attention weight on source position ``i`` at target step ``j``.
``alpha = 0`` and ``beta = 0`` give back plain ``log P``.
"""

from __future__ import annotations

import tensorflow as tf

#: Coverage below this is clipped before the log, so a source token never attended
#: costs ``beta * log(1e-10)`` instead of ``-inf``.
MIN_COVERAGE = 1e-10


def length_penalty(lengths: tf.Tensor, alpha) -> tf.Tensor:
    """``((5 + lengths) / 6) ** alpha``, float32 of the shape of ``lengths`` (tokens, END included)."""
    lengths = tf.cast(lengths, tf.float32)
    return tf.pow((5.0 + lengths) / 6.0, tf.cast(alpha, tf.float32))


def coverage_penalty(coverage: tf.Tensor, source_mask: tf.Tensor, beta) -> tf.Tensor:
    """``beta * sum_i log(min(coverage_i, 1))`` over real source positions.

    Args:
        coverage: float ``[..., S]``: attention summed over the target steps.
        source_mask: bool ``[..., S]`` (broadcastable), False at source padding.
        beta: the penalty weight (0 gives zeros).

    Returns:
        float32 ``[...]``, always ``<= 0``.
    """
    clipped = tf.clip_by_value(tf.cast(coverage, tf.float32), MIN_COVERAGE, 1.0)
    logs = tf.where(source_mask, tf.math.log(clipped), 0.0)
    return tf.cast(beta, tf.float32) * tf.reduce_sum(logs, axis=-1)
