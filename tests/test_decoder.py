"""nmt.models.decoder.Decoder: the step() contract search builds on, input feeding, tied embeddings."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_test import run_layer_test

from nmt.models.decoder import Decoder

BATCH, SRC_LEN, MEMORY_DIM, UNITS, VOCAB = 3, 5, 6, 4, 11
RNG = np.random.default_rng(0)
MEMORY = RNG.normal(size=(BATCH, SRC_LEN, MEMORY_DIM)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)
SUMMARY = RNG.normal(size=(BATCH, 7)).astype("float32")
TARGET = np.array([[2, 5, 6, 7], [2, 8, 0, 0], [2, 9, 10, 4]], "int32")


def make(cell="gru", attention="bilinear", layers=2, **kwargs) -> tuple[Decoder, dict]:
    keras.utils.set_random_seed(0)
    decoder = Decoder(VOCAB, 5, UNITS, num_layers=layers, cell=cell, attention=attention,
                      memory_dim=MEMORY_DIM, context_dim=7, **kwargs)
    decoder.build()
    count = 2 if cell == "lstm" else 1
    rnn = [[RNG.normal(size=(BATCH, UNITS)).astype("float32") for _ in range(count)] for _ in range(layers)]
    return decoder, decoder.initial_state(rnn, MEMORY, MASK, SUMMARY)


@pytest.mark.parametrize(
    "attention, input_feeding, keys",
    [
        ("none", False, {"rnn", "memory_mask"}),
        ("context", False, {"rnn", "memory_mask", "context"}),
        ("dot", False, {"rnn", "memory_mask", "memory", "keys"}),
        ("additive", True, {"rnn", "memory_mask", "memory", "keys", "attentional"}),
    ],
)
def test_state_keys_and_batch_first_shapes(attention, input_feeding, keys):
    decoder, state = make("lstm", attention if attention != "dot" else "bilinear", input_feeding=input_feeding)
    assert set(state) == keys
    for tensor in tf.nest.flatten(state):
        assert tensor.shape[0] == BATCH
    logits, new_state, weights = decoder.step(TARGET[:, 0], state)
    assert tuple(logits.shape) == (BATCH, VOCAB) and tuple(weights.shape) == (BATCH, SRC_LEN)
    tf.nest.assert_same_structure(state, new_state)
    for old, new in zip(tf.nest.flatten(state), tf.nest.flatten(new_state)):
        assert old.shape == new.shape and old.dtype == new.dtype


@pytest.mark.parametrize("input_feeding", [False, True])
def test_state_can_be_reordered_like_a_beam(input_feeding):
    """Gathering the state rows reorders the next step's outputs the same way."""
    decoder, state = make("lstm", "additive", input_feeding=input_feeding)
    _, state, _ = decoder.step(TARGET[:, 0], state)
    _, state, _ = decoder.step(TARGET[:, 1], state)
    order = np.array([2, 0, 0])  # reorder and duplicate, as beam search does
    logits, _, weights = decoder.step(TARGET[:, 2], state)
    reordered = tf.nest.map_structure(lambda t: tf.gather(t, order), state)
    logits2, _, weights2 = decoder.step(TARGET[order, 2], reordered)
    np.testing.assert_allclose(np.asarray(logits2), np.asarray(logits)[order], atol=1e-6)
    np.testing.assert_allclose(np.asarray(weights2), np.asarray(weights)[order], atol=1e-6)


