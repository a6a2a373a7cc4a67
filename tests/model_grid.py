"""One shared helper that checks a seq2seq configuration the same way everywhere.

``GRID`` is every cell x direction x depth x attention x input feeding the issue
asks for (input feeding only where an attentional output exists); ``VARIANTS``
adds the options the grid keeps fixed (bridges, layer norm, residual, dropout,
tied embeddings, different decoder sizes). :func:`check_model` runs, on one tiny
model, every invariant:

1. it builds and returns ``[batch, tgt_len, vocab]`` logits;
2. the teacher-forced logits equal ``decoder.step`` run token by token (<= 1e-5);
3. what sits in padded positions changes no output (garbage ids under an explicit
   mask, garbage after the target, extra padding columns);
4. the config survives ``get_config``/``from_config`` and Keras serialization (model
   and every nmt layer, checked by :func:`layer_test.check_serialization`);
5. ``save`` + ``load_model`` gives identical outputs;
6. one training step lowers the loss on the batch.

Tiny sizes (units 8, vocab ~20, batch 3, lengths <= 7) keep the grid fast.
"""

from __future__ import annotations

import itertools
from typing import get_args

import keras
import numpy as np
import pytest
from layer_test import check_serialization

from nmt.config.base import config_from_dict, config_to_dict
from nmt.config.model import SCORED_ATTENTIONS, AttentionName, CellName, ModelConfig
from nmt.models.losses import masked_cross_entropy
from nmt.models.seq2seq import Seq2Seq

SOURCE_VOCAB = 19
TARGET_VOCAB = 23
TINY = dict(units=8, embedding_dim=6)


def _grid() -> list:
    params = []
    for cell, bidirectional, layers, attention in itertools.product(
        get_args(CellName), (False, True), (1, 2), get_args(AttentionName)
    ):
        for input_feeding in (False, True) if attention in SCORED_ATTENTIONS else (False,):
            config = ModelConfig(
                cell=cell, bidirectional=bidirectional, layers=layers, attention=attention,
                input_feeding=input_feeding, **TINY,
            )
            name = f"{cell}-{'bi' if bidirectional else 'uni'}-{layers}l-{attention}{'-if' if input_feeding else ''}"
            params.append(pytest.param(config, id=name))
    return params


GRID = _grid()

VARIANTS = [
    pytest.param(ModelConfig(cell="lstm", bridge="last", bidirectional_merge="sum", layers=2, **TINY), id="lstm-last-sum"),
    pytest.param(ModelConfig(cell="gru", bridge="last", decoder_units=16, attention="dot", **TINY), id="gru-last-concat-dot"),
    pytest.param(ModelConfig(cell="gru", bridge="zero", attention="additive", input_feeding=True, **TINY), id="gru-zero-if"),
    pytest.param(
        ModelConfig(cell="lstm", layers=2, decoder_layers=1, decoder_units=12, attention="dot", **TINY),
        id="lstm-2to1-layers-dot-projected",
    ),
    pytest.param(ModelConfig(cell="gru", layers=1, decoder_layers=2, bridge="last", bidirectional=False, **TINY),
                 id="gru-1to2-layers-last"),
    pytest.param(
        ModelConfig(cell="gru", layers=3, layer_norm=True, residual=True, bidirectional_merge="sum",
                    attention="bilinear", input_feeding=True, **TINY),
        id="gru-3l-norm-residual-if",
    ),
    pytest.param(ModelConfig(cell="lstm", dropout=0.3, recurrent_dropout=0.2, input_feeding=True, **TINY),
                 id="lstm-dropouts-if"),
    pytest.param(ModelConfig(cell="gru", tie_embeddings=True, attention="context", **TINY), id="gru-tied-context"),
    pytest.param(ModelConfig(cell="rnn", tie_embeddings=True, units=8, embedding_dim=8, attention="dot",
                             bidirectional_merge="sum"), id="rnn-tied-same-size"),
]


def tiny_batch():
    """A fixed batch of 3 with different source/target lengths (the longest row is full)."""
    source = np.array([[5, 6, 7, 8, 3, 0, 0], [4, 3, 0, 0, 0, 0, 0], [9, 10, 11, 12, 13, 14, 3]], "int32")
    target_in = np.array([[2, 5, 6, 7, 0, 0], [2, 8, 0, 0, 0, 0], [2, 9, 10, 11, 12, 13]], "int32")
    target_out = np.array([[5, 6, 7, 3, 0, 0], [8, 3, 0, 0, 0, 0], [9, 10, 11, 12, 13, 3]], "int32")
    return (source, target_in), target_out


def make_model(config: ModelConfig, seed: int = 0) -> Seq2Seq:
    """A tiny built model (Seq2Seq builds its weights in the constructor)."""
    keras.utils.set_random_seed(seed)
    return Seq2Seq(config, SOURCE_VOCAB, TARGET_VOCAB, seed=seed)


