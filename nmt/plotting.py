"""Plots (the ``plot`` extra, matplotlib): attention heatmaps and training curves, saved as PNG.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot state, no GUI
backend), so they work in scripts, tests and threads alike::

    translation = translator.translate("Ein Hund rennt.", return_attention=True)
    plot_attention(translation.attention, translation.source_tokens, translation.tokens,
                   path="attention.png")
    plot_training_curves("runs/de_en/training_log.csv", path="curves.png")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

try:
    from matplotlib.figure import Figure
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError("nmt.plotting needs matplotlib: pip install 'nmt[plot]'") from error

#: Columns of a Keras ``CSVLogger`` file that are not metrics.
_NOT_METRICS = ("epoch", "learning_rate", "lr", "step")


def plot_attention(attention, source_tokens: Sequence[str], target_tokens: Sequence[str], *,
                   path: str | Path | None = None, title: str | None = None) -> Figure:
    """Heatmap of one sentence's attention: target tokens down, source tokens across.

    Args:
        attention: ``[len(target_tokens), len(source_tokens)]``, e.g.
            ``Translation.attention`` with ``Translation.tokens`` / ``.source_tokens``.
        source_tokens, target_tokens: subword labels for the axes.
        path: if given, the figure is saved there (PNG by suffix).
        title: figure title.

    Returns:
        The matplotlib ``Figure``.
    """
    attention = np.asarray(attention, dtype=np.float32)
    shape = (len(target_tokens), len(source_tokens))
    if attention.ndim != 2 or attention.shape != shape:
        raise ValueError(f"attention of shape {attention.shape} does not match {shape[0]} target and "
                         f"{shape[1]} source tokens")
    if 0 in shape:
        raise ValueError("nothing to plot: no target or no source token")
    figure = Figure(figsize=(max(4.0, 0.45 * shape[1] + 2), max(3.0, 0.4 * shape[0] + 1.5)))
    axes = figure.add_subplot()
    image = axes.imshow(attention, cmap="viridis", vmin=0.0, vmax=max(1e-9, float(attention.max())), aspect="auto")
    axes.set_xticks(range(shape[1]), labels=list(source_tokens), rotation=90)
    axes.set_yticks(range(shape[0]), labels=list(target_tokens))
    axes.set_xlabel("source")
    axes.set_ylabel("target")
    if title:
        axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    figure.tight_layout()
    if path is not None:
        _save(figure, path)
    return figure


def plot_translation(translator, text: str, *, path: str | Path | None = None, beam_size: int | None = None) -> Figure:
    """Translates ``text`` and plots the attention of the result (titled with the translation)."""
    translation = translator.translate(text, beam_size=beam_size, return_attention=True)
    return plot_attention(translation.attention, translation.source_tokens, translation.tokens,
                          path=path, title=translation.text)


def plot_training_curves(log, *, metrics: Sequence[str] | None = None, path: str | Path | None = None) -> Figure:
    """One panel per metric with its training and validation (``val_``) curves by epoch.

    Args:
        log: the CSV written by ``keras.callbacks.CSVLogger`` (a path) or its DataFrame.
        metrics: which metrics to draw (``["loss", "perplexity"]``); default: every
            column that is not ``epoch``/``learning_rate`` or a ``val_`` column.
        path: if given, the figure is saved there.
    """
    frame = pd.read_csv(log) if isinstance(log, (str, Path)) else pd.DataFrame(log)
    if frame.empty:
        raise ValueError("the training log has no rows")
    if metrics is None:
        metrics = [c for c in frame.columns if c not in _NOT_METRICS and not c.startswith("val_")]
        metrics += [c[4:] for c in frame.columns if c.startswith("val_") and c[4:] not in frame.columns]
    missing = [m for m in metrics if m not in frame.columns and f"val_{m}" not in frame.columns]
    if missing or not metrics:
        raise ValueError(f"metrics {missing or metrics} not in the log; columns: {', '.join(frame.columns)}")
    epochs = frame["epoch"] + 1 if "epoch" in frame.columns else pd.Series(range(1, len(frame) + 1))
    figure = Figure(figsize=(4.0 * len(metrics), 3.2))
    for i, metric in enumerate(metrics):
        axes = figure.add_subplot(1, len(metrics), i + 1)
        for column, label in ((metric, "train"), (f"val_{metric}", "validation")):
            if column in frame.columns:
                axes.plot(epochs, frame[column], marker="o", label=label)
        axes.set_title(metric)
        axes.set_xlabel("epoch")
        axes.legend()
        axes.grid(alpha=0.3)
    figure.tight_layout()
    if path is not None:
        _save(figure, path)
    return figure


def _save(figure: Figure, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
