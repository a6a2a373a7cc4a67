"""Opening a run directory and training in it (``nmt train``)."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import tensorflow as tf

from nmt.config.base import ConfigError
from nmt.config.run import RunConfig
from nmt.data import ParallelCorpus
from nmt.data.datasets import check_data_config
from nmt.data.pipeline import make_dataset, stream_batches
from nmt.data.stream import PairStream
from nmt.runs import finetune
from nmt.runs.average import average_run
from nmt.runs.data import build_tokenizers, load_tokenizers, open_stream, prepare_data, sample_stream
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
from nmt.runs.model import build_model
from nmt.tokenizers import Tokenizer
from nmt.training.averaging import ordered_checkpoints
from nmt.training.bleu import ValidationBleu
from nmt.training.cluster import Cluster, cluster_timeout, make_strategy
from nmt.training.loop import BEST_MODEL, ResumableInput, RunState, set_seed, train
from nmt.training.precision import dtype_policy
from nmt.training.state import CHECKPOINT_DIR
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
        strategy: the ``tf.distribute`` strategy of ``train.distribute``.
        cluster: the multi-worker cluster (``None`` for one process).
        init_from: the run whose best weights initialize the model before the first
            step (``train.init_from``, checked by :func:`nmt.runs.finetune.check_source`);
            ``None`` when the run has no ``init_from`` or a checkpoint of its own to resume.
        stream: the training pairs read from disk (``data.streaming``; ``corpora`` then
            has no ``"train"``), or ``None``.
    """

    run_dir: Path
    config: RunConfig
    status: Status
    corpora: dict[str, ParallelCorpus]
    source_tokenizer: Tokenizer
    target_tokenizer: Tokenizer
    strategy: object = None
    cluster: Cluster | None = None
    init_from: Path | None = None
    stream: PairStream | None = None

    @property
    def chief(self) -> bool:
        """Whether this process writes the run directory (always, but for the non-chief workers of a cluster)."""
        return self.cluster is None or self.cluster.chief


def open_run(config: RunConfig, run_dir: str | Path, *, allow_finished: bool = False,
             corpora: dict[str, ParallelCorpus] | None = None, log: Log | None = print) -> Run:
    """Checks ``config.data`` and ``run_dir``, writes ``config.yaml``, seeds, loads data and tokenizers.

    ``config.data`` is checked against the dataset registry
    (:func:`nmt.data.datasets.check_data_config`) before the run directory is touched.
    Seeding (:func:`nmt.training.loop.set_seed`) happens here, before any tokenizer or
    model exists, as ``nmt.training.loop`` requires.

    A fine-tuning run (``train.init_from``, see :mod:`nmt.runs.finetune`) without a
    checkpoint of its own has its source run checked here, before the run directory is
    touched, and the source run's tokenizers copied in instead of training new ones.

    Args:
        allow_finished: return a finished run (status ``"finished"``) instead of
            raising; :func:`train_run` then only loads its translator.
        corpora: the corpora of :func:`prepare_data` when the caller has them already.
        log: where progress messages go (None: nowhere).

    Raises:
        ConfigError: a dataset, pair or split the registry lacks; a fine-tuning
            configuration whose model or tokenizer section differs from its source run's.
        RunError: see :func:`run_status`; a finished run without ``allow_finished``;
            an ``init_from`` that is no trained run.
        DatasetError, CorpusError, DownloadError: the data cannot be read.
    """
    check_data_config(config.data)
    run_dir = Path(run_dir)
    status = run_status(run_dir, config)
    if status == "finished" and not allow_finished:
        raise RunError(finished_message(run_dir, RunState.read(run_dir), config.train.max_steps))
    init_from = None
    if config.train.init_from is not None and status != "finished" and finetune.needs_source(run_dir):
        init_from = finetune.check_source(config, run_dir)
    log = log or (lambda message: None)
    # Before anything is written or any TensorFlow op runs: TF_CONFIG is checked here,
    # and the collective runtime of multi_worker must be configured at startup.
    strategy, cluster = make_strategy(config.train) if status != "finished" else (None, None)
    chief = cluster is None or cluster.chief
    if cluster is not None:
        log(f"  {config.train.distribute}: task {cluster.task[0]} {cluster.task[1]} of {cluster.size} "
            f"({'chief' if chief else 'reads the run directory the chief writes'})")
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
        for name in (SOURCE_TOKENIZER, TARGET_TOKENIZER, TRANSLATOR_DIR):  # left by a killed atomic_directory
            for leftover in run_dir.glob(f".{name}.tmp-*"):
                shutil.rmtree(leftover, ignore_errors=True)
        if status != "finished":
            write_run_config(run_dir, config)
    set_seed(config.train)
    stream = None  # a finished run streams nothing
    if status == "finished":
        source, target = load_tokenizers(run_dir)
        corpora = dict(corpora or {})
    else:
        stream = open_stream(config.data, log=log) if config.data.streaming else None
        if corpora is None:
            corpora = prepare_data(config.data, log=log)
            splits = [f"{split}: {len(c):,} pairs ({c.name})" for split, c in corpora.items()]
            if stream is not None:
                splits.insert(0, f"train: streamed from {', '.join(str(p) for p in stream.files.paths)} "
                                 f"in blocks of {config.pipeline.shuffle_buffer:,} lines")
            log("  " + "; ".join(splits))
        if chief:
            if init_from is not None:
                finetune.copy_tokenizers(init_from, run_dir, log=log)
            if stream is None:
                source, target = build_tokenizers(run_dir, corpora["train"], config.tokenizer, log=log)
            else:
                source, target = build_tokenizers(
                    run_dir, lambda: sample_stream(run_dir, stream, config.tokenizer, config.pipeline.seed, log),
                    config.tokenizer, log=log, what="the sample")
        else:
            source, target = _wait_for_tokenizers(run_dir, cluster_timeout())
    return Run(run_dir, config, status, corpora, source, target, strategy, cluster, init_from, stream)


