"""nmt.models.attention: scores against the papers' formulas, masking, batched = per-step."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nmt.config.base import ConfigError
from nmt.models.attention import AdditiveAttention, BilinearAttention, DotAttention, attention_class

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 3, 4)).astype("float32")  # [batch, tgt_len, Q]
MEMORY = RNG.normal(size=(2, 5, 4)).astype("float32")  # [batch, src_len, M]
MASK = np.array([[True, True, True, False, False], [True, True, True, True, True]])


def make(name, memory_dim=4):
    keras.utils.set_random_seed(0)
    layer = attention_class(name)(4, memory_dim)
    layer.build()
    return layer


def expected_scores(layer, query, memory):
    """The papers' scores written out in NumPy with the layer's weights."""
    if isinstance(layer, DotAttention):
        return np.einsum("btq,bsq->bts", query, memory)
    if isinstance(layer, BilinearAttention):
        w = np.asarray(layer.key_projection.kernel)  # [M, Q]
        return np.einsum("btq,mq,bsm->bts", query, w, memory)
    w1 = np.asarray(layer.key_projection.kernel)
    w2 = np.asarray(layer.query_projection.kernel)
    v = np.asarray(layer.energy.kernel)[:, 0]
    hidden = np.tanh((memory @ w1)[:, None, :, :] + (query @ w2)[:, :, None, :])
    return hidden @ v


@pytest.mark.parametrize("name", ["dot", "bilinear", "additive"])
def test_scores_weights_and_context_match_the_formulas(name):
    layer = make(name)
    context, weights = layer(QUERY, layer.prepare_keys(MEMORY), MEMORY, MASK)
    scores = np.where(MASK[:, None, :], expected_scores(layer, QUERY, MEMORY), -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(weights), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(context), expected @ MEMORY, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["dot", "bilinear", "additive"])
def test_padding_gets_exactly_zero_weight_and_its_values_do_not_matter(name):
    layer = make(name)
    _, weights = layer(QUERY, layer.prepare_keys(MEMORY), MEMORY, MASK)
    weights = np.asarray(weights)
    assert np.all(weights[0, :, 3:] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    garbage = MEMORY.copy()
    garbage[0, 3:] = 1e4
    context2, weights2 = layer(QUERY, layer.prepare_keys(garbage), garbage, MASK)
    np.testing.assert_array_equal(np.asarray(weights2), weights)
    context, _ = layer(QUERY, layer.prepare_keys(MEMORY), MEMORY, MASK)
    np.testing.assert_allclose(np.asarray(context2), np.asarray(context), atol=1e-6)


@pytest.mark.parametrize("name", ["dot", "bilinear", "additive"])
def test_all_positions_at_once_equal_one_position_at_a_time(name):
    layer = make(name)
    keys = layer.prepare_keys(MEMORY)
    context, weights = layer(QUERY, keys, MEMORY, MASK)
    for t in range(QUERY.shape[1]):
        c, w = layer(QUERY[:, t : t + 1], keys, MEMORY, MASK)
        np.testing.assert_allclose(np.asarray(c)[:, 0], np.asarray(context)[:, t], atol=1e-6)
        np.testing.assert_allclose(np.asarray(w)[:, 0], np.asarray(weights)[:, t], atol=1e-6)


def test_a_source_without_real_tokens_gives_zero_weights_not_nan():
    layer = make("bilinear")
    empty = np.zeros_like(MASK)
    context, weights = layer(QUERY, layer.prepare_keys(MEMORY), MEMORY, empty)
    np.testing.assert_array_equal(np.asarray(weights), 0.0)
    np.testing.assert_array_equal(np.asarray(context), 0.0)


def test_memory_of_another_size():
    memory = RNG.normal(size=(2, 5, 6)).astype("float32")
    for name in ("bilinear", "additive"):
        layer = make(name, memory_dim=6)
        context, _ = layer(QUERY, layer.prepare_keys(memory), memory, MASK)
        assert tuple(context.shape) == (2, 3, 6)
    with pytest.raises(ValueError, match="equal"):
        DotAttention(4, 6)


def test_names_resolve_in_one_place():
    assert attention_class("dot") is DotAttention
    assert attention_class("bilinear") is BilinearAttention
    assert attention_class("additive") is AdditiveAttention
    with pytest.raises(ConfigError, match="'dot', 'bilinear', 'additive'"):
        attention_class("none")


@pytest.mark.parametrize("layer", [DotAttention(4, 4), BilinearAttention(4, 6), AdditiveAttention(4, 6, 9)])
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    assert keras.saving.get_registered_name(type(layer)).startswith("nmt>")
