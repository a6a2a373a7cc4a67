"""The layer test every ``nmt.models`` layer goes through, modelled on keras-hub's ``run_layer_test``.

:func:`run_layer_test` takes a layer class, its constructor arguments and example
inputs, and checks that

(a) ``get_config()`` then ``from_config()`` gives a layer with an equal config;
(b) ``keras.saving.serialize_keras_object`` then ``deserialize_keras_object`` gives a
    layer of the same class, registered as ``nmt>ClassName``, with an equal config;
(c) a call on ``keras.Input`` tensors shaped like the example inputs gives outputs of the
    eager call's structure, shapes and dtypes;
(d) saving the layer to a ``.keras`` file and loading it gives identical outputs.

:func:`check_serialization` is (a) and (b) alone, for an existing layer (or metric),
such as the sublayers of every model of the configuration grid.

Keep the sizes tiny (units 4-8, vocabulary ~20, batch 2-3): every call saves a file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np


def check_serialization(layer) -> dict:
    """Checks (a) and (b) for ``layer``; returns its config."""
    cls = type(layer)
    config = layer.get_config()
    clone = cls.from_config(config)
    assert type(clone) is cls
    assert clone.get_config() == config, f"{cls.__name__}: from_config(get_config()) changed the config"
    registered = keras.saving.get_registered_name(cls)
    assert registered == f"nmt>{cls.__name__}", registered
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is cls, type(restored)
    assert restored.get_config() == config, f"{cls.__name__}: serialization round trip changed the config"
    return config


def _call(layer, *inputs):
    return layer(*inputs)


def _symbolic_input(value) -> keras.KerasTensor:
    value = keras.ops.convert_to_numpy(value)
    return keras.Input(batch_shape=value.shape, dtype=str(value.dtype))


def _leaves(outputs) -> list:
    return keras.tree.flatten(outputs)


def run_layer_test(
    layer_cls: type,
    init_kwargs: Mapping[str, Any],
    input_data: Sequence[Any],
    *,
    call: Callable[..., Any] = _call,
    expected_output_shape: Any = None,
    expected_num_trainable_weights: int | None = None,
):
    """Checks (a) to (d) (see the module docstring) and returns the layer, built and called.

    Args:
        layer_cls: the class under test.
        init_kwargs: its constructor arguments.
        input_data: the positional arguments of one call (nested lists, tuples and
            dicts of arrays allowed).
        call: ``call(layer, *inputs)`` computes the outputs compared, for layers called
            through a method (by default ``layer(*inputs)``).
        expected_output_shape: if given, the output's shape, or the list of the outputs'
            shapes in the order ``keras.tree.flatten`` lists the outputs.
        expected_num_trainable_weights: if given, the built layer's number of trainable weights.
    """
    layer = layer_cls(**init_kwargs)
    config = check_serialization(layer)

    symbolic_inputs = keras.tree.map_structure(_symbolic_input, tuple(input_data))
    symbolic = _leaves(call(layer, *symbolic_inputs))
    outputs = call(layer, *input_data)
    eager = _leaves(outputs)
    assert len(symbolic) == len(eager), f"symbolic call gave {len(symbolic)} outputs, eager {len(eager)}"
    for i, (spec, value) in enumerate(zip(symbolic, eager)):
        assert tuple(spec.shape) == tuple(value.shape), f"output {i}: symbolic {spec.shape}, eager {value.shape}"
        assert keras.backend.standardize_dtype(spec.dtype) == keras.backend.standardize_dtype(value.dtype), i
    if expected_output_shape is not None:
        shapes = [tuple(value.shape) for value in eager]
        single = all(isinstance(size, int) for size in expected_output_shape)
        expected = [tuple(expected_output_shape)] if single else [tuple(shape) for shape in expected_output_shape]
        assert shapes == expected, f"output shapes {shapes}, expected {expected}"
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, len(layer.trainable_weights)

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "layer.keras"
        keras.saving.save_model(layer, path)
        loaded = keras.saving.load_model(path)
    assert type(loaded) is layer_cls and loaded.get_config() == config
    reloaded = _leaves(call(loaded, *input_data))
    assert len(reloaded) == len(eager)
    for before, after in zip(eager, reloaded):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(after), keras.ops.convert_to_numpy(before))
    return layer
