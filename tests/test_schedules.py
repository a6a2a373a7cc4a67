"""nmt.training.schedules: warmup then decay, and the one place train.schedule resolves."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from nmt.config.train import TrainConfig
from nmt.training.schedules import WarmupExponentialDecay, WarmupInverseSqrtDecay, learning_rate_for


def values(schedule, steps):
    return np.array([float(schedule(step)) for step in steps])


def test_inverse_sqrt_warms_up_linearly_then_decays():
    schedule = WarmupInverseSqrtDecay(1e-3, warmup_steps=4)
    lr = values(schedule, range(16))  # optimizer iterations 0..15 are updates 1..16
    np.testing.assert_allclose(lr[:4], 1e-3 * np.arange(1, 5) / 4, rtol=1e-6)
    assert lr.argmax() == 3 and lr[3] == pytest.approx(1e-3)
    np.testing.assert_allclose(lr[15], 1e-3 * np.sqrt(4 / 16), rtol=1e-6)
    assert np.all(np.diff(lr[3:]) < 0)
    assert float(WarmupInverseSqrtDecay(1.0, 0)(3)) == pytest.approx(0.5)  # no warmup: 1/sqrt(4)


def test_exponential_warms_up_then_decays_by_rate_per_decay_steps():
    schedule = WarmupExponentialDecay(2e-3, warmup_steps=10, decay_rate=0.5, decay_steps=100)
    assert float(schedule(0)) == pytest.approx(2e-4)
    assert float(schedule(9)) == pytest.approx(2e-3)
    assert float(schedule(109)) == pytest.approx(1e-3, rel=1e-5)
    assert float(schedule(209)) == pytest.approx(5e-4, rel=1e-5)
    assert float(WarmupExponentialDecay(1.0, 0, 0.5, 10)(9)) == pytest.approx(0.5)


@pytest.mark.parametrize("schedule", [WarmupInverseSqrtDecay(1e-3, 7), WarmupExponentialDecay(1e-3, 7, 0.3, 50)])
def test_serialization_round_trip(schedule):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(restored) is type(schedule) and restored.get_config() == schedule.get_config()
    assert float(restored(20)) == float(schedule(20))


def test_learning_rate_for_each_schedule():
    assert isinstance(learning_rate_for(TrainConfig(schedule="warmup_inverse_sqrt")), WarmupInverseSqrtDecay)
    assert isinstance(learning_rate_for(TrainConfig(schedule="warmup_exponential")), WarmupExponentialDecay)
    assert learning_rate_for(TrainConfig(schedule="constant", learning_rate=0.01)) == 0.01
    assert learning_rate_for(TrainConfig(schedule="plateau", learning_rate=0.02)) == 0.02


def test_an_optimizer_follows_the_schedule():
    optimizer = keras.optimizers.Adam(WarmupInverseSqrtDecay(1e-2, warmup_steps=2))
    variable = keras.Variable(1.0)
    optimizer.build([variable])
    assert float(optimizer.learning_rate) == pytest.approx(5e-3)
    optimizer.apply([keras.ops.convert_to_tensor(1.0)], [variable])
    assert float(optimizer.learning_rate) == pytest.approx(1e-2)
