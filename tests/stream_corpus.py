"""Small corpora written to disk for the streaming tests: real Multi30k pairs as aligned ``.gz`` files."""

from __future__ import annotations

import gzip
from pathlib import Path

from nmt.data import read_aligned


def multi30k_pairs(data_dir: Path, n: int, split: str = "train") -> list[tuple[str, str]]:
    """The first ``n`` de-en pairs of a Multi30k split."""
    corpus = read_aligned(data_dir / "multi30k" / f"{split}.de.gz", data_dir / "multi30k" / f"{split}.en.gz",
                          "de", "en")
    return list(corpus)[:n]


def write_aligned(prefix: Path, pairs, *, gz: bool = True, source_lines=None) -> Path:
    """Writes ``PREFIX.de[.gz]`` and ``PREFIX.en[.gz]``; ``source_lines`` (raw bytes) replaces the source side."""
    suffix = ".gz" if gz else ""
    sides = {"de": source_lines if source_lines is not None else [s.encode() for s, _ in pairs],
             "en": [t.encode() for _, t in pairs]}
    for lang, lines in sides.items():
        data = b"".join(line + b"\n" for line in lines)
        path = Path(f"{prefix}.{lang}{suffix}")
        if gz:
            with gzip.open(path, "wb") as handle:
                handle.write(data)
        else:
            path.write_bytes(data)
    return prefix


# ----------------------------------------------------------------------------- observing training
def install_recorder(path: str | Path, kill_at: int | None = None) -> None:
    """Makes every training step append its batch's source rows (ids, padding removed) to ``path``, one JSON line.

    With ``kill_at``, the process sends itself SIGKILL while step ``kill_at`` (1-based,
    counted in this process) starts, before that step's update: a crash at any moment.
    """
    import json
    import os
    import signal

    import tensorflow as tf

    from nmt.models.seq2seq import Seq2Seq

    original = Seq2Seq.train_statistics
    steps = [0]

    def record(source):
        steps[0] += 1
        if kill_at is not None and steps[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        rows = [[int(i) for i in row if i] for row in source.numpy().tolist()]
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(rows) + "\n")
        return 0

    def recorded(self, batch):
        (source, _), _ = batch
        with tf.control_dependencies([tf.py_function(record, [source], tf.int32)]):
            return original(self, batch)

    Seq2Seq.train_statistics = recorded


def recorded_batches(path: str | Path) -> list[list[list[int]]]:
    """The batches :func:`install_recorder` wrote, in training order."""
    import json

    path = Path(path)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
