"""nmt.models.attention: scores against the papers' formulas, masking, batched = per-step, the decoder contract."""

from __future__ import annotations

from typing import get_args

import keras
import numpy as np
import pytest
from layer_test import run_layer_test

from nmt.config.base import ConfigError
from nmt.config.model import SCORED_ATTENTIONS, AttentionName
from nmt.models.attention import (
    ATTENTION_CLASSES,
    AdditiveAttention,
    BilinearAttention,
    ContextAttention,
    DotAttention,
    NoAttention,
    attention_class,
)

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
    assert tuple(ATTENTION_CLASSES) == get_args(AttentionName)
    assert attention_class("none") is NoAttention
    assert attention_class("context") is ContextAttention
    assert attention_class("dot") is DotAttention
    assert attention_class("bilinear") is BilinearAttention
    assert attention_class("additive") is AdditiveAttention
    assert tuple(name for name, cls in ATTENTION_CLASSES.items() if cls.attentional) == SCORED_ATTENTIONS
    with pytest.raises(ConfigError, match="'none', 'context', 'dot', 'bilinear', 'additive'"):
        attention_class("luong")


SUMMARY = RNG.normal(size=(2, 3)).astype("float32")  # [batch, C]


def _scored_call(layer, query, memory, mask):
    return layer(query, layer.prepare_keys(memory), memory, mask)


@pytest.mark.parametrize(
    "layer_cls, init_kwargs, inputs, call, shapes, weights",
    [
        (DotAttention, dict(query_dim=4, memory_dim=4), (QUERY, MEMORY, MASK), _scored_call, [(2, 3, 4), (2, 3, 5)], 0),
        (BilinearAttention, dict(query_dim=4, memory_dim=6), (QUERY, np.ones((2, 5, 6), "float32"), MASK),
         _scored_call, [(2, 3, 6), (2, 3, 5)], 1),
        (AdditiveAttention, dict(query_dim=4, memory_dim=6, attention_units=9), (QUERY, np.ones((2, 5, 6), "float32"), MASK),
         _scored_call, [(2, 3, 6), (2, 3, 5)], 3),
        (AdditiveAttention, dict(query_dim=4, memory_dim=4), (QUERY, MEMORY, MASK), _scored_call, [(2, 3, 4), (2, 3, 5)], 3),
        (NoAttention, {}, (QUERY, MASK), None, [(2, 3, 4), (2, 3, 5)], 0),
        (ContextAttention, dict(context_dim=3), (QUERY, SUMMARY, MASK), None, [(2, 3, 7), (2, 3, 5)], 0),
    ],
    ids=["dot", "bilinear", "additive-units", "additive", "none", "context"],
)
def test_layer(layer_cls, init_kwargs, inputs, call, shapes, weights):
    options = {} if call is None else {"call": call}
    run_layer_test(layer_cls, init_kwargs, inputs, expected_output_shape=shapes,
                   expected_num_trainable_weights=weights, **options)


def _state(layer):
    """The decoder state entries a step needs, as the decoder builds them."""
    return {"memory_mask": MASK, **layer.initial_state(MEMORY, SUMMARY)}


def test_none_reads_out_the_decoder_output_and_attends_nowhere():
    layer = attention_class("none").for_decoder(4, None, None)
    assert not layer.attentional and layer.input_size == 0 and layer.readout_size(4) == 4
    assert layer.initial_state(MEMORY, SUMMARY) == {}
    embedded = RNG.normal(size=(2, 3, 5)).astype("float32")
    np.testing.assert_array_equal(np.asarray(layer.extend_input(embedded, _state(layer))), embedded)
    readout, weights = layer.readout(QUERY, _state(layer))
    np.testing.assert_array_equal(np.asarray(readout), QUERY)
    np.testing.assert_array_equal(np.asarray(weights), np.zeros((2, 3, 5)))


def test_context_appends_the_summary_to_every_input_and_to_the_readout():
    layer = attention_class("context").for_decoder(4, None, 3)
    assert not layer.attentional and layer.uses_summary and layer.input_size == 3 and layer.readout_size(4) == 7
    state = _state(layer)
    assert set(state) == {"memory_mask", "context"}
    embedded = RNG.normal(size=(2, 3, 5)).astype("float32")
    tiled = np.broadcast_to(SUMMARY[:, None, :], (2, 3, 3))
    np.testing.assert_array_equal(np.asarray(layer.extend_input(embedded, state)), np.concatenate([embedded, tiled], -1))
    readout, weights = layer.readout(QUERY, state)
    np.testing.assert_array_equal(np.asarray(readout), np.concatenate([QUERY, tiled], -1))
    np.testing.assert_array_equal(np.asarray(weights), np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="context_dim"):
        attention_class("context").for_decoder(4, 6, None)


@pytest.mark.parametrize("name", ["dot", "bilinear", "additive"])
def test_scored_readout_is_the_context_then_the_query(name):
    layer = attention_class(name).for_decoder(4, 4, None)
    assert layer.attentional and not layer.uses_summary and layer.input_size == 0 and layer.readout_size(4) == 8
    state = _state(layer)
    assert set(state) == {"memory_mask", "memory", "keys"}
    readout, weights = layer.readout(QUERY, state)
    context, expected_weights = layer(QUERY, layer.prepare_keys(MEMORY), MEMORY, MASK)
    np.testing.assert_array_equal(np.asarray(readout), np.concatenate([np.asarray(context), QUERY], -1))
    np.testing.assert_array_equal(np.asarray(weights), np.asarray(expected_weights))
    with pytest.raises(ValueError, match="memory_dim"):
        attention_class(name).for_decoder(4, None, 3)
