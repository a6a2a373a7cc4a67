"""Every promised user error, through the installed ``nmt`` console script: exit 2, one line, no traceback.

README: "User errors are one ``nmt: error: ...`` line on stderr with exit status 2."
``tests/test_cli.py`` checks most messages in-process; here the real console script
(``.venv/bin/nmt``, beside ``sys.executable``) runs each case with real file
descriptors and ``TF_CPP_MIN_LOG_LEVEL`` unset, as a user would have it, and the one
line must name the file or option at fault.

Cost: a command that gets past argument parsing imports TensorFlow (about 5 s of CPU).
Cases marked :data:`OWN_PROCESS` (argument errors, stdin, one per model kind) run as
separate ``nmt`` processes; the others are batched into one Python process that
imports TensorFlow once and runs the console script file for each case with
``runpy`` (``sys.argv`` set, file descriptors 1 and 2 redirected to files, an escaping
exception printed as the interpreter would print it, exit status 1). The models are
made once per module (the shared tiny translator, saved and exported, and damaged
copies), and everything runs in one module fixture; each test only checks its result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import pytest
import yaml

from nmt.config.run import dump_yaml, load_run_config

NMT = Path(sys.executable).parent / "nmt"
#: Processes running at once (TensorFlow's import is CPU-bound; CI has 2-4 cores).
PARALLEL = 2
#: Seconds one command may take (an error should come within seconds of TensorFlow's import).
TIMEOUT = 240

#: id -> (argv with {dir} for the fixture folder, stdin bytes or None, fragments of the error line).
#: Arguments parsed by argparse fail before TensorFlow is imported (cheap); the others pay the import.
CASES = {
    # --- argument parsing (no TensorFlow)
    "translate-without-model": (["translate", "-q"], None, ["--model"]),
    "beam-not-a-number": (["translate", "--model", "{dir}/translator", "--beam", "many"], None, ["--beam", "many"]),
    "evaluate-lowercase-bad-max": (["evaluate", "--model", "{dir}/translator", "--lowercase", "--max-sentences", "0"],
                                   None, ["--max-sentences", "0"]),
    "unknown-option": (["export", "--model", "{dir}/translator", "--force"], None, ["--force"]),
    # --- --model
    "model-missing": (["translate", "--model", "{dir}/nope"], None, ["--model", "nope"]),
    "model-run-without-epoch": (["translate", "--model", "{dir}/run"], None, ["--model", "run", "nmt train"]),
    "model-export-damaged": (["translate", "--model", "{dir}/damaged-export", "-i", "{dir}/input.de"], None,
                             ["damaged-export", "saved_model"]),
    "model-export-bad-metadata": (["translate", "--model", "{dir}/bad-metadata", "-i", "{dir}/input.de"], None,
                                  ["bad-metadata", "nmt_export.json"]),
    "model-keras-damaged": (["translate", "--model", "{dir}/damaged.keras", "-i", "{dir}/input.de"], None,
                            ["damaged.keras"]),
    "model-translator-bad-json": (["translate", "--model", "{dir}/bad-json", "-i", "{dir}/input.de"], None,
                                  ["bad-json", "translator.json"]),
    "model-keras-lambda": (["translate", "--model", "{dir}/lambda.keras", "-i", "{dir}/input.de"], None,
                           ["lambda.keras"]),
    "model-run-bad-state": (["translate", "--model", "{dir}/bad-state", "-i", "{dir}/input.de"], None,
                            ["bad-state", "state.json"]),
    # --- input and output files
    "input-is-a-directory": (["translate", "--model", "{dir}/translator", "-i", "{dir}/run"], None,
                             ["run", "is a directory"]),
    "stdin-invalid-utf8": (["translate", "--model", "{dir}/translator"], b"ein hund\r\nkatze\x0c\n\xff\xfe\n", ["<stdin>:3", "UTF-8"]),
    "output-folder-missing": (["translate", "--model", "{dir}/translator", "-i", "{dir}/input.de", "-o",
                               "{dir}/missing/out.en"], None, ["missing/out.en", "does not exist"]),
    # --- exports
    "export-beam-too-large": (["translate", "--model", "{dir}/export", "-i", "{dir}/input.de", "--beam", "99"], None,
                              ["--beam", "99"]),
    "export-of-an-export": (["export", "--model", "{dir}/export"], None, ["--model", "export", "already an export"]),
    "export-into-existing-folder": (["export", "--model", "{dir}/translator", "--out", "{dir}/run"], None,
                                    ["run", "--overwrite"]),
    "evaluate-lowercase-on-export": (["evaluate", "--model", "{dir}/export", "--lowercase"], None,
                                     ["--model", "--src/--ref"]),
    "plot-attention-out-folder-missing": (["plot-attention", "--model", "{dir}/export", "--text", "Ein Hund.",
                                           "--out", "{dir}/missing/a.png"], None, ["--out", "missing/a.png"]),
    # --- config files
    "config-not-a-mapping": (["train", "--config", "{dir}/list.yaml", "--run-dir", "{dir}/new"], None,
                             ["list.yaml", "mapping"]),
}
if hasattr(os, "geteuid") and os.geteuid() != 0:  # root reads every file
    CASES["input-unreadable"] = (["translate", "--model", "{dir}/translator", "-i", "{dir}/secret.de"], None,
                                 ["secret.de", "cannot read"])


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tiny_translator) -> Path:
    """The tiny translator saved and exported, a run without an epoch, damaged models, input files."""
    folder = tmp_path_factory.mktemp("cli-errors")
    tiny_translator.save(folder / "translator")
    tiny_translator.export(folder / "export")
    (folder / "run").mkdir()
    (folder / "run" / "config.yaml").write_text(dump_yaml(load_run_config("smoke"), stored=True), encoding="utf-8")
    (folder / "damaged-export").mkdir()
    (folder / "damaged-export" / "saved_model.pb").write_bytes(b"\x08\x01 not a protocol buffer")
    shutil.copytree(folder / "export", folder / "bad-metadata")
    (folder / "bad-metadata" / "assets" / "nmt_export.json").write_text("{oops", encoding="utf-8")
    (folder / "damaged.keras").write_bytes(b"PK\x03\x04 truncated zip")
    shutil.copytree(folder / "translator", folder / "bad-json")
    (folder / "bad-json" / "translator.json").write_text(json.dumps(["not", "settings"]), encoding="utf-8")
    inputs = keras.Input(shape=(3,))  # a model carrying Python code: refused by safe_mode
    keras.Model(inputs, keras.layers.Lambda(lambda x: x + 1, output_shape=(3,))(inputs)).save(folder / "lambda.keras")
    shutil.copytree(folder / "run", folder / "bad-state")
    (folder / "bad-state" / "state.json").write_text("{oops", encoding="utf-8")
    (folder / "input.de").write_text("ein hund rennt\n", encoding="utf-8")
    (folder / "list.yaml").write_text(yaml.safe_dump(["model", "train"]), encoding="utf-8")
    (folder / "secret.de").write_text("geheim\n", encoding="utf-8")
    (folder / "secret.de").chmod(0)
    return folder


#: Cases run as their own ``nmt`` process (the rest share one process: see the module docstring).
OWN_PROCESS = {"translate-without-model", "beam-not-a-number", "evaluate-lowercase-bad-max", "unknown-option",
               "stdin-invalid-utf8", "export-beam-too-large"}

#: Runs the console script (argv[1]) once per case of the JSON file argv[2]; writes the results to argv[3].
BATCH = r"""
import json, os, runpy, sys, tempfile, traceback
script, cases, target, results = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], {}
for name, argv in cases.items():
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    sys.stdout.flush(); sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
    try:
        sys.argv = [script, *argv]
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush(); sys.stderr.flush()
    finally:
        os.dup2(saved[0], 1); os.dup2(saved[1], 2); os.close(saved[0]); os.close(saved[1])
    out.seek(0); err.seek(0)
    results[name] = [code, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")]
json.dump(results, open(target, "w"))
"""


@pytest.fixture(scope="module")
def results(folder) -> dict[str, tuple[int, bytes, bytes]]:
    """``case -> (exit status, stdout, stderr)`` of every case of :data:`CASES`."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}

    def args(case: str) -> list[str]:
        return [arg.replace("{dir}", str(folder)) for arg in CASES[case][0]]

    def own(case: str) -> tuple[int, bytes, bytes]:
        stdin = CASES[case][1]
        result = subprocess.run([str(NMT), *args(case)], input=stdin if stdin is not None else b"",
                                capture_output=True, timeout=TIMEOUT, env=env, cwd=folder)
        return result.returncode, result.stdout, result.stderr

    def batch() -> dict[str, tuple[int, bytes, bytes]]:
        cases = {case: args(case) for case in CASES if case not in OWN_PROCESS}
        (folder / "batch.json").write_text(json.dumps(cases), encoding="utf-8")
        subprocess.run([sys.executable, "-c", BATCH, str(NMT), str(folder / "batch.json"), str(folder / "out.json")],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT * 2, env=env, cwd=folder,
                       check=True)
        done = json.loads((folder / "out.json").read_text(encoding="utf-8"))
        return {case: (code, out.encode(), err.encode()) for case, (code, out, err) in done.items()}

    with ThreadPoolExecutor(PARALLEL) as pool:
        batched = pool.submit(batch)
        separate = dict(zip(sorted(OWN_PROCESS), pool.map(own, sorted(OWN_PROCESS))))
        return {**separate, **batched.result()}


def test_the_console_script_is_installed():
    assert NMT.is_file() and os.access(NMT, os.X_OK), f"{NMT}: install nmt into this environment (pip install -e .)"


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_user_error_is_one_line_with_exit_status_2(results, folder, case):
    code, out, err = results[case]
    err = err.decode("utf-8", "replace")
    assert "Traceback" not in err, err[-3000:]
    assert code == 2, err[-3000:]
    assert err.endswith("\n") and err.count("\n") == 1 and err.startswith("nmt: error: "), err
    line = err.strip().replace(str(folder) + os.sep, "")
    for fragment in CASES[case][2]:
        assert fragment in line, (fragment, line)
    assert out == b""
