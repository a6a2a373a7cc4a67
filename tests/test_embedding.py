"""Token embeddings start with unit variance, in the encoder and the decoder alike."""

from __future__ import annotations

import numpy as np
import pytest

from nmt.embedding import token_embedding
from nmt.model_config import ModelConfig
from nmt.seq2seq import Seq2Seq


def test_token_embedding_is_unit_normal():
    layer = token_embedding(2000, 64)
    layer.build((None, None))
    weights = layer.embeddings.numpy()
    assert weights.shape == (2000, 64)
    assert weights.std() == pytest.approx(1.0, abs=0.02)
    assert abs(weights.mean()) < 0.02
    # Every token vector has a norm near sqrt(E), not ~0.46 as with Keras's default +-0.05.
    assert np.median(np.linalg.norm(weights, axis=1)) == pytest.approx(8.0, rel=0.05)


@pytest.mark.parametrize("tie_embeddings", [False, True])
def test_model_embeddings_use_it(tie_embeddings):
    model = Seq2Seq(ModelConfig(units=16, embedding_dim=16, tie_embeddings=tie_embeddings), 500, 400)
    for layer in (model.encoder.embedding, model.decoder.embedding):
        assert layer.embeddings.numpy().std() == pytest.approx(1.0, abs=0.05)
