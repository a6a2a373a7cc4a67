"""Parallel corpora: the corpus value, readers, cleaning and named datasets."""

from nmt.data.corpus import ParallelCorpus
from nmt.data.readers import (
    CorpusError,
    from_dataframe,
    iter_aligned,
    iter_lines,
    iter_tsv,
    read_aligned,
    read_table,
    read_tsv,
    stream_aligned,
    stream_tsv,
)

__all__ = [
    "CorpusError",
    "ParallelCorpus",
    "from_dataframe",
    "iter_aligned",
    "iter_lines",
    "iter_tsv",
    "read_aligned",
    "read_table",
    "read_tsv",
    "stream_aligned",
    "stream_tsv",
]
