"""The training loop's progress bar: one bar per epoch that ends at the steps the epoch ran.

Keras's ``ProgbarLogger`` finalizes every epoch at its target, so an epoch cut by
``train.max_minutes`` or ``train.max_steps`` after 199 of 454 steps printed
``454/454``. :class:`EpochProgbar` prints the same lines (``Epoch e/E`` and a
:class:`keras.utils.Progbar` of steps) but ends each bar at the steps taken, so a cut
epoch reads ``199/454``. With epochs of one pass over the data (no
``steps_per_epoch``) the target is unknown until one pass has completed; the bar then
counts without a target, and later epochs use the steps of the last complete pass.
"""

from __future__ import annotations

import keras


class EpochProgbar(keras.callbacks.Callback):
    """``Epoch e/E`` and a progress bar per epoch.

    Args:
        epochs: the run's number of epochs (``train.epochs``).
        steps: steps per epoch when fixed (``train.steps_per_epoch``), else ``None``.
        verbose: 1 (a bar updated after every step) or 2 (one line per epoch).
    """

    def __init__(self, epochs: int, steps: int | None = None, verbose: int = 1):
        super().__init__()
        self.epochs, self.steps, self.verbose = epochs, steps, verbose
        self.known_steps = steps  # the target: fixed, or the last complete pass's steps
        self.seen = 0
        self.progbar: keras.utils.Progbar | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.progbar = keras.utils.Progbar(target=self.known_steps, verbose=self.verbose, unit_name="step",
                                           stateless_metrics=set())
        if self.epochs > 1 and self.verbose:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        """``batch`` is the epoch's last finished step, counted from 0 (a resumed epoch starts past 0)."""
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.steps is None and not self.model.stop_training and self.seen:
            self.known_steps = self.seen  # a complete pass: the next epochs' target
        if self.progbar.target is None:
            self.progbar.target = self.seen
        self.progbar.update(self.seen, list((logs or {}).items()), finalize=True)