def _wait_for_tokenizers(run_dir: Path, timeout: float) -> tuple[Tokenizer, Tokenizer]:
    """A non-chief worker: the tokenizers the chief trains into the (shared) run directory."""
    deadline = time.monotonic() + timeout
    files = [run_dir / name / "tokenizer.json" for name in (SOURCE_TOKENIZER, TARGET_TOKENIZER)]
    while not all(path.is_file() for path in files):
        if time.monotonic() >= deadline:
            raise RunError(f"the chief did not write {files[0].parent} and {files[1].parent} within {timeout:.0f} s; "
                           f"every worker of a multi_worker run needs the run directory on a filesystem they share")
        time.sleep(0.5)
    return load_tokenizers(run_dir)


def make_datasets(run: Run) -> tuple[tf.data.Dataset | Callable | ResumableInput, tf.data.Dataset | None]:
    """Training batches (shuffled, bucketed) and validation batches (in order), see :func:`nmt.data.pipeline.make_dataset`.

    For a multi-worker run the training batches are a function of the
    ``tf.distribute.InputContext`` (:func:`worker_batches`); for a streamed corpus a
    :class:`nmt.training.loop.ResumableInput` over :func:`nmt.data.pipeline.stream_batches`.
    """
    pipeline = run.config.pipeline
    if run.stream is not None:
        def batches(start, endless):
            return stream_batches(run.stream, run.source_tokenizer, run.target_tokenizer, pipeline,
                                  start=start, endless=endless)

        train_ds = ResumableInput(batches)
    elif run.cluster is not None:
        train_ds = worker_batches(run)
    else:
        train_ds = make_dataset(run.corpora["train"], run.source_tokenizer, run.target_tokenizer, pipeline)
    val_ds = None
    if "valid" in run.corpora:
        val_ds = make_dataset(run.corpora["valid"], run.source_tokenizer, run.target_tokenizer,
                              dataclasses.replace(pipeline, shuffle=False))
    return train_ds, val_ds


def worker_batches(run: Run) -> Callable[[tf.distribute.InputContext], tf.data.Dataset]:
    """Input pipeline ``i`` of ``n`` reads training pairs ``i, i + n, ...`` and batches them per replica.

    Each pipeline shuffles and buckets its own shard with its own seed
    (``pipeline.seed + 7919 i``); its batches hold ``train.batch_size / replicas``
    pairs (``pipeline.batch_tokens / replicas`` tokens when set).
    """
    corpus, config = run.corpora["train"], run.config

    def batches(context: tf.distribute.InputContext) -> tf.data.Dataset:
        index, count = context.input_pipeline_id, context.num_input_pipelines
        replicas = context.num_replicas_in_sync
        pipeline = dataclasses.replace(
            config.pipeline, batch_size=context.get_per_replica_batch_size(config.train.batch_size),
            batch_tokens=None if config.pipeline.batch_tokens is None else config.pipeline.batch_tokens // replicas,
            seed=config.pipeline.seed + 7919 * index)
        shard = corpus.select(range(index, len(corpus), count), name=f"{corpus.name} [{index}/{count}]")
        return make_dataset(shard, run.source_tokenizer, run.target_tokenizer, pipeline)

    return batches


def validation_bleu(run: Run, model: keras.Model) -> ValidationBleu:
    """``val_bleu`` of ``model`` (the live model being trained) on the first ``train.bleu_sentences`` validation pairs.

    Greedy search with the run's tokenizers and ``decode`` length settings, 64 sentences a batch.
    """
    if "valid" not in run.corpora:
        raise ConfigError("train.monitor=val_bleu translates validation pairs: set data.valid")
    pairs = run.corpora["valid"].head(run.config.train.bleu_sentences)
    translator = Translator(model, run.source_tokenizer, run.target_tokenizer, run.config.decode)
    return ValidationBleu(translator, pairs.sources, pairs.targets)


