"""Which sentence pairs a run trains, validates and tests on (``data.*`` keys)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from nmt.config.base import ConfigError, validate_literals
from nmt.config.cleaning import CleaningConfig
from nmt.data.datasets import list_datasets, parse_pair
from nmt.data.registry import get_dataset

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
        validate_literals(self)
        for name in ("max_train_pairs", "max_valid_pairs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name}={value!r} must be a positive integer or null")
        if self.dataset == FILES:
            if self.pair is None:
                raise ConfigError("dataset 'files' needs pair: 'source-target' language codes (e.g. de-en)")
            langs = self.pair.split("-")
            if len(langs) != 2 or not all(langs) or langs[0] == langs[1]:
                raise ConfigError(f"pair={self.pair!r} must be 'source-target', two different language codes")
            if not self.train:
                raise ConfigError("dataset 'files' needs train: a path")
            if self.format == "tsv":
                for name in ("source_column", "target_column"):
                    value = getattr(self, name)
                    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                        raise ConfigError(f"{name}={value!r} must be a column index (0, 1, ...) for format 'tsv'")
            return
        if self.dataset not in list_datasets():
            raise ConfigError(f"dataset={self.dataset!r} is not one of {', '.join(list_datasets())}, {FILES}")
        parse_pair(self.dataset, self.pair)  # DatasetError (a ValueError) names the valid languages
        splits = get_dataset(self.dataset).splits
        for name in ("train", "valid", "test"):
            split = getattr(self, name)
            if split is not None and split not in splits:
                raise ConfigError(f"{name}={split!r}: dataset {self.dataset!r} has splits {', '.join(splits)}")

    @property
    def languages(self) -> tuple[str, str]:
        """``(source, target)`` language codes."""
        if self.dataset == FILES:
            src, tgt = self.pair.split("-")
            return src, tgt
        return parse_pair(self.dataset, self.pair)

    @property
    def pair_name(self) -> str:
        """``"de-en"``."""
        return "-".join(self.languages)
