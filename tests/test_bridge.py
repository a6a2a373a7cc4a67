"""nmt.models.bridge: decoder initial states from encoder final states."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from layer_test import run_layer_test

from nmt.config.base import ConfigError, literal_choices
from nmt.config.model import ModelConfig
from nmt.models.bridge import BRIDGES, Bridge, final_hidden


def encoder_states(layers: int, directions: int, count: int, units: int = 3, batch: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [
        [[rng.normal(size=(batch, units)).astype("float32") for _ in range(count)] for _ in range(directions)]
        for _ in range(layers)
    ]


def bridge(kind, cell="gru", layers=1, directions=1, dec_layers=1, dec_units=3, merge="concat", units=3):
    return Bridge(kind, cell, encoder_layers=layers, encoder_units=units, directions=directions,
                  decoder_layers=dec_layers, decoder_units=dec_units, merge=merge)


@pytest.mark.parametrize("cell, count", [("gru", 1), ("lstm", 2), ("rnn", 1)])
def test_zero(cell, count):
    states = bridge("zero", cell, layers=2, directions=2, dec_layers=3, dec_units=5)(encoder_states(2, 2, count))
    assert len(states) == 3
    for layer in states:
        assert len(layer) == count
        for s in layer:
            np.testing.assert_array_equal(np.asarray(s), np.zeros((2, 5)))


def test_last_copies_layer_by_layer():
    source = encoder_states(2, 1, 2)
    states = bridge("last", "lstm", layers=2, dec_layers=2)(source)
    for j in range(2):
        for k in range(2):
            np.testing.assert_array_equal(np.asarray(states[j][k]), source[j][0][k])


@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_last_merges_directions(merge):
    source = encoder_states(1, 2, 2)
    dec_units = 6 if merge == "concat" else 3
    states = bridge("last", "lstm", directions=2, dec_units=dec_units, merge=merge)(source)
    for k in range(2):
        forward, backward = source[0][0][k], source[0][1][k]
        expected = np.concatenate([forward, backward], -1) if merge == "concat" else forward + backward
        np.testing.assert_allclose(np.asarray(states[0][k]), expected, rtol=1e-6)


def test_different_depths_start_every_decoder_layer_from_the_top_encoder_layer():
    source = encoder_states(3, 1, 1)
    layer = bridge("last", layers=3, dec_layers=2)
    assert [layer.source_layer(j) for j in range(2)] == [2, 2]
    states = layer(source)
    for j in range(2):
        np.testing.assert_array_equal(np.asarray(states[j][0]), source[2][0][0])
    assert [bridge("last", layers=2, dec_layers=2).source_layer(j) for j in range(2)] == [0, 1]


def test_last_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="decoder's size"):
        bridge("last", directions=2, dec_units=3, merge="concat")


def test_dense_projects_each_state_with_tanh():
    keras.utils.set_random_seed(0)
    source = encoder_states(2, 2, 2)
    layer = bridge("dense", "lstm", layers=2, directions=2, dec_layers=3, dec_units=5)
    states = layer(source)
    assert len(states) == 3
    for j, row in enumerate(states):
        for k, s in enumerate(row):
            assert tuple(s.shape) == (2, 5)
            dense = layer.projections[j][k]
            kernel, bias = (np.asarray(w) for w in dense.weights)
            merged = np.concatenate([source[1][0][k], source[1][1][k]], -1)  # top layer: depths differ
            np.testing.assert_allclose(np.asarray(s), np.tanh(merged @ kernel + bias), rtol=1e-5, atol=1e-6)


def test_final_hidden_concatenates_top_layer_directions():
    source = encoder_states(2, 2, 2)
    np.testing.assert_array_equal(np.asarray(final_hidden(source)), np.concatenate([source[1][0][0], source[1][1][0]], -1))
    uni = encoder_states(1, 1, 1)
    np.testing.assert_array_equal(np.asarray(final_hidden(uni)), uni[0][0][0])


@pytest.mark.parametrize(
    "init_kwargs, count, shapes, weights",
    [
        (dict(kind="dense", cell="lstm", encoder_layers=2, encoder_units=3, directions=2, decoder_layers=1,
              decoder_units=4, merge="sum"), 2, [(2, 4), (2, 4)], 4),
        (dict(kind="last", cell="gru", encoder_layers=2, encoder_units=3, directions=2, decoder_layers=2,
              decoder_units=6), 1, [(2, 6), (2, 6)], 0),
        (dict(kind="zero", cell="rnn", encoder_layers=1, encoder_units=3, directions=1, decoder_layers=2,
              decoder_units=5), 1, [(2, 5), (2, 5)], 0),
    ],
    ids=["dense-lstm-sum", "last-gru-concat", "zero-rnn"],
)
def test_layer(init_kwargs, count, shapes, weights):
    states = encoder_states(init_kwargs["encoder_layers"], init_kwargs["directions"], count)
    run_layer_test(Bridge, init_kwargs, (states,), expected_output_shape=shapes,
                   expected_num_trainable_weights=weights)


def test_kinds_and_merge_modes_are_the_configs_and_others_are_refused():
    assert BRIDGES == literal_choices(ModelConfig, "bridge")
    with pytest.raises(ConfigError, match="bridge='mean' is not one of 'zero', 'last', 'dense'"):
        bridge("mean")
    with pytest.raises(ConfigError, match="merge='ave' is not one of 'concat', 'sum'"):
        bridge("zero", merge="ave")
