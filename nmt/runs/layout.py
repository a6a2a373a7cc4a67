"""Run directories: one configuration, its data, tokenizers, training, translator and results.

The one code path behind ``nmt train``/``translate``/``evaluate``/``export``/``info``
(:mod:`nmt.cli`) and ``make demo`` (:mod:`nmt.cli.demo`)::

    config = load_run_config("configs/multi30k_de_en.yaml", ["train.epochs=5"])
    run = open_run(config, "runs/de_en")      # checks the directory, seeds, data, tokenizers
    result = train_run(run)                   # trains (resuming), saves run_dir/translator
    translator = load_translator("runs/de_en")

A run directory holds::

    RUN_DIR/
      config.yaml            the resolved RunConfig (nmt.config.run), written atomically
                             before anything else; every later `nmt train` compares against it
      source_tokenizer/      tokenizer.json + assets, trained on the training split once, or copied
      target_tokenizer/      from the train.init_from run (reused on every resume; written atomically)
      state.json             nmt.training.state: completed epochs and steps, best score, the checkpoint
                             to resume, the replicas (written by the chief only under multi_worker)
      checkpoints/           epoch-NNNN.weights.h5 and step-NNNNNNNN.weights.h5 (model + optimizer)
      best.keras             nmt.training.loop: the model with the best validation score so far
      history.csv            nmt.training.loop: one row per completed epoch (losses, perplexity, lr)
      train_config.json      nmt.training.loop: the TrainConfig of the last call
      input_position.json    nmt.training.loop: a streamed corpus's position at recent checkpoints
      tokenizer_sample.json  nmt.runs.data: the sample a streamed corpus's tokenizers trained on
      tensorboard/           nmt.training.loop: TensorBoard logs (train.tensorboard)
      translator/            Translator.save of best.keras with the decode settings, written
                             when training completes (its presence marks a finished run)
      eval/                  NAME.beamN.csv (or .parquet): per-sentence reports of `nmt evaluate`,
                             NAME.beamN.json: corpus BLEU/chrF/TER with sacreBLEU signatures
      export/                the SavedModel of `nmt export` (default location)
      attention.png, training_curves.png    plots of `make demo`

Resuming and continuing: a run directory whose ``config.yaml`` differs from the
requested configuration in anything but ``train.epochs``/``train.max_minutes`` (and
``train.distribute``/``train.checkpoint_every_steps``: ``RESUMABLE_KEYS``) is an
error naming the differing keys. An unfinished run (no ``translator/`` yet) resumes
from its last completed epoch. A finished run is never overwritten: asking for it
again is an error, unless ``train.epochs`` is raised above the completed epochs (or
``train.max_minutes`` above the time spent, when the budget ended it, or
``train.max_steps`` above the steps taken, when it ended it; a run that
early stopping ended stays finished), which continues training from the last
checkpoint and then replaces ``translator/``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from nmt.config.base import ConfigError, config_to_dict
from nmt.config.run import RESUMABLE_KEYS, RunConfig, config_differences, dump_yaml, flatten, load_run_config
from nmt.data.datasets import check_data_config
from nmt.fileutils import atomic_write
from nmt.training.loop import RunState
from nmt.translate.translator import SETTINGS_FILE

CONFIG_FILE = "config.yaml"


SOURCE_TOKENIZER = "source_tokenizer"


TARGET_TOKENIZER = "target_tokenizer"


TRANSLATOR_DIR = "translator"


EVAL_DIR = "eval"


EXPORT_DIR = "export"


#: The file that marks a SavedModel directory (``Translator.export``).
SAVED_MODEL_FILE = "saved_model.pb"


Log = Callable[[str], None]


Status = Literal["new", "resume", "continue", "finished"]


class RunError(ValueError):
    """A run directory or model path cannot be used as asked; the message says why and what to do."""


def stderr_log(message: str) -> None:
    print(message, file=sys.stderr)


# ----------------------------------------------------------------------------- config.yaml
def read_run_config(run_dir: str | Path) -> RunConfig | None:
    """The stored configuration of a run directory, or None when it has no ``config.yaml``.

    Read with :func:`nmt.config.run.load_run_config` ``stored=True`` (so runs written by
    earlier versions keep resuming); its data section is checked against the dataset registry.

    Raises:
        RunError: the file is not a valid run configuration (the message says why).
    """
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        config = load_run_config(path, stored=True)
        check_data_config(config.data)
        return config
    except ConfigError as error:
        raise RunError(f"{path} is not a valid run configuration for this version of nmt: {error}") from None


def write_run_config(run_dir: str | Path, config: RunConfig) -> Path:
    """Writes ``RUN_DIR/config.yaml`` atomically."""
    text = f"# nmt run configuration (resolved: every key, defaults included)\n{dump_yaml(config, stored=True)}"
    return atomic_write(Path(run_dir) / CONFIG_FILE, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


# ----------------------------------------------------------------------------- status
def run_status(run_dir: str | Path, config: RunConfig) -> Status:
    """What ``nmt train`` would do with ``config`` in ``run_dir``.

    Returns:
        ``"new"`` (no run yet), ``"resume"`` (an unfinished run with the same
        configuration), ``"continue"`` (a finished run whose ``train.epochs`` or
        ``train.max_minutes`` is raised) or ``"finished"`` (nothing left to do).

    Raises:
        RunError: the directory is something else, or holds a run with another
            configuration (the message names the differing keys).
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"run directory {run_dir} is a file")
    stored = read_run_config(run_dir)
    if stored is None:
        if run_dir.is_dir() and any(p for p in run_dir.iterdir() if not p.name.startswith(".")):
            raise RunError(f"{run_dir} exists and is not a run directory (no {CONFIG_FILE}); "
                           f"choose a new or empty --run-dir")
        return "new"
    state = RunState.read(run_dir)
    started = state is not None or (run_dir / SOURCE_TOKENIZER).exists() or (run_dir / TARGET_TOKENIZER).exists()
    if not started:
        return "new"  # only config.yaml: nothing was trained with it yet, so it may change
    differences = config_differences(stored, config)
    if differences:
        raise RunError(f"{run_dir} holds a run with another configuration ({describe_differences(differences, stored, config)}); "
                       f"use another --run-dir, or the stored values (only {', '.join(RESUMABLE_KEYS)} "
                       f"may change)")
    done = state.epoch if state else 0
    if done > config.train.epochs:
        raise RunError(f"{run_dir} has already trained {done} epochs; train.epochs={config.train.epochs} is fewer")
    if not (run_dir / TRANSLATOR_DIR / SETTINGS_FILE).is_file():
        return "resume"
    return "finished" if training_complete(state, config) else "continue"


