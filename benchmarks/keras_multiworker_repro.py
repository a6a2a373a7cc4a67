"""Reproduces why ``nmt`` does not train with Keras ``fit`` under ``MultiWorkerMirroredStrategy``.

Two local worker processes (127.0.0.1, free ports, one thread each) run ``model.fit`` on
a two-layer Keras model under a real two-worker ``MultiWorkerMirroredStrategy``:

1. ``fit`` fails in its first step with "Invalid reduction dimension 0 for input with 0
   dimensions": Keras's TensorFlow trainer reduces the scalar logs of a multi-worker
   strategy with ``strategy.reduce("MEAN", v, axis=0)`` (``reduce_per_replica`` in
   ``keras/src/backend/tensorflow/trainer.py``; keras-team/keras#20585,
   tensorflow/tensorflow#72388).
2. ``keras.callbacks.BackupAndRestore`` has no notion of chief and worker: it takes no
   ``save_before_preemption`` and every worker writes the same files in ``backup_dir``.

Usage (prints one line per finding and exits 0 when both still hold)::

    python benchmarks/keras_multiworker_repro.py

docs/distributed.md explains the way ``nmt`` takes instead (its own loop over ``strategy.run``).
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import free_ports  # noqa: E402

WORKER = r"""
import sys, numpy as np, tensorflow as tf, keras
keras.config.disable_traceback_filtering()
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
x, y = np.random.rand(64, 4).astype("float32"), np.random.rand(64, 1).astype("float32")
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
try:
    model.fit(data, epochs=1, verbose=0)
    print("FIT-OK")
except Exception as error:
    import re
    text = re.sub(r"PerReplica:\{.*\}\)", "PerReplica:{...})", " ".join(str(error).split()))
    import traceback
    frames = [f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
              for frame in traceback.extract_tb(error.__traceback__) if "keras/src" in frame.filename][-3:]
    print("FIT-FAILED", type(error).__name__, text[:400], "at", " <- ".join(reversed(frames)))
"""


def fit_under_two_workers(timeout: float = 300) -> list[str]:
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    processes = []
    for index in range(2):
        environ = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
                       TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen([sys.executable, "-c", WORKER], env=environ, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, text=True))
    lines = []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out = "FIT-HUNG"
        lines.append(next((line for line in out.splitlines() if line.startswith("FIT-")), out.strip()[-300:]))
    return lines


def main() -> int:
    import keras

    results = fit_under_two_workers()
    for index, line in enumerate(results):
        print(f"worker {index}: {line}")
    fit_fails = all(line.startswith("FIT-FAILED") for line in results)
    parameters = inspect.signature(keras.callbacks.BackupAndRestore).parameters
    source = inspect.getsource(keras.callbacks.BackupAndRestore)
    not_aware = "save_before_preemption" not in parameters and "chief" not in source.lower()
    print(f"keras {keras.__version__}: fit under a two-worker MultiWorkerMirroredStrategy fails: {fit_fails}")
    print(f"keras {keras.__version__}: BackupAndRestore parameters {sorted(parameters)}; "
          f"distribution-aware (chief/worker, save_before_preemption): {not not_aware}")
    return 0 if fit_fails and not_aware else 1


if __name__ == "__main__":
    sys.exit(main())