@dataclasses.dataclass
class TrainResult:
    """What :func:`train_run` did.

    Attributes:
        translator: the run's translator (best checkpoint + decode settings, float32);
            ``None`` on the non-chief workers of a cluster.
        epochs: 0-based indices of the epochs run in this call (empty: nothing to do).
        state: ``state.json`` after training.
        seconds: wall time of this call's training.
        parameters: the model's parameter count.
    """

    run_dir: Path
    translator: Translator | None
    epochs: list[int]
    state: RunState | None
    seconds: float
    parameters: int


def train_run(run: Run, *, verbose: int | str = "auto", callbacks: Sequence[keras.callbacks.Callback] = (),
              log: Log | None = print) -> TrainResult:
    """Trains ``run`` (resuming from its last checkpoint), then saves ``run_dir/translator``.

    The translator holds ``best.keras`` (the epoch with the best ``train.monitor``),
    or with ``train.average_last: N`` the average of the last N checkpoints
    (:func:`average_at_end`), the run's tokenizers and its ``decode`` settings. A finished run only loads it.
    A fine-tuning run (``run.init_from``) starts from the source run's best weights
    with a fresh optimizer; with ``train.monitor: val_bleu`` the loop gets a
    :class:`nmt.training.bleu.ValidationBleu` around the live model (:func:`validation_bleu`).
    """
    log = log or (lambda message: None)
    run_dir = run.run_dir
    if run.status == "finished":
        translator = Translator.load(run_dir / TRANSLATOR_DIR)
        return TrainResult(run_dir, translator, [], RunState.read(run_dir), 0.0, translator.model.count_params())
    config = run.config
    strategy = run.strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    if config.train.batch_size % replicas:
        raise ConfigError(f"train.batch_size={config.train.batch_size} is not divisible by the {replicas} replicas "
                          f"of train.distribute={config.train.distribute}")
    train_ds, val_ds = make_datasets(run)
    steps_per_epoch = config.train.steps_per_epoch
    if run.cluster is not None and steps_per_epoch is None:  # every worker must take the same number of steps
        steps_per_epoch = math.ceil(len(run.corpora["train"]) / config.train.batch_size)
    initial = finetune.initial_weights(run.init_from, log=log) if run.init_from is not None else None
    with strategy.scope(), dtype_policy(config.train.precision):
        model = build_model(config, run.source_tokenizer.vocab_size, run.target_tokenizer.vocab_size)
        if initial is not None:
            finetune.set_initial_weights(model, initial, run.init_from)
    epoch_metrics = validation_bleu(run, model) if config.train.monitor == "val_bleu" else None
    state = RunState.read(run_dir)
    if state is not None and (state.epoch or state.epoch_step):
        where = f" and {state.epoch_step} steps" if state.epoch_step else ""
        log(f"  resuming after epoch {state.epoch}{where} of {config.train.epochs} (step {state.step:,})")
    start = time.perf_counter()
    with run.stream.errors() if run.stream is not None else contextlib.nullcontext():
        history = train(model, train_ds, val_ds, config.train, run_dir, callbacks=callbacks, verbose=verbose,
                        strategy=strategy, chief=run.chief, steps_per_epoch=steps_per_epoch,
                        epoch_metrics=epoch_metrics)
    seconds = time.perf_counter() - start
    if not run.chief:
        return TrainResult(run_dir, None, list(history.epoch), RunState.read(run_dir), seconds, model.count_params())
    state = RunState.read(run_dir)
    # The translator computes in float32 whatever the training precision (variables are float32 in every policy).
    best = build_model(config, run.source_tokenizer.vocab_size, run.target_tokenizer.vocab_size)
    if (run_dir / BEST_MODEL).is_file():
        best.load_weights(run_dir / BEST_MODEL)
    else:  # no validation score yet (e.g. a budget that ended before the first epoch): the last weights
        best.set_weights(model.get_weights())
    translator = Translator(best, run.source_tokenizer, run.target_tokenizer, config.decode)
    if config.train.average_last:  # the translator is the average of the last checkpoints instead
        translator = average_at_end(run_dir, config.train.average_last, log)
    else:
        translator.save(run_dir / TRANSLATOR_DIR, overwrite=True)  # atomic: replaces the previous one
    return TrainResult(run_dir, translator, list(history.epoch), state, seconds, model.count_params())


def average_at_end(run_dir: Path, last: int, log: Log) -> Translator:
    """``train.average_last``: the last ``last`` checkpoints averaged into ``run_dir/translator``.

    A run that ended with fewer checkpoints (a short run, a budget) averages those it
    has, and the log says so.
    """
    kept = len(ordered_checkpoints(run_dir / CHECKPOINT_DIR, unique_steps=True))
    if kept < last:
        log(f"  train.average_last={last}: the run has {kept} checkpoint(s); averaging {kept}")
    return average_run(run_dir, min(last, kept), log=lambda message: log("  " + message)).translator

