"""Run directories: one configuration, its data, tokenizers, training, translator and results.

The one code path behind ``nmt train``/``translate``/``evaluate``/``export``/``info``
(:mod:`nmt.cli`) and ``make demo`` (:mod:`nmt.cli.demo`), one module per job:
:mod:`~nmt.runs.layout` (what a run directory holds, ``config.yaml``, status),
:mod:`~nmt.runs.data` (splits and tokenizers), :mod:`~nmt.runs.train` (open and
train), :mod:`~nmt.runs.load` (a translator from ``--model``),
:mod:`~nmt.runs.results` (evaluation reports) and :mod:`~nmt.runs.info`
(``nmt info``)::

    config = load_run_config("configs/multi30k_de_en.yaml", ["train.epochs=5"])
    run = open_run(config, "runs/de_en")      # checks the directory, seeds, data, tokenizers
    result = train_run(run)                   # trains (resuming), saves run_dir/translator
    translator = load_translator("runs/de_en")
"""

from nmt.runs.data import build_tokenizers, load_tokenizers, prepare_data
from nmt.runs.info import RunInfo, run_info
from nmt.runs.layout import (
    CONFIG_FILE,
    EVAL_DIR,
    EXPORT_DIR,
    SAVED_MODEL_FILE,
    SOURCE_TOKENIZER,
    TARGET_TOKENIZER,
    TRANSLATOR_DIR,
    Log,
    RunError,
    Status,
    finished_message,
    read_run_config,
    run_dir_of,
    run_status,
    stderr_log,
    training_complete,
    write_run_config,
)
from nmt.runs.load import load_translator
from nmt.runs.model import build_model
from nmt.runs.results import best_scores, evaluate_run, evaluation_paths, write_scores
from nmt.runs.train import Run, TrainResult, make_datasets, open_run, train_run

__all__ = [
    "CONFIG_FILE",
    "EVAL_DIR",
    "EXPORT_DIR",
    "Log",
    "Run",
    "RunError",
    "RunInfo",
    "SAVED_MODEL_FILE",
    "SOURCE_TOKENIZER",
    "Status",
    "TARGET_TOKENIZER",
    "TRANSLATOR_DIR",
    "TrainResult",
    "best_scores",
    "build_model",
    "build_tokenizers",
    "evaluate_run",
    "evaluation_paths",
    "finished_message",
    "load_tokenizers",
    "load_translator",
    "make_datasets",
    "open_run",
    "prepare_data",
    "read_run_config",
    "run_dir_of",
    "run_info",
    "run_status",
    "stderr_log",
    "train_run",
    "training_complete",
    "write_run_config",
    "write_scores",
]
