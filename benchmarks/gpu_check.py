"""GPU check: 200 steps of the Multi30k recipe in float32 and mixed_float16, target tokens/s, cuDNN or not.

For each precision a fresh process trains the recipe model (configs/multi30k_de_en.yaml,
batch 64, no validation) for 100 warm-up and 100 timed steps, counts the real target
tokens of the timed batches, and lists the ``CudnnRNN*`` ops in the traced training call
(present: Keras runs the GRU layers on the cuDNN kernel; absent: on its generic loop).
Without a GPU the script records that it could not run.

    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/gpu_check.py [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import markdown_table, write_section  # noqa: E402
from scaling import prepare, run_case  # noqa: E402

STEPS = 100
PRECISIONS = ("float32", "mixed_float16")


def settings(precision: str) -> list[str]:
    return [f"train.steps_per_epoch={STEPS}", "train.epochs=2", "train.max_minutes=null", "train.tensorboard=false",
            "data.valid=null", f"train.precision={precision}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        body = ("**Not run: no GPU.** This machine has no GPU visible to TensorFlow, so neither the float32 nor "
                "the mixed_float16 throughput nor the cuDNN kernel could be measured. Run this script on a GPU "
                "machine to fill this section.")
    else:
        rows = []
        with tempfile.TemporaryDirectory(prefix="nmt-gpu-") as scratch:
            work = Path(scratch)
            for precision in PRECISIONS:
                prepare(work / f"base-{precision}", settings(precision))
                [result] = run_case(f"single-{precision}", work / f"base-{precision}", work, STEPS, 0,
                                    settings(precision))
                rows.append([precision, f"{result['seconds'] / STEPS * 1000:.1f}",
                             f"{result['tokens'] / result['seconds']:,.0f}",
                             ", ".join(result.get("cudnn", [])) or "no (generic loop)"])
        body = (f"GPUs: {', '.join(gpu.name for gpu in gpus)}; {STEPS} warm-up + {STEPS} timed steps, batch 64.\n\n"
                + markdown_table(["precision", "ms/step", "target tokens/s", "cuDNN kernel ops"], rows))
    if args.no_write:
        print(body)
    else:
        write_section("gpu_check", "gpu_check: the recipe on a GPU (float32, mixed_float16, cuDNN)", body)


if __name__ == "__main__":
    main()
