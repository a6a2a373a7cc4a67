"""Bridge: the decoder's initial recurrent state from the encoder's final states.

Encoder final states are nested as ``states[layer][direction][k]`` (see
:class:`nmt.models.encoder.Encoder`), decoder states as ``states[layer][k]``; ``k``
indexes ``[h]`` (rnn, gru) or ``[h, c]`` (lstm), each ``[batch, units]``.
Both sides use the same cell, so ``k`` ranges agree.

Layer alignment: with equal depths, decoder layer ``j`` starts from encoder layer
``j``; with different depths every decoder layer starts from the encoder's top
layer (as in Joey NMT).
"""

from __future__ import annotations

import keras
from keras import ops

from nmt.config.base import check_choice
from nmt.models import cells, choices

#: The bridge kinds (the names of ``ModelConfig.bridge``).
BRIDGES: tuple[str, ...] = choices.field_names("bridge")


def final_hidden(encoder_states):
    """The encoder's summary vector: top layer's ``h`` of every direction, concatenated.

    Returns ``[batch, units * directions]``; used by ``attention="context"``.
    """
    top = encoder_states[-1]
    return ops.concatenate([direction[0] for direction in top], axis=-1) if len(top) > 1 else top[0][0]


@keras.saving.register_keras_serializable(package="nmt")
class Bridge(keras.layers.Layer):
    """Maps encoder final states to decoder initial states.

    Kinds:
        ``zero``: all-zero states.
        ``last``: the aligned encoder layer's final states, the two directions
            merged by ``merge`` (``concat`` or ``sum``); sizes must then agree.
        ``dense``: ``tanh(W [forward; backward] + b)`` per decoder layer and state
            component (``h``, and ``c`` for LSTM).

    Args:
        kind: ``zero``, ``last`` or ``dense``.
        cell: ``rnn``, ``lstm`` or ``gru`` (both sides).
        encoder_layers, encoder_units, directions: the encoder's shape.
        decoder_layers, decoder_units: the decoder's shape.
        merge: how ``last`` merges directions (``concat`` or ``sum``).

    Call arguments:
        encoder_states: ``states[layer][direction][k]``, each ``[batch, encoder_units]``.

    Returns:
        ``states[decoder_layer][k]``, each ``[batch, decoder_units]``.
    """

    def __init__(
        self,
        kind: str,
        cell: str,
        encoder_layers: int,
        encoder_units: int,
        directions: int,
        decoder_layers: int,
        decoder_units: int,
        merge: str = "concat",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice("bridge", kind, BRIDGES)
        check_choice("merge", merge, choices.MERGE_MODES)
        self.kind = kind
        self.cell = cell
        self.encoder_layers = encoder_layers
        self.encoder_units = encoder_units
        self.directions = directions
        self.decoder_layers = decoder_layers
        self.decoder_units = decoder_units
        self.merge = merge
        self.state_count = cells.state_count(cell)
        merged = encoder_units * directions if merge == "concat" else encoder_units
        if kind == "last" and merged != decoder_units:
            raise ValueError(
                f"bridge 'last' needs merged encoder states ({merged}) of the decoder's size ({decoder_units})"
            )
        self.projections = []
        if kind == "dense":
            self.projections = [
                [
                    keras.layers.Dense(decoder_units, activation="tanh", name=f"bridge_{j}_{k}")
                    for k in range(self.state_count)
                ]
                for j in range(decoder_layers)
            ]

    def source_layer(self, decoder_layer: int) -> int:
        """The encoder layer whose final state initializes ``decoder_layer``."""
        return decoder_layer if self.decoder_layers == self.encoder_layers else self.encoder_layers - 1

    def build(self, input_shape=None):
        for row in self.projections:
            for dense in row:
                cells.build_once(dense, (None, self.encoder_units * self.directions))

    def call(self, encoder_states):
        batch = ops.shape(encoder_states[0][0][0])[0]
        result = []
        for j in range(self.decoder_layers):
            directions = encoder_states[self.source_layer(j)]
            layer_states = []
            for k in range(self.state_count):
                parts = [direction[k] for direction in directions]
                if self.kind == "zero":
                    state = ops.zeros((batch, self.decoder_units), dtype=parts[0].dtype)
                elif self.kind == "last":
                    state = ops.concatenate(parts, axis=-1) if self.merge == "concat" else _sum(parts)
                else:
                    state = self.projections[j][k](ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0])
                layer_states.append(state)
            result.append(layer_states)
        return result

    def compute_output_spec(self, encoder_states):
        batch = encoder_states[0][0][0].shape[0]
        state = keras.KerasTensor((batch, self.decoder_units))
        return [[state] * self.state_count for _ in range(self.decoder_layers)]

    def get_config(self):
        config = super().get_config()
        config.update(
            kind=self.kind,
            cell=self.cell,
            encoder_layers=self.encoder_layers,
            encoder_units=self.encoder_units,
            directions=self.directions,
            decoder_layers=self.decoder_layers,
            decoder_units=self.decoder_units,
            merge=self.merge,
        )
        return config


def _sum(parts):
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total
