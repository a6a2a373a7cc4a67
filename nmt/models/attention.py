"""The decoder's attention, one Keras layer class per ``model.attention`` name.

Every kind has the contract the decoder uses, so the decoder never looks at the name
(``T`` is ``tgt_len`` for the teacher-forced call and 1 for a single step):

1. ``layer = cls.for_decoder(query_dim, memory_dim, context_dim, name=...)``: the layer
   for decoder states of size ``Q`` over encoder outputs of size ``M`` and an encoder
   summary of size ``C``; each kind reads the sizes it needs and raises
   ``ValueError`` when one of them is ``None``.
2. ``layer.initial_state(memory, summary)`` once per source batch: the kind's entries
   of the decoder state (see :mod:`nmt.models.decoder`), batch first.
3. ``layer.extend_input(x, state)``: the decoder input embeddings ``[batch, T, E]``
   widened to ``[batch, T, E + input_size]``.
4. ``readout, weights = layer.readout(query, state)`` from the top decoder outputs
   ``query [batch, T, Q]``: ``readout [batch, T, readout_size(Q)]`` and attention
   ``weights [batch, T, src_len]``. The decoder applies dropout to ``readout`` and,
   for an ``attentional`` kind, the attentional layer ``h~ = tanh(W_c readout)``
   (Luong et al. 2015), whose output input feeding can feed back.

The kinds:

- ``none`` (:class:`NoAttention`): ``readout = h``; weights all zero.
- ``context`` (:class:`ContextAttention`, Cho et al. 2014): the encoder summary ``c`` is
  appended to every decoder input and ``readout = [h; c]``; weights all zero.
- scored, ``attentional`` (:class:`DotAttention`, :class:`BilinearAttention`,
  :class:`AdditiveAttention`): ``keys = prepare_keys(memory)`` once per source sentence
  (the part of the score that depends only on the encoder outputs,
  ``[batch, src_len, key_dim]``), then ``context, weights = layer(query, keys, memory,
  memory_mask)`` for every target position at once or for one step, and
  ``readout = [context; h]``. Padded source positions (``memory_mask`` False) get
  exactly zero weight.
"""

from __future__ import annotations

from typing import ClassVar

import keras
from keras import ops

from nmt.config.model import SCORED_ATTENTIONS, AttentionName
from nmt.models import cells, choices


class Attention(keras.layers.Layer):
    """The contract of every attention kind (see the module docstring); no weights of its own."""

    #: The ``model.attention`` name of the class.
    kind: ClassVar[str] = ""
    #: Whether the readout goes through the decoder's attentional layer (and may be input-fed).
    attentional: ClassVar[bool] = False
    #: Whether :meth:`initial_state` needs the encoder summary.
    uses_summary: ClassVar[bool] = False
    #: Whether the encoder outputs must have the decoder's state size.
    needs_query_sized_memory: ClassVar[bool] = False
    #: How many features :meth:`extend_input` appends to every decoder input.
    input_size: int = 0

    @classmethod
    def for_decoder(cls, query_dim: int, memory_dim: int | None, context_dim: int | None, **kwargs) -> Attention:
        """The layer for a decoder of state size ``query_dim`` (``kwargs``: Keras layer options)."""
        raise NotImplementedError

    def build(self, *args, **kwargs):
        """Creates the weights; needs only the constructor's sizes, so shapes are ignored."""

    def initial_state(self, memory, summary) -> dict:
        """This kind's entries of the decoder state, from ``memory [batch, src_len, M]`` and ``summary [batch, C]``."""
        return {}

    def extend_input(self, x, state):
        """Decoder input embeddings ``[batch, T, E]`` -> ``[batch, T, E + input_size]``."""
        return x

    def readout_size(self, query_dim: int) -> int:
        """The last axis of :meth:`readout`'s first output."""
        raise NotImplementedError

    def readout(self, query, state):
        """``query [batch, T, Q]`` -> ``(readout [batch, T, readout_size(Q)], weights [batch, T, src_len])``."""
        raise NotImplementedError


def _zero_weights(query, memory_mask):
    """All-zero attention weights ``[batch, T, src_len]``."""
    return ops.zeros((ops.shape(query)[0], ops.shape(query)[1], ops.shape(memory_mask)[1]), dtype=query.dtype)


def _append_summary(x, summary, size: int):
    """``x [batch, T, F]`` with ``summary [batch, size]`` appended at every position."""
    summary = ops.expand_dims(summary, 1)
    return ops.concatenate([x, ops.broadcast_to(summary, (*ops.shape(x)[:2], size))], -1)


