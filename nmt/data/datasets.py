"""Named datasets: ``load_dataset("multi30k", "de-en", "train")`` -> :class:`ParallelCorpus`.

The datasets, their files and checksums are listed in ``data/registry.json``
(read by :mod:`nmt.data.registry`); files are found or downloaded by
:func:`nmt.data.download.fetch`.

``multi30k``: any two of en, de, fr, cs; splits ``train`` (29,000 pairs), ``val``
(1,014) and ``test_2016_flickr`` (1,000); default pair ``de-en``.

``anki-spa-eng``: en and es, default pair ``es-en`` (Spanish source, as in
TensorFlow's tutorial). The zip holds one file of 118,964 pairs, split by
:func:`split_indices`: ``perm = numpy.random.default_rng(0).permutation(n)``, the
last 2,000 indices of ``perm`` are ``test``, the 2,000 before them ``val``, the
rest ``train``. Within a split the pairs keep the file's order (indices sorted
ascending), so ``train`` runs from short to long sentences like the file itself:
shuffle it before training.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from nmt.config.base import ConfigError
from nmt.config.data import FILES, DataConfig
from nmt.data import registry
from nmt.data.corpus import ParallelCorpus
from nmt.data.download import PathLike, fetch
from nmt.data.readers import CorpusError, decode_lines, read_aligned, split_tsv
from nmt.data.registry import AlignedLayout, DatasetError, DatasetInfo, ZipTsvLayout


def list_datasets() -> tuple[str, ...]:
    """Names of the registered datasets, sorted."""
    return tuple(sorted(registry.load_registry().datasets))


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry of ``name`` (description, citation, terms, languages, splits, files)."""
    return registry.get_dataset(name)


def split_sizes(name: str) -> dict[str, int]:
    """Split name -> number of sentence pairs, as registered (no file is read)."""
    return dict(registry.get_dataset(name).splits)


def parse_pair(name: str, pair: str | Sequence[str] | None = None) -> tuple[str, str]:
    """``(source, target)`` language codes of ``pair`` for dataset ``name``.

    Args:
        pair: ``"de-en"`` (source-target), ``("de", "en")``, or None for the
            dataset's default pair.

    Raises:
        DatasetError: not two different languages of the dataset (lists them).
    """
    info = registry.get_dataset(name)
    if pair is None:
        return info.default_pair
    langs = tuple(pair.split("-")) if isinstance(pair, str) else tuple(pair)
    if len(langs) != 2 or langs[0] == langs[1] or not set(langs) <= set(info.languages):
        raise DatasetError(
            f"dataset {name!r}: invalid language pair {pair!r}; give 'source-target' with two "
            f"different languages of {', '.join(info.languages)} (for example "
            f"{'-'.join(info.default_pair)!r})"
        )
    return langs


def check_data_config(data: DataConfig) -> DataConfig:
    """Checks ``data`` against the dataset registry; returns it unchanged.

    The checks :class:`~nmt.config.data.DataConfig` cannot make itself: a registered
    ``dataset``, a ``pair`` of two of its languages, ``train``/``valid``/``test`` among its
    splits (``files`` passes). Run wherever a user's ``data`` section is used: when a
    run opens, when its data is read, when a stored run is read, for ``nmt evaluate``.

    Raises:
        ConfigError: one line ``data: ...`` naming the key and listing the valid values.
    """
    if data.dataset == FILES:
        return data
    names = list_datasets()
    if data.dataset not in names:
        raise ConfigError(f"data: dataset={data.dataset!r} is not one of {', '.join(names)}, {FILES}")
    try:
        parse_pair(data.dataset, data.pair)
    except DatasetError as error:
        raise ConfigError(f"data: {error}") from None
    splits = registry.get_dataset(data.dataset).splits
    for name in ("train", "valid", "test"):
        split = getattr(data, name)
        if split is not None and split not in splits:
            raise ConfigError(f"data: {name}={split!r}: dataset {data.dataset!r} has splits {', '.join(splits)}")
    return data


def languages(data: DataConfig) -> tuple[str, str]:
    """``(source, target)`` language codes of ``data``: its ``pair``, or the dataset's default pair.

    Raises:
        DatasetError: an unknown dataset or pair (:func:`check_data_config` says it in config terms).
    """
    if data.dataset == FILES:
        src, tgt = data.pair.split("-")
        return src, tgt
    return parse_pair(data.dataset, data.pair)


