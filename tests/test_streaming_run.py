"""``nmt train`` on a streamed corpus: end to end, killed and resumed, bad lines, ``train.max_steps``."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fakes import assert_user_error, run_cli
from stream_corpus import install_recorder, multi30k_pairs, recorded_batches, write_aligned

from nmt.config.run import load_run_config
from nmt.data.sampling import reservoir_sample
from nmt.models.seq2seq import Seq2Seq
from nmt.runs import RunError, open_run, run_info, train_run
from nmt.training.loop import INPUT_POSITION, RunState

N = 300
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def pairs(data_dir):
    return multi30k_pairs(data_dir, N)


def write_config(tmp_path, prefix, *, data=None, train=None, tokenizer=None) -> Path:
    config = {
        "data": {"dataset": "files", "pair": "de-en", "train": str(prefix), "valid": None, "streaming": True,
                 **(data or {})},
        "tokenizer": {"kind": "sentencepiece", "vocab_size": 120, "max_train_sentences": 100, **(tokenizer or {})},
        "pipeline": {"max_length": 100, "pool_batches": 2, "shuffle_buffer": 64},
        "model": {"cell": "gru", "units": 8, "embedding_dim": 8, "attention": "dot"},
        "train": {"epochs": 1, "batch_size": 32, "learning_rate": 0.01, "schedule": "constant",
                  "early_stopping_patience": None, "tensorboard": False, "checkpoint_every_steps": 3,
                  **(train or {})},
        "decode": {"beam_size": 1, "max_length_a": 1.0, "max_length_b": 5},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def train_in_process(config_path, run_dir, *, record=None, monkeypatch=None, callbacks=()):
    if record is not None:
        monkeypatch.setattr(Seq2Seq, "train_statistics", Seq2Seq.train_statistics)  # restored afterwards
        install_recorder(record)
    run = open_run(load_run_config(config_path), run_dir, log=None)
    return train_run(run, verbose=0, callbacks=callbacks, log=None)


def test_nmt_train_streams_end_to_end_and_info_says_so(tmp_path, pairs, capsys):
    prefix = write_aligned(tmp_path / "train", pairs)
    config = write_config(tmp_path, prefix, train={"steps_per_epoch": 4, "epochs": 3, "max_steps": 6})
    code, out, err = run_cli(capsys, "train", "--config", config, "--run-dir", tmp_path / "run", "--quiet")
    assert code == 0, err
    assert "train: streamed from" in out and "tokenizer sample (seed 0): uniform sample of 100 of 300 pairs" in out
    state = RunState.read(tmp_path / "run")
    assert (state.step, state.epoch, state.epoch_step) == (6, 2, 0)  # 4 + a cut-short epoch of 2
    sample = json.loads((tmp_path / "run" / "tokenizer_sample.json").read_text())
    assert (sample["lines"], sample["drawn"], sample["size"]) == (300, 100, 100)
    assert "uniform sample of 100 of 300 pairs" in run_info(tmp_path / "run").data_reading
    code, out, err = run_cli(capsys, "train", "--config", config, "--run-dir", tmp_path / "run")
    assert_user_error(code, err, "finished run (train.max_steps=6 reached)", "raise train.max_steps")


def test_a_streaming_run_killed_after_a_step_checkpoint_resumes_with_the_next_unseen_batch(
        tmp_path, pairs, monkeypatch):
    prefix = write_aligned(tmp_path / "train", pairs)
    config = write_config(tmp_path, prefix)  # one epoch = one pass of about 10 steps, checkpoints every 3
    train_in_process(config, tmp_path / "straight", record=tmp_path / "straight.jsonl", monkeypatch=monkeypatch)
    epoch = recorded_batches(tmp_path / "straight.jsonl")
    assert len(epoch) >= 8
    script = (f"import sys; sys.path.insert(0, {str(TESTS)!r}); import stream_corpus; "
              f"stream_corpus.install_recorder({str(tmp_path / 'killed.jsonl')!r}, kill_at=6); "
              f"from nmt.cli import main; sys.exit(main(sys.argv[1:]))")
    killed = subprocess.run([sys.executable, "-c", script, "train", "--config", str(config), "--run-dir",
                             str(tmp_path / "killed"), "--quiet"], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    state = RunState.read(tmp_path / "killed")
    assert (state.epoch, state.step, state.epoch_step) == (0, 3, 3)  # steps 4 and 5 were trained, then lost
    assert json.loads((tmp_path / "killed" / INPUT_POSITION).read_text())["positions"]["3"][0] == 0
    before = recorded_batches(tmp_path / "killed.jsonl")[:state.step]
    train_in_process(config, tmp_path / "killed", record=tmp_path / "resumed.jsonl", monkeypatch=monkeypatch)
    after = recorded_batches(tmp_path / "resumed.jsonl")
    assert before + after == epoch  # the same batches in the same order: none skipped, none repeated
    assert RunState.read(tmp_path / "killed").epoch == 1


class Crash(Exception):
    pass


def crash_after(steps):
    import keras

    class CrashAfter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = 0

        def on_train_batch_end(self, batch, logs=None):
            self.seen += 1
            if self.seen == steps:
                raise Crash()

    return CrashAfter()


def test_max_steps_counts_across_a_resume_of_an_endless_stream(tmp_path, pairs, monkeypatch):
    prefix = write_aligned(tmp_path / "train", pairs)
    config = write_config(tmp_path, prefix, train={"steps_per_epoch": 6, "epochs": 5, "max_steps": 14})
    train_in_process(config, tmp_path / "straight", record=tmp_path / "straight.jsonl", monkeypatch=monkeypatch)
    straight = recorded_batches(tmp_path / "straight.jsonl")
    assert len(straight) == 14 and RunState.read(tmp_path / "straight").step == 14
    with pytest.raises(Crash):  # after step 8: the step-6 epoch checkpoint is the last one
        train_in_process(config, tmp_path / "crashed", record=tmp_path / "part1.jsonl", monkeypatch=monkeypatch,
                         callbacks=[crash_after(8)])
    assert RunState.read(tmp_path / "crashed").step == 6
    train_in_process(config, tmp_path / "crashed", record=tmp_path / "part2.jsonl", monkeypatch=monkeypatch)
    state = RunState.read(tmp_path / "crashed")
    assert (state.step, state.epoch) == (14, 3)  # 6 + 6 + a cut-short third epoch of 2
    assert recorded_batches(tmp_path / "part1.jsonl")[:6] + recorded_batches(tmp_path / "part2.jsonl") == straight
    with pytest.raises(RunError, match="train.max_steps=14 reached"):
        open_run(load_run_config(config), tmp_path / "crashed", log=None)


def bad_line_outside_the_sample(size=100, seed=0):
    """A 1-based line the tokenizers' sample does not read, deep in the file: the error comes from training."""
    sampled = {index for index, _ in reservoir_sample(range(N), size, seed)}
    return next(line for line in range(250, N) if line - 1 not in sampled)


def test_a_bad_line_deep_in_the_stream_is_one_error_line_naming_file_and_line(tmp_path, pairs, capsys):
    line = bad_line_outside_the_sample()
    sources = [s.encode() for s, _ in pairs]
    sources[line - 1] = b"kaputt \xff"
    prefix = write_aligned(tmp_path / "bad", pairs, source_lines=sources)
    config = write_config(tmp_path, prefix)
    code, out, err = run_cli(capsys, "train", "--config", config, "--run-dir", tmp_path / "run", "--quiet")
    assert_user_error(code, err, f"bad.de.gz:{line}: invalid UTF-8 at byte 7 of the line")
    config = write_config(tmp_path, prefix, data={"on_error": "skip"})
    code, out, err = run_cli(capsys, "train", "--config", config, "--run-dir", tmp_path / "skip", "--quiet")
    assert code == 0, err
    assert "cleaning (pass 1)" in out and "1 unreadable lines skipped (on_error: skip)" in out
