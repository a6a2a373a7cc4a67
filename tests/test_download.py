"""Tests for nmt.data.download: the lookup order and downloads from a local HTTP server."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from nmt.data import registry
from nmt.data.datasets import load_dataset
from nmt.data.download import DownloadError, default_cache_dir, fetch, file_sha256
from nmt.data.registry import DatasetError

SMALL = "multi30k/val.en.gz"  # 21,650 bytes: the file most tests move around


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def server(data_dir):
    """A ThreadingHTTPServer on 127.0.0.1 serving the shared data folder; ``.url``, ``.requests``."""
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(data_dir)))
    httpd.requests = []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path, request):
    """No NMT_DATA_DIR or mirror from the environment; the cache is tmp_path/cache."""
    monkeypatch.delenv("NMT_DATA_DIR", raising=False)
    monkeypatch.delenv("NMT_DATA_MIRROR", raising=False)
    monkeypatch.setenv("NMT_CACHE_DIR", str(tmp_path / "cache"))
    if "server" in request.fixturenames:
        request.getfixturevalue("server").requests.clear()


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def patch_file(monkeypatch, relpath: str, **changes) -> None:
    """Replaces the registry with one where ``relpath``'s FileInfo has ``changes``."""
    original = registry.load_registry()
    datasets = {
        name: dataclasses.replace(info, files={
            path: dataclasses.replace(file, **changes) if path == relpath else file
            for path, file in info.files.items()})
        for name, info in original.datasets.items()
    }
    patched = registry.Registry(datasets, original.source)
    monkeypatch.setattr(registry, "load_registry", lambda path=None: patched)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- cache folder ---------------------------------------------------------------------------