def pair_name(data: DataConfig) -> str:
    """``"de-en"``: the :func:`languages` of ``data`` joined."""
    return "-".join(languages(data))


def split_indices(
    n: int, *, seed: int = 0, val_size: int = 2000, test_size: int = 2000
) -> dict[str, np.ndarray]:
    """The deterministic train/val/test split of ``n`` items (``anki-spa-eng``'s rule).

    ``perm = numpy.random.default_rng(seed).permutation(n)``; ``test`` is
    ``perm[n - test_size:]``, ``val`` the ``val_size`` indices before it and
    ``train`` the rest. Each split's indices are then sorted ascending.

    Returns:
        ``{"train": ..., "val": ..., "test": ...}``, int64 arrays.
    """
    if min(val_size, test_size) < 0 or val_size + test_size > n:
        raise ValueError(f"cannot hold out val_size={val_size} and test_size={test_size} of {n} items")
    perm = np.random.default_rng(seed).permutation(n)
    cut_val, cut_test = n - test_size - val_size, n - test_size
    return {
        "train": np.sort(perm[:cut_val]),
        "val": np.sort(perm[cut_val:cut_test]),
        "test": np.sort(perm[cut_test:]),
    }


def load_dataset(
    name: str,
    pair: str | Sequence[str] | None = None,
    split: str = "train",
    *,
    data_dir: PathLike | None = None,
    cache_dir: PathLike | None = None,
    mirror: str | None = None,
) -> ParallelCorpus:
    """One split of a named dataset as a corpus named ``"{name}/{src}-{tgt}/{split}"``.

    Args:
        name: a registered dataset (:func:`list_datasets`).
        pair: ``"de-en"`` (source-target), a tuple, or None for the default pair.
        split: one of the dataset's splits (:func:`split_sizes`).
        data_dir, cache_dir, mirror: where the files come from, see
            :func:`nmt.data.download.fetch`.

    Raises:
        DatasetError: unknown dataset, pair or split (the message lists the valid ones).
        DownloadError: the files are not local and cannot be downloaded.
        CorpusError: a file is malformed or holds another number of pairs than registered.
    """
    info = registry.get_dataset(name)
    src, tgt = parse_pair(name, pair)
    if split not in info.splits:
        raise DatasetError(f"dataset {name!r}: unknown split {split!r}; splits: {', '.join(info.splits)}")
    corpus_name = f"{name}/{src}-{tgt}/{split}"

    def local(relpath: str) -> Path:
        return fetch(relpath, data_dir=data_dir, cache_dir=cache_dir, mirror=mirror)

    if isinstance(info.layout, AlignedLayout):
        src_path, tgt_path = local(info.layout.path(split, src)), local(info.layout.path(split, tgt))
        corpus = read_aligned(src_path, tgt_path, src, tgt, name=corpus_name)
        where = src_path
    else:
        layout: ZipTsvLayout = info.layout
        where = local(layout.archive)
        pairs = list(_iter_zip_tsv(where, layout.member, layout.columns[src], layout.columns[tgt]))
        indices = split_indices(len(pairs), seed=layout.seed,
                                val_size=info.splits["val"], test_size=info.splits["test"])[split]
        corpus = ParallelCorpus(tuple(pairs[i][0] for i in indices), tuple(pairs[i][1] for i in indices),
                                src, tgt, corpus_name)
    if len(corpus) != info.splits[split]:
        raise CorpusError(f"{corpus_name} has {len(corpus)} sentence pairs, the registry says "
                          f"{info.splits[split]}: not the registered version of the file?", where)
    return corpus


def _iter_zip_tsv(archive: Path, member: str, src_column: int, tgt_column: int) -> Iterator[tuple[str, str]]:
    """Yields ``(source, target)`` from a TSV member of a zip, streamed, not extracted.

    Same rules as :func:`nmt.data.readers.iter_tsv` (only ``\\n`` ends a line, a
    trailing ``\\r`` is dropped, fields split on every tab); errors name
    ``archive:member`` and the 1-based line.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise CorpusError(f"cannot read the zip archive: {error}", archive) from error
    with bundle:
        if member not in bundle.namelist():
            raise CorpusError(f"no member {member!r} in the archive; members: {bundle.namelist()}", archive)
        with bundle.open(member) as raw:
            where = f"{archive}:{member}"
            yield from split_tsv(decode_lines(raw, where), where, src_column, tgt_column)
