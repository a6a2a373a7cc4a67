"""Recurrent source encoder: embedding, then stacked (bi)directional recurrent layers."""

from __future__ import annotations

import keras
from keras import ops

from nmt.config.base import check_choice
from nmt.models import cells
from nmt.models.choices import MERGE_MODES
from nmt.models.embedding import token_embedding
from nmt.models.stack import RecurrentStack
from nmt.vocab import PAD_ID


@keras.saving.register_keras_serializable(package="nmt")
class Encoder(keras.layers.Layer):
    """Embeds source ids and runs ``num_layers`` stacked recurrent layers over them.

    Every layer ``i`` computes ``y = rnn_i(dropout(x))``; with ``residual`` and equal
    input/output sizes ``y = y + x``; with ``layer_norm`` ``y = LayerNorm(y)`` (see
    :mod:`nmt.models.stack`). The last layer's output is optionally projected to
    ``output_units`` by ``tanh(W y)`` (used when a Luong ``dot`` attention needs
    encoder outputs of the decoder's size); the ``tanh`` keeps the projected outputs,
    which are both the keys and the values of the attention, in [-1, 1] like any
    recurrent output.

    Masking: token id ``PAD_ID`` (0) is padding. The mask ``source_ids != PAD_ID`` (or
    the ``source_mask`` given to ``call``) is passed explicitly to every recurrent
    layer, so final states are those at each sequence's last real token (for the
    backward direction: after reading from the last real token to the first), and
    nothing computed at padded positions reaches any output a later component
    reads (attention gives padding exactly zero weight). Outputs at padded
    positions are unspecified.

    Args:
        vocab_size: source vocabulary size.
        embedding_dim: embedding size ``E``.
        units: recurrent state size per direction ``U``.
        num_layers: number of stacked recurrent layers.
        cell: ``rnn``, ``lstm`` or ``gru`` (see :mod:`nmt.models.cells`).
        bidirectional: read the source both ways in every layer.
        bidirectional_merge: ``concat`` (layer output ``2U``) or ``sum`` (``U``).
        dropout: dropout rate on the input of every recurrent layer.
        recurrent_dropout: variational recurrent dropout rate.
        layer_norm: layer-normalize every layer's output.
        residual: residual connection where a layer's input and output sizes match.
        output_units: if set and different from the last layer's size, a ``tanh``
            projection of the outputs to this size.
        seed: seed for dropout masks.
        embedding_init: ``scaled_normal`` or ``uniform`` (see :mod:`nmt.models.embedding`).

    Call arguments:
        source_ids: int ``[batch, src_len]``, padded with ``PAD_ID``.
        source_mask: optional bool ``[batch, src_len]``; defaults to ``source_ids != PAD_ID``.
        training: whether dropout is active.

    Returns:
        ``(outputs, states)``: ``outputs`` ``[batch, src_len, output_size]``;
        ``states[layer][direction]`` is the list of that layer and direction's final
        states (``[h]`` or, for LSTM, ``[h, c]``), each ``[batch, units]``;
        direction 0 is forward, 1 backward.

    Attributes (public, for inspection such as gradients through time):
        embedding: the ``keras.layers.Embedding`` (``[batch, src_len]`` ids to
            ``[batch, src_len, E]``).
        recurrent_layers: the recurrent layers, first to last (each a Keras RNN or
            ``Bidirectional`` layer taking ``[batch, src_len, features]`` and a mask).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        units: int,
        num_layers: int = 1,
        cell: str = "gru",
        bidirectional: bool = False,
        bidirectional_merge: str = "concat",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        layer_norm: bool = False,
        residual: bool = False,
        output_units: int | None = None,
        seed: int | None = None,
        embedding_init: str = "scaled_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.bidirectional_merge = bidirectional_merge
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.layer_norm = layer_norm
        self.residual = residual
        self.output_units = output_units
        self.seed = seed
        self.embedding_init = embedding_init

        check_choice("bidirectional_merge", bidirectional_merge, MERGE_MODES)
        self.embedding = token_embedding(vocab_size, embedding_dim, init=embedding_init)
        stack = RecurrentStack(
            cell,
            units,
            num_layers,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            layer_norm=layer_norm,
            residual=residual,
            seed=seed,
            bidirectional_merge=bidirectional_merge if bidirectional else None,
            order="layer",
        )
        # The stack's layers become this layer's tracked attributes layer by layer, the order
        # that fixes the weight order; the stack object itself stays outside Keras's tracking.
        object.__setattr__(self, "_stack", stack)
        self.layer_size = stack.output_size
        self.recurrent_layers, self.dropout_layers, self.norm_layers = [], [], []
        for i in range(num_layers):
            self.recurrent_layers.append(stack.recurrent_layers[i])
            self.dropout_layers.append(stack.dropout_layers[i])
            if layer_norm:
                self.norm_layers.append(stack.norm_layers[i])
        self.projection = None
        if output_units is not None and output_units != self.layer_size:
            self.projection = keras.layers.Dense(output_units, activation="tanh", use_bias=False, name="output_projection")
        self.output_size = output_units if output_units is not None else self.layer_size
        self.directions = 2 if bidirectional else 1

    def build(self, source_shape=None):
        # Every size is known from the constructor, so the input shape is not needed.
        cells.build_once(self.embedding, (None, None))
        self._stack.build(self.embedding_dim)
        if self.projection is not None:
            cells.build_once(self.projection, (None, None, self.layer_size))

    def call(self, source_ids, source_mask=None, training=None):
        if source_mask is None:
            source_mask = ops.not_equal(source_ids, PAD_ID)
        x, final_states = self._stack.run(self.embedding(source_ids), mask=source_mask, training=training)
        states = []
        for final in final_states:
            per_direction = len(final) // self.directions
            states.append([final[d * per_direction : (d + 1) * per_direction] for d in range(self.directions)])
        if self.projection is not None:
            x = self.projection(x)
        return x, states

    def compute_output_spec(self, source_ids, source_mask=None, training=None):
        batch, length = source_ids.shape[0], source_ids.shape[1]
        count = cells.state_count(self.cell)
        state = keras.KerasTensor((batch, self.units))
        states = [[[state] * count for _ in range(self.directions)] for _ in range(self.num_layers)]
        return keras.KerasTensor((batch, length, self.output_size)), states

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            embedding_dim=self.embedding_dim,
            embedding_init=self.embedding_init,
            units=self.units,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
            bidirectional_merge=self.bidirectional_merge,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            layer_norm=self.layer_norm,
            residual=self.residual,
            output_units=self.output_units,
            seed=self.seed,
        )
        return config
