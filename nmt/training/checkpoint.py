"""The callback that makes training resumable: checkpoints, best model, early stopping, budget, ``state.json``."""

from __future__ import annotations

import time
from pathlib import Path

import keras

from nmt.config.train import higher_is_better
from nmt.fileutils import atomic_write
from nmt.training.state import (
    BEST_MODEL,
    CHECKPOINT_DIR,
    RunState,
    epoch_checkpoint_name,
    prune_checkpoints,
    step_checkpoint_name,
)


class ResumableCheckpoint(keras.callbacks.Callback):
    """After every epoch (and every ``every_steps`` steps): checkpoint, best model, early stopping, ``state.json``.

    :func:`nmt.training.loop.train` sets :attr:`step` and :attr:`epoch_step` before
    each ``on_train_batch_end``, so the callback knows the run's position.

    Args:
        run_dir: where checkpoints, ``best.keras`` and ``state.json`` are written.
        state: the state to continue from (a fresh :class:`RunState` for a new run).
        monitor: ``val_loss``, ``val_perplexity`` (lower is better), ``val_accuracy`` or
            ``val_bleu`` (higher is better); falls back to the training metric of the
            same name without validation data.
        patience: early-stopping patience in epochs; ``None`` disables it.
        keep: how many epoch checkpoints to keep.
        average_last: ``train.average_last``: at least this many checkpoints of each
            kind (epoch, step) are kept, for averaging at the end; 0: only ``keep`` epoch
            checkpoints and the newest checkpoint.
        budget_seconds: stop training after the batch at which the run's total wall
            time (``state.seconds`` plus this call's) reaches this; ``None``: no budget.
        every_steps: also checkpoint inside an epoch once this many steps passed
            since the last checkpoint; ``None``: at epoch ends only.
    """

    def __init__(self, run_dir: Path, state: RunState, monitor: str, patience: int | None, keep: int,
                 budget_seconds: float | None = None, every_steps: int | None = None, average_last: int = 0):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.state = state
        self.monitor = monitor
        self.patience = patience
        self.keep, self.keep_steps = max(keep, average_last), average_last
        self.budget_seconds = budget_seconds
        self.every_steps = every_steps
        self.higher_is_better = higher_is_better(monitor)
        self.step = state.step
        self.epoch_step = state.epoch_step
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
        if self.every_steps is not None and self.step - self.state.step >= self.every_steps:
            self._save(step_checkpoint_name(self.step), self.epoch_step)

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
        state.epoch = epoch + 1
        if self.patience is not None and state.wait >= self.patience:
            state.stopped = True
            self.model.stop_training = True
        if self._out_of_time or (self.budget_seconds is not None and self._elapsed() >= self.budget_seconds):
            state.out_of_time = True
            self.model.stop_training = True
        self._save(epoch_checkpoint_name(epoch + 1), 0)

    def _save(self, name: str, epoch_step: int) -> None:
        """Writes checkpoint ``name``, then ``state.json`` naming it, then prunes old checkpoints."""
        atomic_write(self.run_dir / CHECKPOINT_DIR / name, self.model.save_weights)
        state = self.state
        state.checkpoint, state.step, state.epoch_step = name, self.step, epoch_step
        state.seconds = self._elapsed()
        state.write(self.run_dir)
        prune_checkpoints(self.run_dir / CHECKPOINT_DIR, self.keep, state.checkpoint, self.keep_steps)