def test_default_cache_dir(monkeypatch, tmp_path):
    assert default_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("NMT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "nmt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "nmt"


# --- lookup order ---------------------------------------------------------------------------

def test_lookup_order(monkeypatch, tmp_path, data_dir, server, cache):
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    for folder in (explicit, env, cache):
        (folder / "multi30k").mkdir(parents=True)
        shutil.copy(data_dir / SMALL, folder / SMALL)
    monkeypatch.setenv("NMT_DATA_DIR", str(env))
    monkeypatch.setenv("NMT_DATA_MIRROR", server.url)

    assert fetch(SMALL, data_dir=explicit) == explicit / SMALL
    assert fetch(SMALL) == env / SMALL
    assert fetch(SMALL, data_dir=tmp_path / "empty") == env / SMALL  # a folder without the file is skipped
    monkeypatch.delenv("NMT_DATA_DIR")
    assert fetch(SMALL) == cache / SMALL
    assert server.requests == []
    (cache / SMALL).unlink()
    assert fetch(SMALL) == cache / SMALL
    assert server.requests == ["/" + SMALL]


def test_explicit_cache_dir_beats_the_environment(server, tmp_path, cache):
    elsewhere = tmp_path / "elsewhere"
    assert fetch(SMALL, cache_dir=elsewhere, mirror=server.url) == elsewhere / SMALL
    assert files_under(cache) == []


def test_local_folders_are_trusted_without_hashing(tmp_path):
    (tmp_path / "multi30k").mkdir()
    (tmp_path / SMALL).write_bytes(b"not the registered bytes")
    assert fetch(SMALL, data_dir=tmp_path) == tmp_path / SMALL


# --- downloads ------------------------------------------------------------------------------

def test_download_lands_verified_in_the_cache(server, cache, data_dir):
    seen = []
    path = fetch(SMALL, mirror=server.url + "/", progress=lambda done, total: seen.append((done, total)))
    assert path == cache / SMALL
    expected = registry.get_file(SMALL)
    assert file_sha256(path) == expected.sha256 == file_sha256(data_dir / SMALL)
    assert seen[-1] == (expected.size, expected.size)
    assert (cache / (SMALL + ".sha256")).read_text().strip() == expected.sha256
    assert files_under(cache) == ["multi30k", SMALL, SMALL + ".sha256"]
    assert fetch(SMALL, mirror=server.url) == path
    assert server.requests == ["/" + SMALL]  # the second fetch used the cache


def test_download_from_the_registry_url(monkeypatch, server, cache):
    patch_file(monkeypatch, SMALL, url=f"{server.url}/{SMALL}")
    assert fetch(SMALL) == cache / SMALL
    assert server.requests == ["/" + SMALL]


def test_mirror_from_the_environment(monkeypatch, server, cache):
    monkeypatch.setenv("NMT_DATA_MIRROR", server.url)
    assert fetch(SMALL) == cache / SMALL
    assert server.requests == ["/" + SMALL]


def test_file_url_mirror(data_dir, cache):
    assert fetch(SMALL, mirror=data_dir.resolve().as_uri()) == cache / SMALL
    assert file_sha256(cache / SMALL) == registry.get_file(SMALL).sha256


def test_load_dataset_downloads_what_it_needs(server, cache, data_dir):
    corpus = load_dataset("multi30k", "fr-cs", "test_2016_flickr", mirror=server.url)
    local = load_dataset("multi30k", "fr-cs", "test_2016_flickr", data_dir=data_dir)
    assert corpus == local and len(corpus) == 1_000
    assert sorted(server.requests) == ["/multi30k/test_2016_flickr.cs.gz", "/multi30k/test_2016_flickr.fr.gz"]


def test_load_anki_through_a_download(server, cache, data_dir):
    corpus = load_dataset("anki-spa-eng", "es-en", "val", mirror=server.url)
    assert corpus == load_dataset("anki-spa-eng", "es-en", "val", data_dir=data_dir)
    assert (cache / "anki/spa-eng.zip").is_file()


def test_wrong_checksum_is_an_error_and_leaves_nothing(monkeypatch, server, cache, data_dir):
    wrong = "0" * 64
    patch_file(monkeypatch, SMALL, sha256=wrong)
    with pytest.raises(DownloadError) as caught:
        fetch(SMALL, mirror=server.url)
    message = str(caught.value)
    actual = hashlib.sha256((data_dir / SMALL).read_bytes())
    assert f"{server.url}/{SMALL}" in message and caught.value.url == f"{server.url}/{SMALL}"
    assert wrong in message and actual.hexdigest() in message
    assert files_under(cache) == []


def test_more_bytes_than_registered_are_refused(monkeypatch, server, cache):
    patch_file(monkeypatch, SMALL, size=1000)
    with pytest.raises(DownloadError, match="more than the expected 1000 bytes"):
        fetch(SMALL, mirror=server.url)
    assert files_under(cache) == []


def test_a_cached_file_without_marker_is_hashed_once(server, cache, data_dir):
    (cache / "multi30k").mkdir(parents=True)
    shutil.copy(data_dir / SMALL, cache / SMALL)
    assert fetch(SMALL, mirror=server.url) == cache / SMALL
    assert (cache / (SMALL + ".sha256")).is_file()
    assert server.requests == []


@pytest.mark.parametrize("marker", [None, "0" * 64])
def test_a_bad_or_stale_cached_file_is_downloaded_again(server, cache, marker):
    (cache / "multi30k").mkdir(parents=True)
    (cache / SMALL).write_bytes(b"damaged")
    if marker:
        (cache / (SMALL + ".sha256")).write_text(marker)
    assert fetch(SMALL, mirror=server.url) == cache / SMALL
    assert file_sha256(cache / SMALL) == registry.get_file(SMALL).sha256
    assert (cache / (SMALL + ".sha256")).read_text().strip() == registry.get_file(SMALL).sha256
    assert server.requests == ["/" + SMALL]


# --- failures -------------------------------------------------------------------------------

def test_server_down_fails_quickly_with_advice(cache):
    url = f"http://127.0.0.1:{closed_port()}"
    start = time.monotonic()
    advice = r"cannot download .*refused.*NMT_DATA_DIR.*NMT_DATA_MIRROR"
    with pytest.raises(DownloadError, match=advice) as caught:
        fetch(SMALL, mirror=url, timeout=2)
    assert time.monotonic() - start < 2
    assert caught.value.url == f"{url}/{SMALL}"
    assert files_under(cache) == []


def test_http_error_names_the_status(server, cache):
    with pytest.raises(DownloadError, match=r"HTTP 404.*NMT_DATA_DIR"):
        fetch(SMALL, mirror=server.url + "/nowhere")
    assert files_under(cache) == []


def test_a_silent_server_times_out(cache):
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        start = time.monotonic()
        with pytest.raises(DownloadError, match="timed out"):
            fetch(SMALL, mirror=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        assert time.monotonic() - start < 3
    assert files_under(cache) == []


def test_unknown_file_is_a_registry_error():
    with pytest.raises(DatasetError, match="not in the dataset registry"):
        fetch("multi30k/train.xx.gz")
