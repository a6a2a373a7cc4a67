"""nmt.models.encoder.Encoder: shapes, final states under padding, residual, masking."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from layer_test import run_layer_test

from nmt.config.base import ConfigError
from nmt.models.encoder import Encoder

SOURCE = np.array([[5, 6, 7, 3, 0, 0], [4, 3, 0, 0, 0, 0], [8, 9, 10, 11, 12, 3]], "int32")
LENGTHS = (SOURCE != 0).sum(1)


def make(**kwargs) -> Encoder:
    keras.utils.set_random_seed(0)
    options = dict(vocab_size=15, embedding_dim=5, units=4)
    options.update(kwargs)
    return Encoder(**options)


@pytest.mark.parametrize(
    "bidirectional, merge, size", [(False, "concat", 4), (True, "concat", 8), (True, "sum", 4)]
)
@pytest.mark.parametrize("cell, count", [("rnn", 1), ("lstm", 2), ("gru", 1)])
def test_output_shape_and_state_structure(cell, count, bidirectional, merge, size):
    encoder = make(cell=cell, bidirectional=bidirectional, bidirectional_merge=merge, num_layers=2)
    outputs, states = encoder(SOURCE)
    assert tuple(outputs.shape) == (3, 6, size) and encoder.output_size == size
    assert len(states) == 2
    for layer_states in states:
        assert len(layer_states) == (2 if bidirectional else 1)
        for direction in layer_states:
            assert len(direction) == count
            assert all(tuple(s.shape) == (3, 4) for s in direction)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_final_states_are_those_of_the_unpadded_sentences(cell):
    """Each row's states equal the states of that row encoded alone without padding."""
    encoder = make(cell=cell, bidirectional=True, num_layers=2)
    _, states = encoder(SOURCE)
    for row, length in enumerate(LENGTHS):
        _, alone = encoder(SOURCE[row : row + 1, :length])
        for layer in range(2):
            for direction in range(2):
                for k, state in enumerate(states[layer][direction]):
                    np.testing.assert_allclose(
                        np.asarray(state)[row], np.asarray(alone[layer][direction][k])[0], atol=1e-6,
                        err_msg=f"row {row} layer {layer} direction {direction} state {k}",
                    )


def test_outputs_at_real_positions_match_the_unpadded_sentences():
    encoder = make(cell="gru", bidirectional=True)
    outputs, _ = encoder(SOURCE)
    for row, length in enumerate(LENGTHS):
        alone, _ = encoder(SOURCE[row : row + 1, :length])
        np.testing.assert_allclose(np.asarray(outputs)[row, :length], np.asarray(alone)[0], atol=1e-6)


def test_explicit_mask_ignores_ids_in_padding():
    encoder = make(cell="lstm", bidirectional=True, num_layers=2, residual=True, layer_norm=True,
                   embedding_dim=8)
    mask = SOURCE != 0
    outputs, states = encoder(SOURCE)
    garbage = np.where(mask, SOURCE, 7).astype("int32")
    outputs2, states2 = encoder(garbage, source_mask=mask)
    np.testing.assert_allclose(np.asarray(outputs2)[mask], np.asarray(outputs)[mask], atol=1e-6)
    for a, b in zip(keras.tree.flatten(states), keras.tree.flatten(states2)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    unmasked, _ = encoder(garbage)  # without the mask the garbage is read
    assert not np.allclose(np.asarray(unmasked)[mask], np.asarray(outputs)[mask], atol=1e-4)


def test_residual_adds_the_layer_input_when_sizes_match():
    plain = make(cell="gru", embedding_dim=4, units=4)
    residual = make(cell="gru", embedding_dim=4, units=4, residual=True)
    residual.set_weights(plain.get_weights())
    embedded = np.asarray(plain.embedding(SOURCE))
    difference = np.asarray(residual(SOURCE)[0]) - np.asarray(plain(SOURCE)[0])
    mask = SOURCE != 0
    np.testing.assert_allclose(difference[mask], embedded[mask], atol=1e-6)


def test_residual_is_skipped_between_layers_of_different_sizes():
    plain = make(cell="gru", embedding_dim=5, units=4)  # 5 -> 4: no residual possible
    residual = make(cell="gru", embedding_dim=5, units=4, residual=True)
    residual.set_weights(plain.get_weights())
    np.testing.assert_allclose(np.asarray(residual(SOURCE)[0]), np.asarray(plain(SOURCE)[0]))


def test_output_projection_and_layer_norm():
    encoder = make(cell="gru", bidirectional=True, output_units=3, layer_norm=True)
    outputs, _ = encoder(SOURCE)
    assert tuple(outputs.shape) == (3, 6, 3) and encoder.output_size == 3
    same = make(cell="gru", output_units=4)  # already of that size: no projection layer
    assert same.projection is None


def test_dropout_only_in_training():
    encoder = make(cell="gru", dropout=0.5, recurrent_dropout=0.3, seed=1)
    a = np.asarray(encoder(SOURCE)[0])
    np.testing.assert_array_equal(a, np.asarray(encoder(SOURCE)[0]))
    assert not np.allclose(a, np.asarray(encoder(SOURCE, training=True)[0]))


@pytest.mark.parametrize(
    "options, size, weights",
    [
        (dict(cell="lstm", num_layers=2, bidirectional=True, bidirectional_merge="sum", dropout=0.1,
              recurrent_dropout=0.2, layer_norm=True, residual=True, output_units=7, seed=3), 7, 1 + 2 * 2 * 3 + 2 * 2 + 1),
        (dict(cell="gru", num_layers=1), 4, 1 + 3),
        (dict(cell="rnn", num_layers=2, bidirectional=True), 8, 1 + 2 * 2 * 3),
    ],
    ids=["lstm-bi-sum-everything", "gru", "rnn-bi-concat"],
)
def test_layer(options, size, weights):
    init_kwargs = dict(vocab_size=15, embedding_dim=5, units=4, **options)
    count = 2 if options["cell"] == "lstm" else 1
    directions = 2 if options.get("bidirectional") else 1
    states = [(3, 4)] * (options["num_layers"] * directions * count)
    run_layer_test(Encoder, init_kwargs, (SOURCE,), expected_output_shape=[(3, 6, size), *states],
                   expected_num_trainable_weights=weights)


def test_unknown_merge_mode_is_refused():
    with pytest.raises(ConfigError, match="bidirectional_merge='ave' is not one of 'concat', 'sum'"):
        make(bidirectional=True, bidirectional_merge="ave")
