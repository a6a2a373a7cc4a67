"""nmt.models.stack.RecurrentStack: the recurrent stack shared by the encoder and the decoder."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nmt.config.base import ConfigError
from nmt.models.stack import RecurrentStack

X = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")  # [batch, time, features]


def make(cell="gru", layers=3, **kwargs) -> RecurrentStack:
    keras.utils.set_random_seed(0)
    stack = RecurrentStack(cell, 4, layers, **kwargs)
    stack.build(X.shape[-1])
    return stack


@pytest.mark.parametrize("order", ["layer", "kind"])
def test_names_seeds_and_creation_order(order):
    stack = RecurrentStack("lstm", 4, 2, dropout=0.1, recurrent_dropout=0.2, layer_norm=True, seed=7,
                           order=order)
    assert [layer.name for layer in stack.recurrent_layers] == ["rnn_0", "rnn_1"]
    assert [layer.name for layer in stack.dropout_layers] == ["dropout_0", "dropout_1"]
    assert [layer.name for layer in stack.norm_layers] == ["layer_norm_0", "layer_norm_1"]
    assert [layer.cell.seed for layer in stack.recurrent_layers] == [7, 8]
    assert [layer.seed for layer in stack.dropout_layers] == [107, 108]
    assert RecurrentStack("gru", 4, 2).norm_layers == []
    # Creation order shows in Keras's global name counter of the seed generators.
    generators = [stack.recurrent_layers[0].cell.seed_generator, stack.dropout_layers[0].seed_generator,
                  stack.recurrent_layers[1].cell.seed_generator]
    numbers = [int(g.name.rsplit("_", 1)[-1]) if g.name[-1].isdigit() else 0 for g in generators]
    assert (numbers[0] < numbers[1] < numbers[2]) == (order == "layer")


def test_bidirectional_layers_merge_their_directions():
    concat = RecurrentStack("gru", 4, 2, bidirectional_merge="concat")
    assert [layer.name for layer in concat.recurrent_layers] == ["birnn_0", "birnn_1"]
    assert concat.output_size == 8 and RecurrentStack("gru", 4, 1, bidirectional_merge="sum").output_size == 4
    concat.build(4)
    outputs, finals = concat.run(X)
    assert tuple(outputs.shape) == (2, 5, 8) and [len(final) for final in finals] == [2, 2]
    with pytest.raises(ConfigError, match="bidirectional_merge"):
        RecurrentStack("gru", 4, 1, bidirectional_merge="ave")
    with pytest.raises(ConfigError, match="order"):
        RecurrentStack("gru", 4, 1, order="random")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_run_is_the_layers_with_residual_links_and_norms(cell):
    stack = make(cell, layer_norm=True, residual=True)
    outputs, finals = stack.run(X)
    x = X
    for i, layer in enumerate(stack.recurrent_layers):
        result = layer(x)
        y = result[0] + x  # sizes match (4 -> 4): residual
        y = stack.norm_layers[i](y)
        for a, b in zip(finals[i], result[1:]):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
        x = y
    np.testing.assert_allclose(np.asarray(outputs), np.asarray(x), atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_steps_equal_the_full_run_from_the_same_initial_states(cell):
    stack = make(cell, layer_norm=True, residual=True)
    count = 2 if cell == "lstm" else 1
    rng = np.random.default_rng(1)
    initial = [[rng.normal(size=(2, 4)).astype("float32") for _ in range(count)] for _ in range(3)]
    outputs, finals = stack.run(X, initial_states=initial)
    states = initial
    for t in range(X.shape[1]):
        y, states = stack.step(X[:, t], states)
        np.testing.assert_allclose(np.asarray(y), np.asarray(outputs)[:, t], atol=1e-5)
    for layer_states, layer_finals in zip(states, finals):
        for a, b in zip(layer_states, layer_finals):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


def test_mask_keeps_the_final_states_of_the_real_steps():
    stack = make("gru", layers=2)
    mask = np.array([[True] * 5, [True] * 3 + [False] * 2])
    _, masked = stack.run(X, mask=mask)
    _, short = stack.run(X[1:, :3])
    for a, b in zip(masked, short):
        np.testing.assert_allclose(np.asarray(a[0])[1], np.asarray(b[0])[0], atol=1e-6)


def test_dropout_only_in_training_and_recurrent_masks_drawn_once():
    stack = make("gru", layers=2, dropout=0.5, recurrent_dropout=0.5, seed=1)
    inference = np.asarray(stack.run(X)[0])
    np.testing.assert_array_equal(inference, np.asarray(stack.run(X)[0]))
    assert not np.allclose(inference, np.asarray(stack.run(X, training=True)[0]))
    stack.draw_recurrent_dropout_masks(2, "float32", training=True)
    cell = stack.recurrent_layers[0].cell
    assert cell._recurrent_dropout_mask is not None
    stack.reset_recurrent_dropout_masks()
    assert cell._recurrent_dropout_mask is None
