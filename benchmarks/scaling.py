"""Data-parallel scaling of the Multi30k recipe model: measured on this machine, projected on paper.

Measured (same run, same machine, same global batch of 64 pairs, the recipe model of
configs/multi30k_de_en.yaml, no validation):

- ``1 process x 2 threads``: ``train.distribute: none``, TensorFlow with 2 intra-op threads;
- ``2 workers x 1 thread``: ``train.distribute: multi_worker``, two ``nmt`` worker processes
  on 127.0.0.1 (one intra-op thread each, 32 pairs per replica), all-reducing over gRPC.

Each case trains ``--steps`` steps to warm up (tracing) and ``--steps`` timed steps
(``train.steps_per_epoch``, epoch 2 timed); target tokens are the real target tokens of the
timed batches, recounted from the same deterministic input streams. The 2-worker case also
times an all-reduce of the model's gradient (every trainable variable, float32, dense:
``nmt`` densifies embedding gradients to clip by the global norm) over ``--reps`` calls.

On paper: with ``N`` workers each holding a fixed per-worker batch (the global batch grows
with N), a step takes ``compute + all-reduce``. ``compute`` is the measured step time of one
process; a ring all-reduce of ``B`` bytes over links of bandwidth ``W`` takes
``2 (N - 1) / N * B / W + 2 (N - 1) * latency`` (50 µs per hop assumed), times the number of
gradient all-reduces per step (2 with ``train.clip_norm``: one to clip by the norm of the
summed gradient, one inside Keras's optimizer). No overlap of communication with the
backward pass is assumed (the loop all-reduces after it), so the projection is a lower
bound for the efficiency ``compute / (compute + communication)``.

    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/scaling.py [--steps 30] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import markdown_table, write_section  # noqa: E402

LATENCY_SECONDS = 50e-6
BANDWIDTHS_GBIT = (10, 25, 100)
WORKERS = (8, 64)

CASE = r"""
import json, sys, time
mode, run_dir, steps, reps, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
import keras, numpy as np, tensorflow as tf
from nmt import runs
from nmt.config.run import load_run_config
from nmt.runs.train import build_model, make_datasets, worker_batches

config = load_run_config("multi30k_de_en", [f"train.distribute={mode}", *json.loads(sys.argv[6])])
run = runs.open_run(config, run_dir, log=None)

class Clock(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start

clock = Clock()
runs.train_run(run, verbose=0, callbacks=[clock], log=None)
if run.cluster is not None:
    index = run.cluster.tasks.index(next(t for t in run.cluster.tasks if t[:2] == run.cluster.task))
    stream = worker_batches(run)(tf.distribute.InputContext(run.cluster.size, index, run.cluster.size))
else:
    stream = make_datasets(run)[0]
counts = stream.repeat().skip(steps).take(steps).map(lambda x, y: tf.reduce_sum(tf.cast(y != 0, tf.int64)))
tokens = int(counts.reduce(tf.constant(0, tf.int64), lambda a, b: a + b))
result = {"seconds": clock.seconds, "steps": steps, "tokens": tokens,
          "gpus": len(tf.config.list_physical_devices("GPU"))}
if result["gpus"]:  # which kernel Keras picks for the recurrent layers on this device
    model = build_model(config, run.source_tokenizer.vocab_size, run.target_tokenizer.vocab_size)
    ids = tf.TensorSpec([None, None], tf.int32)
    graph = tf.function(lambda s, t: model((s, t), training=True)).get_concrete_function(ids, ids).graph
    kinds = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:
        kinds |= {node.op for node in function.node_def}
    result["cudnn"] = sorted(kind for kind in kinds if kind.startswith("CudnnRNN"))
if run.cluster is not None:
    strategy = run.strategy
    with strategy.scope():
        model = build_model(config, run.source_tokenizer.vocab_size, run.target_tokenizer.vocab_size)
    grads = [tf.ones(v.shape, tf.float32) for v in model.trainable_variables]

    @tf.function
    def all_reduce():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_reduce("SUM", grads))

    for _ in range(3):
        all_reduce()
    start = time.perf_counter()
    for _ in range(reps):
        all_reduce()
    result.update(all_reduce_seconds=(time.perf_counter() - start) / reps,
                  gradient_bytes=4 * sum(int(np.prod(v.shape)) for v in model.trainable_variables))
