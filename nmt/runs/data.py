"""The data of a run: its splits read and cleaned, its tokenizers trained once and reloaded."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from nmt.config.data import FILES, TABLE_SUFFIXES, DataConfig
from nmt.data import CleaningReport, ParallelCorpus, clean, load_dataset, read_aligned, read_table, read_tsv
from nmt.data.datasets import check_data_config, languages
from nmt.data.readers import CorpusError
from nmt.fileutils import atomic_directory
from nmt.runs.layout import SOURCE_TOKENIZER, TARGET_TOKENIZER, Log
from nmt.tokenizers import Tokenizer, TokenizerConfig, train_tokenizers


# ----------------------------------------------------------------------------- data
def prepare_data(data: DataConfig, splits: Iterable[str] = ("train", "valid"),
                 log: Log | None = None) -> dict[str, ParallelCorpus]:
    """The corpora of ``data``'s splits (``"train"``, ``"valid"``, ``"test"``; ``null`` splits are left out).

    ``data`` is checked against the dataset registry first
    (:func:`nmt.data.datasets.check_data_config`). ``max_train_pairs``/``max_valid_pairs``
    take the first pairs, then the training pairs are cleaned with ``data.cleaning``
    (the report goes to ``log``).

    Raises:
        ConfigError: a dataset, pair or split the registry lacks.
        DatasetError, CorpusError, DownloadError: the data cannot be read.
    """
    check_data_config(data)
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
    src, tgt = languages(data)
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
