"""Faults during writes: a writer killed with SIGKILL, a full disk, damaged files in a run directory.

- SIGKILL: a forked child (TensorFlow already imported, so no start-up cost) rewrites
  a target in a loop (``state.json``, ``config.yaml``, a checkpoint with its
  ``state.json``, ``Translator.save`` to a directory and to a ``.keras`` file,
  ``Translator.export``), reporting each completed version through a pipe; it is
  killed after a seeded random delay of up to three write durations (measured on the
  first write, done by the test). Afterwards the target loads and is the last
  completed version or the one after (never a mixture, never missing), and the next
  start (:func:`remove_temporaries`, the next save) leaves no temporary name behind.
- A replacement killed between its two renames (no target, the previous version set
  aside) is put back by the next write.
- ENOSPC (``slow``): a tiny ``nmt train`` whose checkpoint, ``state.json``,
  ``config.yaml`` or export write fails with "No space left on device" ends with one
  ``nmt: error:`` line naming the file; the previous checkpoint still loads and the
  same command resumes once the disk has space.
- Damaged files (``slow``): truncated ``best.keras``, checkpoint, SentencePiece model and
  ``config.yaml`` through the installed ``nmt`` script: one line naming the file, exit 2.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from nmt.cli.console import user_errors
from nmt.cli.entry import main
from nmt.config.decode import DecodeConfig
from nmt.config.run import load_run_config
from nmt.fileutils import TMP_DIRECTORY, TMP_FILE, WriteError, atomic_directory, remove_leftovers
from nmt.runs.layout import write_run_config
from nmt.training.checkpoint import ResumableCheckpoint
from nmt.training.state import CHECKPOINT_DIR, RunState, remove_temporaries, step_checkpoint_name
from nmt.translate.translator import Translator

SMALL = ["data.max_train_pairs=64", "data.max_valid_pairs=16", "tokenizer.vocab_size=100"]
NMT = Path(sys.executable).parent / "nmt"


def leftovers(*directories: Path) -> list[str]:
    """Temporary names of :mod:`nmt.fileutils` in ``directories``."""
    return sorted(entry.name for directory in directories if directory.is_dir() for entry in directory.iterdir()
                  if TMP_FILE.match(entry.name) or TMP_DIRECTORY.match(entry.name))


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


# ----------------------------------------------------------------------------- SIGKILL
def kill_while_writing(write: Callable[[int], None], seed: int) -> tuple[int, float]:
    """Writes version 0, forks a child writing versions 1, 2, ... and SIGKILLs it after a random delay.

    Returns:
        ``(k, delay)``: ``k`` the last version the child reported complete (0: none);
        the target must now hold version ``k`` or ``k + 1``.
    """
    start = time.perf_counter()
    write(0)
    duration = time.perf_counter() - start
    read, done = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            for version in range(1, 10_000):
                write(version)
                os.write(done, f"{version}\n".encode())
        finally:
            os._exit(0)
    os.close(done)
    delay = random.Random(seed).uniform(0.0, 3 * duration)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with os.fdopen(read) as reports:
        versions = [int(line) for line in reports.read().split()]
    return (versions[-1] if versions else 0), delay


@pytest.fixture(scope="module")
def own_translator():
    """A tiny untrained translator of this module's own (its weights are changed here)."""
    from fakes import train_tiny

    return train_tiny(steps=0)


def _with_version(translator: Translator, base: list[np.ndarray], version: int) -> Translator:
    """``translator`` with its first weight array filled with ``version`` and ``decode.max_length_b`` = ``version``."""
    translator.model.set_weights([np.full_like(base[0], version), *base[1:]])
    return Translator(translator.model, translator.source_tokenizer, translator.target_tokenizer,
                      DecodeConfig(max_length_b=version))


def _version_of(translator: Translator, base: list[np.ndarray]) -> int:
    weights = translator.model.get_weights()
    version = translator.config.max_length_b
    assert np.all(weights[0] == version), "weights and settings of different versions"
    assert all(np.array_equal(a, b) for a, b in zip(weights[1:], base[1:]))
    return version


SEEDS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", SEEDS)
def test_killed_state_json_write_leaves_a_complete_state(tmp_path, seed):
    last, delay = kill_while_writing(lambda version: RunState(epoch=version).write(tmp_path), seed)
    assert RunState.read(tmp_path).epoch in (last, last + 1), delay
    remove_temporaries(tmp_path)  # what the next `nmt train` does first
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_killed_config_yaml_write_leaves_a_complete_config(tmp_path, seed):
    configs = [load_run_config("smoke", [f"train.epochs={version + 1}"]) for version in range(3)]
    last, delay = kill_while_writing(lambda version: write_run_config(tmp_path, configs[min(version, 2)]), seed)
    stored = load_run_config(tmp_path / "config.yaml", stored=True)
    assert stored in configs[min(last, 2):min(last + 1, 2) + 1], delay
    remove_temporaries(tmp_path)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_killed_checkpoint_write_resumes_from_a_complete_checkpoint(tmp_path, seed, own_translator):
    model = own_translator.model
    base = model.get_weights()
    callback = ResumableCheckpoint(tmp_path, RunState(), "loss", None, keep=1)
    callback.set_model(model)

    def save(version: int) -> None:
        model.set_weights([np.full_like(base[0], version), *base[1:]])
        callback.step = version
        callback._save(step_checkpoint_name(version), version)

    try:
        last, delay = kill_while_writing(save, seed)
        state = RunState.read(tmp_path)  # checks the named checkpoint's file too
        assert state.step in (last, last + 1), delay
        model.load_weights(tmp_path / CHECKPOINT_DIR / state.checkpoint)
        assert np.all(model.get_weights()[0] == state.step)
        remove_temporaries(tmp_path)
        assert leftovers(tmp_path, tmp_path / CHECKPOINT_DIR) == []
    finally:
        model.set_weights(base)


