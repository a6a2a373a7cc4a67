"""Run directories: one configuration, its data, tokenizers, training, translator and results.

The one code path behind ``nmt train``/``translate``/``evaluate``/``export``/``info``
(:mod:`nmt.cli`) and ``make demo`` (:mod:`nmt.demo`)::

    config = load_run_config("configs/multi30k_de_en.yaml", ["train.epochs=5"])
    run = open_run(config, "runs/de_en")      # checks the directory, seeds, data, tokenizers
    result = train_run(run)                   # trains (resuming), saves run_dir/translator
    translator = load_translator("runs/de_en")

A run directory holds::

    RUN_DIR/
      config.yaml            the resolved RunConfig (nmt.run_config), written atomically
                             before anything else; every later `nmt train` compares against it
      source_tokenizer/      tokenizer.json + assets, trained on the training split once
      target_tokenizer/      (reused on every resume; written atomically)
      state.json             nmt.training: completed epochs, best score, the checkpoint to resume
      checkpoints/           nmt.training: epoch-NNNN.weights.h5 (model + optimizer)
      best.keras             nmt.training: the model with the best validation score so far
      history.csv            nmt.training: one row per completed epoch (losses, perplexity, lr)
      train_config.json      nmt.training: the TrainConfig of the last call
      tensorboard/           nmt.training: TensorBoard logs (train.tensorboard)
      translator/            Translator.save of best.keras with the decode settings, written
                             when training completes (its presence marks a finished run)
      eval/                  NAME.beamN.csv (or .parquet): per-sentence reports of `nmt evaluate`,
                             NAME.beamN.json: corpus BLEU/chrF/TER with sacreBLEU signatures
      export/                the SavedModel of `nmt export` (default location)
      attention.png, training_curves.png    plots of `make demo`

Resuming and continuing: a run directory whose ``config.yaml`` differs from the
requested configuration in anything but ``train.epochs``/``train.max_minutes`` is an
error naming the differing keys. An unfinished run (no ``translator/`` yet) resumes
from its last completed epoch. A finished run is never overwritten: asking for it
again is an error, unless ``train.epochs`` is raised above the completed epochs (or
``train.max_minutes`` above the time spent, when the budget ended it; a run that
early stopping ended stays finished), which continues training from the last
checkpoint and then replaces ``translator/``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import keras
import pandas as pd
import tensorflow as tf

from nmt.configs import ConfigError, config_to_dict
from nmt.data import CleaningReport, ParallelCorpus, clean, load_dataset, read_aligned, read_table, read_tsv
from nmt.data.readers import CorpusError
from nmt.exported_translator import ExportedTranslator
from nmt.fileutils import atomic_directory, atomic_write
from nmt.pipeline import make_dataset
from nmt.run_config import (
    FILES,
    TABLE_SUFFIXES,
    DataConfig,
    RunConfig,
    config_differences,
    dump_yaml,
    flatten,
    read_yaml,
    run_config_from_dict,
)
from nmt.seq2seq import Seq2Seq
from nmt.tokenizers import Tokenizer, TokenizerConfig, train_tokenizers
from nmt.training import BEST_MODEL, HISTORY_FILE, RunState, set_seed, train
from nmt.translator import SETTINGS_FILE, Translator

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


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


# ----------------------------------------------------------------------------- config.yaml
def read_run_config(run_dir: str | Path) -> RunConfig | None:
    """The stored configuration of a run directory, or None when it has no ``config.yaml``."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return run_config_from_dict(read_yaml(path))
    except ConfigError as error:
        raise RunError(f"{path} is not a valid run configuration for this version of nmt: {error}") from None


def write_run_config(run_dir: str | Path, config: RunConfig) -> Path:
    """Writes ``RUN_DIR/config.yaml`` atomically."""
    text = f"# nmt run configuration (resolved: every key, defaults included)\n{dump_yaml(config)}"
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
        raise RunError(f"{run_dir} holds a run with another configuration ({_describe(differences, stored, config)}); "
                       f"use another --run-dir, or the stored values (only train.epochs and train.max_minutes "
                       f"may change)")
    done = state.epoch if state else 0
    if done > config.train.epochs:
        raise RunError(f"{run_dir} has already trained {done} epochs; train.epochs={config.train.epochs} is fewer")
    if not (run_dir / TRANSLATOR_DIR / SETTINGS_FILE).is_file():
        return "resume"
    return "finished" if training_complete(state, config) else "continue"


