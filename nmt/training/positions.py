"""Resuming a streamed corpus where it stopped: batches that carry their position, recorded with every checkpoint.

A streamed corpus (``data.streaming``) is not replayed on resume: replaying means
reading and tokenizing again everything trained before, a cost that grows with the
position (an hour into a 10-million-pair epoch it is many minutes). Its input is a
:class:`ResumableInput` whose batches carry their position ``(pass, block, batch)``
(:func:`nmt.data.pipeline.stream_batches`). :class:`InputPositions` keeps the position of
the last trained batch and, just before every checkpoint, writes it to
``RUN_DIR/input_position.json``, keyed by step, so it matches whichever checkpoint
``state.json`` names (even after a kill between the two writes). A resumed run starts
the stream at that block and drops the block's batches already trained: the cost is
bounded by one block of ``pipeline.shuffle_buffer`` lines plus counting the lines
before it. Without ``steps_per_epoch`` epoch ``e`` is pass ``e`` over the file; with it
the passes follow each other as one endless stream.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from nmt.training.checkpoint import ResumableCheckpoint
from nmt.training.state import STATE_FILE, StateError, write_json

#: The file that records a streamed input's position at each recent checkpoint (``{"positions": {step: [...]}}``).
INPUT_POSITION = "input_position.json"

#: Position of a batch in a stream: ``(pass, block, batch)`` (:func:`nmt.data.pipeline.stream_batches`).
Position = tuple[int, int, int]


@dataclasses.dataclass(frozen=True)
class ResumableInput:
    """Training input that starts wherever a run stopped (a streamed corpus).

    Attributes:
        batches: ``(start, endless)`` -> a dataset of ``(batch, position)`` where
            ``position`` is int64 ``[3]`` ``(pass, block, batch)``; ``start`` is the
            first batch to yield; ``endless`` follows its pass with the next ones
            (fixed ``steps_per_epoch``), else the dataset ends with the pass.
    """

    batches: Callable[[Position, bool], tf.data.Dataset]


class InputPositions(keras.callbacks.Callback):
    """Keeps the position of the last trained batch of a :class:`ResumableInput` and writes it before each checkpoint.

    Runs just before the :class:`ResumableCheckpoint` in the callback list and saves when
    it is about to: every ``checkpoint_every_steps`` and at every epoch end. The file
    keeps the positions of the last few checkpointed steps (the one ``state.json``
    names among them, whichever of the two files a kill interrupted).
    """

    KEEP = 8

    def __init__(self, run_dir: Path, checkpoint: ResumableCheckpoint):
        super().__init__()
        self.path, self.checkpoint = Path(run_dir) / INPUT_POSITION, checkpoint
        self.positions: dict[int, list[int]] = {}
        if self.path.is_file():
            try:
                self.positions = {int(step): [int(v) for v in value]
                                  for step, value in json.loads(self.path.read_text())["positions"].items()}
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise StateError(f"{self.path} is damaged ({type(error).__name__}: {error}); delete it, "
                                 f"{STATE_FILE} and checkpoints/ to train from the start") from None
        self.last: list[int] | None = None

    def resume_point(self, step: int) -> Position:
        """The first batch to train after ``step`` steps (``(0, 0, 0)`` at the start)."""
        if step == 0:
            return 0, 0, 0
        if step not in self.positions:
            raise StateError(f"{self.path} records no input position for step {step}, the step {STATE_FILE} "
                             f"resumes from (a run that did not stream, or files from another run?)")
        pass_index, block, batch = self.positions[step]
        return pass_index, block, batch + 1

    def trained(self, step: int, position: np.ndarray) -> None:
        self.step, self.last = step, [int(v) for v in position]

    def _write(self) -> None:
        if self.last is None:
            return
        self.positions[self.step] = self.last
        kept = dict(sorted(self.positions.items())[-self.KEEP:])
        self.positions = kept
        write_json(self.path, {"positions": {str(step): value for step, value in kept.items()}})

    def on_train_batch_end(self, batch, logs=None):
        checkpoint = self.checkpoint
        if checkpoint.every_steps is not None and checkpoint.step - checkpoint.state.step >= checkpoint.every_steps:
            self._write()

    def on_epoch_end(self, epoch, logs=None):
        self._write()
