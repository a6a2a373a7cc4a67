"""Parallel corpora: the corpus value, readers, streams and samples, cleaning, named datasets, registry checks."""

from nmt.config.cleaning import CleaningConfig
from nmt.data.cleaning import CleaningReport, clean
from nmt.data.corpus import ParallelCorpus
from nmt.data.datasets import (
    check_data_config,
    dataset_info,
    languages,
    list_datasets,
    load_dataset,
    pair_name,
    split_indices,
    split_sizes,
)
from nmt.data.download import DownloadError, default_cache_dir, fetch
from nmt.data.readers import (
    CorpusError,
    from_dataframe,
    iter_aligned,
    iter_lines,
    iter_table,
    iter_tsv,
    read_aligned,
    read_table,
    read_tsv,
    stream_aligned,
    stream_pairs,
    stream_table,
    stream_tsv,
)
from nmt.data.registry import DatasetError, DatasetInfo, FileInfo
from nmt.data.sampling import reservoir_sample
from nmt.data.stream import PairStream, split_files

__all__ = [
    "CleaningConfig",
    "CleaningReport",
    "CorpusError",
    "DatasetError",
    "DatasetInfo",
    "DownloadError",
    "FileInfo",
    "PairStream",
    "ParallelCorpus",
    "check_data_config",
    "clean",
    "dataset_info",
    "default_cache_dir",
    "fetch",
    "from_dataframe",
    "iter_aligned",
    "iter_lines",
    "iter_table",
    "iter_tsv",
    "languages",
    "list_datasets",
    "load_dataset",
    "pair_name",
    "read_aligned",
    "read_table",
    "read_tsv",
    "reservoir_sample",
    "split_files",
    "split_indices",
    "split_sizes",
    "stream_aligned",
    "stream_pairs",
    "stream_table",
    "stream_tsv",
]
