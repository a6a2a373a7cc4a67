"""Typed configuration of the seq2seq model (``model.*`` keys)."""

from __future__ import annotations

import dataclasses
import typing
from typing import Literal

from nmt.config.base import ConfigError, check_fields, check_positive_int, check_rate

CellName = Literal["rnn", "lstm", "gru"]


#: Attention kinds that compute a context per target position and so produce Luong's
#: attentional output h~ = tanh(W_c [c; h]) (the only ones input feeding can feed).
ScoredAttention = Literal["dot", "bilinear", "additive"]


AttentionName = Literal["none", "context", ScoredAttention]


#: Token embedding initializations (see :mod:`nmt.models.embedding`).
EmbeddingInit = Literal["scaled_normal", "uniform"]


#: The names of :data:`ScoredAttention`.
SCORED_ATTENTIONS: tuple[str, ...] = typing.get_args(ScoredAttention)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The recurrent encoder-decoder (``model.*`` keys).

    Attributes:
        cell: recurrent cell of every layer: ``rnn`` (simple RNN), ``lstm`` or ``gru``.
        units: size of each encoder recurrent layer (per direction).
        embedding_dim: size of the source and target token embeddings.
        embedding_init: ``scaled_normal`` (N(0, 1/E) table read times ``sqrt(E)``,
            the default) or ``uniform`` (Keras's U(-0.05, 0.05), read unscaled);
            see :mod:`nmt.models.embedding`.
        layers: number of stacked encoder layers.
        bidirectional: whether every encoder layer reads the source both ways.
        bidirectional_merge: how the two directions' outputs (and, for
            ``bridge="last"``, final states) are merged: ``concat`` (size 2 x units)
            or ``sum`` (size units).
        dropout: dropout rate on the input of every recurrent layer (embeddings
            included) and on the decoder's attentional/readout input.
        recurrent_dropout: variational dropout on the recurrent connections (one
            mask per sequence, shared by all time steps; training only).
        layer_norm: layer normalization on the output of every recurrent layer.
        residual: residual connection around every recurrent layer whose input and
            output sizes are equal.
        bridge: how the decoder's initial state is made from the encoder's final
            states: ``zero``, ``last`` (copied; directions merged by
            ``bidirectional_merge``) or ``dense`` (learned ``tanh`` projection).
        attention: ``none`` (the encoder only initializes the decoder), ``context``
            (the encoder's final state is also fed to every decoder step, Cho et al.
            2014), or a scored attention over the source: ``dot`` (Luong),
            ``bilinear`` (Luong "general") or ``additive`` (Bahdanau).
        input_feeding: feed the previous attentional output h~ into the next
            decoder step (Luong et al. 2015); needs a scored attention.
        tie_embeddings: share the target embedding matrix with the output
            projection (Press & Wolf 2017).
        decoder_layers: decoder depth; ``None`` means ``layers``.
        decoder_units: decoder size; ``None`` means ``units``.
    """

    cell: CellName = "gru"
    units: int = 256
    embedding_dim: int = 256
    embedding_init: EmbeddingInit = "scaled_normal"
    layers: int = 1
    bidirectional: bool = True
    bidirectional_merge: Literal["concat", "sum"] = "concat"
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    layer_norm: bool = False
    residual: bool = False
    bridge: Literal["zero", "last", "dense"] = "dense"
    attention: AttentionName = "bilinear"
    input_feeding: bool = False
    tie_embeddings: bool = False
    decoder_layers: int | None = None
    decoder_units: int | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("units", "embedding_dim", "layers"):
            check_positive_int(name, getattr(self, name))
        for name in ("decoder_layers", "decoder_units"):
            check_positive_int(name, getattr(self, name), optional=True)
        check_rate("dropout", self.dropout)
        check_rate("recurrent_dropout", self.recurrent_dropout)
        if self.input_feeding and self.attention not in SCORED_ATTENTIONS:
            raise ConfigError(
                f"input_feeding=true needs an attention that produces an attentional "
                f"output ({', '.join(SCORED_ATTENTIONS)}); got attention={self.attention!r}"
            )
        if self.bridge == "last" and self.encoder_state_size != self.target_units:
            raise ConfigError(
                f"bridge='last' copies encoder states of size {self.encoder_state_size} "
                f"into a decoder of size {self.target_units}; use bridge='dense', "
                f"decoder_units={self.encoder_state_size}"
                + (", or bidirectional_merge='sum'" if self.bidirectional else "")
            )

    @property
    def directions(self) -> int:
        """1, or 2 for a bidirectional encoder."""
        return 2 if self.bidirectional else 1

    @property
    def encoder_state_size(self) -> int:
        """Size of one encoder output vector (and of a merged final state)."""
        if self.bidirectional and self.bidirectional_merge == "concat":
            return 2 * self.units
        return self.units

    @property
    def target_layers(self) -> int:
        """Decoder depth (``decoder_layers`` or ``layers``)."""
        return self.decoder_layers if self.decoder_layers is not None else self.layers

    @property
    def target_units(self) -> int:
        """Decoder size (``decoder_units`` or ``units``)."""
        return self.decoder_units if self.decoder_units is not None else self.units
