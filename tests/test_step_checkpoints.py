"""train.checkpoint_every_steps: step checkpoints, and a resume mid-epoch that trains on exactly the same batches."""

from __future__ import annotations

import keras
import model_grid
import numpy as np
import pytest
import tensorflow as tf

from nmt.config.model import ModelConfig
from nmt.config.train import TrainConfig
from nmt.training.loop import RunState, train

TINY_MODEL = ModelConfig(cell="gru", attention="additive", **model_grid.TINY)
BATCHES = 6


def shuffled_batches() -> tf.data.Dataset:
    """Six different batches in a seeded order that changes every epoch (as the real pipeline's)."""
    (source, target_in), target_out = model_grid.tiny_batch()
    length = target_out.shape[1]

    def batch(index):
        keep = tf.range(length) < 2 + index % (length - 1)  # each batch cuts the targets elsewhere
        out = tf.where(keep, target_out, tf.zeros_like(target_out))
        return (tf.roll(source, index, axis=0), target_in), out

    indices = tf.data.Dataset.range(BATCHES).shuffle(BATCHES, seed=5, reshuffle_each_iteration=True)
    return indices.map(lambda i: batch(tf.cast(i, tf.int32)))


class Crash(keras.callbacks.Callback):
    """Raises after ``at`` training steps of this call (a process killed between two checkpoints)."""

    def __init__(self, at: int):
        super().__init__()
        self.at, self.steps = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps == self.at:
            raise RuntimeError("killed")


def run(run_dir, steps_per_epoch, callbacks=()):
    keras.utils.set_random_seed(3)
    model = model_grid.make_model(TINY_MODEL, seed=3)
    config = TrainConfig(epochs=3, steps_per_epoch=steps_per_epoch, checkpoint_every_steps=4, learning_rate=0.01,
                         schedule="constant", tensorboard=False, early_stopping_patience=None, keep_checkpoints=1)
    train(model, shuffled_batches(), None, config, run_dir, callbacks=callbacks, verbose=0)
    return model


@pytest.mark.parametrize("steps_per_epoch", [None, BATCHES], ids=["pass-per-epoch", "fixed-steps"])
def test_resume_from_a_step_checkpoint_equals_an_uninterrupted_run(tmp_path, steps_per_epoch):
    straight = run(tmp_path / "straight", steps_per_epoch)
    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path / "killed", steps_per_epoch, [Crash(at=11)])  # epoch 1, after the step-10 checkpoint
    state = RunState.read(tmp_path / "killed")
    assert (state.epoch, state.step, state.epoch_step, state.checkpoint) == (1, 10, 4, "step-00000010.weights.h5")
    assert sorted(p.name for p in (tmp_path / "killed" / "checkpoints").iterdir()) == [
        "epoch-0001.weights.h5", "step-00000010.weights.h5"]
    resumed = run(tmp_path / "killed", steps_per_epoch)
    final = RunState.read(tmp_path / "killed")
    assert (final.epoch, final.step, final.epoch_step) == (3, 18, 0)
    assert int(resumed.optimizer.iterations.numpy()) == int(straight.optimizer.iterations.numpy()) == 18
    for a, b in zip(resumed.weights + resumed.optimizer.variables, straight.weights + straight.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    history = (tmp_path / "killed" / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == ["0", "1", "2"]
    # The last step checkpoint is dropped once an epoch checkpoint follows it; keep_checkpoints=1.
    assert sorted(p.name for p in (tmp_path / "killed" / "checkpoints").iterdir()) == ["epoch-0003.weights.h5"]


def test_step_checkpoints_follow_the_setting(tmp_path):
    run(tmp_path, None, [])
    state = RunState.read(tmp_path)
    assert state.checkpoint == "epoch-0003.weights.h5" and state.step == 18 and state.replicas == 1
