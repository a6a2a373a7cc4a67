"""Soak test: memory, file descriptors, threads and retracing over long runs; the export under 8 threads (issue 21).

Three phases, on a small model trained for ``--train-seconds`` (default 60) on Multi30k
de→en (SentencePiece 8k per language, GRU ``--units`` 16; the soak looks for leaks and
retracing, not quality, so the model is small and the output length is capped, to keep
200,000 calls within the machine's time):

1. ``nmt translate --model EXPORT`` in a subprocess: ``--lines`` (200,000) real
   Multi30k sentences (val + test_2016_flickr, German, cycled) written into its stdin,
   its stdout read line by line; the output must have as many lines as the input and
   line ``i`` must be the translation of input line ``i`` (each distinct sentence's
   translation is computed once in this process with the loaded export). The parent
   samples the child's ``/proc/<pid>/status`` VmRSS, ``/proc/<pid>/fd`` and
   ``/proc/<pid>/task`` every ``--sample-seconds`` (10).
2. ``Translator.translate`` in this process, ``--calls`` (200,000) calls of random
   batch sizes 1–64 (random start in the same sentence pool); a sampler thread reads
   this process's VmRSS, fds and threads every ``--sample-seconds``; tf.function trace
   counts (``experimental_get_tracing_count()`` of the translate graph and of the
   token-count graph) after warm-up and at the end.
3. The loaded export (``nmt.load_exported``, ``serving_default``) called from
   ``--threads`` (8) threads at once for ``--threads-minutes`` (5): each thread walks
   a fixed list of 64 batches (random sizes 1–64) from its own offset and compares
   every output with the single-threaded output of the same batch.

Warm-up is the first ``--warmup`` (10%) of each phase's work (output lines, calls): the
value "after warm-up" is a sample taken when that much is done; growth is
(max of the later samples − that value) / that value, and must stay within 10%. Open
fds and threads at the end must not exceed their count after warm-up.

    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/soak.py            # the issue's figures
    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/soak.py --quick    # 1-2 minute smoke run

The machine is shared; the load average at the start and end is recorded.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf
from results import markdown_table, write_section
from translate_throughput import TimeBudget

import nmt
from nmt.cli.decoding import CHUNK_LINES
from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.config.pipeline import PipelineConfig
from nmt.data import load_dataset
from nmt.data.pipeline import make_dataset
from nmt.models.seq2seq import Seq2Seq
from nmt.tokenizers import TokenizerConfig, train_tokenizers
from nmt.translate.translator import Translator

MAX_BATCH = 64
LIMIT = 0.10  # allowed RSS growth after warm-up
#: Decoding of the soak model: greedy, output capped at 0.5 * source tokens + 2 (speed, not quality).
DECODE = DecodeConfig(beam_size=1, batch_size=MAX_BATCH, max_length_a=0.5, max_length_b=2)
NMT = Path(sys.executable).with_name("nmt")


# ----------------------------------------------------------------------------- process probes
@dataclass
class Sample:
    seconds: float  # since the phase started
    done: int  # lines or calls finished
    rss_kib: int
    fds: int
    threads: int


def probe(pid: int | str, start: float, done: int) -> Sample | None:
    """VmRSS (KiB), open fds and threads of ``pid`` now; None when it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return Sample(time.perf_counter() - start, done, rss, len(os.listdir(f"/proc/{pid}/fd")),
                      len(os.listdir(f"/proc/{pid}/task")))
    except (OSError, StopIteration):
        return None


