"""The stack of recurrent layers the encoder and the decoder share.

Layer ``i`` of a stack computes ``y = rnn_i(dropout_i(x))``; with ``residual`` and
equal input and output sizes ``y = y + x``; with ``layer_norm`` ``y = LayerNorm_i(y)``;
``y`` is the input of layer ``i + 1``. The recurrent layers come from
:func:`nmt.models.cells.recurrent_layer`, wrapped in ``keras.layers.Bidirectional``
for a bidirectional stack.

Names and seeds: ``rnn_i`` (``birnn_i`` around it when bidirectional), ``dropout_i``
and ``layer_norm_i``; ``rnn_i``'s recurrent dropout is seeded ``seed + i`` and
``dropout_i`` ``seed + 100 + i`` (all unseeded when ``seed`` is ``None``).

A :class:`RecurrentStack` is a plain Python object, not a Keras layer. The layer
that owns it keeps the stack's layers as its own attributes ``recurrent_layers``,
``dropout_layers`` and ``norm_layers``, so variable paths, the entries of saved
``.keras`` and checkpoint files, and the weight order all belong to the owner.
"""

from __future__ import annotations

import keras
from keras import ops

from nmt.config.base import check_choice
from nmt.models import cells
from nmt.models.choices import MERGE_MODES

#: The orders a stack can create its layers in (see :class:`RecurrentStack`).
ORDERS = ("layer", "kind")


