"""nmt.training.loop: atomic checkpoints, resume (also after SIGKILL), distribution, determinism."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import model_grid
import numpy as np
import pytest
import tensorflow as tf

from nmt.config.base import ConfigError, config_from_dict
from nmt.config.model import ModelConfig
from nmt.config.train import TrainConfig
from nmt.training.loop import ResumableCheckpoint, RunState, atomic_write, train

TINY_MODEL = ModelConfig(cell="gru", attention="bilinear", **model_grid.TINY)
QUICK = dict(learning_rate=0.01, schedule="constant", tensorboard=False, early_stopping_patience=None)


def tiny_dataset(repeat: int = 4) -> tf.data.Dataset:
    (source, target_in), target_out = model_grid.tiny_batch()
    return tf.data.Dataset.from_tensors(((source, target_in), target_out)).repeat(repeat)


# ----------------------------------------------------------------------------- atomic files
def test_atomic_write_replaces_or_leaves_the_old_file(tmp_path):
    path = tmp_path / "data.json"
    atomic_write(path, lambda tmp: open(tmp, "w").write("old"))

    def crash(tmp):
        with open(tmp, "w") as handle:
            handle.write("half of the new cont")
        raise KeyboardInterrupt  # killed in the middle of writing

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["data.json"]  # no temporary left behind
    atomic_write(path, lambda tmp: open(tmp, "w").write("new"))
    assert path.read_text() == "new"


def test_atomic_write_keeps_keras_suffixes(tmp_path):
    model = model_grid.make_model(TINY_MODEL)
    atomic_write(tmp_path / "m.weights.h5", model.save_weights)
    atomic_write(tmp_path / "m.keras", model.save)
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "m.weights.h5"]


# ----------------------------------------------------------------------------- resume in-process
def test_train_writes_the_run_and_resumes_without_redoing_epochs(tmp_path):
    model = model_grid.make_model(TINY_MODEL)
    history = train(model, tiny_dataset(), tiny_dataset(1), TrainConfig(epochs=2, **QUICK), tmp_path, verbose=0)
    assert history.epoch == [0, 1]
    assert {"loss", "accuracy", "perplexity", "val_loss", "val_accuracy", "val_perplexity"} <= set(history.history)
    state = RunState.read(tmp_path)
    assert (state.epoch, state.step, state.checkpoint) == (2, 8, "epoch-0002.weights.h5")
    assert (tmp_path / "best.keras").exists() and (tmp_path / "train_config.json").exists()
    weights = [np.asarray(w) for w in model.weights]

    fresh = model_grid.make_model(TINY_MODEL, seed=5)  # other initial weights: all must come from the checkpoint
    history = train(fresh, tiny_dataset(), tiny_dataset(1), TrainConfig(epochs=2, **QUICK), tmp_path, verbose=0)
    assert history.epoch == []  # already finished
    for a, b in zip(weights, fresh.weights):
        np.testing.assert_array_equal(a, np.asarray(b))
    assert int(fresh.optimizer.iterations) == 8

    history = train(fresh, tiny_dataset(), tiny_dataset(1), TrainConfig(epochs=3, **QUICK), tmp_path, verbose=0)
    assert history.epoch == [2]
    rows = (tmp_path / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1", "2"]
    assert RunState.read(tmp_path).step == 12
    best = keras.saving.load_model(tmp_path / "best.keras")
    assert best.config == TINY_MODEL


def test_leftovers_of_a_killed_write_are_ignored(tmp_path):
    model = model_grid.make_model(TINY_MODEL)
    train(model, tiny_dataset(), None, TrainConfig(epochs=1, **QUICK), tmp_path, verbose=0)
    (tmp_path / "checkpoints" / "tmp-999-epoch-0002.weights.h5").write_bytes(b"\x89HDF half written")
    with open(tmp_path / "history.csv", "a") as handle:  # a row written just before the kill
        handle.write("1,0.5,2.0,7.0\n")
    history = train(model, tiny_dataset(), None, TrainConfig(epochs=2, **QUICK), tmp_path, verbose=0)
    assert history.epoch == [1]
    assert not list((tmp_path / "checkpoints").glob("tmp-*"))
    rows = (tmp_path / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1"]


def test_early_stopping_counters_survive_a_restart(tmp_path):
    model = model_grid.make_model(TINY_MODEL)
    model.compile(keras.optimizers.Adam())
    (tmp_path / "checkpoints").mkdir()
    callback = ResumableCheckpoint(tmp_path, RunState(), "val_loss", patience=2, keep=1)
    callback.set_model(model)
    callback.on_epoch_end(0, {"val_loss": 1.0})
    callback.on_epoch_end(1, {"val_loss": 1.5})
    assert RunState.read(tmp_path).wait == 1 and not model.stop_training
    resumed = ResumableCheckpoint(tmp_path, RunState.read(tmp_path), "val_loss", patience=2, keep=1)
    resumed.set_model(model)
    resumed.on_epoch_end(2, {"val_loss": 1.2})
    state = RunState.read(tmp_path)
    assert model.stop_training and state.stopped and (state.best, state.best_epoch) == (1.0, 1)
    assert os.listdir(tmp_path / "checkpoints") == ["epoch-0003.weights.h5"]  # keep=1
    accuracy = ResumableCheckpoint(tmp_path, RunState(), "val_accuracy", patience=None, keep=1)
    assert accuracy._improved(0.1) and accuracy.higher_is_better


class SlowBatches(keras.callbacks.Callback):
    """Makes every training batch take at least ``seconds`` of wall time."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds)


