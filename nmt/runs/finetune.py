"""Fine-tuning: a new run that starts from another run's weights and tokenizers (``train.init_from``).

``nmt train --config new_domain.yaml --run-dir runs/adapted --init-from runs/base``
(or ``train.init_from: runs/base`` in the config) trains a new run on its own data,
starting from the source run:

* weights: the source run's best weights, those of its translator (``translator/model.keras``)
  when it is finished, else its ``best.keras`` (an unfinished run with at least one
  validated epoch); loaded into the new model before the first step;
* tokenizers: the source run's ``source_tokenizer/`` and ``target_tokenizer/`` are
  copied into the new run directory (byte for byte) instead of training new ones;
* the optimizer starts fresh (new Adam moments, step 0, the new run's learning-rate
  schedule and warmup), as do ``best.keras``, early stopping and ``history.csv``.

The new configuration must match the source run where the reused parts are defined:
the ``model`` section (the architecture of the weights), the ``tokenizer`` section (it
describes the tokenizers the run uses, which are the source run's: it is not ignored
but must equal the source run's, so the new ``config.yaml`` stays true) and the
language pair. Everything else (data, pipeline, train, decode) may differ.

Once the new run has a checkpoint of its own, the source is no longer read: resuming
or continuing it restores its own checkpoints (the source run may even be gone).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import keras
import numpy as np

from nmt.config.base import ConfigError
from nmt.config.run import RunConfig, config_differences
from nmt.data.datasets import languages
from nmt.fileutils import atomic_directory
from nmt.runs.layout import (
    SOURCE_TOKENIZER,
    TARGET_TOKENIZER,
    TRANSLATOR_DIR,
    Log,
    RunError,
    describe_differences,
    read_run_config,
)
from nmt.training.loop import BEST_MODEL, RunState
from nmt.translate.translator import MODEL_FILE, SETTINGS_FILE

#: Sections of the new configuration that must equal the source run's.
MATCHING_SECTIONS = ("model", "tokenizer")


def needs_source(run_dir: str | Path) -> bool:
    """Whether a run still starts from its ``init_from`` run: it has no checkpoint of its own yet."""
    state = RunState.read(run_dir)
    return state is None or state.checkpoint is None


def weights_file(source: str | Path) -> Path | None:
    """The source run's best weights: ``translator/model.keras`` of a finished run, else ``best.keras``; None if neither."""
    source = Path(source)
    translator = source / TRANSLATOR_DIR
    if (translator / SETTINGS_FILE).is_file() and (translator / MODEL_FILE).is_file():
        return translator / MODEL_FILE
    best = source / BEST_MODEL
    return best if best.is_file() else None


def check_source(config: RunConfig, run_dir: str | Path) -> Path:
    """The run directory ``config.train.init_from``, checked for fine-tuning a run in ``run_dir``.

    Returns:
        The source run directory.

    Raises:
        RunError: it is not a run directory, is ``run_dir`` itself, or has no
            tokenizers or trained weights yet.
        ConfigError: ``config``'s ``model`` or ``tokenizer`` section, or its language
            pair, differs from the source run's (the message names the keys).
    """
    source = Path(config.train.init_from)
    where = f"train.init_from={source}"
    if not source.is_dir():
        raise RunError(f"{where}: no such run directory")
    if source.resolve() == Path(run_dir).resolve():
        raise RunError(f"{where} is the run directory itself; fine-tune into another --run-dir")
    stored = read_run_config(source)
    if stored is None:
        raise RunError(f"{where} is not a run directory (no config.yaml)")
    missing = [name for name in (SOURCE_TOKENIZER, TARGET_TOKENIZER) if not (source / name / "tokenizer.json").is_file()]
    if missing:
        raise RunError(f"{where} has no tokenizers ({', '.join(f'{name}/' for name in missing)} missing); "
                       f"train the source run first")
    if weights_file(source) is None:
        raise RunError(f"{where} has no trained weights (neither {TRANSLATOR_DIR}/ nor {BEST_MODEL}); "
                       f"train the source run for at least one epoch first")
    for section in MATCHING_SECTIONS:
        keys = [key for key in config_differences(stored, config, ignore=()) if key.startswith(f"{section}.")]
        if keys:
            why = ("fine-tuning keeps the source run's architecture" if section == "model" else
                   "the source run's tokenizers are reused, not trained, so this section must describe them")
            differences = describe_differences(keys, stored, config, labels=("source run", "this run"))
            raise ConfigError(f"{where}: the {section} section must equal the source run's ({why}); "
                              f"it differs in {differences}")
    if languages(stored.data) != languages(config.data):
        raise ConfigError(f"{where}: the source run translates {'-'.join(languages(stored.data))}, "
                          f"this run's data is {'-'.join(languages(config.data))}; fine-tuning keeps the language pair")
    return source


def copy_tokenizers(source: str | Path, run_dir: str | Path, log: Log | None = None) -> None:
    """Copies the source run's tokenizer folders into ``run_dir`` (atomically), unless it has them already."""
    source, run_dir = Path(source), Path(run_dir)
    for name in (SOURCE_TOKENIZER, TARGET_TOKENIZER):
        if (run_dir / name / "tokenizer.json").is_file():
            continue
        with atomic_directory(run_dir / name, overwrite=True, what="tokenizer") as scratch:
            shutil.copytree(source / name, scratch, dirs_exist_ok=True)
    if log is not None:
        log(f"  tokenizers of {source} (train.init_from)")


def initial_weights(source: str | Path, log: Log | None = None) -> list[np.ndarray]:
    """The source run's best weights (see :func:`weights_file`), as ``model.get_weights()`` lists them."""
    path = weights_file(source)
    if path is None:
        raise RunError(f"train.init_from={source} has no trained weights (neither {TRANSLATOR_DIR}/ nor {BEST_MODEL})")
    model = keras.saving.load_model(path, compile=False)
    if log is not None:
        log(f"  initial weights: {path} (train.init_from; the optimizer starts fresh)")
    return model.get_weights()


def set_initial_weights(model: keras.Model, weights: list[np.ndarray], source: str | Path) -> None:
    """``model.set_weights(weights)``; a shape mismatch is a RunError naming the source."""
    try:
        model.set_weights(weights)
    except ValueError as error:
        raise RunError(f"the weights of train.init_from={source} do not fit this run's model "
                       f"({' '.join(str(error).split())})") from None