@dataclass
class Monitor:
    """Samples ``pid`` every ``interval`` seconds in a thread; ``mark_warm`` takes the reference sample."""

    pid: int | str
    interval: float
    total: int
    warmup: float
    start: float = field(default_factory=time.perf_counter)
    done: int = 0
    samples: list[Sample] = field(default_factory=list)
    warm: Sample | None = None
    final: Sample | None = None
    warm_traces: int | None = None

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.wait(self.interval):
            sample = probe(self.pid, self.start, self.done)
            if sample is not None:
                self.samples.append(sample)

    def advance(self, count: int, traces=None) -> None:
        """``count`` more lines/calls done; at the warm-up mark takes the reference sample (and trace count)."""
        self.done += count
        if self.warm is None and self.done >= self.warmup * self.total:
            self.warm = probe(self.pid, self.start, self.done)
            self.warm_traces = traces() if traces else None

    def stop(self) -> None:
        """Takes the final sample (the process still alive) and stops the sampler."""
        self.final = probe(self.pid, self.start, self.done)
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        after = [s for s in self.samples if self.warm and s.seconds > self.warm.seconds]
        if self.final is not None:
            after.append(self.final)
        last = after[-1] if after else self.warm
        peak = max((s.rss_kib for s in after), default=self.warm.rss_kib)
        growth = (peak - self.warm.rss_kib) / self.warm.rss_kib
        return dict(warm=self.warm, last=last, peak=peak, growth=growth, samples=len(after),
                    rss_ok=growth <= LIMIT, fds_ok=last.fds <= self.warm.fds, threads_ok=last.threads <= self.warm.threads)


def mib(kib: int) -> str:
    return f"{kib / 1024:,.1f} MiB"


# ----------------------------------------------------------------------------- setup
def small_translator(units: int, vocab: int, seconds: float):
    train = load_dataset("multi30k", "de-en", "train")
    src, tgt = train_tokenizers(train, TokenizerConfig(kind="sentencepiece", vocab_size=vocab))
    model = Seq2Seq(ModelConfig(units=units, embedding_dim=units), src.vocab_size, tgt.vocab_size, seed=0)
    model.compile(keras.optimizers.Adam(3e-3), label_smoothing=0.1, clip_norm=5.0)
    data = make_dataset(train, src, tgt, PipelineConfig(batch_size=MAX_BATCH, max_length=64))
    budget = TimeBudget(seconds)
    model.fit(data.repeat(), steps_per_epoch=50, epochs=100_000, callbacks=[budget], verbose=0)
    return Translator(model, src, tgt, DECODE), budget, model.count_params()


def sentence_pool() -> list[str]:
    """German Multi30k val + test_2016_flickr sentences (2,014), in order."""
    return [*load_dataset("multi30k", "de-en", "val").sources, *load_dataset("multi30k", "de-en", "test_2016_flickr").sources]


def export_outputs(function, batches: list[list[str]]) -> list[list[str]]:
    return [[t.decode("utf-8", "replace") for t in
             function(text=tf.constant(b, tf.string, shape=[len(b)]))["translation"].numpy()] for b in batches]


