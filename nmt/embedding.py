"""Token embeddings for the encoder and the decoder, initialized N(0, 1).

Keras's default ``Embedding`` initializer, uniform in ±0.05, gives a 256-dimensional
token vector a norm of about 0.46. Recurrent states computed from such inputs are
almost the same for every sentence (their spread across a batch is ~1% of their
size), and Adam, whose steps do not shrink with small gradients, then quickly drives
the ``tanh`` layers that read them (the dense bridge, Luong's attentional layer
``tanh(W_c [c; h])``) to the same saturated value for every sentence. Their
gradient is then exactly zero and the model stays a target-side language model
that ignores the source (seen at learning rates from 1e-3 to 1e-2 on Anki and
Multi30k; ``tests/test_learning.py`` guards against it). Unit-variance embeddings,
PyTorch's ``nn.Embedding`` default, give every token a norm of about ``sqrt(E)``
so the source is visible in the states from the first step.
"""

from __future__ import annotations

import keras


def token_embedding(vocab_size: int, embedding_dim: int, name: str = "embedding") -> keras.layers.Embedding:
    """``[batch, length]`` ids -> ``[batch, length, embedding_dim]`` vectors (weights ``[vocab_size, E]``)."""
    return keras.layers.Embedding(
        vocab_size,
        embedding_dim,
        embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
        name=name,
    )