json.dump(result, open(out, "w"))
"""


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


def overrides(steps: int) -> list[str]:
    """The recipe as every case trains it (``train.distribute`` aside)."""
    return [f"train.steps_per_epoch={steps}", "train.epochs=2", "train.max_minutes=null", "train.tensorboard=false",
            "data.valid=null"]


def prepare(base: Path, settings: list[str]) -> None:
    """Trains the recipe's tokenizers once into ``base`` (every case starts from a copy)."""
    script = ("import sys, json\nfrom nmt.config.run import load_run_config\nfrom nmt import runs\n"
              "runs.open_run(load_run_config('multi30k_de_en', json.loads(sys.argv[2])), sys.argv[1], log=None)")
    subprocess.run([sys.executable, "-c", script, str(base), json.dumps(settings)], check=True,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def run_case(name: str, base: Path, work: Path, steps: int, reps: int,
             settings: list[str] | None = None) -> list[dict]:
    """Trains one case from a copy of ``base``: ``single`` (one process) or ``workers`` (two local workers)."""
    run_dir = work / name
    shutil.copytree(base, run_dir)
    settings = settings or overrides(steps)
    if not name.startswith("workers"):
        commands = [("none", dict(TF_NUM_INTRAOP_THREADS="2", TF_NUM_INTEROP_THREADS="2"))]
    else:
        ports = free_ports(2)
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        commands = [("multi_worker", dict(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
                                          TF_CONFIG=json.dumps({"cluster": cluster,
                                                                "task": {"type": "worker", "index": i}})))
                    for i in range(2)]
    processes, outputs = [], []
    for i, (mode, environ) in enumerate(commands):
        out = work / f"{name}-{i}.json"
        outputs.append(out)
        processes.append(subprocess.Popen(
            [sys.executable, "-c", CASE, mode, str(run_dir), str(steps), str(reps), str(out),
             json.dumps(settings)],
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", NMT_CLUSTER_TIMEOUT="120", **environ),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for process in processes:
        _, err = process.communicate(timeout=1800)
        if process.returncode:
            raise SystemExit(f"case {name} failed:\n{err[-3000:]}")
    return [json.loads(path.read_text()) for path in outputs]


def all_reduce_seconds(workers: int, gradient_bytes: int, gbit: float) -> float:
    """One ring all-reduce of ``gradient_bytes`` among ``workers`` on ``gbit`` Gbit/s links."""
    bandwidth = gbit * 1e9 / 8
    return 2 * (workers - 1) / workers * gradient_bytes / bandwidth + 2 * (workers - 1) * LATENCY_SECONDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="warm-up steps, then as many timed steps")
    parser.add_argument("--reps", type=int, default=20, help="timed all-reduce calls")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nmt-scaling-") as scratch:
        work = Path(scratch)
        prepare(work / "base", overrides(args.steps))
        start = time.time()
        single = run_case("single", work / "base", work, args.steps, args.reps)[0]
        workers = run_case("workers", work / "base", work, args.steps, args.reps)
        single_again = run_case("single-again", work / "base", work, args.steps, args.reps)[0]  # A B A: drift
        wall = time.time() - start

    rows, rates = [], {}
    for label, results in (("1 process x 2 threads", [single]), ("2 workers x 1 thread", workers),
                           ("1 process x 2 threads (again)", [single_again])):
        seconds = max(r["seconds"] for r in results)
        tokens = sum(r["tokens"] for r in results)
        rates[label] = (args.steps / seconds, tokens / seconds)
        rows.append([label, f"{seconds / args.steps * 1000:.0f}", f"{args.steps / seconds:.2f}",
                     f"{tokens / seconds:,.0f}"])
    base_rate = (rates["1 process x 2 threads"][1] + rates["1 process x 2 threads (again)"][1]) / 2
    ratio = rates["2 workers x 1 thread"][1] / base_rate
    reduce_ms = 1000 * max(r["all_reduce_seconds"] for r in workers)
    gradient_bytes = workers[0]["gradient_bytes"]
    measured = markdown_table(["case (global batch 64)", "ms/step", "steps/s", "target tokens/s"], rows)

    step = 1 / ((rates["1 process x 2 threads"][0] + rates["1 process x 2 threads (again)"][0]) / 2)
    paper_rows = []
    for n in WORKERS:
        cells = [f"{n}"]
        for gbit in BANDWIDTHS_GBIT:
            communication = 2 * all_reduce_seconds(n, gradient_bytes, gbit)
            cells.append(f"{step / (step + communication):.0%} ({1000 * communication:.0f} ms)")
        paper_rows.append(cells)
    paper = markdown_table(["workers", *[f"{g} Gbit/s" for g in BANDWIDTHS_GBIT]], paper_rows)
    body = f"""
Measured on this machine in one run (the order 1 process, 2 workers, 1 process again; {wall:.0f} s in all):

{measured}

- 2 workers x 1 thread against 1 process x 2 threads: **x{ratio:.2f}** target tokens/s (mean of the two
  single-process runs as the base). Both cases use the same two cores; the workers add one gRPC all-reduce
  of the gradient (two, with clipping) per step and lose the intra-op parallelism inside one step.
- All-reduce of the gradient between the two local workers ({gradient_bytes / 2**20:.1f} MiB, float32,
  dense): **{reduce_ms:.1f} ms** per call (mean of {args.reps}).

On paper: efficiency `compute / (compute + communication)` of N workers, each with the measured
single-process step time ({step * 1000:.0f} ms at 64 pairs per worker on this CPU) and 2 ring
all-reduces of {gradient_bytes / 2**20:.1f} MiB per step (communication time in brackets; 50 µs
per hop; no overlap):

{paper}

A GPU takes the step in a small fraction of this CPU's time, so there the same gradient makes
communication dominate: a faster step needs a larger per-worker batch or faster links to scale.
"""
    if args.no_write:
        print(body)
    else:
        write_section("scaling", "scaling: 1 process vs 2 workers on this machine, and on paper", body)


if __name__ == "__main__":
    main()