@keras.saving.register_keras_serializable(package="nmt")
class NoAttention(Attention):
    """``attention="none"``: the encoder only initializes the decoder.

    Call arguments:
        query: ``[batch, T, Q]``, the top decoder outputs.
        memory_mask: bool ``[batch, src_len]``.

    Returns:
        ``(query, weights)``: the query as the readout, and zero ``weights [batch, T, src_len]``.
    """

    kind = "none"

    @classmethod
    def for_decoder(cls, query_dim, memory_dim, context_dim, **kwargs):
        return cls(**kwargs)

    def readout_size(self, query_dim):
        return query_dim

    def readout(self, query, state):
        return self(query, state["memory_mask"])

    def call(self, query, memory_mask):
        return query, _zero_weights(query, memory_mask)

    def compute_output_spec(self, query, memory_mask):
        return keras.KerasTensor(query.shape), keras.KerasTensor((query.shape[0], query.shape[1], memory_mask.shape[1]))


@keras.saving.register_keras_serializable(package="nmt")
class ContextAttention(Attention):
    """``attention="context"``: the encoder summary ``c`` joins every decoder input and the readout.

    Decoder state entry ``"context"``: the summary ``[batch, C]``.

    Args:
        context_dim: summary size ``C``.

    Call arguments:
        query: ``[batch, T, Q]``, the top decoder outputs.
        context: ``[batch, C]``, the encoder summary.
        memory_mask: bool ``[batch, src_len]``.

    Returns:
        ``(readout [batch, T, Q + C], weights)``: ``readout = [query; c]`` at every
        position and zero ``weights [batch, T, src_len]``.
    """

    kind = "context"
    uses_summary = True

    def __init__(self, context_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.context_dim = context_dim

    @classmethod
    def for_decoder(cls, query_dim, memory_dim, context_dim, **kwargs):
        if context_dim is None:
            raise ValueError(f"attention={cls.kind!r} needs context_dim")
        return cls(context_dim, **kwargs)

    @property
    def input_size(self) -> int:
        return self.context_dim

    def initial_state(self, memory, summary):
        return {"context": summary}

    def extend_input(self, x, state):
        return _append_summary(x, state["context"], self.context_dim)

    def readout_size(self, query_dim):
        return query_dim + self.context_dim

    def readout(self, query, state):
        return self(query, state["context"], state["memory_mask"])

    def call(self, query, context, memory_mask):
        return _append_summary(query, context, self.context_dim), _zero_weights(query, memory_mask)

    def compute_output_spec(self, query, context, memory_mask):
        batch, length = query.shape[0], query.shape[1]
        return (
            keras.KerasTensor((batch, length, query.shape[2] + self.context_dim)),
            keras.KerasTensor((batch, length, memory_mask.shape[1])),
        )

    def get_config(self):
        config = super().get_config()
        config.update(context_dim=self.context_dim)
        return config


class _ScoredAttention(Attention):
    """Masked softmax attention; subclasses define ``prepare_keys`` and ``score``.

    Decoder state entries: ``"memory"`` (the encoder outputs ``[batch, src_len, M]``)
    and ``"keys"`` (``prepare_keys(memory)``).

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

    attentional = True

    def __init__(self, query_dim: int, memory_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.query_dim = query_dim
        self.memory_dim = memory_dim

    @classmethod
    def for_decoder(cls, query_dim, memory_dim, context_dim, **kwargs):
        if memory_dim is None:
            raise ValueError(f"attention={cls.kind!r} needs memory_dim")
        return cls(query_dim, memory_dim, **kwargs)

    def prepare_keys(self, memory):
        """``[batch, src_len, M]`` -> keys ``[batch, src_len, K]``."""
        raise NotImplementedError

    def score(self, query, keys):
        """``[batch, tgt_len, Q]``, ``[batch, src_len, K]`` -> ``[batch, tgt_len, src_len]``."""
        raise NotImplementedError

    def initial_state(self, memory, summary):
        return {"memory": memory, "keys": self.prepare_keys(memory)}

    def readout_size(self, query_dim):
        return self.memory_dim + query_dim

    def readout(self, query, state):
        context, weights = self(query, state["keys"], state["memory"], state["memory_mask"])
        return ops.concatenate([context, query], -1), weights

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

    kind = "dot"
    needs_query_sized_memory = True

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

    kind = "bilinear"

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

    kind = "additive"

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


#: ``model.attention`` name -> class (the names of ``AttentionName``).
ATTENTION_CLASSES: dict[str, type[Attention]] = choices.table(
    AttentionName,
    {cls.kind: cls for cls in (NoAttention, ContextAttention, DotAttention, BilinearAttention, AdditiveAttention)},
)

if tuple(name for name, cls in ATTENTION_CLASSES.items() if cls.attentional) != SCORED_ATTENTIONS:
    raise TypeError(f"the attentional classes do not match nmt.config.model.SCORED_ATTENTIONS {SCORED_ATTENTIONS}")


def attention_class(name: str) -> type[Attention]:
    """The attention class for ``model.attention`` (``none``, ``context``, ``dot``, ``bilinear`` or ``additive``)."""
    return choices.resolve("attention", name, ATTENTION_CLASSES)