class RecurrentStack:
    """Creates, builds and runs ``num_layers`` stacked recurrent layers.

    Args:
        cell: ``rnn``, ``lstm`` or ``gru``.
        units: state size of every layer (per direction).
        num_layers: depth.
        dropout: dropout rate on every layer's input.
        recurrent_dropout: variational recurrent dropout rate.
        layer_norm: layer-normalize every layer's output.
        residual: add a layer's input to its output where their sizes match.
        seed: base seed of the dropout masks.
        bidirectional_merge: ``None`` for a unidirectional stack; otherwise every
            layer reads both ways and merges the two outputs by ``concat`` (output
            size ``2 * units``) or ``sum`` (``units``).
        order: the order the layers are created in: ``"layer"`` (recurrent, dropout
            and norm of layer 0, then of layer 1, ...) or ``"kind"`` (every recurrent
            layer, then every dropout, then every norm). Creating a Keras layer draws
            the seeds of its unseeded initializers and dropout, so the order fixes the
            initial weights under ``keras.utils.set_random_seed``; the encoder creates
            by ``"layer"``, the decoder by ``"kind"``.

    Attributes:
        recurrent_layers, dropout_layers, norm_layers: the layers, first to last
            (``norm_layers`` is empty without ``layer_norm``).
        output_size: size of every layer's output.
    """

    def __init__(
        self,
        cell: str,
        units: int,
        num_layers: int,
        *,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        layer_norm: bool = False,
        residual: bool = False,
        seed: int | None = None,
        bidirectional_merge: str | None = None,
        order: str = "layer",
    ):
        check_choice("order", order, ORDERS)
        if bidirectional_merge is not None:
            check_choice("bidirectional_merge", bidirectional_merge, MERGE_MODES)
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.layer_norm = layer_norm
        self.residual = residual
        self.seed = seed
        self.bidirectional_merge = bidirectional_merge
        self.output_size = 2 * units if bidirectional_merge == "concat" else units
        self.recurrent_layers: list[keras.layers.Layer] = []
        self.dropout_layers: list[keras.layers.Dropout] = []
        self.norm_layers: list[keras.layers.LayerNormalization] = []
        # keras.layers.Bidirectional re-creates its layer by serializing and deserializing it;
        # inside keras.saving.load_model that goes through a cache keyed by id(layer), so a
        # prototype freed too early can have its id reused by the next one and be answered
        # with the *previous* Bidirectional's clone (seen as "Forward layer and backward layer
        # should have different go_backwards value" on reload). Keeping every prototype alive
        # as long as the stack (outside Keras's attribute tracking) keeps the ids unique.
        self._prototypes: list[keras.layers.Layer] = []
        makers = (self._add_recurrent, self._add_dropout, self._add_norm)
        if order == "layer":
            for i in range(num_layers):
                for make in makers:
                    make(i)
        else:
            for make in makers:
                for i in range(num_layers):
                    make(i)

    def _add_recurrent(self, i: int) -> None:
        layer = cells.recurrent_layer(
            self.cell,
            self.units,
            recurrent_dropout=self.recurrent_dropout,
            seed=cells.sublayer_seed(self.seed, i),
            name=f"rnn_{i}",
        )
        if self.bidirectional_merge is not None:
            self._prototypes.append(layer)
            layer = keras.layers.Bidirectional(layer, merge_mode=self.bidirectional_merge, name=f"birnn_{i}")
        self.recurrent_layers.append(layer)

    def _add_dropout(self, i: int) -> None:
        self.dropout_layers.append(
            keras.layers.Dropout(self.dropout, seed=cells.sublayer_seed(self.seed, 100 + i), name=f"dropout_{i}")
        )

    def _add_norm(self, i: int) -> None:
        if self.layer_norm:
            self.norm_layers.append(keras.layers.LayerNormalization(name=f"layer_norm_{i}"))

    def build(self, input_size: int) -> None:
        """Creates the weights of every layer for inputs ``[batch, time, input_size]``."""
        size = input_size
        for i, layer in enumerate(self.recurrent_layers):
            cells.build_once(layer, (None, None, size))
            size = self.output_size
            if self.layer_norm:
                cells.build_once(self.norm_layers[i], (None, None, size))

    def between_layers(self, i: int, x, y):
        """Layer ``i``'s output ``y`` after the residual link from its input ``x`` and the norm."""
        if self.residual and x.shape[-1] == y.shape[-1]:
            y = y + x
        if self.layer_norm:
            y = self.norm_layers[i](y)
        return y

    def run(self, x, *, mask=None, initial_states=None, training=None):
        """Runs the whole stack over ``x [batch, time, input_size]``.

        Args:
            x: the first layer's input.
            mask: optional bool ``[batch, time]``, given to every recurrent layer.
            initial_states: optional list over layers of each layer's initial states.
            training: whether dropout is active.

        Returns:
            ``(outputs [batch, time, output_size], final_states)``; ``final_states[i]``
            is the list of layer ``i``'s final states as Keras returns them (for a
            bidirectional layer the forward direction's, then the backward's).
        """
        final_states = []
        for i, layer in enumerate(self.recurrent_layers):
            options = {}
            if mask is not None:
                options["mask"] = mask
            if initial_states is not None:
                options["initial_state"] = initial_states[i]
            result = layer(self.dropout_layers[i](x, training=training), training=training, **options)
            final_states.append(list(result[1:]))
            x = self.between_layers(i, x, result[0])
        return x, final_states

    def step(self, x, states, training=None):
        """One time step of a unidirectional stack through its layers' cells.

        Args:
            x: the first layer's input at this step, ``[batch, input_size]``.
            states: list over layers of each layer's states (``[h]`` or ``[h, c]``).
            training: whether dropout is active.

        Returns:
            ``(output [batch, units], new_states)`` with ``new_states`` shaped like ``states``.
        """
        new_states = []
        for i, layer in enumerate(self.recurrent_layers):
            y, layer_state = layer.cell(self.dropout_layers[i](x, training=training), states[i], training=training)
            new_states.append(list(layer_state))
            x = self.between_layers(i, x, y)
        return x, new_states

    def draw_recurrent_dropout_masks(self, batch, dtype, training) -> None:
        """Before a loop of :meth:`step` calls: draws each cell's recurrent-dropout mask once."""
        for layer in self.recurrent_layers:
            if training and layer.cell.recurrent_dropout > 0:
                layer.cell.get_recurrent_dropout_mask(ops.zeros((batch, self.units), dtype=dtype))

    def reset_recurrent_dropout_masks(self) -> None:
        """After such a loop: forgets the masks, so the next sequence draws new ones."""
        for layer in self.recurrent_layers:
            layer.cell.reset_recurrent_dropout_mask()