@pytest.mark.parametrize("target", ["translator", "translator.keras"])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_killed_translator_save_leaves_a_complete_translator(tmp_path, seed, target, own_translator):
    base = own_translator.model.get_weights()
    path = tmp_path / target
    try:
        last, delay = kill_while_writing(lambda version: _with_version(own_translator, base, version).save(path), seed)
        assert _version_of(Translator.load(path), base) in (last, last + 1), delay
        _with_version(own_translator, base, 99).save(path)  # the next save cleans what the killed one left
        assert _version_of(Translator.load(path), base) == 99
        assert leftovers(tmp_path) == []
    finally:
        own_translator.model.set_weights(base)


@pytest.mark.slow  # an export traces its graphs: 10-20 s a write on a loaded 2-core machine
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_killed_export_leaves_a_complete_export(tmp_path, seed, own_translator):
    from nmt.export.loader import ExportedTranslator

    base = own_translator.model.get_weights()
    path = tmp_path / "export"
    try:
        last, delay = kill_while_writing(
            lambda version: _with_version(own_translator, base, version).export(path, overwrite=True), seed)
        assert ExportedTranslator(path).config.max_length_b in (last, last + 1), delay
        remove_leftovers(path)  # as the next export does first
        assert leftovers(tmp_path) == []
    finally:
        own_translator.model.set_weights(base)


def test_a_replacement_killed_between_its_renames_is_undone_by_the_next_write(tmp_path):
    target = tmp_path / "translator"
    aside = tmp_path / f".translator.old-{_dead_pid()}-0123abcd"
    (aside / "translator").mkdir(parents=True)
    (aside / "translator" / "translator.json").write_text("{}", encoding="utf-8")
    scratch = tmp_path / f".translator.tmp-{_dead_pid()}-89abcdef"
    scratch.mkdir()
    other = tmp_path / f"tmp-{_dead_pid()}-translator.keras"
    other.write_bytes(b"half")
    remove_leftovers(target)
    assert (target / "translator.json").is_file()
    assert leftovers(tmp_path) == [other.name]  # another target's temporary file is not touched
    remove_leftovers(tmp_path / "translator.keras")
    assert leftovers(tmp_path) == []


def test_temporaries_of_a_running_writer_are_kept(tmp_path):
    mine = tmp_path / f"tmp-{os.getpid()}-state.json"
    mine.write_text("{}", encoding="utf-8")
    foreign = tmp_path / "tmp-notes.txt"  # not our pattern
    foreign.write_text("x", encoding="utf-8")
    remove_temporaries(tmp_path)
    assert mine.exists() and foreign.exists()


# ----------------------------------------------------------------------------- full disk
def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def fail_writes_of(monkeypatch, name: str) -> None:
    """Makes :func:`nmt.fileutils.atomic_write` of files called ``name`` write half, then fail with ENOSPC."""
    import nmt.fileutils

    real = nmt.fileutils.atomic_write

    def failing(path, write):
        if Path(path).name != name:
            return real(path, write)

        def half(tmp: str) -> None:
            Path(tmp).write_bytes(b"\0" * 100)
            _no_space()

        return real(path, half)

    for module in ("nmt.fileutils", "nmt.training.state", "nmt.training.checkpoint", "nmt.runs.layout"):
        monkeypatch.setattr(f"{module}.atomic_write", failing)


def test_the_command_line_reports_write_errors_as_user_errors():
    assert issubclass(WriteError, user_errors())


