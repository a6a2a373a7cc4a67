"""``train.precision``: the Keras dtype policy a model is built under while it trains."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Sets Keras's global dtype policy to ``name`` (``float32``, ``mixed_float16``,
    ``mixed_bfloat16``) for the layers built inside the block, then restores the previous one.

    Under a mixed policy layers compute in float16/bfloat16 and keep float32
    variables; :class:`nmt.models.seq2seq.Seq2Seq` casts logits to float32 before the
    softmax and the loss, and ``compile`` wraps the optimizer in a
    ``LossScaleOptimizer`` for ``mixed_float16``.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
