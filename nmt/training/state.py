"""What a run directory records about training: ``state.json``, checkpoint names, history rows.

Crash safety: every file is written under a temporary name, flushed to disk and
renamed over its final name (:func:`nmt.fileutils.atomic_write`), and ``state.json``,
which names the checkpoint to resume from, is replaced only after that checkpoint is
complete. A run killed at any moment (even ``SIGKILL``, even while writing) resumes
from the last completed checkpoint.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from pathlib import Path

from nmt.fileutils import TMP_PREFIX, atomic_write

STATE_FILE = "state.json"
CHECKPOINT_DIR = "checkpoints"
BEST_MODEL = "best.keras"
HISTORY_FILE = "history.csv"
EPOCH_CHECKPOINT = re.compile(r"^epoch-(\d+)\.weights\.h5$")
STEP_CHECKPOINT = re.compile(r"^step-(\d+)\.weights\.h5$")


class StateError(ValueError):
    """``state.json`` cannot be read; the message names the file and why."""


def epoch_checkpoint_name(epoch: int) -> str:
    """The checkpoint written when 1-based ``epoch`` is complete."""
    return f"epoch-{epoch:04d}.weights.h5"


def step_checkpoint_name(step: int) -> str:
    """The checkpoint written inside an epoch after ``step`` training steps of the whole run."""
    return f"step-{step:08d}.weights.h5"


def write_json(path: Path, value: dict) -> None:
    """Writes ``value`` as JSON, atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "w") as handle:
            json.dump(value, handle, indent=2, sort_keys=True)

    atomic_write(path, write)


@dataclasses.dataclass
class RunState:
    """What ``state.json`` records after every checkpoint (epoch end or ``checkpoint_every_steps``).

    Attributes:
        epoch: number of completed epochs (the index of the epoch to run next).
        checkpoint: file name under ``checkpoints/`` holding model + optimizer state.
        step: training steps taken (batches trained on, summed over the run; with
            ``mixed_float16`` it counts the steps the loss scaler skipped too).
        epoch_step: steps of epoch ``epoch`` (the unfinished one) already in
            ``checkpoint``; 0 when the checkpoint ends an epoch.
        best: best value of the monitored metric so far (``None`` before any).
        best_epoch: the epoch (1-based) that reached ``best``.
        wait: epochs since the last improvement (early stopping).
        stopped: early stopping ended the run.
        seconds: wall time of the checkpointed training (validation included), over all resumes.
        out_of_time: the ``max_minutes`` budget ended the run (its last epoch may be partial).
        replicas: replicas in sync when the checkpoint was written (``train.distribute``;
            ``None`` in runs written before it was recorded).
    """

    epoch: int = 0
    checkpoint: str | None = None
    step: int = 0
    epoch_step: int = 0
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0
    stopped: bool = False
    seconds: float = 0.0
    out_of_time: bool = False
    replicas: int | None = None

    @classmethod
    def read(cls, run_dir: Path) -> RunState | None:
        """The state of ``run_dir``, or None when it has none.

        Raises:
            StateError: ``state.json`` is not a state this version of nmt wrote (the message names it).
        """
        path = Path(run_dir) / STATE_FILE
        if not path.exists():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as error:  # JSONDecodeError is a ValueError; unknown or missing keys
            raise StateError(f"{path} is damaged or was not written by this version of nmt "
                             f"({type(error).__name__}: {' '.join(str(error).split())[:200]})") from None

    def write(self, run_dir: Path) -> None:
        write_json(Path(run_dir) / STATE_FILE, dataclasses.asdict(self))


def prune_checkpoints(directory: Path, keep: int, current: str | None) -> None:
    """Keeps the ``keep`` newest epoch checkpoints and no step checkpoint but ``current``."""
    epochs = sorted((int(m.group(1)), path) for path in directory.iterdir()
                    if (m := EPOCH_CHECKPOINT.match(path.name)))
    stale = [path for _, path in epochs[:-keep]]
    stale += [path for path in directory.iterdir() if STEP_CHECKPOINT.match(path.name)]
    for path in stale:
        if path.name != current:
            path.unlink(missing_ok=True)


def remove_temporaries(run_dir: Path) -> None:
    """Deletes half-written files a killed run may have left behind."""
    for directory in (run_dir, run_dir / CHECKPOINT_DIR):
        for path in directory.glob(f"{TMP_PREFIX}*"):
            path.unlink(missing_ok=True)


def truncate_history(path: Path, completed_epochs: int) -> None:
    """Keeps only the CSV rows of the ``completed_epochs`` first epochs."""
    if not path.exists():
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    kept = [row for row in body if row and int(row[0]) < completed_epochs]
    if len(kept) == len(body):
        return

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as handle:
            csv.writer(handle).writerows([header, *kept])

    atomic_write(path, write)