def reference_outputs(model: Seq2Seq) -> tuple[np.ndarray, np.ndarray]:
    """Teacher-forced ``(logits, attention)`` on :func:`tiny_batch`, shared by the checks."""
    (source, target_in), _ = tiny_batch()
    logits, weights = model.logits_and_attention(source, target_in)
    return np.asarray(logits), np.asarray(weights)


def check_builds(model: Seq2Seq, reference) -> None:
    (source, target_in), _ = tiny_batch()
    logits, weights = reference
    assert logits.shape == (3, target_in.shape[1], TARGET_VOCAB)
    assert weights.shape == (3, target_in.shape[1], source.shape[1])
    assert np.all(np.isfinite(logits))
    # (model.__call__ equals logits_and_attention: check_save_reload compares the two.)


def check_step_matches_full(model: Seq2Seq, reference, tolerance: float = 1e-5) -> None:
    """Token-by-token ``decoder.step`` reproduces the teacher-forced logits and attention."""
    (source, target_in), _ = tiny_batch()
    full, full_weights = reference
    state = model.encode(source)
    steps, weights = [], []
    for t in range(target_in.shape[1]):
        logits, state, step_weights = model.decoder.step(target_in[:, t], state)
        steps.append(np.asarray(logits))
        weights.append(np.asarray(step_weights))
    difference = np.abs(np.stack(steps, 1) - full).max()
    assert difference <= tolerance, f"step-by-step logits differ from the full call by {difference}"
    np.testing.assert_allclose(np.stack(weights, 1), full_weights, atol=tolerance)


def check_padding_invariance(model: Seq2Seq, reference, tolerance: float = 1e-6) -> None:
    """Padded positions never influence outputs at real positions, and get zero attention."""
    (source, target_in), _ = tiny_batch()
    source_mask = source != 0
    target_real = target_in != 0
    logits, weights = reference
    assert np.all(weights[~np.broadcast_to(source_mask[:, None, :], weights.shape)] == 0.0), \
        "padding got attention weight"
    rng = np.random.default_rng(1)

    # Garbage ids in source padding (under an explicit mask) and after each target's end.
    garbage_source = np.where(source_mask, source, rng.integers(1, SOURCE_VOCAB, source.shape)).astype("int32")
    garbage_target = np.where(target_real, target_in, rng.integers(1, TARGET_VOCAB, target_in.shape)).astype("int32")
    changed, _ = model.logits_and_attention(garbage_source, garbage_target, source_mask=source_mask)
    np.testing.assert_allclose(np.asarray(changed)[target_real], logits[target_real], atol=tolerance,
                               err_msg="ids in padded positions changed the output")

    # Two more padding columns on both sides (the mask now comes from the ids).
    wider = model((np.pad(source, ((0, 0), (0, 2))), np.pad(target_in, ((0, 0), (0, 2)))))
    wider = np.asarray(wider)[:, : target_in.shape[1]]
    np.testing.assert_allclose(wider[target_real], logits[target_real], atol=tolerance,
                               err_msg="extra padding columns changed the output")


def check_config_round_trip(model: Seq2Seq) -> None:
    check_serialization(model)
    assert config_from_dict(ModelConfig, config_to_dict(model.config)) == model.config
    for layer in (model.encoder, model.encoder.embedding, model.bridge, model.decoder, model.decoder.embedding,
                  model.decoder.attention_layer):
        check_serialization(layer)


def check_save_reload(model: Seq2Seq, reference, path) -> None:
    (source, target_in), _ = tiny_batch()
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is Seq2Seq and loaded.config == model.config
    np.testing.assert_array_equal(np.asarray(loaded((source, target_in))), reference[0])  # via __call__


def check_training_step_lowers_loss(model: Seq2Seq, reference) -> None:
    """One ``train_step`` (Adam, lr 0.01) lowers the loss on the batch it saw (changes the weights)."""
    model.compile(keras.optimizers.Adam(0.01), clip_norm=5.0)
    (source, target_in), target_out = tiny_batch()
    before = float(masked_cross_entropy(target_out, reference[0]))
    model.train_step(((source, target_in), target_out))
    after = float(masked_cross_entropy(target_out, model((source, target_in))))
    assert after < before, f"loss did not go down: {before} -> {after}"


def check_model(config: ModelConfig, tmp_path) -> None:
    """Every invariant above, on one tiny model of ``config``."""
    model = make_model(config)
    reference = reference_outputs(model)
    check_builds(model, reference)
    check_step_matches_full(model, reference)
    check_padding_invariance(model, reference)
    check_config_round_trip(model)
    check_save_reload(model, reference, str(tmp_path / "model.keras"))
    check_training_step_lowers_loss(model, reference)  # last: it changes the weights
