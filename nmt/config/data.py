"""Which sentence pairs a run trains, validates and tests on (``data.*`` keys).

:class:`DataConfig` checks what needs no dataset registry (types, positive counts, the
``files`` pair and columns). Whether a registered dataset exists and has the pair and
splits asked for is checked by :func:`nmt.data.datasets.check_data_config` when a run
opens or its data is read; :func:`nmt.data.datasets.languages` resolves the default pair.
"""

from __future__ import annotations

import dataclasses
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

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("max_train_pairs", "max_valid_pairs"):
            check_positive_int(name, getattr(self, name), optional=True)
        if self.dataset != FILES:
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
