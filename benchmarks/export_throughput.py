"""Exported SavedModel throughput against the in-Python Translator, and the export's size (issue 5).

On Multi30k de→en test_2016_flickr (1,000 sentences) this script

1. trains SentencePiece (8k per language) and the reference model (``ModelConfig()``:
   bidirectional GRU 256, GRU 256, bilinear attention) for a bounded time
   (``--train-seconds``, default 300: a short training, so translations are poor, but
   they differ from sentence to sentence and have realistic lengths);
2. exports the Translator (``DecodeConfig(beam_size=5, batch_size=64)``), records
   the export time and its size on disk, and loads it with ``nmt.load_exported``;
3. times, in the same process, strings in / strings out over the whole test set in
   batches of 64 (every path warmed up first, then ``--repeats`` rounds that run each
   path once in turn, so load changes on the shared machine hit all paths alike; the
   best round counts):
   - ``Translator.translate`` (sorts by length into batches of 64), greedy and beam 5;
   - the export: ``translate_nbest`` with ``beam_size=1`` (greedy), ``serving_default``
     (beam 5, fixed at export) and ``translate_nbest`` with ``beam_size=5`` (the
     dynamic-beam graph), each with the Translator's own length-sorted batches and
     with batches of 64 in input order (what a server receives);
   and checks that every exported path returns exactly the Translator's strings.

    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/export_throughput.py

The machine is shared; the load average at the start and end is recorded.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf
from results import markdown_table, write_section
from translate_throughput import BATCH, BEAM, train_reference

import nmt
from nmt.data import load_dataset


def directory_size(path: Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def megabytes(size: int) -> str:
    return f"{size / 2**20:.2f} MB"


def best_times(runs: list, repeats: int) -> list[tuple[float, list[str]]]:
    """Warms every ``run()`` up, then times them in turn ``repeats`` times: (fastest time, output) each."""
    outputs = [run() for run in runs]
    best = [float("inf")] * len(runs)
    for _ in range(repeats):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            outputs[i] = run()
            best[i] = min(best[i], time.perf_counter() - start)
    return list(zip(best, outputs))


def batches(texts: list[str], order: list[int]) -> list[list[int]]:
    return [order[start:start + BATCH] for start in range(0, len(order), BATCH)]


def exported_runner(function, texts: list[str], groups: list[list[int]], **scalars):
    """Calls a loaded signature batch by batch; returns the translations in input order."""
    constants = {name: tf.constant(value, tf.int32) for name, value in scalars.items()}

    def run() -> list[str]:
        result = [""] * len(texts)
        for rows in groups:
            out = function(text=tf.constant([texts[i] for i in rows]), **constants)
            column = out["translation"] if "translation" in out else out["translations"][:, 0]
            for i, text in zip(rows, column.numpy()):
                result[i] = text.decode("utf-8")
        return result

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-seconds", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)  # before any SentencePiece tokenizer exists (see translate_throughput.py)
    load = os.getloadavg()
    train = load_dataset("multi30k", "de-en", "train")
    test = load_dataset("multi30k", "de-en", "test_2016_flickr")
    texts = list(test.sources)
    print(f"training for {args.train_seconds:.0f} s ...", flush=True)
    translator, budget, train_seconds = train_reference(train, args.train_seconds)

    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        path = translator.export(Path(scratch) / "export")
        export_seconds = time.perf_counter() - start
        saved = translator.save(Path(scratch) / "translator")
        sizes = {
            "saved_model.pb (graphs)": (path / "saved_model.pb").stat().st_size,
            "variables/ (weights)": directory_size(path / "variables"),
            "assets/ (tokenizer files, metadata)": directory_size(path / "assets"),
            "export total": directory_size(path),
            "for comparison: `Translator.save` directory": directory_size(saved),
        }
        start = time.perf_counter()
        exported = nmt.load_exported(path)
        load_seconds = time.perf_counter() - start

        lengths = [len(ids) for ids in translator.source_tokenizer.tokenize(texts).to_list()]
        by_length = batches(texts, sorted(range(len(texts)), key=lambda i: lengths[i]))
        in_order = batches(texts, list(range(len(texts))))
        serve, nbest = exported.signatures["serving_default"], exported.signatures["translate_nbest"]
        greedy = dict(beam_size=1, num_hypotheses=1, max_length=-1)
        beam = dict(beam_size=BEAM, num_hypotheses=1, max_length=-1)
        paths = [
            ("greedy", "in-Python `Translator.translate(beam_size=1)`", "sorted",
             lambda: translator.translate(texts, beam_size=1)),
            ("greedy", "export `translate_nbest` (beam_size=1)", "sorted", exported_runner(nbest, texts, by_length, **greedy)),
            ("greedy", "export `translate_nbest` (beam_size=1)", "input order", exported_runner(nbest, texts, in_order, **greedy)),
            ("beam 5", "in-Python `Translator.translate` (beam 5)", "sorted", lambda: translator.translate(texts)),
            ("beam 5", "export `serving_default` (beam 5 fixed)", "sorted", exported_runner(serve, texts, by_length)),
            ("beam 5", "export `serving_default` (beam 5 fixed)", "input order", exported_runner(serve, texts, in_order)),
            ("beam 5", "export `translate_nbest` (beam_size=5)", "sorted", exported_runner(nbest, texts, by_length, **beam)),
        ]
        print(f"timing {len(paths)} paths x {args.repeats} rounds ...", flush=True)
        timings = [(search, label, order, seconds, output) for (search, label, order, _), (seconds, output)
                   in zip(paths, best_times([run for *_, run in paths], args.repeats))]
    end = os.getloadavg()

    reference = {search: output for search, label, _, _, output in timings if label.startswith("in-Python")}
    python_rate = {search: len(texts) / seconds for search, label, _, seconds, _ in timings
                   if label.startswith("in-Python")}
    rows = []
    for search, label, order, seconds, output in timings:
        rate = len(texts) / seconds
        same = "—" if label.startswith("in-Python") else ("yes" if output == reference[search] else "NO")
        rows.append([search, label, "by length (the Translator's)" if order == "sorted" else "input order",
                     f"{seconds:.2f}", f"{rate:,.0f}", f"{rate / python_rate[search]:.2f}×", same])
    table = markdown_table(
        ["search", "path", "batches of 64", "seconds", "sentences/s", "vs in-Python", "same strings"], rows)
    size_table = markdown_table(["what", "size"], [[name, megabytes(size)] for name, size in sizes.items()])
    distinct = len(set(reference["beam 5"]))
    mean_length = sum(len(t.split()) for t in reference["beam 5"]) / len(texts)
    body = (
        f"Multi30k de→en test_2016_flickr ({len(texts):,} sentences). Model: `ModelConfig()` (bidirectional "
        f"GRU 256, GRU 256, bilinear attention), SentencePiece {translator.source_tokenizer.vocab_size:,}/"
        f"{translator.target_tokenizer.vocab_size:,}; **short training**: {budget.steps:,} steps of 64 pairs in "
        f"{train_seconds:.0f} s (final loss {budget.loss:.2f}), so translations are poor ({distinct:,} distinct "
        f"beam-5 translations of {len(texts):,}; mean length {mean_length:.1f} words). Decoding: length limit "
        f"1.5·s + 10, beam 5 with length penalty 0.6.\n\n"
        f"Strings in, strings out, in one process: the exported rows call the loaded SavedModel "
        f"(`nmt.load_exported`) batch by batch from Python; times are the best of {args.repeats} rounds "
        f"(each round runs every path once, after a warm-up pass of each). Export took {export_seconds:.1f} s (tracing three signatures and writing), "
        f"loading {load_seconds:.1f} s. Load average (1 min) {load[0]:.1f} at the start, {end[0]:.1f} at the "
        f"end (the machine is shared).\n\n{table}\n\nSize on disk:\n\n{size_table}\n"
    )
    write_section("export_throughput", "SavedModel export: throughput and size", body)


if __name__ == "__main__":
    main()
