"""What a run directory records about training: ``state.json``, checkpoint names, history rows.

Crash safety: every file is written under a temporary name, flushed to disk and
renamed over its final name (:func:`nmt.fileutils.atomic_write`), and ``state.json``,
which names the checkpoint to resume from, is replaced only after that checkpoint is
complete. A run killed at any moment (even ``SIGKILL``, even while writing) resumes
from the last completed checkpoint; :func:`remove_temporaries` deletes what it left.

Versions: ``state.json`` records ``format_version`` (:data:`STATE_FORMAT_VERSION`) and
the ``nmt_version`` that wrote it. A state without them (written before they were
recorded) is read as format 1; a newer format is refused naming both versions.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from pathlib import Path

from nmt._versions import __version__, format_problem
from nmt.fileutils import TMP_DIRECTORY, TMP_FILE, atomic_write, remove_leftovers

STATE_FILE = "state.json"
CHECKPOINT_DIR = "checkpoints"
BEST_MODEL = "best.keras"
HISTORY_FILE = "history.csv"
EPOCH_CHECKPOINT = re.compile(r"^epoch-(\d+)\.weights\.h5$")
STEP_CHECKPOINT = re.compile(r"^step-(\d+)\.weights\.h5$")
#: The layout of ``state.json`` this version writes and reads (older files lack the field: format 1).
STATE_FORMAT_VERSION = 1


class StateError(ValueError):
    """``state.json`` (or the checkpoint it names) cannot be read; the message names the file and why."""


def _check_format(path: Path, values: dict, supported: int, what: str) -> None:
    """Pops ``format_version`` and ``nmt_version`` from ``values``; refuses a format this nmt cannot read.

    Raises:
        StateError: see :func:`nmt._versions.format_problem` (the message names ``path`` and both versions).
    """
    problem = format_problem(path, values.pop("format_version", None), values.pop("nmt_version", None),
                             supported, what)
    if problem:
        raise StateError(problem)


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

    ``state.json`` also holds ``format_version`` and ``nmt_version`` (see the module docstring).
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
    def read(cls, run_dir: Path, *, check_checkpoint: bool = True) -> RunState | None:
        """The state of ``run_dir``, or None when it has none.

        Args:
            check_checkpoint: also check that the checkpoint it names is a complete
                HDF5 file (:func:`check_checkpoint_file`), so a damaged one is an error
                before training resumes from it.

        Raises:
            StateError: ``state.json`` is damaged, was written by a newer nmt, or names a
                missing or damaged checkpoint (the message names the file and why).
        """
        path = Path(run_dir) / STATE_FILE
        if not path.exists():
            return None
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(values, dict):
                raise TypeError(f"a JSON {type(values).__name__}, not an object")
            _check_format(path, values, STATE_FORMAT_VERSION, "state")
            state = cls(**values)
        except StateError:
            raise
        except (ValueError, TypeError) as error:  # JSONDecodeError is a ValueError; unknown or missing keys
            raise StateError(f"{path} is damaged or was not written by this version of nmt "
                             f"({type(error).__name__}: {' '.join(str(error).split())[:200]})") from None
        if check_checkpoint and state.checkpoint is not None:
            check_checkpoint_file(Path(run_dir) / CHECKPOINT_DIR / state.checkpoint)
        return state

    def write(self, run_dir: Path) -> None:
        values = {"format_version": STATE_FORMAT_VERSION, "nmt_version": __version__, **dataclasses.asdict(self)}
        write_json(Path(run_dir) / STATE_FILE, values)


def check_checkpoint_file(path: Path) -> None:
    """Raises :class:`StateError` unless ``path`` is an HDF5 file whose every group and dataset header reads.

    Only the file's structure is read (not the weights), so this is cheap for any model size;
    it catches a missing, truncated or overwritten checkpoint.
    """
    import h5py

    name = f"{path} (the checkpoint {STATE_FILE} names)"
    if not path.is_file():
        raise StateError(f"{name} is missing; restore it, or delete {path.parent.parent / STATE_FILE} "
                         f"and {path.parent} to train from the start")
    try:
        with h5py.File(path, "r") as handle:
            handle.visititems(lambda key, item: (item.attrs.keys(), None)[1])
    except Exception as error:  # noqa: BLE001 - h5py raises OSError, RuntimeError, KeyError... for damaged files
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        raise StateError(f"{name} is damaged or truncated ({detail}); restore it, or delete "
                         f"{path.parent.parent / STATE_FILE} and {path.parent} to train from the start") from None


def prune_checkpoints(directory: Path, keep: int, current: str | None, keep_steps: int = 0) -> None:
    """Keeps the ``keep`` newest epoch checkpoints, the ``keep_steps`` newest step checkpoints and ``current``."""
    epochs = sorted((int(m.group(1)), path) for path in directory.iterdir()
                    if (m := EPOCH_CHECKPOINT.match(path.name)))
    steps = sorted((int(m.group(1)), path) for path in directory.iterdir()
                   if (m := STEP_CHECKPOINT.match(path.name)))
    stale = [path for _, path in epochs[:-keep]]
    stale += [path for _, path in (steps[:-keep_steps] if keep_steps else steps)]
    for path in stale:
        if path.name != current:
            path.unlink(missing_ok=True)


def remove_temporaries(run_dir: Path) -> None:
    """Deletes what killed writers left in ``run_dir`` and ``checkpoints/`` (see :func:`nmt.fileutils.remove_leftovers`).

    Only temporary names of :mod:`nmt.fileutils` are touched (``tmp-<pid>-NAME`` files,
    ``.NAME.tmp-...`` and ``.NAME.old-...`` directories) whose process no longer runs; a
    previous translator, tokenizer or export set aside by a killed replacement is put back.
    """
    run_dir = Path(run_dir)
    for directory in (run_dir, run_dir / CHECKPOINT_DIR):
        if not directory.is_dir():
            continue
        targets = set()
        for entry in directory.iterdir():
            match = TMP_FILE.match(entry.name) or TMP_DIRECTORY.match(entry.name)
            if match:
                targets.add(match.group(2) if match.re is TMP_FILE else match.group(1))
        for name in sorted(targets):
            remove_leftovers(directory / name)


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
