"""The one place where a cell name (``model.cell``) becomes a Keras recurrent layer.

Encoder and decoder build their recurrent layers through :func:`recurrent_layer`
(by way of :class:`nmt.models.stack.RecurrentStack`), and read the state layout
through :func:`state_count`; nothing else in ``nmt`` mentions ``keras.layers.GRU``
and friends. A layer's ``.cell`` is what the decoder's single ``step()`` calls, so
the full-sequence layer and the step share weights.

State layout of one layer (each tensor ``[batch, units]``):

- ``rnn`` and ``gru``: ``[h]``
- ``lstm``: ``[h, c]``
"""

from __future__ import annotations

import keras

from nmt.config.model import CellName
from nmt.models import choices

#: Cell name -> Keras recurrent layer class (the names of ``CellName``).
CELL_LAYERS: dict[str, type[keras.layers.RNN]] = choices.table(
    CellName, {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
)

_STATE_COUNTS: dict[str, int] = choices.table(CellName, {"rnn": 1, "lstm": 2, "gru": 1})


def cell_layer_class(cell: str) -> type[keras.layers.RNN]:
    """The Keras recurrent layer class for ``cell`` (``rnn``, ``lstm`` or ``gru``)."""
    return choices.resolve("cell", cell, CELL_LAYERS)


def state_count(cell: str) -> int:
    """How many ``[batch, units]`` state tensors one layer of ``cell`` carries."""
    return choices.resolve("cell", cell, _STATE_COUNTS)


def recurrent_layer(
    cell: str,
    units: int,
    *,
    recurrent_dropout: float = 0.0,
    go_backwards: bool = False,
    seed: int | None = None,
    name: str | None = None,
) -> keras.layers.RNN:
    """A recurrent layer returning the full sequence and its final states.

    Called on ``inputs [batch, time, features]`` (with ``mask [batch, time]`` and
    ``initial_state`` as a list of ``[batch, units]`` tensors, both optional) it
    returns ``[outputs [batch, time, units], *final_states]``. Under a mask the
    final states are those after the last unmasked step.

    Args:
        cell: ``rnn``, ``lstm`` or ``gru``.
        units: state size.
        recurrent_dropout: variational dropout rate on the recurrent connections:
            Keras draws one mask per sequence and reuses it at every step.
        go_backwards: read the sequence from the end (Keras convention: outputs
            come back in reversed order).
        seed: seed of the recurrent-dropout mask generator.
        name: layer name.
    """
    layer_class = cell_layer_class(cell)
    return layer_class(
        units,
        return_sequences=True,
        return_state=True,
        recurrent_dropout=recurrent_dropout,
        go_backwards=go_backwards,
        seed=seed,
        name=name,
    )


def sublayer_seed(seed: int | None, offset: int) -> int | None:
    """A distinct, reproducible seed per sublayer (``None`` stays unseeded)."""
    return None if seed is None else seed + offset


def build_once(layer: keras.layers.Layer, shape) -> None:
    """Builds ``layer`` for ``shape`` unless it is already built."""
    if not layer.built:
        layer.build(shape)


def cudnn_blockers(layer: keras.layers.Layer) -> list[str]:
    """Why Keras would not run ``layer`` on the cuDNN kernel on a GPU (empty: it would).

    The conditions are Keras's own (``keras.src.backend.tensorflow.rnn.cudnn_ok`` and
    the GRU/LSTM layers' ``use_cudnn`` check): GRU or LSTM, ``tanh`` activation,
    ``sigmoid`` recurrent activation, no recurrent dropout, not unrolled, with bias,
    ``reset_after=True`` for GRU. A ``Bidirectional`` wrapper is eligible when both
    directions are. At run time Keras also needs right-padded masks (ours are).

    Args:
        layer: a recurrent layer of an encoder or decoder stack (or its ``Bidirectional`` wrapper).

    Returns:
        One line per option that blocks the kernel, naming the config key when there is one.
    """
    if isinstance(layer, keras.layers.Bidirectional):
        return sorted(set(cudnn_blockers(layer.forward_layer) + cudnn_blockers(layer.backward_layer)))
    if not isinstance(layer, (keras.layers.GRU, keras.layers.LSTM)):
        return ["model.cell=rnn (cuDNN has GRU and LSTM kernels only)"]
    cell, reasons = layer.cell, []
    if getattr(layer, "use_cudnn", "auto") is False:
        reasons.append("use_cudnn=False")
    if cell.activation is not keras.activations.tanh:
        reasons.append(f"activation={getattr(cell.activation, '__name__', cell.activation)} (needs tanh)")
    if cell.recurrent_activation is not keras.activations.sigmoid:
        reasons.append("recurrent_activation (needs sigmoid)")
    if cell.recurrent_dropout:
        reasons.append(f"model.recurrent_dropout={cell.recurrent_dropout:g} (needs 0; use model.dropout)")
    if layer.unroll:
        reasons.append("unroll=True")
    if not cell.use_bias:
        reasons.append("use_bias=False")
    if isinstance(layer, keras.layers.GRU) and not cell.reset_after:
        reasons.append("reset_after=False")
    return reasons


def cudnn_report(model) -> list[tuple[str, list[str]]]:
    """``(layer path, blockers)`` for every recurrent layer of a :class:`~nmt.models.seq2seq.Seq2Seq`.

    A decoder with ``input_feeding`` advances one step at a time through the layers'
    cells, which never runs a fused kernel, whatever the layer options.
    """
    report = [(f"encoder/{layer.name}", cudnn_blockers(layer)) for layer in model.encoder.recurrent_layers]
    for layer in model.decoder.recurrent_layers:
        reasons = cudnn_blockers(layer)
        if model.decoder.input_feeding:
            reasons = ["model.input_feeding=true (the decoder runs step by step)", *reasons]
        report.append((f"decoder/{layer.name}", reasons))
    return report
