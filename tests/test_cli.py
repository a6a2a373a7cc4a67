"""The ``nmt`` command: every subcommand on the smoke config, user errors, resuming, line-preserving I/O.

Training runs in-process (``nmt.cli.main([...])``) on configs/smoke.yaml (a tiny model,
300 pairs); one module-scoped run serves the translate/evaluate/export/info tests.
Two tests go through a real ``python -m nmt`` subprocess for exit codes and stderr.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from nmt.cli import main
from nmt.config.run import load_run_config
from nmt.runs import read_run_config
from nmt.training.loop import RunState

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``nmt ARGV`` in-process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, *fragments: str) -> None:
    """Exit status 2, exactly one stderr line ``nmt: error: ...`` holding every fragment, no traceback."""
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("nmt: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, data_dir) -> Path:
    """A finished 1-epoch smoke run (trained once for the whole module)."""
    run_dir = tmp_path_factory.mktemp("cli") / "smoke"
    assert main(["train", "--config", "smoke", "--run-dir", str(run_dir), "-q"]) == 0
    return run_dir


@pytest.fixture
def text_file(tmp_path) -> Path:
    """Five lines: text, empty, text with CRLF, whitespace only, text without a final newline."""
    path = tmp_path / "input.de"
    path.write_bytes("Ein Hund rennt.\n\nZwei Männer spielen Fußball.\r\n   \nEine Frau".encode())
    return path


# ----------------------------------------------------------------------------- user errors (no training)
def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("train", "translate", "evaluate", "export", "plot-attention", "info"):
        assert command in out


@pytest.mark.parametrize("argv, fragments", [
    (["train", "--config", "missing.yaml", "--run-dir", "{tmp}/run"], ["config file missing.yaml: no such file"]),
    (["train", "--config", "smoke", "--set", "model.nonexistent=1", "--run-dir", "{tmp}/run"],
     ["model.nonexistent", "valid keys:", "model.units"]),
    (["train", "--config", "smoke", "--set", "modelcell", "--run-dir", "{tmp}/run"],
     ["bad --set 'modelcell'", "SECTION.KEY=VALUE"]),
    (["train", "--config", "smoke", "--set", "train.epochs=many", "--run-dir", "{tmp}/run"],
     ["train.epochs='many' must be an integer"]),
    (["train", "--config", "smoke", "--set", "data.pair=de-xx", "--run-dir", "{tmp}/run"],
     ["invalid language pair 'de-xx'", "en, de, fr, cs"]),
    (["train", "--run-dir", "{tmp}/run"], ["--config is required"]),
    (["train", "--config", "smoke"], ["--run-dir"]),
    (["translate", "--model", "{tmp}/missing"], ["--model", "missing: no such file or directory"]),
    (["evaluate", "--model", "{tmp}/missing"], ["no such file or directory"]),
    (["info", "{tmp}/missing"], ["no such directory"]),
    (["translate", "--model", "{tmp}", "--beam", "0"], ["--beam: 0 must be at least 1"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
])
def test_user_errors_are_one_line_with_exit_status_2(capsys, tmp_path, argv, fragments):
    code, _, err = run_cli(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert_user_error(code, err, *fragments)


def test_train_refuses_a_directory_that_is_not_a_run(capsys, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    code, _, err = run_cli(capsys, "train", "--config", "smoke", "--run-dir", tmp_path)
    assert_user_error(code, err, "is not a run directory")
    assert (tmp_path / "precious.txt").read_text() == "keep me" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.slow
def test_subprocess_user_error_exit_status_and_one_stderr_line(tmp_path, data_dir):
    env = {**os.environ, "NMT_DATA_DIR": str(data_dir)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the CLI hides TensorFlow's start-up notices itself
    result = subprocess.run([sys.executable, "-m", "nmt", "train", "--config", "smoke", "--set",
                             "data.pair=de-xx", "--run-dir", str(tmp_path / "run")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()] and result.stderr.startswith("nmt: error: data:")
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- train
@pytest.mark.slow
def test_train_writes_the_run_directory(smoke_run):
    for name in ("config.yaml", "source_tokenizer/tokenizer.json", "target_tokenizer/tokenizer.json",
                 "state.json", "history.csv", "best.keras", "translator/translator.json"):
        assert (smoke_run / name).is_file(), name
    assert read_run_config(smoke_run) == load_run_config("smoke")  # config.yaml round trip
    stored = yaml.safe_load((smoke_run / "config.yaml").read_text())
    assert set(stored) == {"format_version", "nmt_version", "data", "tokenizer", "pipeline", "model", "train", "decode"}
    assert RunState.read(smoke_run).epoch == 1


@pytest.mark.slow
def test_finished_run_is_not_overwritten(capsys, smoke_run):
    before = {p: p.stat().st_mtime_ns for p in smoke_run.rglob("*") if p.is_file()}
    code, _, err = run_cli(capsys, "train", "--config", "smoke", "--run-dir", smoke_run)
    assert_user_error(code, err, "already holds a finished run (1 epochs)", "train.epochs")
    code, _, err = run_cli(capsys, "train", "--config", "smoke", "--set", "model.units=32",
                           "--set", "tokenizer.vocab_size=200", "--run-dir", smoke_run)
    assert_user_error(code, err, "another configuration", "model.units: stored 16, requested 32",
                      "tokenizer.vocab_size")
    assert {p: p.stat().st_mtime_ns for p in smoke_run.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_resume_of_an_unfinished_run_trains_only_the_missing_epoch(capsys, smoke_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(smoke_run, run_dir)
    # Make it look like a 2-epoch run killed after epoch 1: config asks for 2, no final translator.
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["train"]["epochs"] = 2
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    shutil.rmtree(run_dir / "translator")
    first_row = (run_dir / "history.csv").read_text().splitlines()[1]
    code, out, err = run_cli(capsys, "train", "--config", "smoke", "--set", "train.epochs=2", "--run-dir", run_dir,
                             "-q")
    assert code == 0, err
    assert "resuming after epoch 1 of 2" in out and "Epoch 2/2" in out and "Epoch 1/2" not in out
    rows = (run_dir / "history.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[1] == first_row
    assert RunState.read(run_dir).epoch == 2 and (run_dir / "translator" / "translator.json").is_file()


@pytest.mark.slow
def test_raising_epochs_continues_a_finished_run_from_its_stored_config(capsys, smoke_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(smoke_run, run_dir)
    code, out, err = run_cli(capsys, "train", "--set", "train.epochs=2", "--run-dir", run_dir, "-q")
    assert code == 0, err
    assert "continuing a finished run up to epoch 2" in out and "Epoch 1/2" not in out
    assert RunState.read(run_dir).epoch == 2 and read_run_config(run_dir).train.epochs == 2


# ----------------------------------------------------------------------------- translate
@pytest.mark.slow
def test_translate_files_keeps_one_line_per_input_line(capsys, smoke_run, text_file, tmp_path):
    out_path = tmp_path / "output.en"
    code, out, err = run_cli(capsys, "translate", "--model", smoke_run, "-i", text_file, "-o", out_path)
    assert code == 0, err
    assert out == ""
    lines = out_path.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 6 and lines[-1] == ""  # five lines, each ended by a newline
    assert lines[1] == "" and lines[3] == ""  # empty and whitespace-only input lines stay empty
    assert "translating [" in err and "5/5 lines" in err  # the progress bar, on stderr


@pytest.mark.slow
def test_translate_stdin_to_stdout_with_beam(capsys, smoke_run, text_file, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text_file.read_bytes())))
    code, out, err = run_cli(capsys, "translate", "--model", smoke_run, "--beam", "1")
    assert code == 0, err
    lines = out.split("\n")
    assert len(lines) == 6 and lines[1] == lines[3] == lines[5] == ""
    assert "translating" not in err  # no progress bar for stdin
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code, out, _ = run_cli(capsys, "translate", "--model", smoke_run)
    assert (code, out) == (0, "")


@pytest.mark.slow
def test_translate_bad_input_file_is_a_user_error(capsys, smoke_run, tmp_path):
    code, _, err = run_cli(capsys, "translate", "--model", smoke_run, "-i", tmp_path / "nope.txt")
    assert_user_error(code, err, "nope.txt: no such file")
    (tmp_path / "latin1.txt").write_bytes(b"ok\ncaf\xe9\n")
    code, _, err = run_cli(capsys, "translate", "--model", smoke_run, "-i", tmp_path / "latin1.txt")
    assert_user_error(code, err, "latin1.txt:2: invalid UTF-8")


@pytest.mark.slow
def test_subprocess_translate_preserves_lines(smoke_run, text_file, data_dir):
    result = subprocess.run([sys.executable, "-m", "nmt", "translate", "--model", str(smoke_run)],
                            input=text_file.read_bytes(), capture_output=True, timeout=300,
                            env={**os.environ, "NMT_DATA_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().count("\n") == 5 and result.stdout.decode().split("\n")[1] == ""


# ----------------------------------------------------------------------------- evaluate
@pytest.mark.slow
def test_evaluate_on_the_run_test_split_writes_the_report_into_the_run(capsys, smoke_run):
    code, out, err = run_cli(capsys, "evaluate", "--model", smoke_run, "--max-sentences", "20", "--beam", "1")
    assert code == 0, err
    for metric in ("BLEU = ", "chrF2 = ", "TER = "):
        assert metric in out
    assert "nrefs:1|case:mixed|eff:no|tok:13a" in out  # sacreBLEU signatures
    report = smoke_run / "eval" / "multi30k.de-en.test_2016_flickr.beam1.csv"
    frame = pd.read_csv(report, keep_default_na=False)
    assert len(frame) == 20 and {"source", "reference", "hypothesis", "bleu", "chrf"} <= set(frame.columns)
    assert report.with_suffix(".json").is_file()


@pytest.mark.slow
def test_evaluate_files_and_named_datasets(capsys, smoke_run, tmp_path):
    src, ref = tmp_path / "test.de", tmp_path / "test.en"
    src.write_text("Ein Hund rennt.\nZwei Männer.\n")
    ref.write_text("A dog runs.\nTwo men.\n")
    report = tmp_path / "out" / "report.parquet"
    code, out, err = run_cli(capsys, "evaluate", "--model", smoke_run, "--src", src, "--ref", ref,
                             "--report", report)
    assert code == 0, err
    assert len(pd.read_parquet(report)) == 2 and report.with_suffix(".json").is_file()
    code, _, err = run_cli(capsys, "evaluate", "--model", smoke_run, "--dataset", "multi30k", "--pair", "de-en",
                           "--split", "val", "--max-sentences", "5", "--report", tmp_path / "val.csv")
    assert code == 0, err
    code, _, err = run_cli(capsys, "evaluate", "--model", smoke_run, "--dataset", "multi30k", "--pair", "de-xx",
                           "--split", "val")
    assert_user_error(code, err, "invalid language pair 'de-xx'")
    code, _, err = run_cli(capsys, "evaluate", "--model", smoke_run, "--dataset", "multi30k", "--pair", "en-de",
                           "--split", "val")
    assert_user_error(code, err, "the model translates de-en, the test set is en-de")
    code, _, err = run_cli(capsys, "evaluate", "--model", smoke_run, "--src", src)
    assert_user_error(code, err, "--src and --ref go together")
    code, _, err = run_cli(capsys, "evaluate", "--model", smoke_run, "--tokenize", "spacy")
    assert_user_error(code, err, "--tokenize 'spacy' is not one of 13a")
    code, _, err = run_cli(capsys, "evaluate", "--model", smoke_run, "--src", src, "--ref", tmp_path / "none.en")
    assert_user_error(code, err, "none.en")


# ----------------------------------------------------------------------------- export, plots, info
@pytest.mark.slow
def test_export_then_translate_and_evaluate_with_the_export(capsys, smoke_run, text_file, tmp_path):
    export = tmp_path / "export"
    code, out, err = run_cli(capsys, "export", "--model", smoke_run, "--out", export)
    assert code == 0, err
    assert (export / "saved_model.pb").is_file()
    code, _, err = run_cli(capsys, "export", "--model", smoke_run, "--out", export)
    assert_user_error(code, err, "already exists", "--overwrite")
    assert run_cli(capsys, "export", "--model", smoke_run, "--out", export, "--overwrite")[0] == 0
    from_run, from_export = tmp_path / "run.en", tmp_path / "export.en"
    assert run_cli(capsys, "translate", "--model", smoke_run, "-i", text_file, "-o", from_run)[0] == 0
    assert run_cli(capsys, "translate", "--model", export, "-i", text_file, "-o", from_export)[0] == 0
    assert from_export.read_text() == from_run.read_text()
    code, out, err = run_cli(capsys, "evaluate", "--model", export, "--dataset", "multi30k", "--pair", "de-en",
                             "--split", "test_2016_flickr", "--max-sentences", "5", "--report",
                             tmp_path / "export-eval.csv")
    assert code == 0, err
    assert "BLEU = " in out


@pytest.mark.slow
def test_plot_attention_writes_a_png(capsys, smoke_run, tmp_path):
    path = tmp_path / "attention.png"
    code, out, err = run_cli(capsys, "plot-attention", "--model", smoke_run, "--text", "Ein Hund rennt.", "--out",
                             path)
    assert code == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run_cli(capsys, "plot-attention", "--model", smoke_run, "--text", " ", "--out", path)
    assert_user_error(code, err, "--text is empty")


@pytest.mark.slow
def test_info_shows_config_vocabularies_parameters_and_scores(capsys, smoke_run):
    code, out, err = run_cli(capsys, "info", smoke_run)
    assert code == 0, err
    assert f"run directory: {smoke_run} (finished)" in out
    assert "data: multi30k de-en" in out and "vocabulary: source " in out
    assert "parameters: 21,404" in out  # configs/smoke.yaml's model with its 300-piece vocabularies
    assert "best validation scores (history.csv): " in out and "val_loss" in out
    assert "config:\n  data:\n    dataset: multi30k" in out


def test_setup_cfg_declares_the_console_script():
    text = (ROOT / "setup.cfg").read_text()
    assert "[options.entry_points]" in text and "nmt = nmt.cli:main" in text


def test_a_reader_that_goes_away_ends_nmt_quietly_with_status_141():
    """``nmt translate ... | head -1``: no BrokenPipeError traceback, the SIGPIPE status (141)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import sys
        from nmt.cli import commands, entry
        commands.COMMANDS["info"] = lambda args: [print("line", i, flush=True) for i in range(10 ** 7)] and 0
        sys.exit(entry.main(["info", "any-run"]))
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout.readline() == b"line 0\n"
    child.stdout.close()  # what `head -1` does after its first line
    _, err = child.communicate(timeout=120)
    assert child.returncode == 141, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()
