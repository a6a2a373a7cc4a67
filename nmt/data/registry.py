"""The dataset registry: named datasets, their files, upstream URLs and checksums.

The registry is one JSON file, ``data/registry.json`` at the repository root,
shipped as package data ``nmt/data/registry.json`` (see :func:`registry_candidates`). This module
turns it into frozen dataclasses and is the one place that resolves a dataset
name or a file's relative path to its description; ``nmt.data.download`` fetches
the files and ``nmt.data.datasets`` reads them.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

REGISTRY_FORMAT_VERSION = 1


class DatasetError(ValueError):
    """An unknown dataset, file, language pair or split; the message lists the valid ones."""


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """One file of a dataset.

    Attributes:
        relpath: path relative to a data folder, with ``/`` separators
            (``"multi30k/train.de.gz"``); the same inside ``NMT_DATA_DIR``, the
            cache and a mirror.
        url: the upstream download URL.
        sha256: hex SHA-256 of the file's bytes (64 lowercase hex digits).
        size: the file's size in bytes.
    """

    relpath: str
    url: str
    sha256: str
    size: int

    def __post_init__(self) -> None:
        parts = self.relpath.split("/")
        if self.relpath.startswith("/") or "\\" in self.relpath or any(p in ("", ".", "..") for p in parts):
            raise DatasetError(
                f"file {self.relpath!r}: relpath must be relative, '/'-separated, without '..'")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise DatasetError(f"file {self.relpath!r}: sha256 must be 64 lowercase hex digits")
        if self.size < 0:
            raise DatasetError(f"file {self.relpath!r}: size must be >= 0")


@dataclasses.dataclass(frozen=True)
class AlignedLayout:
    """One file per split and language, line ``i`` of each a translation of the others.

    Attributes:
        pattern: relative path with ``{split}`` and ``{lang}`` fields
            (``"multi30k/{split}.{lang}.gz"``).
    """

    pattern: str
    kind: Literal["aligned"] = "aligned"

    def path(self, split: str, lang: str) -> str:
        """The relative path of one split in one language."""
        return self.pattern.format(split=split, lang=lang)


@dataclasses.dataclass(frozen=True)
class ZipTsvLayout:
    """All pairs in one tab-separated member of a zip archive; splits are cut by a seeded shuffle.

    The split rule (see ``nmt.data.datasets.split_indices``): with ``n`` pairs,
    ``perm = numpy.random.default_rng(seed).permutation(n)``; the last
    ``splits["test"]`` indices of ``perm`` are ``test``, the ``splits["val"]``
    before them ``val``, the rest ``train``.

    Attributes:
        archive: relative path of the zip file (a registry file).
        member: name of the TSV member inside the archive.
        columns: language code -> 0-based column of the TSV.
        seed: seed of ``numpy.random.default_rng`` for the split.
    """

    archive: str
    member: str
    columns: Mapping[str, int]
    seed: int
    kind: Literal["zip-tsv"] = "zip-tsv"

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))


Layout = AlignedLayout | ZipTsvLayout
_LAYOUTS: dict[str, type[AlignedLayout] | type[ZipTsvLayout]] = {
    "aligned": AlignedLayout,
    "zip-tsv": ZipTsvLayout,
}


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """A named dataset.

    Attributes:
        name: registry name (``"multi30k"``).
        description, homepage, citation, terms: for people; ``terms`` are the terms of use.
        languages: language codes the dataset holds.
        default_pair: ``(source, target)`` used when no pair is given.
        splits: split name -> number of sentence pairs, in the registry's order.
        layout: how the files hold the splits and languages.
        files: relative path -> :class:`FileInfo`, every file the dataset needs.
    """

    name: str
    description: str
    homepage: str
    citation: str
    terms: str
    languages: tuple[str, ...]
    default_pair: tuple[str, str]
    splits: Mapping[str, int]
    layout: Layout
    files: Mapping[str, FileInfo]

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", tuple(self.languages))
        object.__setattr__(self, "default_pair", tuple(self.default_pair))
        object.__setattr__(self, "splits", MappingProxyType(dict(self.splits)))
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        where = f"dataset {self.name!r}"
        if len(self.default_pair) != 2 or not set(self.default_pair) <= set(self.languages):
            raise DatasetError(f"{where}: default_pair {self.default_pair} must be two of {self.languages}")
        needed = self.required_files()
        missing = sorted(set(needed) - set(self.files))
        if missing:
            raise DatasetError(f"{where}: layout needs files missing from 'files': {missing}")
        if isinstance(self.layout, ZipTsvLayout):
            if set(self.splits) != {"train", "val", "test"}:
                raise DatasetError(f"{where}: a zip-tsv dataset has splits train, val, test")
            if set(self.layout.columns) != set(self.languages):
                raise DatasetError(f"{where}: layout columns {sorted(self.layout.columns)} "
                                   f"must match languages {sorted(self.languages)}")

    def required_files(
        self, split: str | None = None, langs: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        """Relative paths of the files holding ``split`` in ``langs`` (default: all)."""
        if isinstance(self.layout, ZipTsvLayout):
            return (self.layout.archive,)
        splits = tuple(self.splits) if split is None else (split,)
        langs = self.languages if langs is None else langs
        return tuple(self.layout.path(s, lang) for s in splits for lang in langs)


@dataclasses.dataclass(frozen=True)
class Registry:
    """Every named dataset; ``source`` is the JSON file it was read from."""

    datasets: Mapping[str, DatasetInfo]
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "datasets", MappingProxyType(dict(self.datasets)))
        owners: dict[str, str] = {}
        for dataset in self.datasets.values():
            for relpath in dataset.files:
                if relpath in owners:
                    raise DatasetError(f"file {relpath!r} is listed by datasets "
                                       f"{owners[relpath]!r} and {dataset.name!r}")
                owners[relpath] = dataset.name

    def dataset(self, name: str) -> DatasetInfo:
        """The dataset called ``name``.

        Raises:
            DatasetError: unknown name (the message lists the known ones).
        """
        try:
            return self.datasets[name]
        except KeyError:
            raise DatasetError(f"unknown dataset {name!r}; known datasets: "
                               f"{', '.join(sorted(self.datasets))}") from None

    def file(self, relpath: str) -> FileInfo:
        """The registry entry for ``relpath`` (``"multi30k/val.en.gz"``).

        Raises:
            DatasetError: no dataset lists that file.
        """
        for dataset in self.datasets.values():
            if relpath in dataset.files:
                return dataset.files[relpath]
        raise DatasetError(f"file {relpath!r} is not in the dataset registry ({self.source}); "
                           f"known files: {', '.join(sorted(self.files()))}")

    def files(self) -> tuple[str, ...]:
        """Relative paths of every registered file."""
        return tuple(relpath for dataset in self.datasets.values() for relpath in dataset.files)


def registry_candidates() -> tuple[Path, ...]:
    """Where ``registry.json`` is looked for, in order (:func:`load_registry` also takes a path).

    First the package data ``nmt/data/registry.json``, found through
    :mod:`importlib.resources`, so wherever the package is installed (a virtual
    environment, ``--user``, ``--target``). In a checkout or an editable install that file
    is a symbolic link to ``data/registry.json`` at the repository root, and the path is
    given resolved, so it names the file people edit. Then, for an install by an older
    wheel, which put it outside the package through ``[options.data_files]``,
    ``<sys.prefix>/share/nmt/registry.json``.
    """
    return (
        Path(resources.files("nmt.data") / "registry.json").resolve(),
        Path(sys.prefix) / "share" / "nmt" / "registry.json",
    )


def registry_path() -> Path:
    """The first existing path of :func:`registry_candidates`.

    Raises:
        FileNotFoundError: none exists (the message lists the paths tried).
    """
    candidates = registry_candidates()
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError("dataset registry not found; tried " + ", ".join(map(str, candidates)))


def parse_registry(values: Mapping[str, Any], source: str = "") -> Registry:
    """Builds a :class:`Registry` from the parsed JSON of ``registry.json``.

    Raises:
        DatasetError: a wrong format version, a missing or unknown key (with the
            dataset and the valid keys) or an invalid value.
    """
    where = source or "registry"
    version = values.get("format_version")
    if version != REGISTRY_FORMAT_VERSION:
        raise DatasetError(f"{where}: format_version {version!r} is not {REGISTRY_FORMAT_VERSION}")
    _check_keys(values, {"format_version", "datasets"}, where)
    datasets = {}
    for name, entry in values["datasets"].items():
        here = f"{where}: dataset {name!r}"
        fields = {f.name for f in dataclasses.fields(DatasetInfo)} - {"name"}
        _check_keys(entry, fields, here)
        layout_values = dict(entry["layout"])
        kind = layout_values.pop("kind", None)
        if kind not in _LAYOUTS:
            raise DatasetError(f"{here}: layout kind {kind!r} is not one of {', '.join(_LAYOUTS)}")
        layout_cls = _LAYOUTS[kind]
        layout_keys = {f.name for f in dataclasses.fields(layout_cls)} - {"kind"}
        _check_keys(layout_values, layout_keys, f"{here}.layout")
        files = {}
        for relpath, file_values in entry["files"].items():
            _check_keys(file_values, {"url", "sha256", "size"}, f"{here}: file {relpath!r}")
            files[relpath] = FileInfo(relpath=relpath, **file_values)
        datasets[name] = DatasetInfo(
            name=name,
            **{key: entry[key] for key in fields - {"layout", "files"}},
            layout=layout_cls(**layout_values),
            files=files,
        )
    return Registry(datasets, source)


def _check_keys(values: Mapping[str, Any], valid: set[str], where: str) -> None:
    if not isinstance(values, Mapping):
        raise DatasetError(f"{where}: expected an object, got {type(values).__name__}")
    unknown, missing = sorted(set(values) - valid), sorted(valid - set(values))
    if unknown or missing:
        raise DatasetError(f"{where}: unknown keys {unknown}, missing keys {missing}; "
                           f"valid keys: {', '.join(sorted(valid))}")


@functools.cache
def _load(path: Path) -> Registry:
    with open(path, encoding="utf-8") as handle:
        return parse_registry(json.load(handle), str(path))


def load_registry(path: str | Path | None = None) -> Registry:
    """Reads (once per path, then cached) the registry at ``path`` or :func:`registry_path`."""
    return _load(Path(path).resolve() if path is not None else registry_path())


def get_dataset(name: str) -> DatasetInfo:
    """The registered dataset ``name``; raises :class:`DatasetError` listing the known ones."""
    return load_registry().dataset(name)


def get_file(relpath: str) -> FileInfo:
    """The registered file ``relpath``; raises :class:`DatasetError` when unknown."""
    return load_registry().file(relpath)
