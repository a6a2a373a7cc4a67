"""nmt.models.cells: the one place a cell name becomes a Keras recurrent layer; nmt.models.choices."""

from __future__ import annotations

from typing import Literal, get_args

import keras
import numpy as np
import pytest

from nmt.config.base import ConfigError
from nmt.config.model import CellName
from nmt.models import cells, choices


@pytest.mark.parametrize(
    "name, layer_class, count",
    [("rnn", keras.layers.SimpleRNN, 1), ("lstm", keras.layers.LSTM, 2), ("gru", keras.layers.GRU, 1)],
)
def test_names_resolve_to_keras_layers_and_state_counts(name, layer_class, count):
    assert cells.cell_layer_class(name) is layer_class
    assert cells.state_count(name) == count
    layer = cells.recurrent_layer(name, 4)
    outputs, *states = layer(np.ones((2, 3, 5), "float32"))
    assert isinstance(layer, layer_class)
    assert tuple(outputs.shape) == (2, 3, 4)
    assert len(states) == count and all(tuple(s.shape) == (2, 4) for s in states)


def test_cell_names_are_the_configs():
    assert tuple(cells.CELL_LAYERS) == get_args(CellName)


def test_unknown_cell_lists_the_choices():
    with pytest.raises(ConfigError, match="'rnn', 'lstm', 'gru'"):
        cells.cell_layer_class("transformer")
    with pytest.raises(ConfigError):
        cells.state_count("Gru")


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_final_state_under_mask_is_the_state_at_the_last_real_step(name):
    keras.utils.set_random_seed(0)
    layer = cells.recurrent_layer(name, 4)
    x = np.random.default_rng(0).normal(size=(1, 6, 3)).astype("float32")
    mask = np.array([[True] * 4 + [False] * 2])
    _, *padded = layer(x, mask=mask)
    _, *short = layer(x[:, :4])
    for a, b in zip(padded, short):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    _, *unmasked = layer(x)
    assert not np.allclose(np.asarray(unmasked[0]), np.asarray(short[0])), "the mask had no effect"


def test_recurrent_dropout_uses_one_mask_for_all_steps():
    """A linear RNN h_t = dropout(h_{t-1}) @ I keeps the same units dropped at every step."""
    layer_class = cells.cell_layer_class("rnn")
    layer = layer_class(
        64,
        activation=None,
        use_bias=False,
        recurrent_dropout=0.5,
        kernel_initializer="ones",
        recurrent_initializer="identity",
        return_sequences=True,
        seed=3,
    )
    x = np.zeros((1, 6, 1), "float32")
    x[0, 0, 0] = 1.0  # h_0 = 1 everywhere, then only the recurrence acts
    h = np.asarray(layer(x, training=True))[0]
    kept = h[1] != 0
    assert 0 < kept.sum() < 64
    for t in range(2, 6):
        np.testing.assert_array_equal(h[t] != 0, kept)  # a fresh mask per step would drop more units
        np.testing.assert_allclose(h[t][kept], 2.0**t, rtol=1e-5)  # inverted-dropout scaling 1/(1-0.5)


def test_tables_must_cover_exactly_the_literals_names():
    Names = Literal["b", "a"]
    assert list(choices.table(Names, {"a": 1, "b": 2})) == ["b", "a"]  # ordered like the Literal
    with pytest.raises(TypeError, match="do not match"):
        choices.table(Names, {"a": 1})
    with pytest.raises(TypeError, match="do not match"):
        choices.table(Names, {"a": 1, "b": 2, "c": 3})
    assert choices.resolve("thing", "a", {"a": 1}) == 1
    with pytest.raises(ConfigError, match="thing='c' is not one of 'a'"):
        choices.resolve("thing", "c", {"a": 1})
    assert choices.MERGE_MODES == ("concat", "sum")
