"""train.distribute and train.precision in one process: TF_CONFIG checks, CLI errors, mixed precision, cuDNN report.

The runs with real worker processes are in tests/test_cluster.py.
"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from nmt.cli import main
from nmt.config.base import ConfigError
from nmt.config.train import TrainConfig
from nmt.training.cluster import ClusterError, cluster_timeout, read_tf_config


def tf_config(cluster, task=("worker", 0)) -> dict:
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task[0], "index": task[1]}})}


TWO = {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}


def test_tf_config_is_read_with_the_chief_first():
    cluster = read_tf_config(tf_config(TWO, ("worker", 1)))
    assert cluster.size == 2 and not cluster.chief and cluster.address == "127.0.0.1:2223"
    with_chief = read_tf_config(tf_config({"chief": ["h0:1"], "worker": ["h1:1"]}, ("chief", 0)))
    assert with_chief.chief and with_chief.tasks[0] == ("chief", 0, "h0:1")
    assert read_tf_config(tf_config(TWO)).chief


@pytest.mark.parametrize(("environ", "message"), [
    ({}, "needs the TF_CONFIG environment variable"),
    ({"TF_CONFIG": "{cluster: 1"}, "not valid JSON"),
    ({"TF_CONFIG": "[]"}, 'needs a "cluster" mapping'),
    (tf_config({"ps": ["h:1"]}), "job 'ps' is not supported"),
    (tf_config({"worker": "h:1"}), "must be a list"),
    (tf_config({"worker": ["h0:1", "h0:1"]}), "gives h0:1 to both worker 0 and worker 1"),
    (tf_config({"worker": ["h0"]}), "'h0' is not host:port"),
    (tf_config({"worker": ["h0:99999"]}), "is not host:port"),
    (tf_config(TWO, ("worker", 2)), "task index 2 is outside the cluster's 2 worker task(s) (0-1)"),
    (tf_config(TWO, ("worker", -1)), "task index -1 is outside"),
    (tf_config(TWO, ("chief", 0)), "task type 'chief' is not a job"),
    (tf_config(TWO, ("worker", "0")), "task index must be an integer"),
    ({"TF_CONFIG": json.dumps({"cluster": TWO})}, 'needs "task"'),
])
def test_malformed_tf_config_is_one_clear_error(environ, message):
    with pytest.raises(ClusterError) as error:
        read_tf_config(environ)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_cluster_timeout_variable():
    assert cluster_timeout({}) == 300 and cluster_timeout({"NMT_CLUSTER_TIMEOUT": "7.5"}) == 7.5
    for bad in ("soon", "0", "-3"):
        with pytest.raises(ClusterError, match="NMT_CLUSTER_TIMEOUT"):
            cluster_timeout({"NMT_CLUSTER_TIMEOUT": bad})


@pytest.mark.parametrize("key,value", [("distribute", "horovod"), ("precision", "float16"),
                                       ("checkpoint_every_steps", 0)])
def test_train_config_rejects_bad_values(key, value):
    with pytest.raises(ConfigError, match=key):
        TrainConfig(**{key: value})


def _train_multi_worker(tmp_path, monkeypatch, capsys, environ: dict) -> tuple[int, str]:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    status = main(["train", "--config", "smoke", "--run-dir", str(tmp_path / "run"), "-q",
                   "--set", "train.distribute=multi_worker"])
    return status, capsys.readouterr().err


@pytest.mark.parametrize(("environ", "message"), [
    ({}, "train.distribute=multi_worker needs the TF_CONFIG environment variable"),
    ({"TF_CONFIG": "not json"}, "TF_CONFIG is not valid JSON"),
    (tf_config(TWO, ("worker", 5)), "TF_CONFIG task index 5 is outside the cluster's 2 worker task(s)"),
])
def test_cli_reports_tf_config_errors_and_leaves_the_run_directory_alone(tmp_path, monkeypatch, capsys, environ,
                                                                          message):
    status, err = _train_multi_worker(tmp_path, monkeypatch, capsys, environ)
    lines = err.strip().splitlines()
    assert status == 2 and lines[-1].startswith("nmt: error: ") and message in lines[-1], err
    assert not (tmp_path / "run").exists()


def test_cli_reports_a_port_already_in_use(tmp_path, monkeypatch, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cluster = {"worker": [f"127.0.0.1:{port}", "127.0.0.1:1"]}
        status, err = _train_multi_worker(tmp_path, monkeypatch, capsys, tf_config(cluster))
    assert status == 2 and f"port {port} of TF_CONFIG task worker 0 (127.0.0.1:{port}) is already in use" in err
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- mixed precision
@pytest.mark.slow
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_its_export_equals_its_translator(tmp_path, data_dir, precision):
    import keras

    from nmt.config.run import load_run_config
    from nmt.export.loader import ExportedTranslator
    from nmt.runs import open_run, train_run

    config = load_run_config("smoke", [f"train.precision={precision}", "train.epochs=2", "model.units=32",
                                       "model.embedding_dim=32"])
    result = train_run(open_run(config, tmp_path / "run", log=None), verbose=0)
    losses = [float(row.split(",")[2]) for row in (tmp_path / "run" / "history.csv").read_text().splitlines()[1:]]
    assert len(losses) == 2 and losses[1] < losses[0], losses
    assert keras.config.dtype_policy().name == "float32"  # the policy was restored
    translator = result.translator
    assert translator.model.dtype_policy.name == "float32"  # inference computes in float32
    if precision == "mixed_float16":
        sentences = ["Ein Mann fährt Fahrrad.", "", "Zwei Hunde spielen im Schnee auf einer Wiese."]
        translator.export(tmp_path / "export")
        exported = ExportedTranslator(tmp_path / "export")
        assert exported.translate(sentences) == translator.translate(sentences)


def test_mixed_float16_scales_the_loss_and_clips_the_unscaled_gradients():
    import keras
    import model_grid

    from nmt.config.model import ModelConfig
    from nmt.training.precision import dtype_policy

    with dtype_policy("mixed_float16"):
        model = model_grid.make_model(ModelConfig(cell="gru", attention="additive", **model_grid.TINY), seed=1)
    model.compile(optimizer=keras.optimizers.Adam(0.01), clip_norm=1e-3)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    model.optimizer.build(model.trainable_variables)
    before = [np.asarray(v) for v in model.trainable_variables]
    stats = model.train_statistics(model_grid.tiny_batch())
    assert float(stats["tokens"]) > 0 and np.isfinite(float(stats["loss_sum"]))
    moved = [np.abs(np.asarray(v) - b).max() for v, b in zip(model.trainable_variables, before)]
    assert max(moved) > 0  # the scaled step was applied (not skipped as non-finite)


# ----------------------------------------------------------------------------- cuDNN report
def test_cudnn_report_names_what_blocks_the_kernel(tmp_path):
    from nmt.config.model import ModelConfig
    from nmt.models.cells import cudnn_report
    from nmt.models.seq2seq import Seq2Seq

    default = cudnn_report(Seq2Seq(ModelConfig(), 30, 30))
    assert default and all(not reasons for _, reasons in default)  # the defaults are eligible
    blocked = dict(cudnn_report(Seq2Seq(ModelConfig(cell="lstm", recurrent_dropout=0.2, input_feeding=True), 30, 30)))
    assert blocked["encoder/birnn_0"] == ["model.recurrent_dropout=0.2 (needs 0; use model.dropout)"]
    assert blocked["decoder/rnn_0"][0].startswith("model.input_feeding=true")
    simple = dict(cudnn_report(Seq2Seq(ModelConfig(cell="rnn"), 30, 30)))
    assert all("model.cell=rnn" in reasons[0] for reasons in simple.values())
