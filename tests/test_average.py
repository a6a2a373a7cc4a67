"""nmt average (nmt.runs.average): a run's last checkpoints averaged into the translator that translate, evaluate,
export and info use."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fakes import assert_user_error, run_cli

from nmt.runs import build_model, load_tokenizers, load_translator, read_run_config
from nmt.runs.average import AVERAGE_FILE, average_run
from nmt.training.averaging import ordered_checkpoints

EPOCHS = 3


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A smoke run of three epochs that keeps its three epoch checkpoints."""
    from nmt.cli import main

    run_dir = tmp_path_factory.mktemp("average") / "run"
    code = main(["train", "--config", "smoke", "--run-dir", str(run_dir), "-q",
                 "--set", f"train.epochs={EPOCHS}", "--set", f"train.keep_checkpoints={EPOCHS}",
                 "--set", "data.max_train_pairs=96"])
    assert code == 0
    return run_dir


def weights_of(path):
    return load_translator(path, log=None).model.get_weights()


def test_nmt_average_replaces_the_translator_and_info_says_so(run_dir, tmp_path, capsys):
    best = weights_of(run_dir)
    code, out, err = run_cli(capsys, "average", "--model", run_dir, "--last", EPOCHS)
    assert code == 0, err
    assert "epoch-0001.weights.h5 (step" in out and "epoch-0003.weights.h5" in out
    record = json.loads((run_dir / "translator" / AVERAGE_FILE).read_text())
    assert record["average_of"] == [f"epoch-000{i}.weights.h5" for i in (1, 2, 3)]
    averaged = weights_of(run_dir)
    assert not all(np.array_equal(a, b) for a, b in zip(averaged, best))
    code, out, _ = run_cli(capsys, "info", run_dir)
    assert code == 0 and "translator: the average of 3 checkpoints" in out
    # What translate uses is the average: the same weights as averaging again into another directory.
    again = average_run(run_dir, EPOCHS, out=tmp_path / "again")
    assert all(np.array_equal(a, b) for a, b in zip(again.translator.model.get_weights(), averaged))


def test_the_average_of_the_last_checkpoint_alone_is_that_checkpoint(run_dir, tmp_path, capsys):
    code, _, err = run_cli(capsys, "average", "--model", run_dir, "--last", 1, "--out", tmp_path / "last")
    assert code == 0, err
    _, newest = ordered_checkpoints(run_dir / "checkpoints")[-1]
    assert newest.name == f"epoch-000{EPOCHS}.weights.h5"
    config, (source, target) = read_run_config(run_dir), load_tokenizers(run_dir)
    model = build_model(config, source.vocab_size, target.vocab_size)
    model.load_weights(newest)
    assert all(np.array_equal(a, b) for a, b in zip(weights_of(tmp_path / "last"), model.get_weights()))


@pytest.mark.parametrize("argv, fragments", [
    (["--last", "4"], ["3 checkpoint(s) in checkpoints/", "fewer than the 4", "train.average_last: 4"]),
    (["--last", "0"], ["--last"]),
])
def test_asking_for_more_checkpoints_than_the_run_kept_is_one_error(run_dir, capsys, argv, fragments):
    code, _, err = run_cli(capsys, "average", "--model", run_dir, *argv)
    assert_user_error(code, err, *fragments)


def test_a_directory_that_is_no_run_is_one_error(tmp_path, capsys):
    code, _, err = run_cli(capsys, "average", "--model", tmp_path, "--last", "2")
    assert_user_error(code, err, str(tmp_path), "not a run directory")


def test_train_average_last_averages_the_last_checkpoints_of_both_kinds(tmp_path, capsys):
    from nmt.cli import main

    run = tmp_path / "run"
    code = main(["train", "--config", "smoke", "--run-dir", str(run), "-q", "--set", "train.epochs=2",
                 "--set", "train.average_last=3", "--set", "train.checkpoint_every_steps=1",
                 "--set", "train.keep_checkpoints=1", "--set", "data.max_train_pairs=96"])
    assert code == 0
    names = sorted(path.name for path in (run / "checkpoints").iterdir())
    epochs, steps = [n for n in names if n.startswith("epoch-")], [n for n in names if n.startswith("step-")]
    assert epochs == ["epoch-0001.weights.h5", "epoch-0002.weights.h5"]  # keep_checkpoints=1 is raised to 3
    assert len(steps) == 3  # the newest three step checkpoints, not only the newest
    last = int(steps[-1].removeprefix("step-").removesuffix(".weights.h5"))
    record = json.loads((run / "translator" / AVERAGE_FILE).read_text())
    # The last step checkpoint holds the weights of epoch-0002 (same step): counted once, as the epoch one.
    assert record["average_of"] == [steps[0], steps[1], "epoch-0002.weights.h5"]
    assert record["steps"] == [last - 2, last - 1, last]
    again = average_run(run, 3, out=tmp_path / "again")
    assert all(np.array_equal(a, b) for a, b in zip(weights_of(run), again.translator.model.get_weights()))
    code, out, _ = run_cli(capsys, "info", run)
    assert code == 0 and "translator: the average of 3 checkpoints" in out
