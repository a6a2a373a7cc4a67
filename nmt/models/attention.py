"""Scored attention over the encoder outputs: Luong ``dot``/``bilinear``, Bahdanau ``additive``.

All three share one contract, so the decoder calls them the same way for one step
(``query [batch, 1, query_dim]``) or for every target position at once
(``query [batch, tgt_len, query_dim]``, one batched operation):

1. ``keys = attention.prepare_keys(memory)`` once per source sentence: the part of
   the score that depends only on the encoder outputs, ``[batch, src_len, key_dim]``.
2. ``context, weights = attention(query, keys, memory, memory_mask)``.

Padded source positions (``memory_mask`` False) get exactly zero weight. The
attentional output ``h~ = tanh(W_c [c; h])`` (Luong et al. 2015) is the decoder's
job, not the attention's.
"""

from __future__ import annotations

import keras
from keras import ops

from nmt.config.base import check_choice
from nmt.models import cells


class _ScoredAttention(keras.layers.Layer):
    """Masked softmax attention; subclasses define ``prepare_keys`` and ``score``.

    Args:
        query_dim: decoder state size ``Q``.
        memory_dim: encoder output size ``M``.

    Call arguments:
        query: ``[batch, tgt_len, Q]``.
        keys: ``[batch, src_len, K]`` from :meth:`prepare_keys`.
        memory: ``[batch, src_len, M]``, the values averaged into the context.
        memory_mask: bool ``[batch, src_len]``, False at padding.

    Returns:
        ``(context [batch, tgt_len, M], weights [batch, tgt_len, src_len])``; every
        row of ``weights`` sums to 1 over real positions and is exactly 0 at padding
        (a row is all zeros if a source has no real token).
    """

    def __init__(self, query_dim: int, memory_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.query_dim = query_dim
        self.memory_dim = memory_dim

    def build(self, *args, **kwargs):
        """Creates the weights; needs only the constructor's sizes, so shapes are ignored."""

    def prepare_keys(self, memory):
        """``[batch, src_len, M]`` -> keys ``[batch, src_len, K]``."""
        raise NotImplementedError

    def score(self, query, keys):
        """``[batch, tgt_len, Q]``, ``[batch, src_len, K]`` -> ``[batch, tgt_len, src_len]``."""
        raise NotImplementedError

    def call(self, query, keys, memory, memory_mask):
        scores = self.score(query, keys)
        mask = ops.expand_dims(memory_mask, 1)
        scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        weights = ops.where(mask, weights, ops.zeros_like(weights))
        context = ops.einsum("bts,bsm->btm", weights, memory)
        return context, weights

    def compute_output_spec(self, query, keys, memory, memory_mask):
        batch, tgt_len, src_len = query.shape[0], query.shape[1], memory.shape[1]
        return (
            keras.KerasTensor((batch, tgt_len, self.memory_dim)),
            keras.KerasTensor((batch, tgt_len, src_len)),
        )

    def get_config(self):
        config = super().get_config()
        config.update(query_dim=self.query_dim, memory_dim=self.memory_dim)
        return config


@keras.saving.register_keras_serializable(package="nmt")
class DotAttention(_ScoredAttention):
    """Luong "dot" attention: ``score(h_d, h_e) = h_dᵀ h_e``; needs ``Q == M``.

    Keys are the memory itself (no weights).
    """

    def __init__(self, query_dim: int, memory_dim: int, **kwargs):
        if query_dim != memory_dim:
            raise ValueError(
                f"dot attention needs equal decoder ({query_dim}) and encoder output ({memory_dim}) sizes; "
                "project the encoder outputs (Encoder(output_units=...)) or use bilinear attention"
            )
        super().__init__(query_dim, memory_dim, **kwargs)

    def prepare_keys(self, memory):
        return memory

    def score(self, query, keys):
        return ops.einsum("btq,bsq->bts", query, keys)


@keras.saving.register_keras_serializable(package="nmt")
class BilinearAttention(_ScoredAttention):
    """Luong "general" attention: ``score(h_d, h_e) = h_dᵀ W h_e``.

    ``W`` is ``[Q, M]``; keys ``W h_e`` ``[batch, src_len, Q]`` are computed once per source.
    """

    def __init__(self, query_dim: int, memory_dim: int, **kwargs):
        super().__init__(query_dim, memory_dim, **kwargs)
        self.key_projection = keras.layers.Dense(query_dim, use_bias=False, name="key_projection")

    def build(self, *args, **kwargs):
        cells.build_once(self.key_projection, (None, None, self.memory_dim))

    def prepare_keys(self, memory):
        return self.key_projection(memory)

    def score(self, query, keys):
        return ops.einsum("btq,bsq->bts", query, keys)


@keras.saving.register_keras_serializable(package="nmt")
class AdditiveAttention(_ScoredAttention):
    """Bahdanau attention: ``score(h_d, h_e) = vᵀ tanh(W₁ h_e + W₂ h_d)``.

    Args:
        attention_units: size ``A`` of the hidden layer; defaults to ``query_dim``.

    Keys ``W₁ h_e`` ``[batch, src_len, A]`` are computed once per source.
    """

    def __init__(self, query_dim: int, memory_dim: int, attention_units: int | None = None, **kwargs):
        super().__init__(query_dim, memory_dim, **kwargs)
        self.attention_units = attention_units
        size = attention_units or query_dim
        self.key_projection = keras.layers.Dense(size, use_bias=False, name="key_projection")
        self.query_projection = keras.layers.Dense(size, use_bias=False, name="query_projection")
        self.energy = keras.layers.Dense(1, use_bias=False, name="energy")
        self._size = size

    def build(self, *args, **kwargs):
        cells.build_once(self.key_projection, (None, None, self.memory_dim))
        cells.build_once(self.query_projection, (None, None, self.query_dim))
        cells.build_once(self.energy, (None, None, None, self._size))

    def prepare_keys(self, memory):
        return self.key_projection(memory)

    def score(self, query, keys):
        hidden = ops.tanh(ops.expand_dims(keys, 1) + ops.expand_dims(self.query_projection(query), 2))
        return ops.squeeze(self.energy(hidden), -1)

    def get_config(self):
        config = super().get_config()
        config.update(attention_units=self.attention_units)
        return config


ATTENTION_CLASSES: dict[str, type[_ScoredAttention]] = {
    "dot": DotAttention,
    "bilinear": BilinearAttention,
    "additive": AdditiveAttention,
}


def attention_class(name: str) -> type[_ScoredAttention]:
    """The scored attention class for ``model.attention`` (``dot``, ``bilinear`` or ``additive``)."""
    check_choice("attention", name, ATTENTION_CLASSES)
    return ATTENTION_CLASSES[name]
