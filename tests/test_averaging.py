"""Checkpoint averaging (nmt.training.averaging): the mean, the step order of checkpoints, loading into a model."""

from __future__ import annotations

import shutil

import keras
import model_grid
import numpy as np
import pytest

from nmt.config.model import ModelConfig
from nmt.training.averaging import average_checkpoints, average_weights, checkpoint_step, ordered_checkpoints

TINY_MODEL = ModelConfig(cell="gru", attention="additive", **model_grid.TINY)


# ----------------------------------------------------------------------------- the mean
def test_the_average_of_identical_weights_is_those_weights_bit_for_bit():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(7, 5)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)]
    averaged = average_weights([weights, [w.copy() for w in weights], [w.copy() for w in weights]])
    for a, b in zip(averaged, weights):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_the_average_is_the_float64_mean_rounded_once_to_float32():
    values = [np.float32(1.0), np.float32(2.0), np.float32(4.0)]
    averaged = average_weights([[np.full((2, 2), v, np.float32)] for v in values])[0]
    assert averaged.dtype == np.float32
    assert np.all(averaged == np.float32(7.0 / 3.0))
    # Summing in float32 would not be exact here: 2^24 + 1 is not a float32, the mean of these two is.
    big = [np.array([2.0 ** 24], np.float32), np.array([2.0 ** 24 + 2], np.float32)]
    assert average_weights([[big[0]], [big[1]]])[0][0] == np.float32(2.0 ** 24 + 1)


def test_integer_variables_come_from_the_last_checkpoint():
    sets = [[np.ones(2, np.float32), np.array([i], np.int64)] for i in (3, 5, 9)]
    floats, counter = average_weights(sets)
    assert np.array_equal(counter, [9]) and np.array_equal(floats, [1.0, 1.0])


@pytest.mark.parametrize("other, message", [
    ([np.zeros((2, 3), np.float32)], "1 weights"),
    ([np.zeros((3, 2), np.float32), np.zeros(3, np.float32)], r"float32\[3, 2\]"),
    ([np.zeros((2, 3), np.float64), np.zeros(3, np.float32)], "float64"),
])
def test_weights_of_another_architecture_are_refused(other, message):
    with pytest.raises(ValueError, match=message):
        average_weights([[np.zeros((2, 3), np.float32), np.zeros(3, np.float32)], other])
    with pytest.raises(ValueError, match="no weights"):
        average_weights([])


# ----------------------------------------------------------------------------- checkpoints of a model
@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Three training checkpoints of one tiny model with known weights, named out of their step order."""
    directory = tmp_path_factory.mktemp("checkpoints")
    keras.utils.set_random_seed(1)
    model = model_grid.make_model(TINY_MODEL, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(1)
    known = []
    for name, step in (("epoch-0001.weights.h5", 10), ("step-00000015.weights.h5", 15), ("epoch-0002.weights.h5", 20)):
        weights = [rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()]
        model.set_weights(weights)
        model.optimizer.iterations.assign(step)
        model.save_weights(directory / name)
        known.append(weights)
    (directory / "notes.txt").write_text("not a checkpoint")
    return directory, known


def test_checkpoints_are_ordered_by_the_step_saved_in_them_not_by_name(checkpoints):
    directory, _ = checkpoints
    order = ordered_checkpoints(directory)
    assert [(step, path.name) for step, path in order] == [
        (10, "epoch-0001.weights.h5"), (15, "step-00000015.weights.h5"), (20, "epoch-0002.weights.h5")]
    assert checkpoint_step(directory / "step-00000015.weights.h5") == 15
    assert ordered_checkpoints(directory / "missing") == []


def test_a_file_that_is_no_training_checkpoint_is_named(tmp_path):
    bad = tmp_path / "epoch-0001.weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="epoch-0001.weights.h5: not a readable weights file"):
        ordered_checkpoints(tmp_path)
    model = model_grid.make_model(TINY_MODEL, seed=1)
    model.save_weights(tmp_path / "plain.weights.h5")  # no optimizer: no step counter
    with pytest.raises(ValueError, match="no optimizer step counter"):
        checkpoint_step(tmp_path / "plain.weights.h5")


def test_a_model_loaded_with_the_average_holds_the_mean_of_the_known_weights(checkpoints):
    directory, known = checkpoints
    model = model_grid.make_model(TINY_MODEL, seed=7)  # other initial weights, no optimizer
    paths = [path for _, path in ordered_checkpoints(directory)]
    average_checkpoints(model, paths[1:])
    for got, first, second in zip(model.get_weights(), known[1], known[2]):
        expected = ((first.astype(np.float64) + second) / 2).astype(np.float32)
        assert np.array_equal(got, expected)


def test_averaging_one_checkpoint_gives_that_checkpoint(checkpoints, tmp_path):
    directory, known = checkpoints
    copy = tmp_path / "epoch-0003.weights.h5"
    shutil.copy(directory / "epoch-0001.weights.h5", copy)
    model = model_grid.make_model(TINY_MODEL, seed=7)
    average_checkpoints(model, [directory / "epoch-0001.weights.h5", copy])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), known[0]))


def test_a_checkpoint_of_another_architecture_is_named(checkpoints):
    directory, _ = checkpoints
    wider = model_grid.make_model(ModelConfig(cell="gru", attention="additive", units=12, embedding_dim=8), seed=1)
    with pytest.raises(ValueError, match="epoch-0001.weights.h5: cannot load it"):
        average_checkpoints(wider, [directory / "epoch-0001.weights.h5"])
