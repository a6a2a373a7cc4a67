"""nmt.models.seq2seq.Seq2Seq over the whole configuration grid, plus the model config."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import keras
import model_grid
import numpy as np
import pytest
from layer_test import run_layer_test

from nmt.config.base import ConfigError, config_from_dict
from nmt.config.model import ModelConfig
from nmt.models.losses import masked_cross_entropy
from nmt.models.seq2seq import Seq2Seq


@pytest.mark.parametrize("config", model_grid.GRID)
def test_grid(config, tmp_path):
    model_grid.check_model(config, tmp_path)


@pytest.mark.parametrize("config", model_grid.VARIANTS)
def test_variants(config, tmp_path):
    model_grid.check_model(config, tmp_path)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(cell="gru", attention="additive", **model_grid.TINY),
        ModelConfig(cell="lstm", layers=2, attention="context", tie_embeddings=True, **model_grid.TINY),
        ModelConfig(cell="rnn", bidirectional=False, attention="bilinear", input_feeding=True, layer_norm=True,
                    **model_grid.TINY),
    ],
    ids=["gru-additive", "lstm-2l-context-tied", "rnn-uni-bilinear-if-norm"],
)
def test_layer(config):
    (source, target_in), _ = model_grid.tiny_batch()
    init_kwargs = dict(config=config, source_vocab_size=model_grid.SOURCE_VOCAB,
                       target_vocab_size=model_grid.TARGET_VOCAB, seed=0)
    run_layer_test(Seq2Seq, init_kwargs, ((source, target_in),),
                   expected_output_shape=(3, target_in.shape[1], model_grid.TARGET_VOCAB))


def test_grid_covers_every_combination():
    assert len(model_grid.GRID) == 3 * 2 * 2 * (2 + 3 * 2)
    assert len({p.id for p in model_grid.GRID}) == len(model_grid.GRID)


def test_save_and_load_in_a_fresh_process(tmp_path):
    model = model_grid.make_model(ModelConfig(cell="lstm", layers=2, attention="additive", input_feeding=True,
                                              tie_embeddings=True, **model_grid.TINY))
    model.compile(keras.optimizers.Adam(1e-3), label_smoothing=0.2, clip_norm=2.0)
    (source, target_in), target_out = model_grid.tiny_batch()
    model.train_step(((source, target_in), target_out))
    expected = np.asarray(model((source, target_in)))
    np.save(tmp_path / "source.npy", source)
    np.save(tmp_path / "target_in.npy", target_in)
    model.save(tmp_path / "model.keras")
    script = textwrap.dedent(
        f"""
        import numpy as np, keras
        model = keras.saving.load_model({str(tmp_path / "model.keras")!r})  # nmt is imported by the registry
        assert type(model).__module__ == "nmt.models.seq2seq", type(model)
        assert (model.label_smoothing, model.clip_norm) == (0.2, 2.0)
        assert int(model.optimizer.iterations) == 1
        source = np.load({str(tmp_path / "source.npy")!r})
        target_in = np.load({str(tmp_path / "target_in.npy")!r})
        np.save({str(tmp_path / "out.npy")!r}, np.asarray(model((source, target_in))))
        """
    )
    # keras needs the "nmt>" classes registered before loading: import nmt.models.seq2seq first.
    result = subprocess.run([sys.executable, "-c", "import nmt.models.seq2seq\n" + script],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_encode_and_step_api_for_search():
    model = model_grid.make_model(ModelConfig(cell="gru", attention="dot", input_feeding=True, **model_grid.TINY))
    (source, target_in), _ = model_grid.tiny_batch()
    state = model.encode(source)
    assert set(state) == {"rnn", "memory_mask", "memory", "keys", "attentional"}
    np.testing.assert_array_equal(np.asarray(state["memory_mask"]), source != 0)
    logits, state, weights = model.decoder.step(np.full((3,), 2, "int32"), state)
    assert tuple(logits.shape) == (3, model_grid.TARGET_VOCAB) and tuple(weights.shape) == source.shape


def test_train_step_reports_the_masked_token_loss():
    model = model_grid.make_model(ModelConfig(cell="gru", attention="bilinear", **model_grid.TINY))
    model.compile(keras.optimizers.Adam(0.0), label_smoothing=0.1)  # lr 0: weights stay put
    (source, target_in), target_out = model_grid.tiny_batch()
    expected = float(masked_cross_entropy(target_out, model((source, target_in)), 0.1))
    logs = model.train_step(((source, target_in), target_out))
    assert float(logs["loss"]) == pytest.approx(expected, rel=1e-5)
    logs = model.test_step(((source, target_in), target_out))
    assert set(logs) == {"loss", "accuracy", "perplexity"}


def test_config_may_be_a_dict_and_unknown_keys_are_rejected():
    model = Seq2Seq({"cell": "lstm", "units": 8, "embedding_dim": 6}, 10, 11)
    assert model.config == ModelConfig(cell="lstm", units=8, embedding_dim=6)
    with pytest.raises(ConfigError, match="model.attn.*valid keys"):
        Seq2Seq({"attn": "dot"}, 10, 11)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"cell": "transformer"}, "cell"),
        ({"attention": "luong"}, "attention"),
        ({"units": 0}, "units"),
        ({"dropout": 1.0}, "dropout"),
        ({"bidirectional": "yes"}, "bidirectional"),
        ({"attention": "none", "input_feeding": True}, "input_feeding"),
        ({"attention": "context", "input_feeding": True}, "input_feeding"),
        ({"bridge": "last", "bidirectional": True, "bidirectional_merge": "concat"}, "bridge='last'"),
        ({"bridge": "last", "bidirectional": False, "decoder_units": 12}, "bridge='last'"),
        ({"decoder_layers": 0}, "decoder_layers"),
    ],
)
def test_model_config_validation(values, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(ModelConfig, values)


def test_model_config_derived_sizes():
    config = ModelConfig(units=16, bidirectional=True, bidirectional_merge="concat")
    assert (config.encoder_state_size, config.target_units, config.target_layers) == (32, 16, 1)
    assert ModelConfig(units=16, bidirectional_merge="sum").encoder_state_size == 16
    assert ModelConfig(bridge="last", bidirectional=True, bidirectional_merge="sum").bridge == "last"


def test_train_step_clips_the_dense_global_norm():
    """Repeated tokens: the clipped update equals clipping the dense gradient by hand.

    (``tf.clip_by_global_norm`` on an embedding's IndexedSlices would count a repeated
    token's slices separately and get another norm.)
    """
    import tensorflow as tf

    model = model_grid.make_model(ModelConfig(cell="gru", attention="dot", **model_grid.TINY))
    source = np.array([[5, 5, 5, 6, 3], [5, 6, 6, 3, 0]], "int32")
    target_in = np.array([[2, 7, 7, 7], [2, 7, 8, 0]], "int32")
    target_out = np.array([[7, 7, 7, 3], [7, 8, 3, 0]], "int32")
    initial = [np.asarray(w) for w in model.trainable_variables]
    with tf.GradientTape() as tape:
        loss = masked_cross_entropy(target_out, model((source, target_in)), 0.1)
    dense = [np.asarray(tf.convert_to_tensor(g)) for g in tape.gradient(loss, model.trainable_variables)]
    norm = np.sqrt(sum(float(np.sum(g.astype("float64") ** 2)) for g in dense))
    clip = norm / 3
    model.compile(keras.optimizers.SGD(1.0), label_smoothing=0.1, clip_norm=clip)
    model.train_step(((source, target_in), target_out))
    for before, gradient, variable in zip(initial, dense, model.trainable_variables):
        np.testing.assert_allclose(np.asarray(variable), before - gradient * clip / norm, atol=1e-6)
