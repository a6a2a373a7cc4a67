"""Multi-worker training with real worker processes on 127.0.0.1 (``train.distribute=multi_worker``).

Two ``nmt train`` processes, one intra-op thread each, form a
``MultiWorkerMirroredStrategy`` cluster through ``TF_CONFIG`` on free local ports.
Every process is bounded by a timeout and killed at the end of its test. The two runs that
train (about 3 minutes together) are marked ``cluster`` and run by ``make test-cluster``, not
``make test`` (CI's time budget); the worker that never starts (seconds) runs in ``make test``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

NMT = str(Path(sys.executable).parent / "nmt")
#: The run of every test here: 2 epochs of 8 steps, a step checkpoint every 3 steps, no dropout
#: (dropout masks are drawn per replica, so only a dropout-free model can equal one process).
OVERRIDES = ["train.distribute=multi_worker", "train.steps_per_epoch=8", "train.epochs=2",
             "train.checkpoint_every_steps=3", "train.deterministic=true", "model.dropout=0"]
LIMIT = 240  # seconds any worker may take


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


def start_workers(run_dir: Path, ports: list[int], tasks=(0, 1), timeout: float = 60) -> list[subprocess.Popen]:
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index in tasks:
        environ = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1",
                       TF_NUM_INTEROP_THREADS="1", NMT_CLUSTER_TIMEOUT=str(timeout),
                       TMPDIR=str(run_dir.parent / "tmp"),
                       TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        (run_dir.parent / "tmp").mkdir(exist_ok=True)
        command = [NMT, "train", "--config", "smoke", "--run-dir", str(run_dir), "-q"]
        for override in OVERRIDES:
            command += ["--set", override]
        processes.append(subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
    return processes


def finish(processes: list[subprocess.Popen]) -> list[tuple[int, str]]:
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=LIMIT)
            results.append((process.returncode, out + err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def final_weights(run_dir: Path) -> list[np.ndarray]:
    from nmt.runs import load_translator

    return [np.asarray(w) for w in load_translator(run_dir).model.weights]


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory, data_dir) -> Path:
    """An uninterrupted two-worker run (the chief's run directory)."""
    run_dir = tmp_path_factory.mktemp("cluster") / "run"
    results = finish(start_workers(run_dir, free_ports(2)))
    for status, output in results:
        assert status == 0, output[-3000:]
    return run_dir


@pytest.mark.cluster
def test_two_workers_train_like_one_process_with_the_same_global_batches(cluster_run, tmp_path):
    import tensorflow as tf

    from nmt.config.run import load_run_config
    from nmt.runs import load_tokenizers, load_translator, prepare_data
    from nmt.runs.train import Run, build_model, make_datasets, worker_batches
    from nmt.training.loop import set_seed, train

    for name in ("config.yaml", "state.json", "best.keras", "history.csv", "source_tokenizer", "translator"):
        assert (cluster_run / name).exists(), name
    assert not list((cluster_run.parent / "tmp").iterdir())  # the worker's scratch directory is gone
    assert json.loads((cluster_run / "state.json").read_text())["replicas"] == 2
    assert load_translator(cluster_run).translate(["Ein Hund läuft über die Wiese."])[0].strip()

    # One process, one replica: global batch k = worker 0's batch k + worker 1's batch k.
    config = load_run_config(cluster_run / "config.yaml", stored=True)
    source, target = load_tokenizers(cluster_run)
    set_seed(config.train)
    run = Run(tmp_path, config, "new", prepare_data(config.data), source, target)
    shards = [worker_batches(run)(tf.distribute.InputContext(2, index, 2)).repeat() for index in (0, 1)]

    def join(first, second):
        def cat(a, b):
            width = tf.maximum(tf.shape(a)[1], tf.shape(b)[1])
            return tf.concat([tf.pad(t, [[0, 0], [0, width - tf.shape(t)[1]]]) for t in (a, b)], axis=0)

        return (cat(first[0][0], second[0][0]), cat(first[0][1], second[0][1])), cat(first[1], second[1])

    model = build_model(config, source.vocab_size, target.vocab_size)
    single = dataclasses.replace(config.train, distribute="none", tensorboard=False)
    train(model, tf.data.Dataset.zip(*shards).map(join), make_datasets(run)[1], single, tmp_path, verbose=0)
    # Equal up to float32 summation order: two partial sums all-reduced vs one sum over the batch.
    for key in ("loss", "val_loss", "accuracy"):
        np.testing.assert_allclose(_column(tmp_path, key), _column(cluster_run, key), rtol=2e-4, err_msg=key)


def _column(run_dir: Path, key: str) -> list[float]:
    rows = [line.split(",") for line in (run_dir / "history.csv").read_text().splitlines()]
    index = rows[0].index(key)
    return [float(row[index]) for row in rows[1:]]


@pytest.mark.cluster
def test_a_killed_worker_costs_only_the_steps_after_the_last_checkpoint(cluster_run, tmp_path):
    run_dir = tmp_path / "run"
    processes = start_workers(run_dir, free_ports(2))
    try:
        deadline = time.monotonic() + LIMIT
        state = {}
        while time.monotonic() < deadline and all(p.poll() is None for p in processes):
            if (run_dir / "state.json").is_file():
                state = json.loads((run_dir / "state.json").read_text())
                if state["epoch_step"]:  # a step checkpoint inside an epoch
                    break
            time.sleep(0.05)
        assert state.get("epoch_step"), [p.communicate()[1][-2000:] for p in processes]
        processes[1].send_signal(signal.SIGKILL)  # worker 1 dies; the chief cannot go on alone
        processes[0].send_signal(signal.SIGKILL)
    finally:
        finish(processes)
    checkpoint = json.loads((run_dir / "state.json").read_text())
    assert checkpoint["step"] < 16
    results = finish(start_workers(run_dir, free_ports(2)))  # the same command on both, new ports
    for status, output in results:
        assert status == 0, output[-3000:]
    where = f"resuming after epoch {checkpoint['epoch']}"
    assert where in results[0][1] and (f"and {checkpoint['epoch_step']} steps" in results[0][1]
                                       or not checkpoint["epoch_step"])
    assert json.loads((run_dir / "state.json").read_text())["step"] == 16
    for resumed, straight in zip(final_weights(run_dir), final_weights(cluster_run)):
        np.testing.assert_array_equal(resumed, straight)  # deterministic ops, the same batches replayed


def test_a_worker_that_never_starts_fails_the_chief_in_bounded_time(tmp_path):
    ports = free_ports(2)
    start = time.monotonic()
    [(status, output)] = finish(start_workers(tmp_path / "run", ports, tasks=(0,), timeout=5))
    assert status == 2 and time.monotonic() - start < 120, output[-3000:]
    errors = [line for line in output.splitlines() if line.startswith("nmt: error:")]
    assert errors == [f"nmt: error: TF_CONFIG task worker 1 (127.0.0.1:{ports[1]}) did not start within 5 s "
                      f"(NMT_CLUSTER_TIMEOUT); start every worker with the same command and its own task index"]
