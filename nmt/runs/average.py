"""Averaging a run's last checkpoints into its translator (``nmt average``, ``train.average_last``).

The averaged translator replaces ``run_dir/translator`` (or is written to another
directory), so ``nmt translate``, ``evaluate`` and ``export`` use it, and it records
what it averaged in ``average.json`` inside the translator directory, which ``nmt info``
shows::

    result = average_run("runs/de_en", last=5)          # runs/de_en/translator is now the average
    result.checkpoints                                   # ('epoch-0008.weights.h5', ..., 'epoch-0012.weights.h5')

Training the run further writes a new (best-checkpoint) translator, and the record goes
with the old one. The mean is the one of :mod:`nmt.training.averaging`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from nmt.fileutils import atomic_directory
from nmt.runs.data import load_tokenizers
from nmt.runs.layout import TRANSLATOR_DIR, Log, RunError, read_run_config
from nmt.runs.model import build_model
from nmt.training.averaging import average_checkpoints, ordered_checkpoints
from nmt.training.state import CHECKPOINT_DIR
from nmt.translate.translator import SETTINGS_FILE, Translator

#: What a translator directory made by averaging records (inside it).
AVERAGE_FILE = "average.json"


@dataclasses.dataclass(frozen=True)
class AverageResult:
    """What :func:`average_run` wrote.

    Attributes:
        translator_dir: the translator directory written.
        checkpoints: file names under ``checkpoints/`` that were averaged, oldest first.
        steps: the training step of each.
        translator: the averaged translator.
    """

    translator_dir: Path
    checkpoints: tuple[str, ...]
    steps: tuple[int, ...]
    translator: Translator


def average_run(run_dir: str | Path, last: int, out: str | Path | None = None,
                log: Log | None = None) -> AverageResult:
    """Averages the ``last`` newest checkpoints of ``run_dir`` into a translator.

    Args:
        run_dir: a run directory (``config.yaml``, tokenizers, ``checkpoints/``).
        last: how many checkpoints, the newest by training step
            (:func:`nmt.training.averaging.ordered_checkpoints`).
        out: the translator directory to write; default ``run_dir/translator``
            (replaced atomically).
        log: where a one-line summary goes.

    Raises:
        RunError: ``run_dir`` is no run directory; it has fewer than ``last``
            checkpoints (the message lists them and how to keep more); a checkpoint
            cannot be read or does not fit the run's model (named).
    """
    run_dir = Path(run_dir)
    if last < 1:
        raise RunError(f"--last {last}: average at least 1 checkpoint")
    config = read_run_config(run_dir)
    if config is None:
        raise RunError(f"{run_dir}: not a run directory (no config.yaml); nmt average needs the run's checkpoints")
    try:
        found = ordered_checkpoints(run_dir / CHECKPOINT_DIR, unique_steps=True)
    except ValueError as error:
        raise RunError(str(error)) from None
    if len(found) < last:
        names = ", ".join(path.name for _, path in found) or "none"
        raise RunError(f"{run_dir}: {len(found)} checkpoint(s) in {CHECKPOINT_DIR}/ ({names}), fewer than the "
                       f"{last} to average; set train.average_last: {last} (or train.keep_checkpoints: {last}) "
                       f"before training so that the run keeps them")
    chosen = found[-last:]
    source, target = load_tokenizers(run_dir)
    model = build_model(config, source.vocab_size, target.vocab_size)
    try:
        average_checkpoints(model, [path for _, path in chosen])
    except ValueError as error:
        raise RunError(str(error)) from None
    translator = Translator(model, source, target, config.decode)
    names = tuple(path.name for _, path in chosen)
    steps = tuple(step for step, _ in chosen)
    destination = Path(out) if out is not None else run_dir / TRANSLATOR_DIR
    record = {"average_of": list(names), "steps": list(steps), "run_dir": str(run_dir)}
    try:
        with atomic_directory(destination, overwrite=True, replaceable=lambda p: (p / SETTINGS_FILE).is_file(),
                              what="saved translator") as scratch:
            translator.save(scratch, overwrite=True)
            (scratch / AVERAGE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    except FileExistsError as error:
        raise RunError(str(error)) from None
    if log is not None:
        log(f"averaged {last} checkpoint(s) of {run_dir} (steps {', '.join(map(str, steps))}): {destination}")
    return AverageResult(destination, names, steps, translator)


def average_record(translator_dir: str | Path) -> dict | None:
    """What :func:`average_run` recorded in ``translator_dir`` (``None``: not an averaged translator)."""
    path = Path(translator_dir) / AVERAGE_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise RunError(f"{path}: damaged ({error})") from None
    return record if isinstance(record, dict) else None
