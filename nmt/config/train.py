"""Typed configuration of training (``train.*`` keys)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from nmt.config.base import (
    ConfigError,
    check_fields,
    check_non_negative_int,
    check_number,
    check_positive_int,
    check_positive_number,
    check_rate,
)

Schedule = Literal["constant", "warmup_inverse_sqrt", "warmup_exponential", "plateau"]


Monitor = Literal["val_loss", "val_perplexity", "val_accuracy", "val_bleu"]


def higher_is_better(metric: str) -> bool:
    """Whether a larger ``metric`` (``val_bleu``, ``accuracy``, ``val_loss``...) is an improvement."""
    return metric.endswith(("accuracy", "bleu"))


Distribute = Literal["none", "mirrored", "multi_worker"]


Precision = Literal["float32", "mixed_float16", "mixed_bfloat16"]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training (``train.*`` keys), run by :func:`nmt.training.loop.train`.

    Attributes:
        epochs: maximum number of epochs.
        batch_size: sentence pairs per batch: the one batch-size setting of a run
            (:class:`nmt.config.run.RunConfig` copies it into ``pipeline``). It is the
            *global* batch: with ``R`` replicas each takes ``batch_size / R`` pairs.
        steps_per_epoch: bound on the batches per epoch; ``None`` reads the whole
            training set each epoch (under ``multi_worker``: ``ceil(pairs / batch_size)``
            steps, since the workers' shards must take the same number of steps). With
            it the training set is one stream repeated without a break, cut into
            epochs of this many steps: the epoch of a huge or streamed corpus
            (``data.streaming``), after which validation, the history row and a
            checkpoint happen.
        max_steps: end the run after this many optimizer steps in all (counted over
            resumes, like ``state.json``'s ``step``); the cut-short epoch is validated
            and checkpointed, and the run counts as finished (raise ``max_steps`` to
            continue it). ``None``: ``epochs`` (or early stopping, or ``max_minutes``)
            alone ends the run.
        distribute: ``none`` (one device), ``mirrored`` (``tf.distribute.MirroredStrategy``
            over every local device) or ``multi_worker``
            (``tf.distribute.MultiWorkerMirroredStrategy``, cluster from ``TF_CONFIG``;
            see docs/distributed.md).
        precision: ``float32``, ``mixed_float16`` (dynamic loss scaling) or
            ``mixed_bfloat16``: the Keras dtype policy while training (variables,
            logits, softmax and loss stay float32); the saved translator computes in float32.
        checkpoint_every_steps: also checkpoint every N optimizer steps inside an
            epoch (rounded up to a multiple of ``steps_per_execution``), so an
            interrupted run loses at most N steps; ``None``: at epoch ends only.
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
            reduce-on-plateau: ``val_loss``, ``val_perplexity`` (lower is better),
            ``val_accuracy`` or ``val_bleu`` (higher is better). ``val_bleu`` is the
            sacreBLEU (13a, cased, detokenized) corpus BLEU of greedy translations of
            the first ``bleu_sentences`` validation pairs, computed at every epoch end
            with the model being trained (:mod:`nmt.training.bleu`); it needs
            ``data.valid``. Under ``multi_worker`` every worker computes it and the
            workers' values are averaged, so all take the same decisions.
        bleu_sentences: how many validation pairs (the first ones) ``val_bleu``
            translates; used only with ``monitor: val_bleu``.
        init_from: fine-tuning: the run directory of a trained (finished, or at least
            one epoch checkpointed) run whose best weights initialize the model and
            whose tokenizers are copied into the new run (its ``tokenizer`` and
            ``model`` sections must equal the source run's); the optimizer starts
            fresh. Resolved to an absolute path when the configuration is loaded.
            See :mod:`nmt.runs.finetune`.
        seed: seeds Python, NumPy, TensorFlow and Keras (``nmt.training.loop.set_seed``,
            called before tokenizers and model are built).
        deterministic: turn on TensorFlow op determinism (bitwise-reproducible runs).
        jit_compile: compile the train step with XLA (needs fixed batch shapes to
            pay off; with bucketed batches every new shape recompiles).
        steps_per_execution: optimizer steps per call of the compiled train
            function (Keras ``steps_per_execution``); larger values cut per-step
            Python overhead, batch-level callbacks then see every N-th step.
        keep_checkpoints: how many per-epoch checkpoints to keep for resuming.
        average_last: at the end of training, average the weights of the last N
            checkpoints (epoch and step ones, by training step) into the run's translator
            (:mod:`nmt.runs.average`); the run then keeps N of each kind. ``None``: the
            translator is the best checkpoint (``best.keras``).
        tensorboard: write TensorBoard logs under ``run_dir/tensorboard``.
        max_minutes: wall-time budget of the whole run (summed over resumes, validation
            included); training stops after the batch that exhausts it, the cut-short
            epoch is validated and checkpointed, and the run counts as finished.
            ``None``: no budget (``epochs`` alone ends the run).
    """

    epochs: int = 10
    batch_size: int = 64
    steps_per_epoch: int | None = None
    max_steps: int | None = None
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
    average_last: int | None = None
    tensorboard: bool = True
    max_minutes: float | None = None
    distribute: Distribute = "none"
    precision: Precision = "float32"
    checkpoint_every_steps: int | None = None
    bleu_sentences: int = 200
    init_from: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("epochs", "batch_size", "decay_steps", "plateau_patience", "keep_checkpoints",
                     "steps_per_execution"):
            check_positive_int(name, getattr(self, name))
        for name in ("steps_per_epoch", "max_steps", "early_stopping_patience", "checkpoint_every_steps",
                     "average_last"):
            check_positive_int(name, getattr(self, name), optional=True)
        check_non_negative_int("warmup_steps", self.warmup_steps)
        for name in ("learning_rate", "min_learning_rate"):
            check_positive_number(name, getattr(self, name))
        check_rate("label_smoothing", self.label_smoothing)
        for name in ("decay_rate", "plateau_factor"):
            check_number(name, getattr(self, name), above=0, below=1)
        for name in ("clip_norm", "max_minutes"):
            check_positive_number(name, getattr(self, name), optional=True)
        check_positive_int("bleu_sentences", self.bleu_sentences)
        if self.init_from is not None and not self.init_from.strip():
            raise ConfigError("init_from='' must be a run directory or null")
