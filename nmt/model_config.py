"""Typed configuration of the seq2seq model (``model.*``) and of its training (``train.*``).

Both are frozen dataclasses validated on construction; build them from YAML or
``--set`` overrides with :func:`nmt.configs.config_from_dict`, which rejects unknown
keys with the list of valid ones. Vocabulary sizes are not configuration: they come
from the tokenizers and are passed to :class:`nmt.seq2seq.Seq2Seq` directly.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from nmt.configs import ConfigError, validate_literals

CellName = Literal["rnn", "lstm", "gru"]
AttentionName = Literal["none", "context", "dot", "bilinear", "additive"]
#: Token embedding initializations (see :mod:`nmt.embedding`).
EmbeddingInit = Literal["scaled_normal", "uniform"]
#: Attention kinds that compute a context per target position and so produce Luong's
#: attentional output h~ = tanh(W_c [c; h]) (the only ones input feeding can feed).
SCORED_ATTENTIONS = ("dot", "bilinear", "additive")


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}={value!r} must be a positive integer")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} must be true or false")


def _check_rate(name: str, value: object, *, upper: float = 1.0) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < upper:
        raise ConfigError(f"{name}={value!r} must be a number in [0, {upper})")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The recurrent encoder-decoder (``model.*`` keys).

    Attributes:
        cell: recurrent cell of every layer: ``rnn`` (simple RNN), ``lstm`` or ``gru``.
        units: size of each encoder recurrent layer (per direction).
        embedding_dim: size of the source and target token embeddings.
        embedding_init: ``scaled_normal`` (N(0, 1/E) table read times ``sqrt(E)``,
            the default) or ``uniform`` (Keras's U(-0.05, 0.05), read unscaled;
            slower to learn on the Multi30k recipe and can collapse into a
            source-blind language model; see :mod:`nmt.embedding`).
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
        validate_literals(self)
        for name in ("units", "embedding_dim", "layers"):
            _check_positive_int(name, getattr(self, name))
        for name in ("decoder_layers", "decoder_units"):
            if getattr(self, name) is not None:
                _check_positive_int(name, getattr(self, name))
        for name in ("bidirectional", "layer_norm", "residual", "input_feeding", "tie_embeddings"):
            _check_bool(name, getattr(self, name))
        _check_rate("dropout", self.dropout)
        _check_rate("recurrent_dropout", self.recurrent_dropout)
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


Schedule = Literal["constant", "warmup_inverse_sqrt", "warmup_exponential", "plateau"]
Monitor = Literal["val_loss", "val_perplexity", "val_accuracy"]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training with ``fit`` (``train.*`` keys).

    Attributes:
        epochs: maximum number of epochs.
        batch_size: sentence pairs per batch (read by the data pipeline).
        steps_per_epoch: bound on the batches per epoch; ``None`` reads the whole
            training set each epoch.
        learning_rate: peak (or constant) Adam learning rate.
        schedule: ``constant``; ``warmup_inverse_sqrt`` (linear warmup to
            ``learning_rate`` over ``warmup_steps``, then ``lr * sqrt(warmup/step)``);
            ``warmup_exponential`` (linear warmup, then ``lr * decay_rate **
            ((step - warmup) / decay_steps)``); ``plateau`` (constant, multiplied by
            ``plateau_factor`` when ``monitor`` stops improving for
            ``plateau_patience`` epochs, down to ``min_learning_rate``).
        warmup_steps: linear warmup length in optimizer steps.
        decay_rate, decay_steps: exponential decay after warmup.
        plateau_factor, plateau_patience, min_learning_rate: reduce-on-plateau.
        label_smoothing: uniform label smoothing of the cross-entropy (the reported
            perplexity always uses the unsmoothed likelihood).
        clip_norm: clip gradients to this global norm (computed over all replicas);
            ``None`` disables clipping.
        early_stopping_patience: stop after this many epochs without improvement
            of ``monitor``; ``None`` disables early stopping.
        monitor: validation metric for the best checkpoint, early stopping and
            reduce-on-plateau.
        seed: seeds Python, NumPy, TensorFlow and Keras (``nmt.training.set_seed``,
            called before tokenizers and model are built).
        deterministic: turn on TensorFlow op determinism (bitwise-reproducible runs).
        jit_compile: compile the train step with XLA (needs fixed batch shapes to
            pay off; with bucketed batches every new shape recompiles).
        steps_per_execution: optimizer steps per call of the compiled train
            function (Keras ``steps_per_execution``); larger values cut per-step
            Python overhead, batch-level callbacks then see every N-th step.
        keep_checkpoints: how many per-epoch checkpoints to keep for resuming.
        tensorboard: write TensorBoard logs under ``run_dir/tensorboard``.
        max_minutes: wall-time budget of the whole run (summed over resumes, validation
            included); training stops after the batch that exhausts it, the cut-short
            epoch is validated and checkpointed, and the run counts as finished.
            ``None``: no budget (``epochs`` alone ends the run).
    """

    epochs: int = 10
    batch_size: int = 64
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    schedule: Schedule = "warmup_inverse_sqrt"
    warmup_steps: int = 500
    decay_rate: float = 0.5
    decay_steps: int = 10_000
    plateau_factor: float = 0.5
    plateau_patience: int = 1
    min_learning_rate: float = 1e-6
    label_smoothing: float = 0.1
    clip_norm: float | None = 5.0
    early_stopping_patience: int | None = 3
    monitor: Monitor = "val_loss"
    seed: int = 1234
    deterministic: bool = False
    jit_compile: bool = False
    steps_per_execution: int = 1
    keep_checkpoints: int = 2
    tensorboard: bool = True
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        validate_literals(self)
        for name in ("epochs", "batch_size", "decay_steps", "plateau_patience", "keep_checkpoints",
                     "steps_per_execution"):
            _check_positive_int(name, getattr(self, name))
        for name in ("steps_per_epoch", "early_stopping_patience"):
            if getattr(self, name) is not None:
                _check_positive_int(name, getattr(self, name))
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps={self.warmup_steps!r} must be a non-negative integer")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"seed={self.seed!r} must be an integer")
        for name in ("learning_rate", "min_learning_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{name}={value!r} must be a positive number")
        _check_rate("label_smoothing", self.label_smoothing)
        for name in ("decay_rate", "plateau_factor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                raise ConfigError(f"{name}={value!r} must be a number in (0, 1)")
        if self.clip_norm is not None and (
            isinstance(self.clip_norm, bool)
            or not isinstance(self.clip_norm, (int, float))
            or self.clip_norm <= 0
        ):
            raise ConfigError(f"clip_norm={self.clip_norm!r} must be a positive number or null")
        for name in ("deterministic", "jit_compile", "tensorboard"):
            _check_bool(name, getattr(self, name))
        if self.max_minutes is not None and (
            isinstance(self.max_minutes, bool)
            or not isinstance(self.max_minutes, (int, float))
            or not self.max_minutes > 0
        ):
            raise ConfigError(f"max_minutes={self.max_minutes!r} must be a positive number or null")