# ----------------------------------------------------------------------------- phases
def phase_cli(export: Path, pool: list[str], reference: dict[str, str], lines: int, args) -> dict:
    """``nmt translate --model EXPORT`` on ``lines`` cycled pool lines through stdin/stdout."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    command = [str(NMT), "translate", "--model", str(export), "--quiet"]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, text=True, encoding="utf-8", bufsize=1 << 16)
    errors: list[str] = []
    stderr_reader = threading.Thread(target=lambda: errors.append(child.stderr.read()), daemon=True)
    stderr_reader.start()

    def feed():
        for i in range(lines):
            child.stdin.write(pool[i % len(pool)] + "\n")
        child.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    monitor = Monitor(child.pid, args.sample_seconds, lines, args.warmup, start=start)
    count = misaligned = 0
    for line in child.stdout:
        if line.rstrip("\n") != reference[pool[count % len(pool)]]:
            misaligned += 1
        count += 1
        monitor.advance(1)
    monitor.stop()
    code = child.wait()
    writer.join()
    stderr_reader.join()
    seconds = time.perf_counter() - start
    if code != 0 or monitor.warm is None:
        raise SystemExit(f"nmt translate failed (exit {code}, {count} lines):\n{''.join(errors)[-3000:]}")
    return dict(monitor.summary(), seconds=seconds, lines=count, expected=lines, misaligned=misaligned,
                code=code, command=" ".join(["nmt", *command[1:]]))


def phase_translator(translator: Translator, pool: list[str], calls: int, args) -> dict:
    """``calls`` Translator.translate calls of random sizes 1-64, sampled from a thread."""
    function = translator.translate_function(DECODE.beam_size, 1, replace_unknown=DECODE.replace_unknown)

    def traces() -> int:
        # The translate graph (public) and the token-count graph (private attribute, read only here).
        return sum(f.experimental_get_tracing_count() for f in [*translator._functions.values(),
                                                                 translator._token_counts])

    rng = random.Random(21)
    start = time.perf_counter()
    monitor = Monitor("self", args.sample_seconds, calls, args.warmup, start=start)
    sentences = 0
    first_traces = None
    for i in range(calls):
        size, offset = rng.randint(1, MAX_BATCH), rng.randrange(len(pool))
        batch = [pool[(offset + j) % len(pool)] for j in range(size)]
        out = translator.translate(batch)
        if len(out) != size:
            raise SystemExit(f"call {i}: {size} inputs, {len(out)} outputs")
        sentences += size
        if i == 0:
            first_traces = traces()
        monitor.advance(1, traces)
        if args.progress and (i + 1) % args.progress == 0:
            print(f"  translator: {i + 1:,}/{calls:,} calls, {time.perf_counter() - start:.0f} s, "
                  f"RSS {mib(monitor.samples[-1].rss_kib) if monitor.samples else '?'}", flush=True)
    end_traces = traces()
    monitor.stop()
    return dict(monitor.summary(), seconds=time.perf_counter() - start, calls=calls, sentences=sentences,
                first_traces=first_traces, warm_traces=monitor.warm_traces, end_traces=end_traces,
                functions=len(translator._functions), function_traces=function.experimental_get_tracing_count())


def phase_threads(export: Path, pool: list[str], threads: int, seconds: float) -> dict:
    """The export's ``serving_default`` from ``threads`` threads for ``seconds``; outputs vs single-threaded."""
    loaded = nmt.load_exported(export)
    function = loaded.signatures["serving_default"]
    rng = random.Random(8)
    batches = []
    for _ in range(64):
        size, offset = rng.randint(1, MAX_BATCH), rng.randrange(len(pool))
        batches.append([pool[(offset + j) % len(pool)] for j in range(size)])
    expected = export_outputs(function, batches)  # also the warm-up
    start = time.perf_counter()
    again = export_outputs(function, batches)
    single_seconds = time.perf_counter() - start
    single_rate = sum(map(len, batches)) / single_seconds
    stable = again == expected
    before = probe("self", 0, 0)

    counts = [[0, 0, 0] for _ in range(threads)]  # calls, sentences, mismatched sentences
    failures: list[str] = []
    deadline = time.perf_counter() + seconds

    def work(k: int):
        i = k * len(batches) // threads
        try:
            while time.perf_counter() < deadline:
                batch = batches[i % len(batches)]
                out = [t.decode("utf-8", "replace") for t in
                       function(text=tf.constant(batch, tf.string, shape=[len(batch)]))["translation"].numpy()]
                counts[k][0] += 1
                counts[k][1] += len(batch)
                counts[k][2] += sum(a != b for a, b in zip(out, expected[i % len(batches)])) + abs(len(out) - len(batch))
                i += 1
        except Exception as error:  # noqa: BLE001 - reported in the table
            failures.append(f"thread {k}: {type(error).__name__}: {error}")

    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    calls, sentences, mismatched = (sum(c[j] for c in counts) for j in range(3))
    return dict(threads=threads, seconds=elapsed, calls=calls, sentences=sentences, mismatched=mismatched,
                rate=sentences / elapsed, single_rate=single_rate, stable=stable, failures=failures,
                per_thread=[c[0] for c in counts], before=before, after=probe("self", 0, 0))


