"""Token embeddings for the encoder and the decoder: unit-scale vectors that learn fast.

Keras's default ``Embedding`` initializer, uniform in ±0.05, gives a 256-dimensional
token vector a norm of about 0.46. Recurrent states computed from such inputs are
almost the same for every sentence (their spread across a batch is ~1% of their
size), and Adam, whose steps do not shrink with small gradients, then quickly drives
the ``tanh`` layers that read them (the dense bridge, Luong's attentional layer
``tanh(W_c [c; h])``) to the same saturated value for every sentence. Their
gradient is then exactly zero and the model stays a target-side language model
that ignores the source (seen at learning rates from 1e-3 to 1e-2 on Anki and
Multi30k; ``tests/test_learning.py`` guards against it).

Storing N(0, 1) weights (PyTorch's default) cures that but slows learning later:
Adam moves every weight by about the learning rate per step, a 0.2% change of a
unit-size weight, and the reference model trailed the ±0.05 one from its fifth
epoch on Multi30k. So, as in the Transformer (Vaswani et al. 2017, section 3.4),
the stored table is N(0, 1/E) and the lookup is multiplied by ``sqrt(E)``: the
vectors the network reads have unit-variance entries (norm about ``sqrt(E)``)
from the first step, and Adam's steps are as large relative to the weights as with
small embeddings.

``embedding_init="uniform"`` restores Keras's default (U(-0.05, 0.05), no scaling),
to compare with or to reproduce models trained that way. On the Multi30k de->en
recipe (``configs/multi30k_de_en.yaml``, then with bilinear attention) it trailed the default from the third
epoch (validation perplexity 21.4 against 14.5 at epoch 3, 11.9 against 10.4 at
epoch 7), and it is the initialization that can collapse into the source-blind
language model described above.
"""

from __future__ import annotations

import math
from typing import get_args

import keras

from nmt.config.model import EmbeddingInit

EMBEDDING_INITS: tuple[str, ...] = get_args(EmbeddingInit)


@keras.saving.register_keras_serializable(package="nmt")
class ScaledEmbedding(keras.layers.Embedding):
    """``[batch, length]`` ids -> ``sqrt(E) * table[ids]`` ``[batch, length, E]``.

    The table ``embeddings`` ``[vocab_size, E]`` starts N(0, 1/E); tied output
    projections read the table as stored (without the ``sqrt(E)`` factor). With
    ``init="uniform"`` the table starts U(-0.05, 0.05) and is read unscaled
    (Keras's ``Embedding``).
    """

    def __init__(self, input_dim: int, output_dim: int, init: EmbeddingInit = "scaled_normal", **kwargs):
        if init not in EMBEDDING_INITS:
            raise ValueError(f"init={init!r} is not one of {EMBEDDING_INITS}")
        if init == "scaled_normal":
            kwargs.setdefault("embeddings_initializer", keras.initializers.RandomNormal(stddev=output_dim**-0.5))
        super().__init__(input_dim, output_dim, **kwargs)
        self.init = init
        self.scale = math.sqrt(output_dim) if init == "scaled_normal" else 1.0

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
