"""Training: the resumable loop over ``tf.distribute``, its checkpoints and state, and learning-rate schedules."""

from nmt.training.loop import BEST_MODEL, HISTORY_FILE, RunState, set_seed, train

__all__ = ["BEST_MODEL", "HISTORY_FILE", "RunState", "set_seed", "train"]
