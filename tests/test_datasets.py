"""Tests for nmt.data.registry and nmt.data.datasets on the real corpora (fixture ``data_dir``)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import itertools
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nmt.data import registry
from nmt.data.datasets import (
    dataset_info,
    list_datasets,
    load_dataset,
    parse_pair,
    split_indices,
    split_sizes,
)
from nmt.data.readers import CorpusError
from nmt.data.registry import DatasetError, FileInfo

MULTI30K_LANGS = ("en", "de", "fr", "cs")
ANKI_LINES = 118_964

# The anki-spa-eng split computed with NumPy 2.4: first indices and SHA-256 of each
# split's sorted indices as little-endian int64. A change means NumPy's stream changed.
ANKI_SPLIT_FINGERPRINT = {
    "train": ([0, 1, 2, 3, 4], "8978a0d4a014dd93c9b6622bc3cf6818e9ff91b1171b10bc2d8094718cd87a01"),
    "val": ([20, 41, 56, 159, 173], "c0ea9115739cb621edbb67e08b0175ec859b75c304b847e583229fdd22e485d5"),
    "test": ([33, 51, 129, 221, 268], "dda66e41bd9dd70ef17a397a0c37bfa2040f8de1f8cc19231ea45025ca1d4836"),
}


def content(corpus) -> tuple:
    """What a corpus holds, without its name."""
    return corpus.sources, corpus.targets, corpus.src_lang, corpus.tgt_lang


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch, tmp_path):
    """Keeps these tests on local files: no NMT_DATA_DIR, an empty cache, an unreachable mirror."""
    monkeypatch.delenv("NMT_DATA_DIR", raising=False)
    monkeypatch.setenv("NMT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NMT_DATA_MIRROR", "http://127.0.0.1:9/unreachable")


@pytest.fixture(scope="module")
def anki_raw_pairs(data_dir) -> list[tuple[str, str]]:
    """``(english, spanish)`` for every line of spa.txt, read independently of the loader."""
    with zipfile.ZipFile(data_dir / "anki" / "spa-eng.zip") as bundle:
        text = bundle.read("spa-eng/spa.txt").decode("utf-8")
    lines = text.split("\n")
    assert lines[-1] == ""
    return [tuple(line.split("\t")) for line in lines[:-1]]


@pytest.fixture(scope="module")
def anki_splits(data_dir) -> dict[str, object]:
    return {split: load_dataset("anki-spa-eng", "es-en", split, data_dir=data_dir)
            for split in ("train", "val", "test")}


# --- registry ---------------------------------------------------------------------------

def test_registry_is_found_in_the_source_tree():
    path = registry.registry_path()
    assert path == Path(registry.__file__).resolve().parents[2] / "data" / "registry.json"
    assert registry.registry_candidates()[1].parts[-3:] == ("share", "nmt", "registry.json")


def test_registry_files_match_the_shared_corpora(data_dir):
    reg = registry.load_registry()
    assert sorted(reg.files()) == sorted(
        [f"multi30k/{s}.{lang}.gz" for s in ("train", "val", "test_2016_flickr") for lang in MULTI30K_LANGS]
        + ["anki/spa-eng.zip"])
    for relpath in reg.files():
        info = reg.file(relpath)
        data = (data_dir / relpath).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info.sha256, relpath
        assert len(data) == info.size, relpath


def test_registry_urls_are_pinned_upstream():
    info = dataset_info("multi30k")
    for relpath, file in info.files.items():
        name = relpath.split("/")[-1]
        assert file.url == ("https://raw.githubusercontent.com/multi30k/dataset/"
                            "a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/" + name)
    assert dataset_info("anki-spa-eng").files["anki/spa-eng.zip"].url == (
        "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip")


def test_registry_describes_terms_and_citation():
    for name in list_datasets():
        info = dataset_info(name)
        assert info.description and info.citation and info.terms and info.homepage
    assert "non-commercial" in dataset_info("multi30k").terms
    assert "CC-BY 2.0" in dataset_info("anki-spa-eng").terms


def test_registry_values_are_frozen():
    info = dataset_info("multi30k")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "other"
    with pytest.raises(TypeError):
        info.splits["train"] = 1


def test_parse_registry_rejects_unknown_keys_listing_valid_ones():
    values = json.loads(registry.registry_path().read_text(encoding="utf-8"))
    values["datasets"]["multi30k"]["licence"] = "typo"
    with pytest.raises(DatasetError, match=r"unknown keys \['licence'\].*valid keys: citation, default_pair"):
        registry.parse_registry(values)


def test_parse_registry_rejects_an_unknown_layout_and_format_version():
    values = json.loads(registry.registry_path().read_text(encoding="utf-8"))
    values["datasets"]["multi30k"]["layout"]["kind"] = "csv"
    with pytest.raises(DatasetError, match="layout kind 'csv' is not one of aligned, zip-tsv"):
        registry.parse_registry(values)
    with pytest.raises(DatasetError, match="format_version"):
        registry.parse_registry({"format_version": 99, "datasets": {}})


@pytest.mark.parametrize("changes, message", [
    ({"sha256": "ABC"}, "64 lowercase hex"),
    ({"relpath": "../escape.gz"}, "without '..'"),
    ({"relpath": "/abs.gz"}, "must be relative"),
])
def test_file_info_validates(changes, message):
    values = dict(relpath="multi30k/val.en.gz", url="http://x", sha256="0" * 64, size=1) | changes
    with pytest.raises(DatasetError, match=message):
        FileInfo(**values)


def test_unknown_dataset_and_file_list_the_known_ones():
    with pytest.raises(DatasetError, match="unknown dataset 'wmt14'; known datasets: anki-spa-eng, multi30k"):
        load_dataset("wmt14")
    with pytest.raises(DatasetError, match="not in the dataset registry"):
        registry.get_file("multi30k/test_2017_flickr.de.gz")


# --- names, pairs, split sizes -----------------------------------------------------------

def test_list_datasets_and_split_sizes():
    assert list_datasets() == ("anki-spa-eng", "multi30k")
    assert split_sizes("multi30k") == {"train": 29_000, "val": 1_014, "test_2016_flickr": 1_000}
    assert split_sizes("anki-spa-eng") == {"train": 114_964, "val": 2_000, "test": 2_000}
    assert sum(split_sizes("anki-spa-eng").values()) == ANKI_LINES


def test_parse_pair_forms_and_defaults():
    assert parse_pair("multi30k", "fr-cs") == ("fr", "cs")
    assert parse_pair("multi30k", ("en", "de")) == ("en", "de")
    assert parse_pair("multi30k") == ("de", "en")
    assert parse_pair("anki-spa-eng") == ("es", "en")


@pytest.mark.parametrize("pair", ["de-xx", "en-en", "de", "de-en-fr", ("de",), "es-en"])
def test_invalid_pair_lists_the_languages(pair):
    with pytest.raises(DatasetError, match="invalid language pair.*en, de, fr, cs"):
        load_dataset("multi30k", pair, "val")


@pytest.mark.parametrize("name, split, splits", [
    ("multi30k", "test", "train, val, test_2016_flickr"),
    ("anki-spa-eng", "test_2016_flickr", "train, val, test"),
])
def test_invalid_split_lists_the_splits(name, split, splits):
    with pytest.raises(DatasetError, match=f"unknown split '{split}'; splits: {splits}"):
        load_dataset(name, None, split)


# --- multi30k -----------------------------------------------------------------------------

def test_multi30k_de_en_splits(data_dir):
    train = load_dataset("multi30k", "de-en", "train", data_dir=data_dir)
    assert (len(train), train.src_lang, train.tgt_lang) == (29_000, "de", "en")
    assert train.name == "multi30k/de-en/train"
    assert train.sources[0] == "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."
    assert train.targets[0] == "Two young, White males are outside near many bushes."
    for split, size in (("val", 1_014), ("test_2016_flickr", 1_000)):
        assert len(load_dataset("multi30k", "de-en", split, data_dir=data_dir)) == size


@pytest.mark.parametrize("src, tgt", list(itertools.permutations(MULTI30K_LANGS, 2)))
def test_multi30k_every_pair(data_dir, src, tgt):
    corpus = load_dataset("multi30k", f"{src}-{tgt}", "test_2016_flickr", data_dir=data_dir)
    assert (len(corpus), corpus.src_lang, corpus.tgt_lang) == (1_000, src, tgt)
    assert corpus.name == f"multi30k/{src}-{tgt}/test_2016_flickr"
    with gzip.open(data_dir / f"multi30k/test_2016_flickr.{src}.gz", "rt", encoding="utf-8") as handle:
        assert corpus.sources == tuple(handle.read().split("\n")[:-1])
    swapped = load_dataset("multi30k", (tgt, src), "test_2016_flickr", data_dir=data_dir)
    assert content(swapped.reversed()) == content(corpus)


def test_multi30k_wrong_line_count_is_reported(data_dir, tmp_path):
    """Local folders are trusted without hashing, but a wrong version fails the registered size."""
    folder = tmp_path / "local" / "multi30k"
    folder.mkdir(parents=True)
    for lang in ("de", "en"):
        with gzip.open(data_dir / f"multi30k/val.{lang}.gz", "rt", encoding="utf-8") as src, \
                gzip.open(folder / f"val.{lang}.gz", "wt", encoding="utf-8") as out:
            out.writelines(itertools.islice(src, 10))
    with pytest.raises(CorpusError, match="multi30k/de-en/val has 10 sentence pairs, the registry says 1014"):
        load_dataset("multi30k", "de-en", "val", data_dir=tmp_path / "local")


# --- anki-spa-eng --------------------------------------------------------------------------

def test_anki_split_follows_the_documented_rule(anki_raw_pairs, anki_splits):
    n = len(anki_raw_pairs)
    assert n == ANKI_LINES
    perm = np.random.default_rng(0).permutation(n)
    expected = {"test": perm[-2000:], "val": perm[-4000:-2000], "train": perm[:-4000]}
    for split, indices in expected.items():
        corpus = anki_splits[split]
        rows = [anki_raw_pairs[i] for i in sorted(indices)]
        assert corpus.sources == tuple(spanish for _, spanish in rows), split
        assert corpus.targets == tuple(english for english, _ in rows), split
        assert corpus.name == f"anki-spa-eng/es-en/{split}"


def test_anki_splits_are_disjoint_and_cover_the_file():
    splits = split_indices(ANKI_LINES)
    assert {k: len(v) for k, v in splits.items()} == split_sizes("anki-spa-eng")
    joined = np.concatenate(list(splits.values()))
    assert len(np.unique(joined)) == ANKI_LINES == joined.max() + 1
    for indices in splits.values():
        assert np.all(np.diff(indices) > 0)


def test_anki_split_is_pinned():
    for split, indices in split_indices(ANKI_LINES).items():
        first, digest = ANKI_SPLIT_FINGERPRINT[split]
        assert indices[:5].tolist() == first, split
        assert hashlib.sha256(indices.astype("<i8").tobytes()).hexdigest() == digest, split


def test_anki_is_deterministic_and_pair_order_swaps(data_dir, anki_splits):
    again = load_dataset("anki-spa-eng", "es-en", "test", data_dir=data_dir)
    assert again == anki_splits["test"]
    en_es = load_dataset("anki-spa-eng", "en-es", "test", data_dir=data_dir)
    assert content(en_es) == content(anki_splits["test"].reversed())
    default = load_dataset("anki-spa-eng", split="test", data_dir=data_dir)
    assert default == anki_splits["test"]  # the default pair is es-en


def test_split_indices_rejects_too_much_held_out():
    with pytest.raises(ValueError, match="cannot hold out"):
        split_indices(3000)


def _copy_anki_with(tmp_path: Path, data_dir: Path, spa_txt: bytes) -> Path:
    """A data folder whose anki/spa-eng.zip holds ``spa_txt`` (other members unchanged)."""
    folder = tmp_path / "local"
    (folder / "anki").mkdir(parents=True)
    with zipfile.ZipFile(data_dir / "anki/spa-eng.zip") as src, \
            zipfile.ZipFile(folder / "anki/spa-eng.zip", "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            out.writestr(item, spa_txt if item.filename == "spa-eng/spa.txt" else src.read(item))
    return folder


def test_anki_malformed_line_names_archive_member_and_line(data_dir, tmp_path):
    folder = _copy_anki_with(tmp_path, data_dir, b"Go.\tVe.\nHi.\tHola.\nno tab here\n")
    expected = r"spa-eng\.zip:spa-eng/spa\.txt:3: expected at least 2 tab-separated"
    with pytest.raises(CorpusError, match=expected) as caught:
        load_dataset("anki-spa-eng", "es-en", "test", data_dir=folder)
    assert caught.value.line == 3


def test_anki_invalid_utf8_is_reported(data_dir, tmp_path):
    folder = _copy_anki_with(tmp_path, data_dir, b"Go.\tVe.\nHi.\tHol\xff.\n")
    with pytest.raises(CorpusError, match=r"spa\.txt:2: invalid UTF-8"):
        load_dataset("anki-spa-eng", "es-en", "test", data_dir=folder)


def test_anki_not_a_zip_is_reported(tmp_path):
    (tmp_path / "anki").mkdir()
    (tmp_path / "anki/spa-eng.zip").write_bytes(b"not a zip")
    with pytest.raises(CorpusError, match="cannot read the zip archive"):
        load_dataset("anki-spa-eng", "es-en", "test", data_dir=tmp_path)


def test_load_dataset_copes_with_a_copied_data_dir(data_dir, tmp_path):
    """The folder layout is all that matters: a copy of one split loads the same."""
    (tmp_path / "multi30k").mkdir()
    for lang in ("fr", "en"):
        shutil.copy(data_dir / f"multi30k/val.{lang}.gz", tmp_path / "multi30k")
    assert load_dataset("multi30k", "fr-en", "val", data_dir=tmp_path) == \
        load_dataset("multi30k", "fr-en", "val", data_dir=data_dir)