def _cli(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_a_failed_write_is_a_write_error_naming_the_file(tmp_path):
    with pytest.raises(WriteError) as error:
        with atomic_directory(tmp_path / "export"):
            _no_space()
    assert str(tmp_path / "export") in str(error.value) and "No space left on device" in str(error.value)
    assert error.value.errno == errno.ENOSPC and leftovers(tmp_path) == [] and not (tmp_path / "export").exists()


@pytest.mark.slow
def test_a_full_disk_stops_training_with_one_line_and_the_run_resumes(tmp_path, capsys, monkeypatch, data_dir):
    run = tmp_path / "run"
    train = ["train", "--config", "smoke", "--run-dir", str(run), "-q", *(f"--set={o}" for o in SMALL),
             "--set=train.epochs=2"]
    with monkeypatch.context() as patch:
        fail_writes_of(patch, "config.yaml")
        code, err = _cli(capsys, *train)
    assert (code, err.count("\n")) == (2, 1) and f"cannot write {run / 'config.yaml'}" in err, err
    with monkeypatch.context() as patch:
        fail_writes_of(patch, "epoch-0002.weights.h5")
        code, err = _cli(capsys, *train)
    assert (code, err.count("\n")) == (2, 1) and "epoch-0002.weights.h5: No space left on device" in err, err
    assert RunState.read(run).epoch == 1 and leftovers(run, run / CHECKPOINT_DIR) == []
    resume = ["train", "--run-dir", str(run), "-q"]
    with monkeypatch.context() as patch:
        fail_writes_of(patch, "state.json")
        code, err = _cli(capsys, *resume)
    assert (code, err.count("\n")) == (2, 1) and f"cannot write {run / 'state.json'}" in err, err
    assert RunState.read(run).checkpoint == "epoch-0001.weights.h5"  # still the previous, complete one
    code, err = _cli(capsys, *resume)
    assert code == 0, err
    assert RunState.read(run).epoch == 2 and Translator.load(run / "translator") is not None
    with monkeypatch.context() as patch:
        patch.setattr("tensorflow.saved_model.save", _no_space)
        code, err = _cli(capsys, "export", "--model", str(run))
    assert (code, err.count("\n")) == (2, 1) and f"cannot write {run / 'export'}" in err, err
    assert not (run / "export").exists() and leftovers(run) == []


# ----------------------------------------------------------------------------- damaged files
@pytest.fixture(scope="module")
def damaged_runs(tmp_path_factory, data_dir) -> Path:
    """An unfinished tiny run, and copies of it with one file truncated each."""
    from nmt.runs import open_run, train_run

    folder = tmp_path_factory.mktemp("damaged")
    run = folder / "run"
    train_run(open_run(load_run_config("smoke", SMALL), run, log=None), verbose=0, log=None)
    shutil.rmtree(run / "translator")  # unfinished: `nmt translate` uses best.keras
    for name, file in {"best": "best.keras", "checkpoint": "checkpoints/epoch-0001.weights.h5",
                       "tokenizer": "source_tokenizer/sentencepiece.model", "config": "config.yaml"}.items():
        shutil.copytree(run, folder / name)
        data = (run / file).read_bytes()
        (folder / name / file).write_bytes(data[: len(data) // 2])
    (folder / "input.de").write_text("ein hund rennt\n", encoding="utf-8")
    return folder


#: "damaged copy-command" -> fragments of the error line.
DAMAGED = {
    "best-translate": ["best.keras", "damaged or truncated"],
    "checkpoint-train": ["epoch-0001.weights.h5", "damaged or truncated"],
    "checkpoint-info": ["epoch-0001.weights.h5", "damaged or truncated"],
    "tokenizer-translate": ["source_tokenizer", "damaged or truncated"],
    "tokenizer-train": ["source_tokenizer"],
    "tokenizer-info": ["source_tokenizer"],
    "config-translate": ["config.yaml", "truncated"],
    "config-train": ["config.yaml", "truncated"],
    "config-info": ["config.yaml", "truncated"],
}

#: Runs the console script once per case of the JSON file argv[2] (as tests/test_cli_errors.py does).
BATCH = r"""
import contextlib, io, json, runpy, sys, traceback
script, cases, target, results = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], {}
for name, argv in cases.items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        sys.argv = [script, *argv]
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
    results[name] = [code, err.getvalue()]
json.dump(results, open(target, "w"))
"""


def _argv(folder: Path, case: str) -> list[str]:
    name, command = case.split("-")
    run = str(folder / name)
    return {"translate": ["translate", "--model", run, "-i", str(folder / "input.de"), "-q"],
            "train": ["train", "--run-dir", run, "--set", "train.epochs=2", "-q"],
            "info": ["info", run]}[command]


@pytest.fixture(scope="module")
def damaged_results(damaged_runs) -> dict[str, list]:
    cases = {case: _argv(damaged_runs, case) for case in DAMAGED}
    (damaged_runs / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([sys.executable, "-c", BATCH, str(NMT), str(damaged_runs / "cases.json"),
                    str(damaged_runs / "out.json")], env=env, check=True, capture_output=True, timeout=480)
    return json.loads((damaged_runs / "out.json").read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_damaged_file_is_one_line_naming_it(damaged_results, case):
    code, err = damaged_results[case]
    fragments = DAMAGED[case]
    assert "Traceback" not in err and code == 2, err[-2000:]
    line = err.strip().splitlines()[-1]  # (translate notes an unfinished run on the line before)
    assert line.startswith("nmt: error: ") and err.count("nmt: error:") == 1, err
    for fragment in fragments:
        assert fragment in line, (fragment, line)