def training_complete(state: RunState | None, config: RunConfig) -> bool:
    """Whether :func:`nmt.training.train` has nothing left to do for ``config`` (epochs, early stop, budget)."""
    if state is None:
        return False
    budget = config.train.max_minutes
    out_of_time = state.out_of_time and budget is not None and state.seconds >= 60.0 * budget
    return state.stopped or out_of_time or state.epoch >= config.train.epochs


def _describe(keys: Sequence[str], stored: RunConfig, requested: RunConfig, limit: int = 4) -> str:
    old, new = flatten(config_to_dict(stored)), flatten(config_to_dict(requested))
    parts = [f"{key}: stored {old.get(key)!r}, requested {new.get(key)!r}" for key in keys[:limit]]
    if len(keys) > limit:
        parts.append(f"and {', '.join(keys[limit:])}")
    return "; ".join(parts)


def finished_message(run_dir: Path, state: RunState | None) -> str:
    """Why a finished run is not trained again, in one line."""
    epochs = state.epoch if state else 0
    if state is not None and state.stopped:
        return (f"{run_dir} already holds a finished run (early stopping ended it after epoch {epochs}); "
                f"choose another --run-dir")
    if state is not None and state.out_of_time:
        return (f"{run_dir} already holds a finished run (its train.max_minutes budget ran out after "
                f"{state.seconds / 60:.1f} minutes, {epochs} epochs); choose another --run-dir, or raise "
                f"train.max_minutes to continue it")
    return (f"{run_dir} already holds a finished run ({epochs} epochs); choose another --run-dir, "
            f"or raise train.epochs (e.g. --set train.epochs={epochs + 5}) to continue it")


# ----------------------------------------------------------------------------- data
def prepare_data(data: DataConfig, splits: Iterable[str] = ("train", "valid"),
                 log: Log | None = None) -> dict[str, ParallelCorpus]:
    """The corpora of ``data``'s splits (``"train"``, ``"valid"``, ``"test"``; ``null`` splits are left out).

    ``max_train_pairs``/``max_valid_pairs`` take the first pairs, then the training
    pairs are cleaned with ``data.cleaning`` (the report goes to ``log``).

    Raises:
        DatasetError, CorpusError, DownloadError: the data cannot be read.
    """
    corpora = {}
    for split in splits:
        where = getattr(data, split)
        if where is None:
            continue
        corpus = _read_split(data, where)
        if split == "train":
            if data.max_train_pairs:
                corpus = corpus.head(data.max_train_pairs)
            corpus, report = clean(corpus, data.cleaning)
            if log is not None and isinstance(report, CleaningReport):
                log(f"  cleaning: {report}")
            if not len(corpus):
                raise CorpusError(f"no training pairs left in {corpus.name or where} after cleaning")
        elif split == "valid" and data.max_valid_pairs:
            corpus = corpus.head(data.max_valid_pairs)
        corpora[split] = corpus
    return corpora


def _read_split(data: DataConfig, where: str) -> ParallelCorpus:
    if data.dataset != FILES:
        return load_dataset(data.dataset, data.pair, where)
    src, tgt = data.languages
    path = Path(where)
    suffixes = [s for s in path.suffixes if s != ".gz"]
    fmt = data.format
    if fmt == "auto":
        fmt = "table" if suffixes and suffixes[-1] in TABLE_SUFFIXES else "aligned"
    if fmt == "table":
        return read_table(path, source=str(data.source_column or src), target=str(data.target_column or tgt),
                          src_lang=src, tgt_lang=tgt, name=str(path))
    if fmt == "tsv":
        return read_tsv(path, src, tgt, src_column=int(data.source_column or 0),
                        tgt_column=int(1 if data.target_column is None else data.target_column), name=str(path))
    files = []
    for lang in (src, tgt):
        candidates = [Path(f"{where}.{lang}"), Path(f"{where}.{lang}.gz")]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise CorpusError(f"no file {candidates[0].name} or {candidates[1].name} (aligned files PREFIX.{lang})",
                              candidates[0].parent)
        files.append(found)
    return read_aligned(files[0], files[1], src, tgt, name=str(path))