@pytest.mark.slow
def test_time_budget_stops_mid_epoch_checkpoints_and_survives_a_resume(tmp_path):
    model = model_grid.make_model(TINY_MODEL)
    budget = TrainConfig(epochs=5, max_minutes=0.4 / 60, **QUICK)  # 0.4 s; each batch sleeps 0.15 s
    history = train(model, tiny_dataset(), tiny_dataset(1), budget, tmp_path, callbacks=[SlowBatches(0.15)],
                    verbose=0)
    state = RunState.read(tmp_path)
    assert history.epoch == [0] and state.out_of_time and not state.stopped
    assert 0 < state.step < 4  # stopped inside the first epoch of 4 batches
    assert state.seconds >= 0.4 and state.checkpoint == "epoch-0001.weights.h5"
    assert "val_loss" in history.history  # the cut-short epoch was validated
    again = train(model, tiny_dataset(), tiny_dataset(1), budget, tmp_path, verbose=0)
    assert again.epoch == []  # the budget is spent: finished
    more = dataclasses.replace(budget, max_minutes=60.0)
    history = train(model, tiny_dataset(), tiny_dataset(1), more, tmp_path, verbose=0)
    assert history.epoch == [1, 2, 3, 4]  # a raised budget continues the run
    state = RunState.read(tmp_path)
    assert not state.out_of_time and state.epoch == 5 and state.seconds > 0.4


@pytest.mark.slow
def test_tensorboard_logs_are_written(tmp_path):
    model = model_grid.make_model(TINY_MODEL)
    config = TrainConfig(epochs=1, **{**QUICK, "tensorboard": True})
    train(model, tiny_dataset(), tiny_dataset(1), config, tmp_path, verbose=0)
    events = list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
    assert {path.parent.name for path in events} == {"train", "validation"}


@pytest.mark.parametrize(
    "values, message",
    [
        ({"schedule": "cosine"}, "schedule"),
        ({"epochs": 0}, "epochs"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"clip_norm": 0}, "clip_norm"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"decay_rate": 1.5}, "decay_rate"),
        ({"monitor": "bleu"}, "monitor"),
        ({"early_stopping_patience": 0}, "early_stopping_patience"),
        ({"max_minutes": 0}, "max_minutes"),
        ({"max_minutes": True}, "max_minutes"),
        ({"lr": 0.1}, "valid keys"),
    ],
)
def test_train_config_validation(values, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(TrainConfig, values, where="train")


# ----------------------------------------------------------------------------- subprocesses
def run_python(script: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.path.dirname(__file__))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True,
                          text=True, timeout=timeout, env=environment)


