"""Opening a run directory and training in it (``nmt train``)."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import tensorflow as tf

from nmt.config.run import RunConfig
from nmt.data import ParallelCorpus
from nmt.data.datasets import check_data_config
from nmt.data.pipeline import make_dataset
from nmt.models.seq2seq import Seq2Seq
from nmt.runs.data import build_tokenizers, load_tokenizers, prepare_data
from nmt.runs.layout import (
    SOURCE_TOKENIZER,
    TARGET_TOKENIZER,
    TRANSLATOR_DIR,
    Log,
    RunError,
    Status,
    finished_message,
    run_status,
    write_run_config,
)
from nmt.tokenizers import Tokenizer
from nmt.training.loop import BEST_MODEL, RunState, set_seed, train
from nmt.translate.translator import Translator


# ----------------------------------------------------------------------------- the run
@dataclasses.dataclass
class Run:
    """A run directory ready to train: checked, configured, seeded, data and tokenizers loaded.

    Attributes:
        run_dir: the directory.
        config: the resolved configuration (also in ``run_dir/config.yaml``).
        status: what :func:`run_status` said (``new``, ``resume``, ``continue``, ``finished``).
        corpora: ``"train"`` and ``"valid"`` corpora (empty for a finished run).
        source_tokenizer, target_tokenizer: the run's tokenizers.
    """

    run_dir: Path
    config: RunConfig
    status: Status
    corpora: dict[str, ParallelCorpus]
    source_tokenizer: Tokenizer
    target_tokenizer: Tokenizer


def open_run(config: RunConfig, run_dir: str | Path, *, allow_finished: bool = False,
             corpora: dict[str, ParallelCorpus] | None = None, log: Log | None = print) -> Run:
    """Checks ``config.data`` and ``run_dir``, writes ``config.yaml``, seeds, loads data and tokenizers.

    ``config.data`` is checked against the dataset registry
    (:func:`nmt.data.datasets.check_data_config`) before the run directory is touched.
    Seeding (:func:`nmt.training.loop.set_seed`) happens here, before any tokenizer or
    model exists, as ``nmt.training.loop`` requires.

    Args:
        allow_finished: return a finished run (status ``"finished"``) instead of
            raising; :func:`train_run` then only loads its translator.
        corpora: the corpora of :func:`prepare_data` when the caller has them already.
        log: where progress messages go (None: nowhere).

    Raises:
        ConfigError: a dataset, pair or split the registry lacks.
        RunError: see :func:`run_status`; a finished run without ``allow_finished``.
        DatasetError, CorpusError, DownloadError: the data cannot be read.
    """
    check_data_config(config.data)
    run_dir = Path(run_dir)
    status = run_status(run_dir, config)
    if status == "finished" and not allow_finished:
        raise RunError(finished_message(run_dir, RunState.read(run_dir)))
    log = log or (lambda message: None)
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in (SOURCE_TOKENIZER, TARGET_TOKENIZER, TRANSLATOR_DIR):  # left by a killed atomic_directory
        for leftover in run_dir.glob(f".{name}.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    if status != "finished":
        write_run_config(run_dir, config)
    set_seed(config.train)
    if status == "finished":
        source, target = load_tokenizers(run_dir)
        corpora = dict(corpora or {})
    else:
        if corpora is None:
            corpora = prepare_data(config.data, log=log)
            log("  " + "; ".join(f"{split}: {len(c):,} pairs ({c.name})" for split, c in corpora.items()))
        source, target = build_tokenizers(run_dir, corpora["train"], config.tokenizer, log=log)
    return Run(run_dir, config, status, corpora, source, target)


def make_datasets(run: Run) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
    """Training batches (shuffled, bucketed) and validation batches (in order), see :func:`nmt.data.pipeline.make_dataset`."""
    pipeline = run.config.pipeline
    train_ds = make_dataset(run.corpora["train"], run.source_tokenizer, run.target_tokenizer, pipeline)
    val_ds = None
    if "valid" in run.corpora:
        val_ds = make_dataset(run.corpora["valid"], run.source_tokenizer, run.target_tokenizer,
                              dataclasses.replace(pipeline, shuffle=False))
    return train_ds, val_ds


def build_model(config: RunConfig, source_vocab_size: int, target_vocab_size: int) -> Seq2Seq:
    """The untrained model of ``config.model`` (seeded with ``train.seed``)."""
    return Seq2Seq(config.model, source_vocab_size, target_vocab_size, seed=config.train.seed)


@dataclasses.dataclass
class TrainResult:
    """What :func:`train_run` did.

    Attributes:
        translator: the run's translator (best checkpoint + decode settings).
        epochs: 0-based indices of the epochs run in this call (empty: nothing to do).
        state: ``state.json`` after training.
        seconds: wall time of this call's training.
        parameters: the model's parameter count.
    """

    run_dir: Path
    translator: Translator
    epochs: list[int]
    state: RunState | None
    seconds: float
    parameters: int


def train_run(run: Run, *, verbose: int | str = "auto", callbacks: Sequence[keras.callbacks.Callback] = (),
              log: Log | None = print) -> TrainResult:
    """Trains ``run`` (resuming from its last checkpoint), then saves ``run_dir/translator``.

    The translator holds ``best.keras`` (the epoch with the best ``train.monitor``),
    the run's tokenizers and its ``decode`` settings. A finished run only loads it.
    """
    log = log or (lambda message: None)
    run_dir = run.run_dir
    if run.status == "finished":
        translator = Translator.load(run_dir / TRANSLATOR_DIR)
        return TrainResult(run_dir, translator, [], RunState.read(run_dir), 0.0, translator.model.count_params())
    train_ds, val_ds = make_datasets(run)
    model = build_model(run.config, run.source_tokenizer.vocab_size, run.target_tokenizer.vocab_size)
    state = RunState.read(run_dir)
    if state is not None and state.epoch:
        log(f"  resuming after epoch {state.epoch} of {run.config.train.epochs}")
    start = time.perf_counter()
    history = train(model, train_ds, val_ds, run.config.train, run_dir, callbacks=callbacks, verbose=verbose)
    seconds = time.perf_counter() - start
    state = RunState.read(run_dir)
    best = model
    if (run_dir / BEST_MODEL).is_file():
        best = keras.saving.load_model(run_dir / BEST_MODEL, compile=False)
    translator = Translator(best, run.source_tokenizer, run.target_tokenizer, run.config.decode)
    translator.save(run_dir / TRANSLATOR_DIR, overwrite=True)  # atomic: replaces the previous one
    return TrainResult(run_dir, translator, list(history.epoch), state, seconds, model.count_params())