# ----------------------------------------------------------------------------- tokenizers
def build_tokenizers(run_dir: str | Path, corpus: ParallelCorpus, config: TokenizerConfig,
                     log: Log | None = None) -> tuple[Tokenizer, Tokenizer]:
    """The run's tokenizers: reloaded when the run directory has them, else trained on ``corpus`` and saved."""
    run_dir = Path(run_dir)
    folders = run_dir / SOURCE_TOKENIZER, run_dir / TARGET_TOKENIZER
    if all((folder / "tokenizer.json").is_file() for folder in folders):
        return Tokenizer.load(folders[0]), Tokenizer.load(folders[1])
    start = time.perf_counter()
    tokenizers = train_tokenizers(corpus, config)
    if log is not None:
        log(f"  trained {config.kind} tokenizers on {len(corpus):,} pairs in {time.perf_counter() - start:.1f} s")
    for tokenizer, folder in zip(tokenizers, folders):
        with atomic_directory(folder, overwrite=True, what="tokenizer") as scratch:
            tokenizer.save(scratch)
    return tokenizers


def load_tokenizers(run_dir: str | Path) -> tuple[Tokenizer, Tokenizer]:
    """The saved tokenizers of a run directory."""
    run_dir = Path(run_dir)
    return Tokenizer.load(run_dir / SOURCE_TOKENIZER), Tokenizer.load(run_dir / TARGET_TOKENIZER)


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
    """Checks ``run_dir`` against ``config``, writes ``config.yaml``, seeds, loads data and tokenizers.

    Seeding (:func:`nmt.training.set_seed`) happens here, before any tokenizer or
    model exists, as ``nmt.training`` requires.

    Args:
        allow_finished: return a finished run (status ``"finished"``) instead of
            raising; :func:`train_run` then only loads its translator.
        corpora: the corpora of :func:`prepare_data` when the caller has them already.
        log: where progress messages go (None: nowhere).

    Raises:
        RunError: see :func:`run_status`; a finished run without ``allow_finished``.
        DatasetError, CorpusError, DownloadError: the data cannot be read.
    """
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
    """Training batches (shuffled, bucketed) and validation batches (in order), see :func:`nmt.pipeline.make_dataset`."""
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


# ----------------------------------------------------------------------------- loading models
def run_dir_of(path: str | Path) -> Path | None:
    """The run directory a model path belongs to (itself, or the parent of its translator/export), or None."""
    path = Path(path)
    for candidate in (path, path.parent):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return None


def load_translator(path: str | Path, log: Log | None = _stderr) -> Translator | ExportedTranslator:
    """The translator at ``path``: a run directory, a saved translator (directory or ``.keras``) or an export.

    A run directory gives its ``translator/``; an unfinished run (no
    ``translator/`` yet) gives its best checkpoint so far, with a note to ``log``.
    A directory with ``saved_model.pb`` is loaded with ``nmt.export.load_exported``.

    Raises:
        RunError: ``path`` is missing or none of these.
    """
    path = Path(path)
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
        state = RunState.read(path)
        if not (path / BEST_MODEL).is_file() or state is None:
            raise RunError(f"--model {path}: the run has not completed an epoch yet; train it with "
                           f"nmt train --run-dir {path}")
        if log is not None:
            log(f"note: {path} is unfinished; using its best checkpoint so far (epoch {state.best_epoch} "
                f"of {state.epoch} completed)")
        source, target = load_tokenizers(path)
        model = keras.saving.load_model(path / BEST_MODEL, compile=False)
        return Translator(model, source, target, config.decode)
    raise RunError(f"--model {path}: not a run directory, a saved translator or an export "
                   f"(no {CONFIG_FILE}, {SETTINGS_FILE} or {SAVED_MODEL_FILE})")


