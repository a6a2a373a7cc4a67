"""nmt.training.progress: the progress bar ends each epoch at the steps it ran."""

from __future__ import annotations

import re

import model_grid
from test_training import QUICK, TINY_MODEL, tiny_dataset

from nmt.config.train import TrainConfig
from nmt.training.loop import train

_ANSI = re.compile(r"\x1b\[[0-9;]*m|\r|\x08")


def _counts(output: str) -> list[str]:
    """The ``seen/target`` of each finalized bar (one per epoch) in a verbose=2 output."""
    return re.findall(r"^(\d+/\d+) ", _ANSI.sub("\n", output), flags=re.MULTILINE)


def test_an_epoch_cut_by_max_steps_ends_its_bar_at_the_steps_taken(tmp_path, capsys):
    # Per-pass epochs of 4 batches: the first pass learns the target, the second is cut after step 6.
    config = TrainConfig(epochs=3, max_steps=6, **QUICK)
    train(model_grid.make_model(TINY_MODEL), tiny_dataset(4), None, config, tmp_path, verbose=2)
    output = capsys.readouterr().out
    assert "Epoch 1/3" in output and "Epoch 2/3" in output and "Epoch 3/3" not in output
    assert _counts(output) == ["4/4", "2/4"]  # Keras's ProgbarLogger printed 4/4 for the cut epoch


def test_fixed_length_epochs_show_their_target_before_and_after_a_resume(tmp_path, capsys):
    config = TrainConfig(epochs=2, steps_per_epoch=3, max_steps=2, **QUICK)
    train(model_grid.make_model(TINY_MODEL), tiny_dataset(4), None, config, tmp_path, verbose=2)
    assert _counts(capsys.readouterr().out) == ["2/3"]
    resumed = TrainConfig(epochs=2, steps_per_epoch=3, **QUICK)
    train(model_grid.make_model(TINY_MODEL), tiny_dataset(4), None, resumed, tmp_path, verbose=2)
    assert _counts(capsys.readouterr().out) == ["3/3"]  # the cut epoch counts as done (as with max_minutes)
