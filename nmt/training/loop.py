"""The training loop: ``strategy.run`` over :meth:`Seq2Seq.train_statistics`, Keras callbacks, resume anywhere.

:func:`train` is the entry point. Everything it writes lives in ``run_dir``::

    run_dir/
      state.json                   what has been completed (written last, atomically)
      checkpoints/epoch-0003.weights.h5   model + optimizer state after epoch 3
      checkpoints/step-00001200.weights.h5  ... after step 1200 (train.checkpoint_every_steps)
      best.keras                   the full model with the best ``monitor`` so far
      history.csv                  one row per completed epoch
      tensorboard/                 TensorBoard logs (``train.tensorboard``)
      train_config.json            the TrainConfig used
      input_position.json          a streamed corpus's position at each recent checkpoint

One loop for one device, ``MirroredStrategy`` and ``MultiWorkerMirroredStrategy``
(not Keras ``fit``: under a real multi-worker strategy ``fit`` fails on its scalar
logs, keras-team/keras#20585; see docs/distributed.md). Each step runs
:meth:`nmt.models.seq2seq.Seq2Seq.train_statistics` on every replica (the same loss
and gradient code ``fit`` would run) and sums the token statistics over replicas,
so the logged loss, accuracy and perplexity are exact over the global batch. The
same Keras callbacks ``fit`` would drive (history, progress bar, CSV, TensorBoard,
reduce-on-plateau, the caller's) are driven here.

Resume: weights, optimizer state, best-so-far, early-stopping counters and the
input position are restored. The input position is replayed, not stored: the
pipelines are deterministic for a seed, so a resumed run rebuilds the stream and
skips what was trained (one iterator per finished epoch is created and dropped to
advance the per-epoch reshuffle; inside the epoch ``epoch_step`` batches are
skipped). With fixed-length epochs (``steps_per_epoch``) the stream is one
repeated dataset and ``step`` batches are skipped. A resumed run therefore trains on
the same batches as an uninterrupted one (a streamed corpus is not replayed: its
position is stored, see :mod:`nmt.training.positions`). Not restored: the patience
counter of the ``plateau`` schedule (the reduced learning rate itself is).
``train.max_steps`` cuts the last epoch short, like the ``max_minutes`` budget."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from nmt.config.base import config_to_dict
from nmt.config.train import TrainConfig, higher_is_better
from nmt.fileutils import atomic_write  # noqa: F401  (re-exported for tests and callers)
from nmt.training.checkpoint import ResumableCheckpoint
from nmt.training.positions import INPUT_POSITION, InputPositions, ResumableInput
from nmt.training.progress import EpochProgbar
from nmt.training.schedules import learning_rate_for
from nmt.training.state import (
    BEST_MODEL,
    CHECKPOINT_DIR,
    HISTORY_FILE,
    RunState,
    StateError,
    remove_temporaries,
    truncate_history,
    write_json,
)
from nmt.vocab import END_ID, PAD_ID, START_ID

__all__ = ["BEST_MODEL", "CHECKPOINT_DIR", "HISTORY_FILE", "INPUT_POSITION", "ResumableCheckpoint", "ResumableInput",
           "RunState", "set_seed", "train"]

#: A dataset, or a function of the ``tf.distribute.InputContext`` returning this input
#: pipeline's dataset of per-replica batches (``distribute_datasets_from_function``), or a
#: streamed corpus that starts anywhere.
DatasetSource = tf.data.Dataset | Callable[[tf.distribute.InputContext], tf.data.Dataset] | ResumableInput

#: Extra epoch-end metrics (e.g. :class:`nmt.training.bleu.ValidationBleu`): a function returning ``{name: value}``.
EpochMetrics = Callable[[], Mapping[str, float]]

_STATISTICS = ("loss_sum", "nll_sum", "correct", "tokens")


def set_seed(config: TrainConfig) -> None:
    """Seeds Python, NumPy, TensorFlow and Keras with ``config.seed`` and, with
    ``config.deterministic``, turns on op determinism. Call it first, before any
    tokenizer or model exists (see :func:`train`)."""
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()


def train(
    model: keras.Model,
    train_ds: DatasetSource,
    val_ds: tf.data.Dataset | None,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
    strategy: tf.distribute.Strategy | None = None,
    chief: bool = True,
    steps_per_epoch: int | None = None,
    epoch_metrics: EpochMetrics | None = None,
) -> keras.callbacks.History:
    """Trains ``model`` (a :class:`nmt.models.seq2seq.Seq2Seq`), resuming if ``run_dir`` has a run.

    ``train`` does not reseed: seed with :func:`set_seed` *before* building the
    tokenizers and the model (``tf.random.set_seed`` clears TensorFlow's kernel
    cache, which destroys the resources of tensorflow-text SentencePiece ops
    created earlier: their datasets then fail with ``NotFoundError``).

    The model is compiled here with Adam and ``config``'s schedule, label smoothing,
    gradient clipping and ``jit_compile`` (inside ``strategy.scope()``; the model must
    have been built in that scope). If ``run_dir/state.json`` exists, weights and
    optimizer state are loaded from the checkpoint it names and training continues
    where it stopped (see the module doc); a finished run returns at once.

    Args:
        model: the model to train (built in ``strategy``'s scope).
        train_ds: batches ``((source_ids, target_input_ids), target_output_ids)``
            of the global batch size, or a function of the ``InputContext`` returning
            this worker's per-replica batches (required under ``multi_worker``), or a
            :class:`ResumableInput` (a streamed corpus; one replica only).
        val_ds: validation batches (the whole set, in order), or ``None`` (``monitor``
            then falls back to the training metric). Under several workers each
            evaluates every ``W``-th batch and the sums are added over the workers.
        config: the training configuration.
        run_dir: where checkpoints, logs and the state live (created if needed).
        callbacks: extra Keras callbacks, run before the checkpoint callback.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch ("auto": 1).
        strategy: the distribution strategy (default: the model's, else the current one).
        chief: whether this process writes ``run_dir``; the other workers of a
            multi-worker run read its checkpoint and write into a temporary directory
            that is removed at the end.
        steps_per_epoch: overrides ``config.steps_per_epoch`` (multi-worker runs derive one).
        epoch_metrics: called at every epoch end after validation; its ``{name: value}``
            are added to the epoch logs before any callback sees them (so they reach
            ``history.csv``, TensorBoard, reduce-on-plateau and the best checkpoint).
            Under several workers every worker calls it and the values are averaged
            over the workers, so all hold the same numbers. Required for
            ``monitor: val_bleu`` (:class:`nmt.training.bleu.ValidationBleu`).

    Returns:
        The ``History`` of the epochs run in this call.

    Raises:
        ValueError: ``config.monitor`` is ``val_bleu`` without ``epoch_metrics``.
    """
    run_dir = Path(run_dir)
    if config.monitor == "val_bleu" and epoch_metrics is None:
        raise ValueError("monitor=val_bleu needs epoch_metrics that compute it (nmt.training.bleu.ValidationBleu)")
    strategy = strategy or getattr(model, "distribute_strategy", None) or tf.distribute.get_strategy()
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if chief:
        (run_dir / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
        remove_temporaries(run_dir)
        write_json(run_dir / "train_config.json", config_to_dict(config))
    with strategy.scope():
        model.compile(optimizer=keras.optimizers.Adam(learning_rate_for(config)),
                      label_smoothing=config.label_smoothing, clip_norm=config.clip_norm,
                      jit_compile=config.jit_compile)
        model.optimizer.build(model.trainable_variables)
        state = RunState.read(run_dir)
        if state is not None and state.checkpoint is not None:
            model.load_weights(run_dir / CHECKPOINT_DIR / state.checkpoint)
    state = state or RunState()
    budget = None if config.max_minutes is None else 60.0 * config.max_minutes
    if state.out_of_time and (budget is None or state.seconds < budget):  # the budget was raised or lifted
        state.out_of_time = False
    if (state.stopped or state.out_of_time or state.epoch >= config.epochs
            or (config.max_steps is not None and state.step >= config.max_steps)):
        finished = keras.callbacks.History()
        finished.on_train_begin()  # empty epoch list and history
        return finished
    write_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="nmt-worker-"))
    try:
        if chief:
            truncate_history(run_dir / HISTORY_FILE, state.epoch)
        steps = steps_per_epoch or config.steps_per_epoch
        loop = _Loop(model, strategy, config, state, write_dir, steps, budget if chief else None, epoch_metrics)
        return loop.run(train_ds, val_ds, callbacks, 1 if verbose == "auto" else verbose)
    finally:
        if not chief:
            shutil.rmtree(write_dir, ignore_errors=True)


class _Loop:
    """One call of :func:`train`: the compiled step functions and the epoch loop."""

    def __init__(self, model, strategy, config: TrainConfig, state: RunState, write_dir: Path,
                 steps_per_epoch: int | None, budget: float | None, epoch_metrics: EpochMetrics | None = None):
        self.model, self.strategy, self.config, self.state = model, strategy, config, state
        self.write_dir, self.steps_per_epoch, self.budget = write_dir, steps_per_epoch, budget
        self.epoch_metrics = epoch_metrics
        self.workers = _worker_count(strategy)
        state.replicas = strategy.num_replicas_in_sync
        # Under several workers every step ends with one collective, so stopping (budget) is agreed.
        self.execution = 1 if self.workers > 1 else config.steps_per_execution
        self._sum_flag = tf.function(lambda flag: strategy.reduce("SUM", strategy.run(tf.identity, args=(flag,)),
                                                                  axis=None))

    # ------------------------------------------------------------------ compiled functions
    def _train_function(self, positioned: bool):
        """``run(iterator, limit)``: up to ``limit`` steps -> (summed statistics + steps taken, last position).

        With ``positioned`` the elements are ``(batch, position)`` (:class:`ResumableInput`);
        the position of the last batch taken is returned (``[-1, -1, -1]`` when none).
        """
        model, strategy = self.model, self.strategy
        replica_step = model.train_statistics
        if self.config.jit_compile:
            replica_step = tf.function(replica_step, jit_compile=True)

        @tf.function
        def run(iterator, limit):
            totals = tf.zeros([len(_STATISTICS) + 1])
            position = tf.constant([-1, -1, -1], tf.int64)
            for _ in tf.range(limit):
                optional = iterator.get_next_as_optional()
                if not optional.has_value():
                    break
                batch = optional.get_value()
                if positioned:
                    batch, position = batch
                stats = strategy.run(replica_step, args=(batch,))
                values = [strategy.reduce("SUM", stats[key], axis=None) for key in _STATISTICS]
                values.append(tf.constant(1.0))
                totals += tf.stack(values)
            return totals, position

        return run

    def _test_function(self):
        model, strategy = self.model, self.strategy

        @tf.function(reduce_retracing=True)  # bucketed validation batches: one trace, not one per shape
        def run(batch):
            stats = strategy.run(model.test_statistics, args=(batch,))
            return tf.stack([strategy.reduce("SUM", stats[key], axis=None) for key in _STATISTICS])

        return run

    # ------------------------------------------------------------------ datasets
    def _distribute(self, source: DatasetSource, transform=lambda ds: ds):
        if isinstance(source, ResumableInput):
            raise TypeError("a ResumableInput is started by the loop, not distributed")
        if callable(source) and not isinstance(source, tf.data.Dataset):
            return self.strategy.distribute_datasets_from_function(lambda context: transform(source(context)))
        if self.workers > 1:
            raise ValueError("a multi-worker run needs train_ds as a function of the InputContext "
                             "(each worker reads its own shard)")
        return self.strategy.experimental_distribute_dataset(transform(source))

    def _validation(self, val_ds: tf.data.Dataset | None):
        """The distributed validation batches: worker ``w`` of ``W`` takes batches ``w, w + W, ...``."""
        if val_ds is None:
            return None
        if self.workers == 1:
            return self.strategy.experimental_distribute_dataset(val_ds)
        batches = int(val_ds.reduce(0, lambda count, _: count + 1))
        rounds = math.ceil(batches / self.workers)
        filler = tf.data.Dataset.from_tensors(_empty_batch())

        def worker_batches(context):
            index, count = context.input_pipeline_id, context.num_input_pipelines
            own = len(range(index, batches, count))
            return val_ds.shard(count, index).concatenate(filler.repeat(rounds - own))

        return self.strategy.distribute_datasets_from_function(worker_batches)

    # ------------------------------------------------------------------ the loop
    def run(self, train_ds: DatasetSource, val_ds, extra_callbacks, verbose: int) -> keras.callbacks.History:
        model, config, state = self.model, self.config, self.state
        checkpoint = ResumableCheckpoint(self.write_dir, state, config.monitor, config.early_stopping_patience,
                                         config.keep_checkpoints, self.budget, config.checkpoint_every_steps,
                                         average_last=config.average_last or 0)
        bar = [EpochProgbar(config.epochs, self.steps_per_epoch, verbose)] if verbose else []  # first, as in fit
        callbacks = [*bar, keras.callbacks.CSVLogger(str(self.write_dir / HISTORY_FILE), append=True), *extra_callbacks]
        if config.tensorboard:
            callbacks.append(keras.callbacks.TensorBoard(str(self.write_dir / "tensorboard"), update_freq="epoch"))
        if config.schedule == "plateau":
            validated = val_ds is not None or self.epoch_metrics is not None
            callbacks.append(keras.callbacks.ReduceLROnPlateau(
                monitor=config.monitor if validated else config.monitor.removeprefix("val_"),
                factor=config.plateau_factor, patience=config.plateau_patience, min_lr=config.min_learning_rate,
                mode="max" if higher_is_better(config.monitor) else "min"))
        positioned = isinstance(train_ds, ResumableInput)
        if positioned and self.strategy.num_replicas_in_sync > 1:
            raise ValueError("a streamed corpus (ResumableInput) trains on one replica (train.distribute: none)")
        positions = InputPositions(self.write_dir, checkpoint) if positioned else None
        if positions is not None:
            callbacks.append(positions)  # writes the input position just before the checkpoint is written
        callbacks.append(checkpoint)
        callback_list = keras.callbacks.CallbackList(callbacks, add_history=True, model=model, verbose=verbose,
                                                     epochs=config.epochs, steps=self.steps_per_epoch)
        train_function, test_function = self._train_function(positioned), self._test_function()
        if self.workers > 1:  # every worker must resume from the chief's checkpoint
            total = float(self._sum_flag(tf.constant(float(state.step))))
            if total != state.step * self.workers:
                raise StateError(f"the workers resume from different steps (this one from step {state.step}, "
                                 f"{total:.0f} summed over {self.workers} workers): every worker must read the "
                                 f"run directory the chief writes, on a filesystem they share")
        fixed = self.steps_per_epoch is not None
        if positioned:
            if fixed:  # one endless stream from the next unseen batch
                stream = iter(train_ds.batches(positions.resume_point(state.step), True))
        elif fixed:  # one stream over all epochs; the trained batches are skipped
            stream = iter(self._distribute(train_ds, lambda ds: ds.repeat().skip(state.step)))
        else:
            dataset = self._distribute(train_ds)
            for _ in range(state.epoch):  # advance the per-epoch reshuffle past the finished epochs
                iter(dataset)
        validation = self._validation(val_ds)
        model.stop_training = False
        callback_list.on_train_begin()
        logs: dict = {}
        for epoch in range(state.epoch, config.epochs):
            callback_list.on_epoch_begin(epoch)
            epoch_step = state.epoch_step if epoch == self.state.epoch else 0
            if positioned and not fixed:  # epoch e is pass e of the stream
                start = positions.resume_point(state.step) if epoch_step else (epoch, 0, 0)
                stream = iter(train_ds.batches(start, False))
            elif not fixed:
                stream = iter(dataset)
                for _ in range(epoch_step):
                    next(stream)
            sums = np.zeros(len(_STATISTICS))
            while not fixed or epoch_step < self.steps_per_epoch:
                limit = min(self.execution, self.steps_per_epoch - epoch_step if fixed else math.inf,
                            math.inf if config.max_steps is None else config.max_steps - checkpoint.step)
                if limit <= 0:
                    break
                totals, position = train_function(stream, tf.constant(limit))
                totals = totals.numpy()
                taken = int(totals[-1])
                if taken == 0:
                    break
                sums += totals[:len(_STATISTICS)]
                epoch_step += taken
                checkpoint.step += taken
                checkpoint.epoch_step = epoch_step
                if positions is not None:
                    positions.trained(checkpoint.step, position.numpy())
                if config.max_steps is not None and checkpoint.step >= config.max_steps:
                    model.stop_training = True
                logs = _logs(sums)
                callback_list.on_train_batch_end(epoch_step - 1, logs)
                if self.workers > 1:  # a stop asked for by any worker (the chief's budget) ends this step on all
                    model.stop_training = self._agreed_stop()
                if model.stop_training:
                    break
            if validation is not None:
                val_sums = sum((test_function(batch).numpy() for batch in validation), np.zeros(len(_STATISTICS)))
                logs = {**logs, **{f"val_{key}": value for key, value in _logs(val_sums).items()}}
            if self.epoch_metrics is not None:  # before any callback: CSV, TensorBoard, plateau, best model
                logs = {**logs, **self._agreed_metrics(self.epoch_metrics())}
            callback_list.on_epoch_end(epoch, logs)
            if model.stop_training or self._agreed_stop():
                break
        callback_list.on_train_end(logs)
        return model.history

    def _agreed_metrics(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """Under several workers: each metric averaged over the workers (one collective), so all hold the same."""
        metrics = {name: float(value) for name, value in metrics.items()}
        if self.workers == 1 or not metrics:
            return metrics
        values = tf.constant(list(metrics.values()), tf.float32)
        means = self._sum_flag(values).numpy() / self.strategy.num_replicas_in_sync
        return {name: float(value) for name, value in zip(metrics, means)}

    def _agreed_stop(self) -> bool:
        """Under several workers: whether any worker asked to stop (all take the same decision)."""
        if self.workers == 1:
            return False
        return float(self._sum_flag(tf.constant(1.0 if self.model.stop_training else 0.0))) > 0


def _logs(sums: np.ndarray) -> dict[str, float]:
    """``loss`` (smoothed, per token), ``accuracy`` and ``perplexity`` from summed token statistics."""
    loss_sum, nll_sum, correct, tokens = (float(value) for value in sums)
    tokens = max(tokens, 1.0)
    return {"loss": loss_sum / tokens, "accuracy": correct / tokens, "perplexity": math.exp(nll_sum / tokens)}


def _empty_batch():
    """A one-pair batch with no target token (all statistics 0): the filler of a shorter validation shard."""
    source = tf.constant([[END_ID]], tf.int32)
    return (source, tf.constant([[START_ID]], tf.int32)), tf.constant([[PAD_ID]], tf.int32)


def _worker_count(strategy: tf.distribute.Strategy) -> int:
    cluster = getattr(strategy, "cluster_resolver", None)
    if cluster is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    return max(1, len(cluster.cluster_spec().as_dict().get("worker", [])) +
               len(cluster.cluster_spec().as_dict().get("chief", [])))


