"""nmt.models.losses: masked cross-entropy with label smoothing, accuracy, perplexity."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from layer_test import check_serialization

from nmt.models.losses import Perplexity, TokenMean, masked_accuracy, masked_cross_entropy, token_statistics

RNG = np.random.default_rng(0)
LABELS = np.array([[4, 5, 3, 0], [6, 3, 0, 0]], "int32")
LOGITS = RNG.normal(size=(2, 4, 7)).astype("float32")
REAL = LABELS != 0


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_statistics_match_numpy():
    stats = {k: float(v) for k, v in token_statistics(LABELS, LOGITS).items()}
    logp = log_softmax(LOGITS.astype("float64"))
    nll = -np.take_along_axis(logp, LABELS[..., None], -1)[..., 0]
    assert stats["tokens"] == 5
    assert stats["nll_sum"] == pytest.approx(nll[REAL].sum(), rel=1e-5)
    assert stats["loss_sum"] == pytest.approx(nll[REAL].sum(), rel=1e-5)
    assert stats["correct"] == (LOGITS.argmax(-1) == LABELS)[REAL].sum()


@pytest.mark.parametrize("smoothing", [0.1, 0.3])
def test_label_smoothing_matches_keras_categorical_crossentropy(smoothing):
    loss = float(masked_cross_entropy(LABELS, LOGITS, smoothing))
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing, reduction=None)
    per_token = np.asarray(keras_loss(keras.ops.one_hot(LABELS, 7), LOGITS))
    assert loss == pytest.approx(per_token[REAL].mean(), rel=1e-5)
    stats = token_statistics(LABELS, LOGITS, smoothing)
    assert float(stats["nll_sum"]) == pytest.approx(float(token_statistics(LABELS, LOGITS)["nll_sum"]))


def test_padding_is_ignored():
    changed = LOGITS.copy()
    changed[~REAL] = RNG.normal(size=changed[~REAL].shape) * 100
    for name in ("loss_sum", "nll_sum", "correct", "tokens"):
        assert float(token_statistics(LABELS, changed, 0.1)[name]) == float(token_statistics(LABELS, LOGITS, 0.1)[name])
    flat_real = token_statistics(LABELS[REAL], LOGITS[REAL], 0.1)  # the [N] / [N, V] form used in training
    assert float(flat_real["loss_sum"]) == pytest.approx(float(token_statistics(LABELS, LOGITS, 0.1)["loss_sum"]), rel=1e-6)


def test_empty_batch_gives_zero_not_nan():
    empty = np.zeros_like(LABELS)
    assert float(masked_cross_entropy(empty, LOGITS)) == 0.0
    assert float(masked_accuracy(empty, LOGITS)) == 0.0


def test_accuracy():
    predicted = np.array([[4, 5, 6, 1], [2, 3, 3, 3]])
    logits = np.eye(7, dtype="float32")[predicted] * 5
    labels = np.array([[4, 5, 3, 0], [2, 3, 6, 0]], "int32")  # 4 of 6 real tokens right
    assert float(masked_accuracy(labels, logits)) == pytest.approx(4 / 6)


def test_metrics_weigh_every_token_equally_across_batches():
    mean, perplexity = TokenMean(), Perplexity()
    mean.update_state(2.0, 1.0)  # one token with loss 2
    mean.update_state(12.0, 3.0)  # three tokens with loss 4
    assert float(mean.result()) == pytest.approx(14 / 4)
    perplexity.update_state(2.0, 1.0)
    perplexity.update_state(12.0, 3.0)
    assert float(perplexity.result()) == pytest.approx(np.exp(14 / 4), rel=1e-6)
    mean.reset_state()
    assert float(mean.result()) == 0.0


@pytest.mark.parametrize("metric", [TokenMean(name="accuracy"), Perplexity()], ids=["token_mean", "perplexity"])
def test_metrics_round_trip_their_config(metric):
    assert check_serialization(metric)["name"] == metric.name