TRAIN_SCRIPT = """
    import sys, time, numpy as np, keras, tensorflow as tf
    import model_grid
    from nmt.config.model import ModelConfig
    from nmt.config.train import TrainConfig
    from nmt.training.loop import train
    run_dir, epochs, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    keras.utils.set_random_seed(7)
    model = model_grid.make_model(ModelConfig(cell="lstm", attention="additive", input_feeding=True,
                                              **model_grid.TINY), seed=7)
    (source, target_in), target_out = model_grid.tiny_batch()
    data = tf.data.Dataset.from_tensors(((source, target_in), target_out)).repeat(4)

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(delay)
        def on_epoch_begin(self, epoch, logs=None):
            with open(run_dir + "/epochs_started.txt", "a") as handle:
                handle.write(f"{epoch}\\n")

    config = TrainConfig(epochs=epochs, learning_rate=0.01, schedule="warmup_inverse_sqrt", warmup_steps=3,
                         tensorboard=False, early_stopping_patience=None, deterministic=True)
    train(model, data, data, config, run_dir, callbacks=[Slow()], verbose=0)
    np.savez(run_dir + "/final.npz", *[np.asarray(w) for w in model.weights],
             *[np.asarray(v) for v in model.optimizer.variables])
"""


@pytest.mark.slow
def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path):
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    killed.mkdir()
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.path.dirname(__file__))
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(TRAIN_SCRIPT), str(killed), "6", "0.3"],
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        state = killed / "state.json"
        if state.exists() and json.loads(state.read_text())["epoch"] >= 2:
            break
        time.sleep(0.1)
    assert process.poll() is None, process.stderr.read().decode()[-3000:]
    time.sleep(np.random.default_rng().uniform(0.0, 1.2))  # anywhere in the next epoch, maybe mid-write
    process.send_signal(signal.SIGKILL)
    process.wait()
    completed = RunState.read(killed).epoch
    assert 2 <= completed < 6

    resumed = run_python(TRAIN_SCRIPT, str(killed), "6", "0")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    started = [int(e) for e in (killed / "epochs_started.txt").read_text().split()]
    second_run = started[started.index(completed, 1 if completed == 0 else 0):]
    assert second_run[-(6 - completed):] == list(range(completed, 6)), started  # finished epochs not redone
    rows = (killed / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == [str(e) for e in range(6)]

    straight.mkdir()
    uninterrupted = run_python(TRAIN_SCRIPT, str(straight), "6", "0")
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    a, b = np.load(killed / "final.npz"), np.load(straight / "final.npz")
    assert len(a.files) == len(b.files) > 20
    for name in a.files:  # weights and optimizer state (moments, step counter)
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


MIRRORED_SCRIPT = """
    import json, sys, numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import model_grid
    from nmt.config.model import ModelConfig
    from nmt.models.seq2seq import Seq2Seq

    # Global batch of 4 split 2 + 2: the first replica holds 12 target tokens, the second 2.
    source = np.array([[5, 6, 7, 8, 9, 3], [4, 5, 6, 7, 8, 3], [9, 3, 0, 0, 0, 0], [10, 3, 0, 0, 0, 0]], "int32")
    target_in = np.array([[2, 5, 6, 7, 8, 9], [2, 4, 5, 6, 7, 8], [2, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0]], "int32")
    target_out = np.array([[5, 6, 7, 8, 9, 3], [4, 5, 6, 7, 8, 3], [3, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0]], "int32")
    data = tf.data.Dataset.from_tensors(((source, target_in), target_out)).repeat(2)
    config = ModelConfig(cell="gru", bidirectional=True, attention="bilinear", dropout=0.0, **model_grid.TINY)

    def run(strategy, initial, clip_norm=0.05):
        # SGD: the update is linear in the gradient. (Adam's first steps are ~lr * sign(g), which
        # turns 1e-9 float differences in near-zero gradients into visible weight differences.)
        with strategy.scope():
            model = Seq2Seq(config, model_grid.SOURCE_VOCAB, model_grid.TARGET_VOCAB)
            if initial is not None:
                model.set_weights(initial)
            model.compile(keras.optimizers.SGD(0.5), label_smoothing=0.1, clip_norm=clip_norm)
        start = [np.asarray(w) for w in model.get_weights()]
        history = model.fit(data, epochs=1, verbose=0)
        return start, model.get_weights(), history.history

    keras.utils.set_random_seed(0)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    initial, default_weights, default_logs = run(tf.distribute.get_strategy(), None)
    _, mirrored_weights, mirrored_logs = run(mirrored, initial)
    _, unclipped_weights, _ = run(tf.distribute.get_strategy(), initial, clip_norm=None)
    clipping = max(float(np.abs(a - b).max()) for a, b in zip(default_weights, unclipped_weights))
    difference = max(float(np.abs(a - b).max()) for a, b in zip(default_weights, mirrored_weights))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(initial, default_weights))

    # The same through nmt's own loop (train.distribute: mirrored), validation included.
    import tempfile
    from nmt.config.train import TrainConfig
    from nmt.training.loop import train

    def loop(strategy):
        with strategy.scope():
            model = Seq2Seq(config, model_grid.SOURCE_VOCAB, model_grid.TARGET_VOCAB)
            model.set_weights(initial)
        settings = TrainConfig(epochs=1, learning_rate=0.01, schedule="constant", clip_norm=0.05,
                               tensorboard=False, early_stopping_patience=None)
        return train(model, data, data, settings, tempfile.mkdtemp(), verbose=0, strategy=strategy).history

    loops = {"loop_default": loop(tf.distribute.get_strategy()), "loop_mirrored": loop(mirrored)}
    print(json.dumps({"difference": difference, "moved": moved, "clipping": clipping, "default": default_logs,
                      "mirrored": mirrored_logs, **loops}))
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpus_matches_the_default_strategy():
    result = run_python(MIRRORED_SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["moved"] > 1e-3  # two SGD steps changed the weights
    assert report["clipping"] > 1e-3  # and clipping was active (per-replica clipping would differ)
    assert report["difference"] < 1e-6, report
    for name in ("loss", "accuracy", "perplexity"):
        assert report["mirrored"][name] == pytest.approx(report["default"][name], rel=1e-5), name
    for name in ("loss", "accuracy", "perplexity", "val_loss", "val_accuracy"):  # nmt's loop: mirrored == default
        assert report["loop_mirrored"][name] == pytest.approx(report["loop_default"][name], rel=1e-5), name


DETERMINISM_SCRIPT = """
    import numpy as np, keras, tensorflow as tf, sys, tempfile
    import model_grid
    from nmt.config.model import ModelConfig
    from nmt.config.train import TrainConfig
    from nmt.training.loop import set_seed, train

    def run():
        config = TrainConfig(epochs=2, seed=11, deterministic=True, tensorboard=False, learning_rate=0.01)
        set_seed(config)
        model = model_grid.make_model(ModelConfig(cell="lstm", bidirectional=True, attention="additive",
                                                  dropout=0.3, recurrent_dropout=0.2, input_feeding=True,
                                                  **model_grid.TINY), seed=11)
        (source, target_in), target_out = model_grid.tiny_batch()
        data = tf.data.Dataset.from_tensors(((source, target_in), target_out)).repeat(6).shuffle(6, seed=1)
        train(model, data, None, config, tempfile.mkdtemp(), verbose=0)
        return [np.asarray(w) for w in model.weights]

    first, second = run(), run()
    assert all(np.array_equal(a, b) for a, b in zip(first, second)), "runs differ"
    print("identical", len(first))
"""


@pytest.mark.slow
def test_seed_and_op_determinism_give_identical_weights():
    result = run_python(DETERMINISM_SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "identical" in result.stdout


def test_validation_traces_at_most_twice_for_bucketed_batches_of_many_shapes(tmp_path):
    from nmt.training.loop import _Loop

    model = model_grid.make_model(TINY_MODEL)
    config = TrainConfig(epochs=1, **QUICK)
    model.compile(optimizer=keras.optimizers.Adam(0.01), label_smoothing=0.0, clip_norm=None, jit_compile=False)
    run = _Loop(model, tf.distribute.get_strategy(), config, RunState(), tmp_path, None, None)._test_function()
    (source, target_in), target_out = model_grid.tiny_batch()
    for length in (7, 6, 5, 4, 3):  # one shape per validation bucket
        run(((source[:, :length], target_in[:, :length - 1]), target_out[:, :length - 1]))
    assert run.experimental_get_tracing_count() <= 2  # was one trace per shape (5)
