"""Plots: attention heatmaps with subword labels and training curves, written as PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from nmt.plotting import plot_attention, plot_training_curves, plot_translation  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_attention_heatmap_has_subword_labels_and_is_saved_as_png(tmp_path):
    source, target = ["▁Ein", "▁Hund", ".", "[END]"], ["▁A", "▁dog", ".", "[END]", "x"][:4]
    weights = np.eye(4, dtype=np.float32)
    figure = plot_attention(weights, source, target, path=tmp_path / "plots" / "attention.png", title="A dog.")
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == source
    assert [t.get_text() for t in axes.get_yticklabels()] == target
    assert axes.get_title() == "A dog."
    np.testing.assert_array_equal(axes.images[0].get_array(), weights)
    assert (tmp_path / "plots" / "attention.png").read_bytes()[:8] == PNG


def test_attention_shape_must_match_the_labels():
    with pytest.raises(ValueError, match="does not match 2 target and 3 source"):
        plot_attention(np.zeros((3, 2)), ["a", "b", "c"], ["x", "y"])
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_attention(np.zeros((0, 2)), ["a", "b"], [])


def test_plot_translation_draws_the_translators_attention(tiny_translator, tmp_path):
    translator = tiny_translator
    figure = plot_translation(translator, "ein hund", path=tmp_path / "t.png")
    translation = translator.translate("ein hund", return_attention=True)
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == list(translation.source_tokens)
    assert [t.get_text() for t in axes.get_yticklabels()] == list(translation.tokens)
    assert axes.get_title() == translation.text
    assert (tmp_path / "t.png").read_bytes()[:8] == PNG


def keras_log() -> pd.DataFrame:
    """What ``keras.callbacks.CSVLogger`` writes for a seq2seq run."""
    return pd.DataFrame({
        "epoch": [0, 1, 2],
        "accuracy": [0.3, 0.5, 0.6], "learning_rate": [1e-3] * 3, "loss": [4.0, 3.0, 2.5],
        "perplexity": [50.0, 20.0, 12.0], "val_accuracy": [0.35, 0.5, 0.55], "val_loss": [3.5, 2.9, 2.7],
        "val_perplexity": [33.0, 18.0, 15.0],
    })


def test_training_curves_draw_train_and_validation_per_metric(tmp_path):
    log = tmp_path / "history.csv"
    keras_log().to_csv(log, index=False)
    figure = plot_training_curves(log, path=tmp_path / "curves.png")
    assert [a.get_title() for a in figure.axes] == ["accuracy", "loss", "perplexity"]
    loss = figure.axes[1]
    assert [line.get_label() for line in loss.get_lines()] == ["train", "validation"]
    np.testing.assert_array_equal(loss.get_lines()[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(loss.get_lines()[1].get_ydata(), [3.5, 2.9, 2.7])
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG


def test_training_curves_for_chosen_metrics_and_errors():
    figure = plot_training_curves(keras_log(), metrics=["perplexity"])
    assert [a.get_title() for a in figure.axes] == ["perplexity"]
    with pytest.raises(ValueError, match="bleu"):
        plot_training_curves(keras_log(), metrics=["bleu"])
    with pytest.raises(ValueError, match="no rows"):
        plot_training_curves(pd.DataFrame())
