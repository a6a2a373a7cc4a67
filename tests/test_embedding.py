"""Token embeddings: unit-variance vectors from a N(0, 1/E) table scaled by sqrt(E)."""

from __future__ import annotations

from typing import get_args

import keras
import numpy as np
import pytest
from layer_test import run_layer_test

from nmt.config.base import ConfigError
from nmt.config.model import EmbeddingInit, ModelConfig
from nmt.models.embedding import EMBEDDING_INITS, ScaledEmbedding, token_embedding
from nmt.models.seq2seq import Seq2Seq


def test_token_embedding_reads_unit_variance_vectors_from_a_small_table():
    layer = token_embedding(2000, 64)
    vectors = keras.ops.convert_to_numpy(layer(np.arange(2000)[np.newaxis]))[0]
    table = layer.embeddings.numpy()
    assert table.shape == (2000, 64)
    assert table.std() == pytest.approx(64**-0.5, rel=0.02)
    np.testing.assert_allclose(vectors, 8.0 * table, rtol=1e-6)
    assert vectors.std() == pytest.approx(1.0, abs=0.02)
    # Every token vector has a norm near sqrt(E), not ~0.46 as with Keras's default +-0.05.
    assert np.median(np.linalg.norm(vectors, axis=1)) == pytest.approx(8.0, rel=0.05)


def test_scaled_embedding_round_trips_its_config():
    layer = token_embedding(50, 16, name="src")
    clone = ScaledEmbedding.from_config(layer.get_config())
    assert clone.scale == pytest.approx(4.0)
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("init", EMBEDDING_INITS)
def test_layer(init):
    ids = np.array([[3, 4, 5, 0, 0], [19, 2, 0, 0, 0]], "int32")
    layer = run_layer_test(ScaledEmbedding, dict(input_dim=20, output_dim=4, init=init, name="embedding"), (ids,),
                           expected_output_shape=(2, 5, 4), expected_num_trainable_weights=1)
    assert layer.scale == (2.0 if init == "scaled_normal" else 1.0)


@pytest.mark.parametrize("tie_embeddings", [False, True])
def test_model_embeddings_use_it(tie_embeddings):
    model = Seq2Seq(ModelConfig(units=16, embedding_dim=16, tie_embeddings=tie_embeddings), 500, 400)
    for layer in (model.encoder.embedding, model.decoder.embedding):
        assert isinstance(layer, ScaledEmbedding)
        assert layer.embeddings.numpy().std() == pytest.approx(0.25, rel=0.05)


def test_uniform_init_is_kerass_default_read_unscaled():
    layer = token_embedding(2000, 64, init="uniform")
    vectors = keras.ops.convert_to_numpy(layer(np.arange(2000)[np.newaxis]))[0]
    table = layer.embeddings.numpy()
    assert layer.scale == 1.0
    assert np.abs(table).max() <= 0.05
    assert table.std() == pytest.approx(0.1 / 12**0.5, rel=0.03)
    np.testing.assert_array_equal(vectors, table)
    clone = ScaledEmbedding.from_config(layer.get_config())
    assert clone.init == "uniform" and clone.scale == 1.0


def test_unknown_init_is_refused():
    assert EMBEDDING_INITS == get_args(EmbeddingInit)
    with pytest.raises(ConfigError, match="init='xavier' is not one of 'scaled_normal', 'uniform'"):
        token_embedding(10, 4, init="xavier")


def test_model_config_selects_the_init_and_it_survives_saving(tmp_path):
    model = Seq2Seq(ModelConfig(units=8, embedding_dim=8, embedding_init="uniform"), 50, 40)
    ids = np.array([[3, 4, 5, 2]])
    outputs = model((ids, ids), training=False)
    for layer in (model.encoder.embedding, model.decoder.embedding):
        assert layer.scale == 1.0 and np.abs(layer.embeddings.numpy()).max() <= 0.05
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.encoder.embedding.init == "uniform"
    assert reloaded.decoder.embedding.scale == 1.0
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(reloaded((ids, ids), training=False)),
        keras.ops.convert_to_numpy(outputs),
        rtol=1e-6,
    )
