"""Recurrent decoder: teacher-forced full-sequence call for training, one ``step()`` for search.

Both paths share every weight; ``tests/test_decoder.py`` and the model grid check
that running ``step()`` token by token reproduces the full-sequence logits.

Decoder state (what :meth:`Decoder.initial_state` returns and :meth:`Decoder.step`
consumes and returns) is a ``dict`` of tensors, every one with batch first, so a
search can tile it (``tf.nest.map_structure(lambda t: tf.repeat(t, beam, 0), state)``)
and reorder it (``tf.nest.map_structure(lambda t: tf.gather(t, indices), state)``):

===================  ===========================  ===========================================
key                  shape                        present when
===================  ===========================  ===========================================
``"rnn"``            list over layers of lists    always; ``[h]`` (rnn, gru) or ``[h, c]``
                     of ``[batch, units]``        (lstm) per layer
``"memory_mask"``    bool ``[batch, src_len]``    always; False at source padding
``"memory"``         ``[batch, src_len, M]``      scored attention (dot, bilinear, additive)
``"keys"``           ``[batch, src_len, K]``      scored attention (precomputed key part)
``"attentional"``    ``[batch, units]``           ``input_feeding``: previous h~ (zeros at start)
``"context"``        ``[batch, C]``               ``attention="context"``: encoder summary
===================  ===========================  ===========================================

The structure never changes between steps, so the state can be a ``tf.while_loop``
loop variable.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from nmt.models import cells
from nmt.models.attention import ATTENTION_CLASSES, attention_class
from nmt.models.embedding import token_embedding
from nmt.models.stack import RecurrentStack

#: The attention names that produce an attentional output (the ones input feeding can feed).
SCORED = tuple(name for name, cls in ATTENTION_CLASSES.items() if cls.attentional)


@keras.saving.register_keras_serializable(package="nmt")
class Decoder(keras.layers.Layer):
    """Embeds target ids, runs stacked recurrent layers, attends, and projects to the vocabulary.

    At target position ``t`` with hidden state ``h_t`` (top layer output):

    - ``attention="none"``: logits ``= W_s h_t``.
    - ``attention="context"``: the encoder summary ``c`` is appended to every input
      embedding and logits ``= W_s [h_t; c]`` (Cho et al. 2014).
    - scored attention: context ``c_t`` over the source, attentional output
      ``h~_t = tanh(W_c [c_t; h_t])`` (Luong et al. 2015), logits ``= W_s h~_t``; with
      ``input_feeding`` ``h~_{t-1}`` is appended to the input at step ``t``.

    Each kind is a layer of :mod:`nmt.models.attention` (``attention_layer``), with
    the contract described there. Between layers: ``y = rnn_i(dropout(x))``, ``+ x``
    if ``residual`` and sizes match, then ``LayerNorm`` if ``layer_norm`` (see
    :mod:`nmt.models.stack`).

    Masking: the decoder is causal, so outputs at real target positions never depend
    on later (padded) positions; outputs at padded positions are unspecified and
    must be ignored by the loss. Source padding comes in as ``state["memory_mask"]``
    and gets exactly zero attention weight.

    Args:
        vocab_size: target vocabulary size ``V``.
        embedding_dim: target embedding size ``E``.
        units: decoder state size ``U`` (also the attentional output size).
        num_layers: stacked recurrent layers.
        cell: ``rnn``, ``lstm`` or ``gru``.
        attention: ``none``, ``context``, ``dot``, ``bilinear`` or ``additive``.
        memory_dim: encoder output size ``M`` (scored attention).
        context_dim: encoder summary size ``C`` (``attention="context"``).
        input_feeding: feed ``h~_{t-1}`` into step ``t`` (scored attention only);
            the training call then loops over time inside the graph.
        dropout: dropout on every recurrent layer's input and on the readout input.
        recurrent_dropout: variational recurrent dropout.
        layer_norm, residual: see above.
        tie_embeddings: logits ``= P(features) Eᵀ + b`` with the target embedding
            matrix ``E`` (``P`` a linear map to ``E``'s size when sizes differ).
        seed: seed for dropout masks.
        embedding_init: ``scaled_normal`` or ``uniform`` (see :mod:`nmt.models.embedding`).

    Call arguments:
        target_ids: int ``[batch, tgt_len]``, the teacher-forced input (starts with
            ``START_ID``).
        state: the dict from :meth:`initial_state`.
        training: whether dropout is active.

    Returns:
        ``(logits [batch, tgt_len, V], attention_weights [batch, tgt_len, src_len])``;
        the weights are all zero without scored attention.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        units: int,
        num_layers: int = 1,
        cell: str = "gru",
        attention: str = "bilinear",
        memory_dim: int | None = None,
        context_dim: int | None = None,
        input_feeding: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        layer_norm: bool = False,
        residual: bool = False,
        tie_embeddings: bool = False,
        seed: int | None = None,
        embedding_init: str = "scaled_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        attention_type = attention_class(attention)
        if input_feeding and not attention_type.attentional:
            raise ValueError(f"input_feeding needs a scored attention {SCORED}, got {attention!r}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.num_layers = num_layers
        self.cell = cell
        self.attention = attention
        self.memory_dim = memory_dim
        self.context_dim = context_dim
        self.input_feeding = input_feeding
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.layer_norm = layer_norm
        self.residual = residual
        self.tie_embeddings = tie_embeddings
        self.seed = seed
        self.embedding_init = embedding_init

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
            order="kind",
        )
        # The stack's layers become this layer's tracked attributes kind by kind (with the
        # readout dropout between), the order that fixes the weight order; the stack object
        # itself stays outside Keras's tracking.
        object.__setattr__(self, "_stack", stack)
        self.recurrent_layers = stack.recurrent_layers
        self.dropout_layers = stack.dropout_layers
        self.readout_dropout = keras.layers.Dropout(dropout, seed=cells.sublayer_seed(seed, 200), name="readout_dropout")
        self.norm_layers = stack.norm_layers
        self.attention_layer = attention_type.for_decoder(units, memory_dim, context_dim, name="attention")
        self.input_size = embedding_dim + (units if input_feeding else 0) + self.attention_layer.input_size
        self.attentional_layer = None
        if attention_type.attentional:
            self.attentional_layer = keras.layers.Dense(units, activation="tanh", use_bias=False, name="attentional")
        readout_size = self.attention_layer.readout_size(units)
        self.feature_size = units if self.attentional_layer is not None else readout_size
        self.tied_projection = None
        self.output_projection = None
        if tie_embeddings:
            if self.feature_size != embedding_dim:
                self.tied_projection = keras.layers.Dense(embedding_dim, use_bias=False, name="tied_projection")
        else:
            self.output_projection = keras.layers.Dense(vocab_size, name="output_projection")

    # ------------------------------------------------------------------ build
    def build(self, target_shape=None, state_shape=None):
        # Every size is known from the constructor, so the input shapes are not needed.
        cells.build_once(self.embedding, (None, None))
        self._stack.build(self.input_size)
        cells.build_once(self.attention_layer, None)
        if self.attentional_layer is not None:
            cells.build_once(self.attentional_layer, (None, None, self.attention_layer.readout_size(self.units)))
        if self.tie_embeddings:
            if self.tied_projection is not None:
                cells.build_once(self.tied_projection, (None, None, self.feature_size))
            self.output_bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="output_bias")
        else:
            cells.build_once(self.output_projection, (None, None, self.feature_size))

    # ------------------------------------------------------------------ state
    def initial_state(self, rnn_state, memory, memory_mask, encoder_summary=None):
        """The decoder state before the first target token (see the module docstring).

        Args:
            rnn_state: list over decoder layers of lists of ``[batch, units]`` (the bridge's output).
            memory: encoder outputs ``[batch, src_len, M]``.
            memory_mask: bool ``[batch, src_len]``.
            encoder_summary: ``[batch, C]``, needed for ``attention="context"``.
        """
        if not self.built:
            self.build()
        state = {"rnn": [list(layer) for layer in rnn_state], "memory_mask": ops.cast(memory_mask, "bool")}
        state.update(self.attention_layer.initial_state(memory, encoder_summary))
        if self.input_feeding:
            batch = ops.shape(memory)[0]
            state["attentional"] = ops.zeros((batch, self.units), dtype=memory.dtype)
        return state

    @property
    def needs_summary(self) -> bool:
        """Whether :meth:`initial_state` needs ``encoder_summary`` (``attention="context"``)."""
        return self.attention_layer.uses_summary

    # ------------------------------------------------------------------ calls
    def call(self, target_ids, state, training=None):
        features, weights = self.features(target_ids, state, training=training)
        return self.project(features), weights

    def features(self, target_ids, state, training=None):
        """The teacher-forced inputs of the output projection, before it is applied.

        Returns ``(features [batch, tgt_len, F], attention_weights [batch, tgt_len, src_len])``;
        ``project(features)`` gives the logits. Training uses this to project only the
        real (non-padding) target positions.
        """
        x = self._embed(target_ids, state)
        if self.input_feeding:
            return self._feed_loop(x, state, training)
        h, _ = self._stack.run(x, initial_states=state["rnn"], training=training)
        return self._readout(h, state, training)

    def step(self, token_ids, state, training=False):
        """Advances every sequence by one token.

        Args:
            token_ids: int ``[batch]``, the previous output token (``START_ID`` at first).
            state: the decoder state dict (see the module docstring).
            training: whether dropout is active (False for search).

        Returns:
            ``(logits [batch, V], new_state, attention_weights [batch, src_len])``;
            ``new_state`` has the same structure as ``state``.
        """
        if not self.built:
            self.build()
        x = self._embed(ops.expand_dims(token_ids, 1), state)[:, 0]
        features, new_state, weights = self._cell_step(x, state, training)
        return self.project(features), new_state, weights

    # ------------------------------------------------------------------ internals
    def _embed(self, target_ids, state):
        return self.attention_layer.extend_input(self.embedding(target_ids), state)

    def _readout(self, h, state, training):
        """Top-layer outputs ``[batch, T, U]`` -> (features ``[batch, T, F]``, weights ``[batch, T, S]``)."""
        readout, weights = self.attention_layer.readout(h, state)
        features = self.readout_dropout(readout, training=training)
        if self.attentional_layer is not None:
            features = self.attentional_layer(features)
        return features, weights

    def _cell_step(self, x, state, training):
        """One time step from the embedded input ``x [batch, input]`` -> (features, new state, weights)."""
        if self.input_feeding:
            x = ops.concatenate([x, state["attentional"]], -1)
        x, new_rnn = self._stack.step(x, state["rnn"], training)
        features, weights = self._readout(ops.expand_dims(x, 1), state, training)
        features, weights = features[:, 0], weights[:, 0]
        new_state = dict(state)
        new_state["rnn"] = new_rnn
        if self.input_feeding:
            new_state["attentional"] = features
        return features, new_state, weights

    def _feed_loop(self, x, state, training):
        """Input feeding over ``x [batch, T, input]`` as one in-graph ``tf.while_loop``.

        (``keras.ops.scan`` on TensorFlow requires outputs shaped like the carry.)
        """
        # Variational recurrent dropout: draw each cell's mask once, before the loop.
        self._stack.draw_recurrent_dropout_masks(ops.shape(x)[0], x.dtype, training)

        steps = ops.shape(x)[1]
        inputs = tf.TensorArray(x.dtype, size=steps).unstack(ops.transpose(x, (1, 0, 2)))
        features = tf.TensorArray(x.dtype, size=steps)
        weights = tf.TensorArray(x.dtype, size=steps)

        def body(t, rnn, attentional, features, weights):
            step_state = dict(state, rnn=rnn, attentional=attentional)
            step_features, new_state, step_weights = self._cell_step(inputs.read(t), step_state, training)
            return t + 1, new_state["rnn"], step_features, features.write(t, step_features), weights.write(t, step_weights)

        _, _, _, features, weights = tf.while_loop(
            lambda t, *_: t < steps, body, (0, state["rnn"], state["attentional"], features, weights)
        )
        self._stack.reset_recurrent_dropout_masks()
        return ops.transpose(features.stack(), (1, 0, 2)), ops.transpose(weights.stack(), (1, 0, 2))

    def project(self, features):
        """Output projection: features ``[..., F]`` -> logits ``[..., V]``."""
        if not self.tie_embeddings:
            return self.output_projection(features)
        if self.tied_projection is not None:
            features = self.tied_projection(features)
        return ops.matmul(features, ops.transpose(self.embedding.embeddings)) + self.output_bias

    def compute_output_spec(self, target_ids, state, training=None):
        batch, length = target_ids.shape[0], target_ids.shape[1]
        src_len = state["memory_mask"].shape[1]
        return (
            keras.KerasTensor((batch, length, self.vocab_size)),
            keras.KerasTensor((batch, length, src_len)),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            embedding_dim=self.embedding_dim,
            embedding_init=self.embedding_init,
            units=self.units,
            num_layers=self.num_layers,
            cell=self.cell,
            attention=self.attention,
            memory_dim=self.memory_dim,
            context_dim=self.context_dim,
            input_feeding=self.input_feeding,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            layer_norm=self.layer_norm,
            residual=self.residual,
            tie_embeddings=self.tie_embeddings,
            seed=self.seed,
        )
        return config
