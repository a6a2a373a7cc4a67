"""Token embeddings for the encoder and the decoder: unit-scale vectors from a small table.

With ``embedding_init="scaled_normal"`` (the default) the stored table is
N(0, 1/E) and every lookup is multiplied by ``sqrt(E)``, as in the Transformer
(Vaswani et al. 2017, section 3.4): the vectors the network reads have
unit-variance entries (norm about ``sqrt(E)``) from the first step, while the
stored weights stay small, so optimizer steps stay as large relative to them as
with a small-valued table.

``embedding_init="uniform"`` is Keras's default ``Embedding``: a U(-0.05, 0.05)
table read unscaled.
"""

from __future__ import annotations

import math

import keras

from nmt.config.model import EmbeddingInit
from nmt.models import choices


def _scaled_normal(output_dim: int) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(stddev=output_dim**-0.5)


#: Init name -> (the table's initializer for a table of width ``E``, or ``None`` for
#: Keras's default; whether lookups are multiplied by ``sqrt(E)``). Names of ``EmbeddingInit``.
_INITS = choices.table(EmbeddingInit, {"scaled_normal": (_scaled_normal, True), "uniform": (None, False)})

EMBEDDING_INITS: tuple[str, ...] = tuple(_INITS)


@keras.saving.register_keras_serializable(package="nmt")
class ScaledEmbedding(keras.layers.Embedding):
    """``[batch, length]`` ids -> ``sqrt(E) * table[ids]`` ``[batch, length, E]``.

    The table ``embeddings`` ``[vocab_size, E]`` starts N(0, 1/E); tied output
    projections read the table as stored (without the ``sqrt(E)`` factor). With
    ``init="uniform"`` the table starts U(-0.05, 0.05) and is read unscaled
    (Keras's ``Embedding``).
    """

    def __init__(self, input_dim: int, output_dim: int, init: EmbeddingInit = "scaled_normal", **kwargs):
        initializer, scaled = choices.resolve("init", init, _INITS)
        if initializer is not None:
            kwargs.setdefault("embeddings_initializer", initializer(output_dim))
        super().__init__(input_dim, output_dim, **kwargs)
        self.init = init
        self.scale = math.sqrt(output_dim) if scaled else 1.0

    def call(self, inputs):
        outputs = super().call(inputs)
        return outputs * self.scale if self.scale != 1.0 else outputs

    def get_config(self):
        config = super().get_config()
        config["init"] = self.init
        return config


def token_embedding(
    vocab_size: int, embedding_dim: int, init: EmbeddingInit = "scaled_normal", name: str = "embedding"
) -> ScaledEmbedding:
    """The embedding layer the encoder and the decoder use (see the module docstring)."""
    return ScaledEmbedding(vocab_size, embedding_dim, init=init, name=name)
