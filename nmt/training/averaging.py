"""Checkpoint averaging: the element-wise mean of a model's weights over its last checkpoints.

Averaging the parameters of the last few checkpoints of one run (Junczys-Dowmunt et al.
2016; Vaswani et al. 2017, section 6.1) smooths the noise of the last optimizer steps
and usually gains a fraction of a BLEU point at no cost at translation time. The
checkpoints must come from one run (one architecture); the optimizer state is not
averaged (the averaged model is for translation, not for training on)::

    paths = [path for _, path in ordered_checkpoints(run_dir / "checkpoints")][-5:]
    average_checkpoints(model, paths)     # model now holds the mean of the five

The mean is computed in float64 and rounded once to each variable's dtype, so it is
exact for weights whose mean float32 can represent (the mean of 1.0, 2.0 and 4.0 is
7/3 rounded once, not after three rounded additions).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import h5py
import keras
import numpy as np

#: Both kinds of training checkpoint: ``epoch-NNNN.weights.h5`` and ``step-NNNNNNNN.weights.h5``.
CHECKPOINT = re.compile(r"^(epoch|step)-(\d+)\.weights\.h5$")

# Where Keras 3 keeps the optimizer's step counter (its first variable) in a weights file:
# a LossScaleOptimizer (mixed_float16) wraps the Adam that counts the steps.
_STEP_VARIABLES = ("optimizer/inner_optimizer/vars/0", "optimizer/vars/0")


def checkpoint_step(path: str | Path) -> int:
    """The number of optimizer steps behind a training checkpoint (``[.weights.h5]`` of ``nmt.training.loop``).

    Raises:
        ValueError: ``path`` is no HDF5 file, or has no optimizer step counter (a
            weights file saved without an optimizer); the message names it.
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as weights:
            for name in _STEP_VARIABLES:
                if name in weights and weights[name].shape == () and weights[name].dtype.kind in "iu":
                    return int(weights[name][()])
    except OSError as error:
        raise ValueError(f"{path}: not a readable weights file ({' '.join(str(error).split())})") from None
    raise ValueError(f"{path}: no optimizer step counter in it (not a training checkpoint of nmt)")


def ordered_checkpoints(directory: str | Path, unique_steps: bool = False) -> list[tuple[int, Path]]:
    """``(step, path)`` of every training checkpoint in ``directory``, oldest first.

    Epoch and step checkpoints are ordered by the step counter saved in them
    (:func:`checkpoint_step`), not by name or modification time, so the order survives
    copying the run directory. A missing directory has none. With ``unique_steps``
    one checkpoint per step (the epoch one, when a step checkpoint was written at the
    same step as an epoch's end): the same weights must not count twice in an average.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(checkpoint_step(path), path) for path in directory.iterdir() if CHECKPOINT.match(path.name)]
    found.sort(key=lambda item: (item[0], not item[1].name.startswith("epoch-"), item[1].name))
    if unique_steps:
        found = [item for i, item in enumerate(found) if i == 0 or item[0] != found[i - 1][0]]
    return found


def average_weights(weight_sets: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """The element-wise mean of several lists of weights (one list per checkpoint, same shapes and dtypes).

    Floating-point weights are averaged in float64 and rounded once to their dtype;
    integer variables (counters, random-generator states) are taken from the last list.

    Raises:
        ValueError: no lists, or lists that differ in length, shapes or dtypes.
    """
    if not weight_sets:
        raise ValueError("no weights to average")
    first = weight_sets[0]
    for index, weights in enumerate(weight_sets[1:], 1):
        if len(weights) != len(first):
            raise ValueError(f"checkpoint {index} has {len(weights)} weights, checkpoint 0 has {len(first)}")
        for position, (a, b) in enumerate(zip(first, weights)):
            if a.shape != b.shape or a.dtype != b.dtype:
                raise ValueError(f"weight {position}: checkpoint {index} has {b.dtype}{list(b.shape)}, "
                                 f"checkpoint 0 has {a.dtype}{list(a.shape)}")
    averaged = []
    for position, last in enumerate(weight_sets[-1]):
        if not np.issubdtype(last.dtype, np.floating):
            averaged.append(np.array(last))
            continue
        total = np.zeros(last.shape, np.float64)
        for weights in weight_sets:
            total += weights[position]
        averaged.append((total / len(weight_sets)).astype(last.dtype))
    return averaged


def average_checkpoints(model: keras.Model, paths: Sequence[str | Path]) -> keras.Model:
    """Loads each checkpoint into ``model`` in turn and leaves it holding their mean (:func:`average_weights`).

    ``model`` must be built with the architecture of the checkpoints (an uncompiled
    model is fine: the optimizer state in the files is not read).

    Raises:
        ValueError: no paths, or a checkpoint whose weights do not fit ``model`` (the
            message names the file).
    """
    if not paths:
        raise ValueError("no checkpoints to average")
    weight_sets = []
    for path in paths:
        try:
            model.load_weights(path)
        except (ValueError, KeyError, OSError) as error:
            raise ValueError(f"{path}: cannot load it into this model "
                             f"({type(error).__name__}: {' '.join(str(error).split())[:200]})") from None
        weight_sets.append([np.array(weight) for weight in model.get_weights()])
    model.set_weights(average_weights(weight_sets))
    return model