def test_state_can_be_tiled_for_a_beam():
    decoder, state = make("gru", "bilinear")
    beam = 4
    tiled = tf.nest.map_structure(lambda t: tf.repeat(t, beam, axis=0), state)
    logits, _, _ = decoder.step(TARGET[:, 0], state)
    logits_tiled, _, _ = decoder.step(np.repeat(TARGET[:, 0], beam), tiled)
    np.testing.assert_allclose(np.asarray(logits_tiled), np.repeat(np.asarray(logits), beam, 0), atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_input_feeding_loop_in_a_graph_equals_steps(cell):
    decoder, state = make(cell, "additive", input_feeding=True)
    full, weights = tf.function(lambda ids, s: decoder(ids, s))(TARGET, state)
    step_state = state
    for t in range(TARGET.shape[1]):
        logits, step_state, w = decoder.step(TARGET[:, t], step_state)
        np.testing.assert_allclose(np.asarray(logits), np.asarray(full)[:, t], atol=1e-5)
        np.testing.assert_allclose(np.asarray(w), np.asarray(weights)[:, t], atol=1e-6)


def test_input_feeding_widens_the_first_layer_input():
    plain, _ = make("gru", "bilinear")
    fed, _ = make("gru", "bilinear", input_feeding=True)
    assert fed.recurrent_layers[0].cell.kernel.shape[0] == 5 + UNITS  # embedding + h~
    assert plain.recurrent_layers[0].cell.kernel.shape[0] == 5


def test_training_call_with_dropouts_and_input_feeding_runs_in_a_graph():
    decoder, state = make("lstm", "bilinear", input_feeding=True, dropout=0.3, recurrent_dropout=0.3, seed=1)

    @tf.function
    def run():
        return decoder(TARGET, state, training=True)[0]

    a, b = np.asarray(run()), np.asarray(run())
    assert np.all(np.isfinite(a)) and not np.allclose(a, b)  # dropout is active and reseeded
    inference = np.asarray(decoder(TARGET, state)[0])
    np.testing.assert_array_equal(inference, np.asarray(decoder(TARGET, state)[0]))


def test_tied_embeddings_use_the_embedding_matrix():
    decoder, state = make("gru", "bilinear", tie_embeddings=True)
    assert decoder.output_projection is None and decoder.tied_projection is not None  # 4 -> 5
    features, _ = decoder.features(TARGET, state)
    expected = decoder.tied_projection(features) @ np.asarray(decoder.embedding.embeddings).T
    logits, _ = decoder(TARGET, state)
    np.testing.assert_allclose(np.asarray(logits), np.asarray(expected) + np.asarray(decoder.output_bias), atol=1e-5)
    names = [w.path for w in decoder.weights]
    assert sum("embeddings" in n for n in names) == 1


def test_context_mode_feeds_the_summary_at_every_step():
    decoder, state = make("gru", "context")
    logits, _ = decoder(TARGET, state)
    other = dict(state, context=state["context"] + 1.0)
    logits2, _ = decoder(TARGET, other)
    assert not np.allclose(np.asarray(logits)[:, -1], np.asarray(logits2)[:, -1])
    assert decoder.recurrent_layers[0].cell.kernel.shape[0] == 5 + 7


def test_invalid_combinations():
    with pytest.raises(ValueError, match="input_feeding"):
        Decoder(VOCAB, 5, UNITS, attention="context", context_dim=3, input_feeding=True)
    with pytest.raises(ValueError, match="memory_dim"):
        Decoder(VOCAB, 5, UNITS, attention="dot")
    with pytest.raises(ValueError, match="attention='luong' is not one of 'none', 'context', 'dot'"):
        Decoder(VOCAB, 5, UNITS, attention="luong")
    with pytest.raises(ValueError, match="context_dim"):
        Decoder(VOCAB, 5, UNITS, attention="context")


def _initial_state_then_call(decoder, target, rnn, memory, mask, summary):
    return decoder(target, decoder.initial_state(rnn, memory, mask, summary))


@pytest.mark.parametrize(
    "cell, attention, options, weights",
    [
        ("lstm", "additive", dict(input_feeding=True, dropout=0.1, recurrent_dropout=0.2, layer_norm=True,
                                  residual=True, tie_embeddings=True, seed=4), 1 + 2 * 3 + 2 * 2 + 3 + 1 + 1 + 1),
        ("gru", "none", {}, 1 + 2 * 3 + 2),
        ("rnn", "context", dict(tie_embeddings=True), 1 + 2 * 3 + 1 + 1),
        ("gru", "bilinear", dict(layer_norm=True), 1 + 2 * 3 + 2 * 2 + 1 + 1 + 2),
    ],
    ids=["lstm-additive-if-everything", "gru-none", "rnn-context-tied", "gru-bilinear-norm"],
)
def test_layer(cell, attention, options, weights):
    count = 2 if cell == "lstm" else 1
    rnn = [[RNG.normal(size=(BATCH, UNITS)).astype("float32") for _ in range(count)] for _ in range(2)]
    init_kwargs = dict(vocab_size=VOCAB, embedding_dim=5, units=UNITS, num_layers=2, cell=cell, attention=attention,
                       memory_dim=MEMORY_DIM, context_dim=7, **options)
    run_layer_test(Decoder, init_kwargs, (TARGET, rnn, MEMORY, MASK, SUMMARY), call=_initial_state_then_call,
                   expected_output_shape=[(BATCH, 4, VOCAB), (BATCH, 4, SRC_LEN)],
                   expected_num_trainable_weights=weights)
