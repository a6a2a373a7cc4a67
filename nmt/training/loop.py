"""Training with ``fit``: atomic checkpoints, resume after any interruption, logs.

:func:`train` is the entry point. Everything it writes lives in ``run_dir``::

    run_dir/
      state.json                   what has been completed (written last, atomically)
      checkpoints/epoch-0003.weights.h5   model + optimizer state after epoch 3
      best.keras                   the full model with the best ``monitor`` so far
      history.csv                  one row per completed epoch
      tensorboard/                 TensorBoard logs (``train.tensorboard``)
      train_config.json            the TrainConfig used

Crash safety: every file is written under a temporary name, flushed to disk and
renamed over its final name (``os.replace`` is atomic), and ``state.json``, which
names the checkpoint to resume from, is replaced only after that checkpoint is
complete. A run killed at any moment (even ``SIGKILL``, even while writing) resumes
from the last completed epoch: weights, optimizer state (moments, step counter,
learning rate), best-so-far and early-stopping counters are restored, finished
epochs are not redone, and ``history.csv`` rows of unfinished epochs are dropped.
With ``max_minutes`` the wall time of completed epochs is summed in ``state.json``
across resumes, so the budget covers the whole run.
Not restored: the position inside a shuffled ``tf.data`` stream and the patience
counter of the ``plateau`` schedule (the reduced learning rate itself is restored).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import keras
import tensorflow as tf

from nmt.config.base import config_to_dict
from nmt.config.train import TrainConfig
from nmt.fileutils import TMP_PREFIX as _TMP_PREFIX
from nmt.fileutils import atomic_write
from nmt.training.schedules import learning_rate_for

STATE_FILE = "state.json"
CHECKPOINT_DIR = "checkpoints"
BEST_MODEL = "best.keras"
HISTORY_FILE = "history.csv"
_CHECKPOINT_PATTERN = re.compile(r"^epoch-(\d+)\.weights\.h5$")


# ----------------------------------------------------------------------------- files
def _write_json(path: Path, value: dict) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w") as handle:
            json.dump(value, handle, indent=2, sort_keys=True)

    atomic_write(path, write)


@dataclasses.dataclass
class RunState:
    """What ``state.json`` records after every completed epoch.

    Attributes:
        epoch: number of completed epochs (the next epoch index to run).
        checkpoint: file name under ``checkpoints/`` holding model + optimizer state.
        step: optimizer steps taken.
        best: best value of the monitored metric so far (``None`` before any).
        best_epoch: the epoch (1-based) that reached ``best``.
        wait: epochs since the last improvement (early stopping).
        stopped: early stopping ended the run.
        seconds: wall time of the completed epochs (validation included), over all resumes.
        out_of_time: the ``max_minutes`` budget ended the run (its last epoch may be partial).
    """

    epoch: int = 0
    checkpoint: str | None = None
    step: int = 0
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0
    stopped: bool = False
    seconds: float = 0.0
    out_of_time: bool = False

    @classmethod
    def read(cls, run_dir: Path) -> RunState | None:
        path = run_dir / STATE_FILE
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))

    def write(self, run_dir: Path) -> None:
        _write_json(run_dir / STATE_FILE, dataclasses.asdict(self))


# ----------------------------------------------------------------------------- callback
class ResumableCheckpoint(keras.callbacks.Callback):
    """After every epoch: checkpoint, best model, early stopping, then ``state.json``.

    Args:
        run_dir: the run directory.
        state: the state to continue from (a fresh :class:`RunState` for a new run).
        monitor: ``val_loss``, ``val_perplexity`` or ``val_accuracy`` (falls back to
            the training metric of the same name without validation data).
        patience: early-stopping patience in epochs; ``None`` disables it.
        keep: how many epoch checkpoints to keep.
        budget_seconds: stop training after the batch at which the run's total wall
            time (``state.seconds`` plus this call's) reaches this; ``None``: no budget.
    """

    def __init__(self, run_dir: Path, state: RunState, monitor: str, patience: int | None, keep: int,
                 budget_seconds: float | None = None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.state = state
        self.monitor = monitor
        self.patience = patience
        self.keep = keep
        self.budget_seconds = budget_seconds
        self.higher_is_better = monitor.endswith("accuracy")
        self._start = time.perf_counter()
        self._seconds_before = state.seconds
        self._out_of_time = False

    def _elapsed(self) -> float:
        return self._seconds_before + time.perf_counter() - self._start

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._seconds_before = self.state.seconds

    def on_train_batch_end(self, batch, logs=None):
        if self.budget_seconds is not None and self._elapsed() >= self.budget_seconds:
            self._out_of_time = True
            self.model.stop_training = True

    def _improved(self, value: float) -> bool:
        if self.state.best is None:
            return True
        return value > self.state.best if self.higher_is_better else value < self.state.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor, logs.get(self.monitor.removeprefix("val_")))
        state = self.state
        if value is not None and self._improved(float(value)):
            state.best, state.best_epoch, state.wait = float(value), epoch + 1, 0
            atomic_write(self.run_dir / BEST_MODEL, self.model.save)
        elif value is not None:
            state.wait += 1
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        atomic_write(self.run_dir / CHECKPOINT_DIR / name, self.model.save_weights)
        state.epoch, state.checkpoint = epoch + 1, name
        state.step = int(self.model.optimizer.iterations.numpy())
        if self.patience is not None and state.wait >= self.patience:
            state.stopped = True
            self.model.stop_training = True
        state.seconds = self._elapsed()
        if self._out_of_time or (self.budget_seconds is not None and state.seconds >= self.budget_seconds):
            state.out_of_time = True
            self.model.stop_training = True
        state.write(self.run_dir)
        self._prune()

    def _prune(self) -> None:
        directory = self.run_dir / CHECKPOINT_DIR
        epochs = sorted(
            (int(match.group(1)), path)
            for path in directory.iterdir()
            if (match := _CHECKPOINT_PATTERN.match(path.name))
        )
        for _, path in epochs[: -self.keep]:
            if path.name != self.state.checkpoint:
                path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- entry point
def set_seed(config: TrainConfig) -> None:
    """Seeds Python, NumPy, TensorFlow and Keras with ``config.seed`` and, with
    ``config.deterministic``, turns on op determinism. Call it first, before any
    tokenizer or model exists (see :func:`train`)."""
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()


def train(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    val_ds: tf.data.Dataset | None,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """Trains ``model`` (a :class:`nmt.models.seq2seq.Seq2Seq`) with ``fit``, resuming if ``run_dir`` has a run.

    ``train`` does not reseed: seed with :func:`set_seed` *before* building the
    tokenizers and the model (``tf.random.set_seed`` clears TensorFlow's kernel
    cache, which destroys the resources of tensorflow-text SentencePiece ops
    created earlier: their datasets then fail with ``NotFoundError``).

    The model is compiled here with Adam and ``config``'s schedule, label
    smoothing, gradient clipping, ``jit_compile`` and ``steps_per_execution`` (inside the model's
    distribution strategy scope). If ``run_dir/state.json`` exists, weights and
    optimizer state are loaded from the checkpoint it names and training continues
    at the next epoch; a finished run (all epochs, or early-stopped) returns at once.

    Args:
        model: the model to train (built or not).
        train_ds: batches ``((source_ids, target_input_ids), target_output_ids)``.
            With ``config.steps_per_epoch`` it is repeated and each epoch takes that
            many batches.
        val_ds: validation batches, or ``None`` (``monitor`` then falls back to the
            training metric).
        config: the training configuration.
        run_dir: where checkpoints, logs and the state live (created if needed).
        callbacks: extra Keras callbacks, run before the checkpoint callback.
        verbose: passed to ``fit``.

    Returns:
        The ``History`` of the epochs run in this call.
    """
    run_dir = Path(run_dir)
    (run_dir / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
    _remove_temporaries(run_dir)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    _write_json(run_dir / "train_config.json", config_to_dict(config))

    strategy = getattr(model, "distribute_strategy", None) or tf.distribute.get_strategy()
    with strategy.scope():
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate_for(config)),
            label_smoothing=config.label_smoothing,
            clip_norm=config.clip_norm,
            jit_compile=config.jit_compile,
            steps_per_execution=config.steps_per_execution,
        )
        state = RunState.read(run_dir)
        if state is not None and state.checkpoint is not None:
            if not model.built:
                model.build()
            model.optimizer.build(model.trainable_variables)
            model.load_weights(run_dir / CHECKPOINT_DIR / state.checkpoint)
    state = state or RunState()
    budget = None if config.max_minutes is None else 60.0 * config.max_minutes
    if state.out_of_time and (budget is None or state.seconds < budget):  # the budget was raised or lifted
        state.out_of_time = False
    if state.stopped or state.out_of_time or state.epoch >= config.epochs:
        finished = keras.callbacks.History()
        finished.on_train_begin()  # empty epoch list and history
        return finished
    _truncate_history(run_dir / HISTORY_FILE, state.epoch)

    all_callbacks = [
        keras.callbacks.CSVLogger(str(run_dir / HISTORY_FILE), append=True),
        *callbacks,
    ]
    if config.tensorboard:
        all_callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), update_freq="epoch"))
    if config.schedule == "plateau":
        all_callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=config.monitor if val_ds is not None else config.monitor.removeprefix("val_"),
                factor=config.plateau_factor,
                patience=config.plateau_patience,
                min_lr=config.min_learning_rate,
                mode="max" if config.monitor.endswith("accuracy") else "min",
            )
        )
    all_callbacks.append(
        ResumableCheckpoint(run_dir, state, config.monitor, config.early_stopping_patience, config.keep_checkpoints,
                            budget)
    )
    if config.steps_per_epoch is not None:
        train_ds = train_ds.repeat()
    with warnings.catch_warnings():
        if config.steps_per_epoch is None:
            # Without steps_per_epoch an epoch *is* one pass over the dataset; Keras cannot know
            # the length of a filtered/bucketed dataset and warns at its end on every run.
            warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
        return model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=config.epochs,
            initial_epoch=state.epoch,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=all_callbacks,
            verbose=verbose,
            shuffle=False,  # tf.data input: shuffling is the pipeline's job
        )


def _remove_temporaries(run_dir: Path) -> None:
    """Deletes half-written files a killed run may have left behind."""
    for directory in (run_dir, run_dir / CHECKPOINT_DIR):
        for path in directory.glob(f"{_TMP_PREFIX}*"):
            path.unlink(missing_ok=True)


def _truncate_history(path: Path, completed_epochs: int) -> None:
    """Keeps only the CSV rows of the ``completed_epochs`` first epochs."""
    if not path.exists():
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    kept = [row for row in body if row and int(row[0]) < completed_epochs]
    if len(kept) == len(body):
        return

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as handle:
            csv.writer(handle).writerows([header, *kept])

    atomic_write(path, write)
