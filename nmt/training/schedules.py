"""Learning-rate schedules: linear warmup, then inverse-square-root or exponential decay.

The optimizer evaluates a schedule at its iteration counter (0 for the first
update); schedules here count updates from 1, so the first update already uses a
non-zero rate. ``train.schedule`` resolves to a rate in one place,
:func:`learning_rate_for`; ``plateau`` is a constant rate lowered by a callback
(see :mod:`nmt.training.loop`).
"""

from __future__ import annotations

import keras
from keras import ops

from nmt.config.train import TrainConfig


@keras.saving.register_keras_serializable(package="nmt")
class WarmupInverseSqrtDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``peak * min(s / warmup, sqrt(warmup / s))`` at update ``s = step + 1``.

    Rises linearly to ``peak_learning_rate`` at ``warmup_steps``, then decays as
    ``1 / sqrt(s)``. With ``warmup_steps=0`` it is ``peak / sqrt(s)``.
    """

    def __init__(self, peak_learning_rate: float, warmup_steps: int):
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        s = ops.cast(step, "float32") + 1.0
        if self.warmup_steps == 0:
            return self.peak_learning_rate / ops.sqrt(s)
        w = float(self.warmup_steps)
        return self.peak_learning_rate * ops.minimum(s / w, ops.sqrt(w / s))

    def get_config(self):
        return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps}


@keras.saving.register_keras_serializable(package="nmt")
class WarmupExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``peak * min(1, s / warmup) * decay_rate ** (max(0, s - warmup) / decay_steps)``."""

    def __init__(self, peak_learning_rate: float, warmup_steps: int, decay_rate: float, decay_steps: int):
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps
        self.decay_rate = decay_rate
        self.decay_steps = decay_steps

    def __call__(self, step):
        s = ops.cast(step, "float32") + 1.0
        w = float(self.warmup_steps)
        warmup = ops.minimum(1.0, s / w) if self.warmup_steps else 1.0
        decay = ops.power(self.decay_rate, ops.maximum(0.0, s - w) / float(self.decay_steps))
        return self.peak_learning_rate * warmup * decay

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
        }


def learning_rate_for(config: TrainConfig) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """What to pass as Adam's ``learning_rate`` for ``config.schedule``."""
    if config.schedule == "warmup_inverse_sqrt":
        return WarmupInverseSqrtDecay(config.learning_rate, config.warmup_steps)
    if config.schedule == "warmup_exponential":
        return WarmupExponentialDecay(config.learning_rate, config.warmup_steps, config.decay_rate, config.decay_steps)
    return float(config.learning_rate)  # "constant" and "plateau"