# ----------------------------------------------------------------------------- results
def evaluation_paths(run_dir: str | Path, name: str, beam_size: int | None, suffix: str = ".csv") -> tuple[Path, Path]:
    """``(report, scores)`` paths under ``RUN_DIR/eval`` for a test set called ``name``."""
    stem = name.replace("/", ".").strip(".") or "test"
    beam = "export" if beam_size is None else f"beam{beam_size}"
    base = Path(run_dir) / EVAL_DIR / f"{stem}.{beam}"
    return base.with_name(base.name + suffix), base.with_name(base.name + ".json")


def evaluate_run(translator, corpus: ParallelCorpus, *, run_dir: str | Path | None = None,
                 beam_size: int | None = None, report: str | Path | None = None, tokenize: str = "13a",
                 lowercase: bool = False, verbose: bool = True, **extra: Any):
    """Scores ``translator`` on ``corpus`` and writes the per-sentence report and the scores.

    The report goes to ``report`` (``.csv``, ``.tsv`` or ``.parquet``; the scores
    beside it as ``.json``) or, by default, to ``RUN_DIR/eval/NAME.beamN.{csv,json}``;
    with neither, nothing is written.

    Returns:
        ``(evaluation, report_path, scores_path)``; the paths are None when nothing was written.
    """
    from nmt.evaluation import evaluate

    beam = beam_size or translator.config.beam_size
    result = evaluate(translator, corpus, beam_size=beam_size, tokenize=tokenize, lowercase=lowercase,
                      verbose=verbose)
    if report is not None:
        report = Path(report)
        scores = report.with_suffix(".json")
    elif run_dir is not None:
        report, scores = evaluation_paths(run_dir, corpus.name, beam)
    else:
        return result, None, None
    result.write_sentences(report)
    write_scores(scores, result, beam_size=beam, tokenize=tokenize, lowercase=lowercase, **extra)
    return result, report, scores


def write_scores(path: str | Path, evaluation, **extra: Any) -> Path:
    """Corpus scores and signatures of an :class:`nmt.evaluation.Evaluation` as JSON."""
    record = {"name": evaluation.name, "sentences": len(evaluation.sentences),
              **evaluation.scores.as_dict(), "signatures": evaluation.scores.signatures, **extra}
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def best_scores(run_dir: str | Path) -> dict[str, tuple[float, int]]:
    """Best value and its 1-based epoch of every validation metric in ``history.csv``.

    Lower is better except for accuracy. Empty when there is no history.
    """
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return {}
    frame = pd.read_csv(path)
    if frame.empty:
        return {}
    best = {}
    for column in (c for c in frame.columns if c.startswith("val_")):
        values = frame[column]
        row = values.idxmax() if column.endswith("accuracy") else values.idxmin()
        epoch = int(frame.loc[row, "epoch"]) + 1 if "epoch" in frame.columns else int(row) + 1
        best[column] = (float(values[row]), epoch)
    return best


@dataclasses.dataclass
class RunInfo:
    """What ``nmt info`` shows about a run directory."""

    run_dir: Path
    config: RunConfig
    vocab_sizes: tuple[int, int] | None
    parameters: int | None
    state: RunState | None
    finished: bool
    best: dict[str, tuple[float, int]]
    evaluations: list[dict[str, Any]]


def run_info(run_dir: str | Path) -> RunInfo:
    """Configuration, vocabulary sizes, parameter count, progress, best validation and test scores of a run.

    Raises:
        RunError: ``run_dir`` is not a run directory.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such directory")
    config = read_run_config(run_dir)
    if config is None:
        raise RunError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    vocab_sizes = parameters = None
    if (run_dir / SOURCE_TOKENIZER).is_dir() and (run_dir / TARGET_TOKENIZER).is_dir():
        source, target = load_tokenizers(run_dir)
        vocab_sizes = (source.vocab_size, target.vocab_size)
        parameters = build_model(config, *vocab_sizes).count_params()
    evaluations = []
    for path in sorted((run_dir / EVAL_DIR).glob("*.json")):
        try:
            evaluations.append({"file": path.name, **json.loads(path.read_text(encoding="utf-8"))})
        except (OSError, ValueError):
            continue
    return RunInfo(run_dir, config, vocab_sizes, parameters, RunState.read(run_dir),
                   (run_dir / TRANSLATOR_DIR / SETTINGS_FILE).is_file(), best_scores(run_dir), evaluations)
