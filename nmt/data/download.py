"""Finds a registered data file locally or downloads it, verified by SHA-256.

:func:`fetch` looks for a file (a relative path of the registry, such as
``"multi30k/val.en.gz"``) in this order and returns the first hit:

1. ``data_dir``, when given;
2. ``$NMT_DATA_DIR``, when set;
3. the user cache, :func:`default_cache_dir` (``$NMT_CACHE_DIR``, else
   ``$XDG_CACHE_HOME/nmt``, else ``~/.cache/nmt``), or ``cache_dir`` when given;
4. a download into that cache, from ``{mirror}/{relpath}`` when a mirror base
   URL is given (``mirror=`` or ``$NMT_DATA_MIRROR``), else from the file's
   upstream URL.

Verification policy: folders you manage (``data_dir``, ``NMT_DATA_DIR``) are
trusted as they are, since they are often read-only and hashing 30 MB on every
load costs time (the dataset loaders still check the number of sentence pairs).
Everything that enters the cache is hashed once, while it downloads: it is
written to a temporary file inside the cache folder, its SHA-256 compared with
the registry, and only then moved into place with ``os.replace`` beside a
``<name>.sha256`` marker holding the verified hash. A cached file counts as
present only when its marker matches the registry's hash; a cached file without
a marker (copied in by hand) is hashed once and then gets its marker; a file
whose marker is stale (the registry moved to a new version) or whose hash is
wrong is downloaded again.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from nmt.data import registry
from nmt.data.registry import FileInfo

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike
Progress = Callable[[int, int | None], None]
"""Called as ``progress(bytes_so_far, total_bytes_or_None)`` while a file downloads."""

DEFAULT_TIMEOUT = 60.0
_CHUNK = 1 << 16
_MARKER_SUFFIX = ".sha256"
_HOW_TO_FIX = ("Set NMT_DATA_DIR to a folder that holds {relpath}, or point NMT_DATA_MIRROR "
               "(or mirror=...) at a server that serves it; see data/README.md.")


class DownloadError(OSError):
    """A file could not be downloaded or failed its checksum; ``url`` names the source."""

    def __init__(self, message: str, url: str):
        super().__init__(message)
        self.url = url


def default_cache_dir() -> Path:
    """The user cache: ``$NMT_CACHE_DIR``, else ``$XDG_CACHE_HOME/nmt``, else ``~/.cache/nmt``."""
    if os.environ.get("NMT_CACHE_DIR"):
        return Path(os.environ["NMT_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "nmt"
    return Path.home() / ".cache" / "nmt"


def file_sha256(path: PathLike) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_url(info: FileInfo, mirror: str | None = None) -> str:
    """``{mirror}/{relpath}`` when a mirror (or ``$NMT_DATA_MIRROR``) is set, else the upstream URL."""
    mirror = mirror or os.environ.get("NMT_DATA_MIRROR")
    return f"{mirror.rstrip('/')}/{info.relpath}" if mirror else info.url


def fetch(
    relpath: str,
    *,
    data_dir: PathLike | None = None,
    cache_dir: PathLike | None = None,
    mirror: str | None = None,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """The local path of the registered file ``relpath``, downloading it if needed.

    See the module docstring for the lookup order and the verification policy.

    Args:
        relpath: a file of the registry (``"anki/spa-eng.zip"``).
        data_dir: a folder laid out like the registry's paths, searched first.
        cache_dir: the cache folder; default :func:`default_cache_dir`.
        mirror: base URL serving files at ``{mirror}/{relpath}`` (``http(s)://``
            or ``file://``); default ``$NMT_DATA_MIRROR``, else the upstream URL.
        progress: called with ``(bytes_so_far, total_or_None)`` during a download.
        timeout: seconds to wait for the server to connect or to send data.

    Raises:
        DatasetError: ``relpath`` is not in the registry.
        DownloadError: the download failed (the message names the URL and what to
            do) or the downloaded bytes have the wrong SHA-256 (both hashes are
            given; nothing is left in the cache).
    """
    info = registry.get_file(relpath)
    for folder in (data_dir, os.environ.get("NMT_DATA_DIR") or None):
        if folder is not None:
            path = Path(folder).expanduser() / relpath
            if path.is_file():
                logger.debug("using %s (trusted local folder)", path)
                return path
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path = cache / relpath
    if _cached_and_verified(path, info):
        logger.debug("using %s (cache)", path)
        return path
    return _download(info, source_url(info, mirror), cache, progress, timeout)


def _marker(path: Path) -> Path:
    return path.with_name(path.name + _MARKER_SUFFIX)


def _cached_and_verified(path: Path, info: FileInfo) -> bool:
    """True when ``path`` holds ``info``'s bytes: by its marker, or by hashing it once."""
    if not path.is_file():
        return False
    marker = _marker(path)
    if marker.is_file():
        return marker.read_text(encoding="ascii").strip() == info.sha256
    if file_sha256(path) != info.sha256:
        logger.warning("cached %s has the wrong SHA-256; downloading it again", path)
        return False
    _write_marker(path, info.sha256)
    return True


def _write_marker(path: Path, sha256: str) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(sha256 + "\n")
        os.replace(temp, _marker(path))
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _download(info: FileInfo, url: str, cache: Path, progress: Progress | None, timeout: float) -> Path:
    """Downloads ``url`` into ``cache / info.relpath`` through a verified temporary file."""
    cache.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s (%d bytes) into %s", url, info.size, cache)
    # The temporary file sits in the cache root, so a failure leaves no empty sub-folder behind
    # and os.replace stays on one file system.
    handle, temp_name = tempfile.mkstemp(dir=cache, prefix=f".{Path(info.relpath).name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            digest = _copy_url(url, out, info, progress, timeout)
        if digest != info.sha256:
            raise DownloadError(
                f"checksum mismatch for {url}: expected sha256 {info.sha256}, got {digest} "
                f"({temp.stat().st_size} bytes); the file was discarded. The server may serve "
                "another version of the file, or the transfer was damaged.",
                url,
            )
        target = cache / info.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        _marker(target).unlink(missing_ok=True)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _write_marker(target, digest)
    return target


def _copy_url(url: str, out, info: FileInfo, progress: Progress | None, timeout: float) -> str:
    """Streams ``url`` into the binary file ``out``; returns the hex SHA-256 of the bytes."""
    digest, done = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            while chunk := response.read(_CHUNK):
                done += len(chunk)
                if done > info.size:
                    raise DownloadError(f"{url} sent more than the expected {info.size} bytes "
                                        f"of {info.relpath}; the file was discarded", url)
                digest.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(done, total)
    except DownloadError:
        raise
    except urllib.error.HTTPError as error:
        raise DownloadError(f"cannot download {url}: HTTP {error.code} {error.reason}. "
                            + _HOW_TO_FIX.format(relpath=info.relpath), url) from error
    except (OSError, http.client.HTTPException, ValueError) as error:
        # URLError (refused, unknown host), TimeoutError, a connection reset, a malformed URL.
        reason = getattr(error, "reason", None) or error
        raise DownloadError(f"cannot download {url}: {reason!s} ({type(error).__name__}). "
                            + _HOW_TO_FIX.format(relpath=info.relpath), url) from error
    return digest.hexdigest()
