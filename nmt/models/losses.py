"""Masked token-level cross-entropy, accuracy and perplexity (the padding id ``PAD_ID`` is ignored).

Everything is computed as *sums over real target tokens* plus the token count, so
callers divide by the right denominator: :class:`nmt.models.seq2seq.Seq2Seq` divides the
loss by the number of real tokens in the *global* batch (all replicas), and the
metrics accumulate sums and counts over an epoch before dividing.
"""

from __future__ import annotations

import keras
from keras import ops

from nmt.vocab import PAD_ID


def token_statistics(labels, logits, label_smoothing: float = 0.0) -> dict:
    """Sums over the real (non-padding) positions of ``labels``.

    Args:
        labels: int ``[batch, tgt_len]``, ``PAD_ID`` at padding.
        logits: ``[batch, tgt_len, vocab]``.
        label_smoothing: ``eps``; the smoothed target puts ``1 - eps`` on the label
            and ``eps / vocab`` on every token (as ``keras.losses.CategoricalCrossentropy``).

    Returns:
        A dict of float32 scalars: ``loss_sum`` (smoothed cross-entropy),
        ``nll_sum`` (unsmoothed negative log-likelihood), ``correct`` (argmax hits)
        and ``tokens`` (number of real positions).
    """
    labels = ops.cast(labels, "int32")
    logits = ops.cast(logits, "float32")
    mask = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    log_normalizer = ops.logsumexp(logits, axis=-1)
    label_logits = ops.squeeze(ops.take_along_axis(logits, ops.expand_dims(labels, -1), axis=-1), -1)
    nll = log_normalizer - label_logits
    if label_smoothing:
        uniform = log_normalizer - ops.mean(logits, axis=-1)
        loss = (1.0 - label_smoothing) * nll + label_smoothing * uniform
    else:
        loss = nll
    hits = ops.cast(ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), labels), "float32")
    return {
        "loss_sum": ops.sum(loss * mask),
        "nll_sum": ops.sum(nll * mask),
        "correct": ops.sum(hits * mask),
        "tokens": ops.sum(mask),
    }


def masked_cross_entropy(labels, logits, label_smoothing: float = 0.0):
    """Mean (smoothed) cross-entropy per real target token; 0 if there is none."""
    stats = token_statistics(labels, logits, label_smoothing)
    return stats["loss_sum"] / ops.maximum(stats["tokens"], 1.0)


def masked_accuracy(labels, logits):
    """Fraction of real target tokens whose argmax prediction is right."""
    stats = token_statistics(labels, logits)
    return stats["correct"] / ops.maximum(stats["tokens"], 1.0)


@keras.saving.register_keras_serializable(package="nmt")
class TokenMean(keras.metrics.Metric):
    """Running ``total / count`` over an epoch, e.g. loss per token or token accuracy.

    ``update_state(total, count)`` adds a batch's sum and its number of tokens, so
    the result weighs every real token equally whatever the batch sizes.
    """

    def __init__(self, name: str = "token_mean", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, total, count):
        self.total.assign_add(ops.cast(total, self.dtype))
        self.count.assign_add(ops.cast(count, self.dtype))

    def result(self):
        return self.total / ops.maximum(self.count, 1.0)


@keras.saving.register_keras_serializable(package="nmt")
class Perplexity(TokenMean):
    """``exp(total negative log-likelihood / tokens)`` over an epoch."""

    def __init__(self, name: str = "perplexity", **kwargs):
        super().__init__(name=name, **kwargs)

    def result(self):
        return ops.exp(super().result())
