"""A translator from a run directory, a saved translator or an export (``--model``)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras

from nmt.export.loader import ExportedTranslator, ExportError
from nmt.runs.layout import (
    CONFIG_FILE,
    SAVED_MODEL_FILE,
    SOURCE_TOKENIZER,
    TARGET_TOKENIZER,
    TRANSLATOR_DIR,
    Log,
    RunError,
    read_run_config,
    stderr_log,
)
from nmt.training.loop import BEST_MODEL, RunState
from nmt.translate.translator import SETTINGS_FILE, Translator, check_keras_archive, load_tokenizer


def load_translator(path: str | Path, log: Log | None = stderr_log) -> Translator | ExportedTranslator:
    """The translator at ``path``: a run directory, a saved translator (directory or ``.keras``) or an export.

    A run directory gives its ``translator/``; an unfinished run (no
    ``translator/`` yet) gives its best checkpoint so far, with a note to ``log``.
    A directory with ``saved_model.pb`` is loaded with ``nmt.export.writer.load_exported``.

    Raises:
        RunError: ``path`` is missing or none of these, or a file in it cannot be loaded
            (damaged, truncated, foreign, or refused by Keras's safe mode): the message
            names the path and the error in one line.
    """
    path = Path(path)
    try:
        return _load(path, log)
    except (RunError, ExportError):
        raise
    except (OSError, ValueError, TypeError, KeyError, AttributeError, zipfile.BadZipFile) as error:
        message = " ".join(str(error).split())[:300] or "no details"
        raise RunError(f"--model {path}: cannot load it ({type(error).__name__}: {message})") from None


def _load(path: Path, log: Log | None) -> Translator | ExportedTranslator:
    if not path.exists():
        raise RunError(f"--model {path}: no such file or directory")
    if (path / SAVED_MODEL_FILE).is_file():
        return ExportedTranslator(path)
    if path.is_file():
        if path.suffix != ".keras":
            raise RunError(f"--model {path}: expected a run directory, a translator directory, "
                           f"an export directory or a .keras translator file")
        return Translator.load(path)
    if (path / SETTINGS_FILE).is_file():
        return Translator.load(path)
    if (path / TRANSLATOR_DIR / SETTINGS_FILE).is_file():
        return Translator.load(path / TRANSLATOR_DIR)
    config = read_run_config(path)
    if config is not None:
        state = RunState.read(path, check_checkpoint=False)  # translating needs best.keras only
        if not (path / BEST_MODEL).is_file() or state is None:
            raise RunError(f"--model {path}: the run has not completed an epoch yet; train it with "
                           f"nmt train --run-dir {path}")
        if log is not None:
            log(f"note: {path} is unfinished; using its best checkpoint so far (epoch {state.best_epoch} "
                f"of {state.epoch} completed)")
        source, target = load_tokenizer(path / SOURCE_TOKENIZER), load_tokenizer(path / TARGET_TOKENIZER)
        check_keras_archive(path / BEST_MODEL)
        model = keras.saving.load_model(path / BEST_MODEL, compile=False)
        return Translator(model, source, target, config.decode)
    raise RunError(f"--model {path}: not a run directory, a saved translator or an export "
                   f"(no {CONFIG_FILE}, {SETTINGS_FILE} or {SAVED_MODEL_FILE})")