def training_complete(state: RunState | None, config: RunConfig) -> bool:
    """Whether :func:`nmt.training.loop.train` has nothing left to do for ``config`` (epochs, early stop, budget)."""
    if state is None:
        return False
    budget = config.train.max_minutes
    out_of_time = state.out_of_time and budget is not None and state.seconds >= 60.0 * budget
    max_steps = config.train.max_steps is not None and state.step >= config.train.max_steps
    return state.stopped or out_of_time or max_steps or state.epoch >= config.train.epochs


def describe_differences(keys: Sequence[str], stored: RunConfig, requested: RunConfig, limit: int = 4,
                         labels: tuple[str, str] = ("stored", "requested")) -> str:
    """``key: stored X, requested Y; ...`` for the first ``limit`` differing keys, then their names."""
    old, new = flatten(config_to_dict(stored)), flatten(config_to_dict(requested))
    parts = [f"{key}: {labels[0]} {old.get(key)!r}, {labels[1]} {new.get(key)!r}" for key in keys[:limit]]
    if len(keys) > limit:
        parts.append(f"and {', '.join(keys[limit:])}")
    return "; ".join(parts)


def finished_message(run_dir: Path, state: RunState | None, max_steps: int | None = None) -> str:
    """Why a finished run is not trained again, in one line (``max_steps``: the run's ``train.max_steps``)."""
    epochs = state.epoch if state else 0
    if state is not None and max_steps is not None and state.step >= max_steps:
        return (f"{run_dir} already holds a finished run (train.max_steps={max_steps} reached); choose another "
                f"--run-dir, or raise train.max_steps to continue it")
    if state is not None and state.stopped:
        return (f"{run_dir} already holds a finished run (early stopping ended it after epoch {epochs}); "
                f"choose another --run-dir")
    if state is not None and state.out_of_time:
        return (f"{run_dir} already holds a finished run (its train.max_minutes budget ran out after "
                f"{state.seconds / 60:.1f} minutes, {epochs} epochs); choose another --run-dir, or raise "
                f"train.max_minutes to continue it")
    return (f"{run_dir} already holds a finished run ({epochs} epochs); choose another --run-dir, "
            f"or raise train.epochs (e.g. --set train.epochs={epochs + 5}) to continue it")


# ----------------------------------------------------------------------------- loading models
def run_dir_of(path: str | Path) -> Path | None:
    """The run directory a model path belongs to (itself, or the parent of its translator/export), or None."""
    path = Path(path)
    for candidate in (path, path.parent):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return None