# ----------------------------------------------------------------------------- report
def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200_000, help="lines through `nmt translate` (phase 1)")
    parser.add_argument("--calls", type=int, default=200_000, help="Translator.translate calls (phase 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads calling the export (phase 3)")
    parser.add_argument("--threads-minutes", type=float, default=5.0, help="duration of phase 3")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="RSS/fd/thread sampling interval")
    parser.add_argument("--warmup", type=float, default=0.10, help="fraction of each phase's work that is warm-up")
    parser.add_argument("--train-seconds", type=float, default=60.0)
    parser.add_argument("--units", type=int, default=16, help="GRU units and embedding size")
    parser.add_argument("--vocab", type=int, default=8000, help="SentencePiece vocabulary per language")
    parser.add_argument("--progress", type=int, default=10_000, help="print progress every N calls (0: never)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5,000 lines, 2,000 calls, 8 threads x 0.5 min, 20 s training, 2 s sampling")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.lines, args.calls, args.threads_minutes = 5_000, 2_000, 0.5
        args.train_seconds, args.sample_seconds, args.progress = 20.0, 2.0, 500
    keras.utils.set_random_seed(0)
    load = os.getloadavg()
    began = time.perf_counter()
    wall: dict[str, float] = {}

    print(f"training for {args.train_seconds:.0f} s ...", flush=True)
    start = time.perf_counter()
    translator, budget, parameters = small_translator(args.units, args.vocab, args.train_seconds)
    pool = sentence_pool()
    wall["setup: tokenizers, training"] = time.perf_counter() - start

    with tempfile.TemporaryDirectory(prefix="nmt-soak-") as scratch:
        start = time.perf_counter()
        export = translator.export(Path(scratch) / "export")
        exported = nmt.load_exported(export)
        unique = list(dict.fromkeys(pool))
        chunks = [unique[i:i + MAX_BATCH] for i in range(0, len(unique), MAX_BATCH)]
        reference = dict(zip(unique, (t for out in export_outputs(exported.signatures["serving_default"], chunks)
                                      for t in out)))
        del exported
        wall["setup: export, reference outputs"] = time.perf_counter() - start

        print(f"phase 1: nmt translate, {args.lines:,} lines ...", flush=True)
        cli = phase_cli(export, pool, reference, args.lines, args)
        wall["1. `nmt translate` (export)"] = cli["seconds"]
        print(f"  {cli['lines']:,} lines in {cli['seconds']:.0f} s, RSS growth {cli['growth']:.1%}", flush=True)

        print(f"phase 2: Translator.translate, {args.calls:,} calls ...", flush=True)
        py = phase_translator(translator, pool, args.calls, args)
        wall["2. `Translator.translate`"] = py["seconds"]
        print(f"  {py['calls']:,} calls in {py['seconds']:.0f} s, RSS growth {py['growth']:.1%}, "
              f"traces {py['warm_traces']} -> {py['end_traces']}", flush=True)

        print(f"phase 3: {args.threads} threads x {args.threads_minutes} min ...", flush=True)
        th = phase_threads(export, pool, args.threads, args.threads_minutes * 60)
        wall["3. export from threads"] = th["seconds"]
        print(f"  {th['sentences']:,} sentences, {th['rate']:,.0f}/s, {th['mismatched']} mismatched", flush=True)
    end = os.getloadavg()
    total = time.perf_counter() - began

    rows = []
    for name, phase, unit in (("`nmt translate` (subprocess, export)", cli, "lines"),
                              ("`Translator.translate` (in process)", py, "calls")):
        warm, last = phase["warm"], phase["last"]
        rows += [
            [name, f"RSS ≤ +10% after warm-up ({phase['samples']} samples after it)",
             f"{mib(warm.rss_kib)} at {warm.done:,} {unit} → max {mib(phase['peak'])}, end {mib(last.rss_kib)} "
             f"({phase['growth']:+.1%})", verdict(phase["rss_ok"])],
            [name, "open fds: no growth", f"{warm.fds} → {last.fds}", verdict(phase["fds_ok"])],
            [name, "threads: no growth", f"{warm.threads} → {last.threads}", verdict(phase["threads_ok"])],
        ]
    cli_ok = cli["lines"] == cli["expected"] and cli["misaligned"] == 0
    rows.insert(3, ["`nmt translate` (subprocess, export)", "output: one line per input line, aligned",
                    f"{cli['lines']:,} of {cli['expected']:,} lines; {cli['misaligned']:,} differ from the "
                    f"sentence's single-call translation", verdict(cli_ok)])
    trace_ok = py["warm_traces"] == py["end_traces"]
    rows.append(["`Translator.translate` (in process)", "no retracing after warm-up (tf.function trace counts)",
                 f"{py['first_traces']} after the first call, {py['warm_traces']} after warm-up, "
                 f"{py['end_traces']} at the end ({py['functions']} translate graph(s); that graph traced "
                 f"{py['function_traces']}×)", verdict(trace_ok)])
    thread_ok = th["mismatched"] == 0 and not th["failures"] and th["stable"]
    rows.append([f"export `serving_default`, {th['threads']} threads", "outputs equal the single-threaded ones",
                 f"{th['sentences']:,} sentences in {th['calls']:,} calls, {th['mismatched']} differ"
                 + (f"; errors: {'; '.join(th['failures'][:3])}" if th["failures"] else ""), verdict(thread_ok)])
    rows.append([f"export `serving_default`, {th['threads']} threads", "throughput (reported)",
                 f"{th['rate']:,.0f} sentences/s total ({th['single_rate']:,.0f}/s single-threaded, same batches); "
                 f"calls per thread {min(th['per_thread']):,}–{max(th['per_thread']):,}; process threads "
                 f"{th['before'].threads} before, {th['after'].threads} after", "—"])
    table = markdown_table(["phase", "criterion", "measured", "result"], rows)
    wall_table = markdown_table(["phase", "wall time", "work"], [
        [name, minutes(seconds), work] for (name, seconds), work in zip(wall.items(), [
            f"{budget.steps:,} training steps of 64 pairs (final loss {budget.loss:.2f})",
            f"{len(unique):,} distinct sentences",
            f"{cli['lines']:,} lines, {cli['lines'] / cli['seconds']:,.0f} lines/s",
            f"{py['calls']:,} calls, {py['sentences']:,} sentences, {py['calls'] / py['seconds']:,.1f} calls/s",
            f"{th['calls']:,} calls, {th['sentences']:,} sentences"])])
    overall = all([cli["rss_ok"], cli["fds_ok"], cli["threads_ok"], cli_ok, py["rss_ok"], py["fds_ok"],
                   py["threads_ok"], trace_ok, thread_ok])
    body = (
        f"Model: GRU {args.units} (bidirectional encoder), embeddings {args.units}, bilinear attention, SentencePiece "
        f"{translator.source_tokenizer.vocab_size:,}/{translator.target_tokenizer.vocab_size:,}: {parameters:,} "
        f"parameters, trained {args.train_seconds:.0f} s on Multi30k de→en. Decoding: greedy, output capped at "
        f"0.5·s + 2 tokens, batches of ≤ 64 (the soak looks for leaks and retracing, not quality). Inputs: the "
        f"{len(pool):,} German sentences of Multi30k val + test_2016_flickr, cycled. Warm-up: the first "
        f"{args.warmup:.0%} of each phase's lines/calls; RSS (VmRSS), open fds (`/proc/PID/fd`) and threads "
        f"(`/proc/PID/task`) sampled every {args.sample_seconds:g} s, plus once at the warm-up mark and once at "
        f"the end. Phase 1 runs `{cli['command']}` with the lines written into its stdin (512 lines per write; it "
        f"reads and translates {CHUNK_LINES:,} lines at a time); phase 2 makes random-size calls (1–64 sentences, random start "
        f"in the pool); phase 3 loads the export with `nmt.load_exported` and calls `serving_default` from "
        f"{th['threads']} threads for {args.threads_minutes:g} min over a fixed list of 64 batches (sizes 1–64), "
        f"comparing every output with that batch's single-threaded output.\n\n"
        + (f"**Scaled down** from the issue's figures (200,000 lines, 200,000 calls, 8 threads × 5 min): "
           f"{args.lines:,} lines, {args.calls:,} calls, {args.threads} threads × {args.threads_minutes:g} min.\n\n"
           if (args.lines, args.calls, args.threads, args.threads_minutes) != (200_000, 200_000, 8, 5.0) else "")
        + f"**Overall: {'pass' if overall else 'FAIL'}.** Total {minutes(total)}; load average (1 min) "
        f"{load[0]:.1f} at the start, {end[0]:.1f} at the end (2 cores, shared).\n\n{table}\n\n{wall_table}\n"
    )
    if args.no_write:
        print(body)
    else:
        write_section("soak", "Soak: memory, descriptors, threads, retracing; the export under threads", body)


if __name__ == "__main__":
    main()
