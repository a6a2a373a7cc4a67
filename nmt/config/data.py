"""Which sentence pairs a run trains, validates and tests on (``data.*`` keys).

:class:`DataConfig` checks what needs no dataset registry (types, positive counts, the
``files`` pair and columns, what streaming can read). Whether a registered dataset exists
and has the pair and splits asked for is checked by
:func:`nmt.data.datasets.check_data_config` when a run opens or its data is read;
:func:`nmt.data.datasets.languages` resolves the default pair.

Streaming a large corpus (``data.streaming: true``)
---------------------------------------------------
By default the training split is read into memory, cleaned, and its tokenized examples
cached. For corpora that do not fit (millions of pairs), stream them from disk::

    data:
      dataset: files
      pair: de-en
      train: /corpora/paracrawl          # paracrawl.de.gz + paracrawl.en.gz (or plain files)
      valid: /corpora/newstest2019       # read into memory as usual (first max_valid_pairs)
      streaming: true
      on_error: skip                     # optional: skip invalid UTF-8 lines, counted
    tokenizer: {max_train_sentences: 1000000}   # the tokenizers' uniform random sample
    train: {steps_per_epoch: 5000, max_steps: 200000, checkpoint_every_steps: 1000}

What happens (:mod:`nmt.data.stream`, :func:`nmt.data.pipeline.stream_batches`):

* One fast pass before training counts the pairs and draws a seeded
  (``pipeline.seed``) uniform random sample of them (reservoir sampling,
  :mod:`nmt.data.sampling`; pairs cleaning drops are left out of it). The tokenizers
  train on it: ``max_train_sentences`` pairs, half as many for a ``joint`` vocabulary
  (source and target interleaved); a corpus smaller than that is taken whole, giving
  the tokenizers of the in-memory path. ``max_train_sentences: null`` samples every pair
  (held in memory while the tokenizers train).
* Training reads the files again on every pass: the first ``max_train_pairs`` pairs
  (all by default) in blocks of ``pipeline.shuffle_buffer`` lines; each block is
  cleaned (``data.cleaning``, counted and logged per pass), shuffled whole,
  tokenized, filtered by ``pipeline.max_length``, bucketed in pools and batched, and
  its batches shuffled. Memory holds about one block, whatever the corpus size.
  ``cleaning.deduplicate`` is refused (it would hold every pair seen).
* Without ``train.steps_per_epoch`` an epoch is one pass over the file; with it, the
  passes follow each other without a break and an epoch is that many steps
  (validation, history row, checkpoint). ``train.max_steps`` ends the run after that
  many steps in all.
* A checkpoint (epoch end, or every ``train.checkpoint_every_steps``) records the
  input position too, so a resumed run (even after ``kill -9``) continues with the
  next unseen batch: no pair skipped, none repeated.
* A bad line deep inside the file is an error naming the file and the line
  (``nmt: error: train.de.gz:5123447: invalid UTF-8 ...``); ``on_error: skip`` skips
  invalid UTF-8 lines (and TSV rows with too few columns) and counts them instead.
  Aligned files of different lengths are always an error: a missing line shifts
  every pair after it, which no skipping can repair.

Streaming reads aligned files (plain or ``.gz``) or headerless TSV (``format: tsv``).
Tables (``.csv``, ``.parquet``, headed ``.tsv`` under ``format: auto``) and the
registered datasets (small; read in memory) are refused with a ConfigError; convert a
table to aligned files or headerless TSV to stream it. Streaming runs train on one
device (``train.distribute: none``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

from nmt.config.base import ConfigError, check_fields, check_non_negative_int, check_positive_int
from nmt.config.cleaning import CleaningConfig

#: ``data.dataset`` value for corpora read from your own files.
FILES = "files"


#: Suffixes (``.gz`` ignored) that make ``data.format: auto`` read a table rather than aligned files.
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which sentence pairs a run trains, validates and tests on (``data.*`` keys).

    Attributes:
        dataset: a registered dataset (``multi30k``, ``anki-spa-eng``; see
            :func:`nmt.data.list_datasets`), or ``files`` for your own files.
            Checked against the registry by :func:`nmt.data.datasets.check_data_config`.
        pair: ``source-target`` language codes (``de-en``); ``None`` is the dataset's
            default pair. Required for ``files`` (any two different codes).
        train, valid, test: split names of a registered dataset (``valid`` and ``test``
            may be ``null``). For ``files`` they are paths: a table (``.csv``,
            ``.tsv``, ``.parquet``, optionally ``.gz``) or the common prefix of two
            aligned files ``PREFIX.{src}`` / ``PREFIX.{tgt}`` (or ``.gz``), e.g.
            ``data/train`` for ``data/train.de`` and ``data/train.en``.
        max_train_pairs: train on the first N pairs of the training split only.
        max_valid_pairs: validate on the first N pairs of the validation split only.
        format: how ``files`` paths are read: ``auto`` (a table by suffix, else
            aligned files), ``aligned``, ``table`` (CSV/TSV with a header row, or
            Parquet; :func:`nmt.data.read_table`) or ``tsv`` (headerless,
            tab-separated, like the Anki files; :func:`nmt.data.read_tsv`).
        source_column, target_column: for ``table``, the column names (default: the
            language codes); for ``tsv``, 0-based column indices (default 0 and 1).
        cleaning: :class:`nmt.data.CleaningConfig` applied to the training pairs only
            (validation and test pairs are used as they are).
        streaming: read the training pairs from disk as a stream instead of into memory
            (``files`` only: aligned files or ``format: tsv``; see the module doc).
        on_error: what an invalid UTF-8 line (or a TSV row with too few columns) of a
            ``files`` split does: ``raise`` (an error naming the file and line) or
            ``skip`` (the pair is left out and counted in the cleaning report).
            Aligned files of different lengths are an error either way.
    """

    dataset: str = "multi30k"
    pair: str | None = None
    train: str = "train"
    valid: str | None = "val"
    test: str | None = None
    max_train_pairs: int | None = None
    max_valid_pairs: int | None = None
    format: Literal["auto", "aligned", "table", "tsv"] = "auto"
    source_column: str | int | None = None
    target_column: str | int | None = None
    cleaning: CleaningConfig = dataclasses.field(default_factory=CleaningConfig)
    streaming: bool = False
    on_error: Literal["raise", "skip"] = "raise"

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("max_train_pairs", "max_valid_pairs"):
            check_positive_int(name, getattr(self, name), optional=True)
        if self.dataset != FILES:
            for name, value, default in (("streaming", self.streaming, False), ("on_error", self.on_error, "raise")):
                if value != default:
                    raise ConfigError(f"{name}={value!r} needs dataset='files' (your own aligned or TSV files); "
                                      f"the registered dataset {self.dataset!r} is read into memory")
            return  # the registry's part: nmt.data.datasets.check_data_config
        if self.pair is None:
            raise ConfigError("dataset 'files' needs pair: 'source-target' language codes (e.g. de-en)")
        langs = self.pair.split("-")
        if len(langs) != 2 or not all(langs) or langs[0] == langs[1]:
            raise ConfigError(f"pair={self.pair!r} must be 'source-target', two different language codes")
        if not self.train:
            raise ConfigError("dataset 'files' needs train: a path")
        if self.format == "tsv":
            for name in ("source_column", "target_column"):
                check_non_negative_int(name, getattr(self, name), optional=True,
                                       note="a column index for format 'tsv'")
        if self.on_error == "skip" and any(self.split_format(path) == "table" for path in (self.train, self.valid,
                                                                                          self.test) if path):
            raise ConfigError("on_error='skip' reads aligned files or format 'tsv' line by line; a table "
                              "(.csv/.parquet, or format 'table') is read whole by pandas: fix the file, or use "
                              "on_error='raise'")
        if self.streaming:
            if self.split_format(self.train) == "table":
                raise ConfigError(f"streaming=True reads aligned files (PREFIX.{langs[0]}/PREFIX.{langs[1]}, plain "
                                  f"or .gz) or headerless TSV (format: tsv), not the table {self.train!r} (CSV, "
                                  f"Parquet, or a headed .tsv under format 'auto'): convert it, or stream it as "
                                  f"format 'tsv' without a header row")
            if self.cleaning.deduplicate:
                raise ConfigError("streaming=True cannot use cleaning.deduplicate=True (it would hold every pair "
                                  "seen in memory): deduplicate the files beforehand")

    def split_format(self, path: str) -> Literal["aligned", "table", "tsv"]:
        """How a ``files`` split at ``path`` is read: ``format``, with ``auto`` resolved by the suffix."""
        if self.format != "auto":
            return self.format
        suffixes = [s for s in Path(path).suffixes if s != ".gz"]
        return "table" if suffixes and suffixes[-1] in TABLE_SUFFIXES else "aligned"
