"""The data of a run: its splits read and cleaned, its tokenizers trained once and reloaded."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from nmt.config.cleaning import CleaningConfig
from nmt.config.data import FILES, DataConfig
from nmt.data import CleaningReport, ParallelCorpus, clean, load_dataset, read_aligned, read_table, read_tsv
from nmt.data.datasets import check_data_config, languages
from nmt.data.readers import CorpusError
from nmt.data.stream import PairStream, split_files
from nmt.fileutils import atomic_directory, atomic_write
from nmt.runs.layout import SOURCE_TOKENIZER, TARGET_TOKENIZER, Log, RunError
from nmt.tokenizers import Tokenizer, TokenizerConfig, train_tokenizers
from nmt.tokenizers.training import sample_size

#: What the tokenizers of a streamed run were trained on (:func:`sample_stream`).
TOKENIZER_SAMPLE = "tokenizer_sample.json"


# ----------------------------------------------------------------------------- data
def prepare_data(data: DataConfig, splits: Iterable[str] = ("train", "valid"),
                 log: Log | None = None) -> dict[str, ParallelCorpus]:
    """The corpora of ``data``'s splits (``"train"``, ``"valid"``, ``"test"``; ``null`` splits are left out).

    ``data`` is checked against the dataset registry first
    (:func:`nmt.data.datasets.check_data_config`). ``max_train_pairs``/``max_valid_pairs``
    take the first pairs, then the training pairs are cleaned with ``data.cleaning``
    (the report goes to ``log``). With ``data.streaming`` the training split is left
    out: it is read as a stream (:func:`open_stream`). With ``data.on_error: skip``
    unreadable lines of ``files`` splits are skipped (counted in the training split's report).

    Raises:
        ConfigError: a dataset, pair or split the registry lacks.
        DatasetError, CorpusError, DownloadError: the data cannot be read.
    """
    check_data_config(data)
    corpora = {}
    for split in splits:
        where = getattr(data, split)
        if where is None or (split == "train" and data.streaming):
            continue
        if split == "train":
            corpus, report = _read_train(data)
            if log is not None and isinstance(report, CleaningReport):
                log(f"  cleaning: {report}")
            if not len(corpus):
                raise CorpusError(f"no training pairs left in {corpus.name or where} after cleaning")
        else:
            corpus = _read_split(data, where)
            if split == "valid" and data.max_valid_pairs:
                corpus = corpus.head(data.max_valid_pairs)
        corpora[split] = corpus
    return corpora


def open_stream(data: DataConfig, log: Log | None = None) -> PairStream:
    """The training split of ``data`` (``data.streaming``) as a :class:`nmt.data.stream.PairStream` (nothing read yet).

    Raises:
        CorpusError: an aligned file is missing.
    """
    check_data_config(data)
    return PairStream.of(data, log=log)


def _read_train(data: DataConfig) -> tuple[ParallelCorpus, CleaningReport]:
    """The training split, its first ``max_train_pairs``, cleaned; and the cleaning report."""
    if data.on_error == "skip":  # the stream's reader skips and counts unreadable lines
        stream = PairStream(split_files(data, data.train), _AS_IS, "skip", data.max_train_pairs)
        corpus, report = clean(_as_corpus(stream), data.cleaning)
        skipped = stream.report.skipped
        return corpus, dataclasses.replace(report, skipped=skipped, total=report.total + skipped)
    corpus = _read_split(data, data.train)
    if data.max_train_pairs:
        corpus = corpus.head(data.max_train_pairs)
    return clean(corpus, data.cleaning)


#: Cleaning that keeps every pair as it is.
_AS_IS = CleaningConfig(normalization="none", drop_empty=False)


def _as_corpus(stream: PairStream) -> ParallelCorpus:
    """One pass of ``stream`` in memory."""
    pairs = list(stream.pairs())
    return ParallelCorpus(tuple(s for s, _ in pairs), tuple(t for _, t in pairs), stream.files.src_lang,
                          stream.files.tgt_lang, stream.name)


def _read_split(data: DataConfig, where: str) -> ParallelCorpus:
    if data.dataset != FILES:
        return load_dataset(data.dataset, data.pair, where)
    src, tgt = languages(data)
    path = Path(where)
    if data.split_format(where) == "table":
        return read_table(path, source=str(data.source_column or src), target=str(data.target_column or tgt),
                          src_lang=src, tgt_lang=tgt, name=str(path))
    files = split_files(data, where)
    if data.on_error == "skip":  # as they are, but for the unreadable lines
        return _as_corpus(PairStream(files, _AS_IS, "skip"))
    if not files.aligned:
        return read_tsv(path, src, tgt, src_column=files.columns[0], tgt_column=files.columns[1], name=str(path))
    return read_aligned(files.paths[0], files.paths[1], src, tgt, name=str(path))


# ----------------------------------------------------------------------------- tokenizers
def build_tokenizers(run_dir: str | Path, corpus: ParallelCorpus | Callable[[], ParallelCorpus],
                     config: TokenizerConfig, log: Log | None = None, *,
                     what: str | None = None) -> tuple[Tokenizer, Tokenizer]:
    """The run's tokenizers: reloaded when the run directory has them, else trained on ``corpus`` and saved.

    ``corpus`` may be a function returning it (called only when training is needed: a
    streamed corpus's sample, :func:`sample_stream`); ``what`` describes it in the log.
    """
    run_dir = Path(run_dir)
    folders = run_dir / SOURCE_TOKENIZER, run_dir / TARGET_TOKENIZER
    if all((folder / "tokenizer.json").is_file() for folder in folders):
        return load_tokenizers(run_dir)
    if callable(corpus):
        corpus = corpus()
    start = time.perf_counter()
    tokenizers = train_tokenizers(corpus, config)
    if log is not None:
        log(f"  trained {config.kind} tokenizers on {what or f'{len(corpus):,} pairs'} "
            f"in {time.perf_counter() - start:.1f} s")
    for tokenizer, folder in zip(tokenizers, folders):
        with atomic_directory(folder, overwrite=True, what="tokenizer") as scratch:
            tokenizer.save(scratch)
    return tokenizers


def sample_stream(run_dir: str | Path, stream: PairStream, config: TokenizerConfig, seed: int,
                  log: Log | None = None) -> ParallelCorpus:
    """The uniform sample of ``stream`` the tokenizers train on (:func:`nmt.tokenizers.training.sample_size` pairs).

    Logged, and recorded in ``run_dir/tokenizer_sample.json`` (:data:`TOKENIZER_SAMPLE`)
    for ``nmt info``: ``lines`` (pairs in the stream), ``drawn``, ``kept`` (after
    cleaning), ``size`` (asked for; ``null``: all), ``seed``, ``seconds``.
    """
    size = sample_size(config)
    if size == 0:  # a model_file: nothing to train, nothing to read
        return ParallelCorpus((), (), stream.files.src_lang, stream.files.tgt_lang, stream.name)
    sample = stream.sample(size, seed)
    if log is not None:
        log(f"  tokenizer sample (seed {seed}): {sample}")
    record = {"lines": sample.lines, "drawn": sample.drawn, "kept": len(sample.corpus), "size": size,
              "seed": seed, "seconds": round(sample.seconds, 3)}
    text = json.dumps(record, indent=2) + "\n"
    atomic_write(Path(run_dir) / TOKENIZER_SAMPLE, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return sample.corpus


def load_tokenizers(run_dir: str | Path) -> tuple[Tokenizer, Tokenizer]:
    """The saved tokenizers of a run directory.

    Raises:
        RunError: a tokenizer file is damaged or truncated (the message names its folder).
    """
    from nmt.translate.translator import load_tokenizer  # the one loader that names a damaged file

    run_dir = Path(run_dir)
    try:
        return load_tokenizer(run_dir / SOURCE_TOKENIZER), load_tokenizer(run_dir / TARGET_TOKENIZER)
    except ValueError as error:
        raise RunError(str(error)) from None
