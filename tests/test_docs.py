"""The docs run: every command in README.md, docs/*.md and data/README.md is run or excused.

What is checked, fast (no training):

- every fenced shell block (```bash, ```sh) is split into commands (``\\`` continuations
  joined, comments dropped, ``&&``/``;``/``|`` split); each command is an ``nmt`` command, a
  small file utility (:data:`UTILITIES`), or matches an entry of :data:`NOT_RUN`, which gives
  the reason it is not run (and every entry must still match some documented command);
- every ``nmt`` command of those blocks, and every inline code span that is an ``nmt``
  command with arguments, parses with the real argument parser (:func:`nmt.cli.parser.build_parser`),
  so every documented flag exists and takes the documented kind of value;
- every inline code span that starts with ``--`` names an option of ``nmt`` or of
  ``python -m nmt.cli.demo``, or one of :data:`OTHER_FLAGS` (other tools' options);
- every config key the prose and shell blocks name (``train.max_minutes``,
  ``data.cleaning.normalization``, ...) is a field of the config dataclasses;
- every ```yaml block made of config sections builds a valid :class:`nmt.config.run.RunConfig`;
- every ```python block compiles.

What runs (marked ``slow``; one module-scoped fixture does all the training): README's shell
blocks, in document order, in a scratch folder holding ``input.de`` (three German sentences)
and ``my_data/`` (aligned files cut from Multi30k: ``train`` 300 pairs, ``valid`` 64,
``test`` 20, plus a second reference ``test.2.en``). ``nmt`` commands run in-process
(``nmt.cli.main``), with one substitution (:func:`substitute`): ``--config`` of a recipe other
than ``smoke`` becomes ``--config smoke``, so the 60-minute recipes become a one-epoch tiny
model on 300 pairs. A ``train`` command whose substituted arguments equal an earlier one's
apart from ``--run-dir`` copies that run directory instead of training the same thing again.
Then README's ```python blocks run in the same folder, in order, in one namespace, with the
size substitutions of :data:`PYTHON_SUBSTITUTIONS`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import shlex
import shutil
import subprocess
import sys
import time
import typing
from pathlib import Path
from unittest import mock

import pytest
import yaml

from nmt.cli import main
from nmt.cli.demo import build_parser as build_demo_parser
from nmt.cli.parser import build_parser
from nmt.config.bundled import bundled_configs
from nmt.config.run import RunConfig, run_config_from_dict

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = (README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "data" / "README.md")

#: Documented commands that are not run, with the reason (regular expressions matched against the
#: start of the command, its words joined by single spaces). Each must match a documented command.
NOT_RUN = {
    r"make demo$": "8 minutes of training; tests/test_demo.py runs the demo's steps on the smoke config",
    r"make test$": "the whole test suite (this module is part of it)",
    r"make setup$": "creates .venv and installs from PyPI (network); the test runs inside such an environment",
    r"source \.venv/bin/activate$": "changes the calling shell only",
    r"nmt evaluate .*--tokenize flores200": "downloads sacreBLEU's flores200 SentencePiece model (network); "
                                            "the other tokenizers are run",
    r"docker run ": "needs Docker and the tensorflow/serving image (not on our machines; untested, as README says)",
    r"curl ": "needs the TensorFlow Serving container of the line before",
    r"export TF_CONFIG=": "a multi-worker cluster (docs/distributed.md); tests/test_cluster.py runs two local workers",
    r"nmt train .*train\.distribute=multi_worker": "needs every worker of the TF_CONFIG cluster; "
                                                   "tests/test_cluster.py trains the smoke config on two local workers",
    r"nmt train --config smoke --run-dir runs/smoke --set train\.epochs=2$":
        "one more training; tests/test_cli.py continues a finished smoke run with --set train.epochs=2 "
        "(test_raising_epochs_continues_a_finished_run_from_its_stored_config) and checks the result",
    r"hosts=": "Slurm job script (a sketch): needs a Slurm cluster",
    r"workers=": "Slurm job script (a sketch): needs a Slurm cluster",
    r"srun ": "Slurm job script (a sketch): needs a Slurm cluster",
    r"python -c .*saved_model_cli": "saved_model_cli in a new Python process on exports/de_en; tests/test_export.py "
                                    "runs saved_model_cli on an export",
    r"\.venv/bin/python -m nmt\.tokenizers\.metrics ": "trains WordPiece on all of Multi30k (minutes)",
    r"\.venv/bin/python -m pytest tests/test_tokenizers\.py": "another test module",
}

#: Programs the run test executes as they are (in the scratch folder, no shell).
UTILITIES = ("mkdir", "cp")

#: Options of tools other than ``nmt`` that the docs name in inline code.
OTHER_FLAGS = {
    "--grid": "benchmarks/quality.py",
    "--minutes": "benchmarks/quality.py",
    "--test": "benchmarks/quality.py",
    "--quick": "benchmarks/soak.py",
    "--model": "benchmarks/compare_commits.py and compat.py (also an nmt option)",
    "--base": "benchmarks/compare_commits.py",
    "--train-seconds": "benchmarks/translate_throughput.py",
    "--datasets": "benchmarks/translate_throughput.py",
    "--cases": "benchmarks/train_throughput.py",
    "--no-write": "benchmarks/train_throughput.py",
    "--data-dir": "python -m nmt.tokenizers.metrics",
}

#: README's Python blocks at tiny sizes: (documented text, what runs instead). Each must occur.
PYTHON_SUBSTITUTIONS = (
    ('load_dataset("multi30k", "de-en", "train")', 'load_dataset("multi30k", "de-en", "train").head(300)'),
    ('load_dataset("multi30k", "de-en", "val")', 'load_dataset("multi30k", "de-en", "val").head(64)'),
    ('load_dataset("multi30k", "de-en", "test_2016_flickr")',
     'load_dataset("multi30k", "de-en", "test_2016_flickr").head(20)'),
    ("vocab_size=8000", "vocab_size=300"),
    ("units=256", "units=16, embedding_dim=16"),
    ("TrainConfig(epochs=10,", "TrainConfig(epochs=1, steps_per_epoch=2,"),
)

#: Dotted names in the docs that look like config keys but are not (the docs mean something else).
NOT_KEYS = {
    "model.fit": "Keras' Model.fit (docs/distributed.md)",
    "model.train_statistics": "the Seq2Seq method the training loop runs (docs/distributed.md)",
    "tokenizer.json": "the file a saved tokenizer writes (docs/tokenizers.md)",
}

#: The config sections and the dataclass of each.
SECTIONS = typing.get_type_hints(RunConfig)

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
_KEY = re.compile(r"(?<![\w./-])(" + "|".join(SECTIONS) + r")\.([a-z_]+)(?:\.([a-z_]+))?(?![\w(])")


# ----------------------------------------------------------------------------- extraction
def fenced(path: Path, *languages: str) -> list[tuple[int, str]]:
    """``(line number, text)`` of every fenced block of ``path`` in one of ``languages``."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(2)) for m in _FENCE.finditer(text)
            if m.group(1) in languages]


def prose(path: Path) -> str:
    """``path`` without its fenced blocks."""
    return _FENCE.sub("", path.read_text(encoding="utf-8"))


def shell_commands(block: str) -> list[list[list[str]]]:
    """The command lines of a shell block, each a list of segments (words), split at ``&&``, ``;`` and ``|``.

    A pipe is kept as a segment ``["|"]`` so that ``echo TEXT | nmt ...`` can be run.
    """
    lines = []
    for line in block.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        words = list(lexer)
        if not words:
            continue
        segments: list[list[str]] = [[]]
        for word in words:
            if word in ("&&", ";", "|"):
                segments.extend([["|"]] if word == "|" else [])
                segments.append([])
            else:
                segments[-1].append(word)
        lines.append([s for s in segments if s])
    return lines


def documented_commands() -> list[tuple[str, list[list[str]]]]:
    """``(where, segments)`` for every command line of every shell block, in document order."""
    found = []
    for path in DOCS:
        for line, block in fenced(path, "bash", "sh", "shell"):
            for segments in shell_commands(block):
                found.append((f"{path.relative_to(ROOT)}:{line}", segments))
    return found


def nmt_argv(words: list[str]) -> list[str] | None:
    """The arguments after ``nmt`` (also ``.venv/bin/nmt``, ``python -m nmt``), or None for another program."""
    if words[0] in ("nmt", ".venv/bin/nmt"):
        return words[1:]
    if len(words) > 2 and words[0] in ("python", "python3", ".venv/bin/python") and words[1:3] == ["-m", "nmt"]:
        return words[3:]
    return None


def not_run_reason(words: list[str]) -> str | None:
    text = " ".join(words)
    return next((reason for pattern, reason in NOT_RUN.items() if re.match(pattern, text)), None)


def inline_nmt_commands() -> list[tuple[str, list[str]]]:
    """Inline code spans of the prose that are ``nmt`` commands with arguments (no ``...``/``[``/``|`` sketches)."""
    found = []
    for path in DOCS:
        for span in _INLINE.findall(prose(path)):
            if not span.startswith("nmt ") or any(mark in span for mark in ("...", "[", "|")):
                continue
            argv = shlex.split(span)[1:]
            if len(argv) > 1:
                found.append((f"{path.relative_to(ROOT)}: `{span}`", argv))
    return found


# ----------------------------------------------------------------------------- fast checks
def test_every_shell_command_is_run_or_has_a_reason():
    used, problems = set(), []
    for where, segments in documented_commands():
        for words in segments:
            if words == ["|"] or nmt_argv(words) is not None or words[0] in UTILITIES or words[0] == "echo":
                continue
            text = " ".join(words)
            matched = [pattern for pattern in NOT_RUN if re.match(pattern, text)]
            used.update(matched)
            if not matched:
                problems.append(f"{where}: {text!r} is neither run by tests/test_docs.py nor in NOT_RUN")
    for words in (w for _, segments in documented_commands() for w in segments if nmt_argv(w) is not None):
        used.update(p for p in NOT_RUN if re.match(p, " ".join(words)))
    problems += [f"NOT_RUN entry {p!r} matches no documented command: remove it" for p in NOT_RUN if p not in used]
    assert not problems, "\n".join(problems)


def test_every_documented_nmt_command_parses():
    parser, demo_parser = build_parser(), build_demo_parser()
    commands = [(where, nmt_argv(words)) for where, segments in documented_commands() for words in segments
                if nmt_argv(words) is not None]
    commands += inline_nmt_commands()
    assert len(commands) >= 25, commands
    problems = []
    for where, argv in commands:
        try:
            parser.parse_args(argv)
        except (Exception, SystemExit) as error:  # noqa: BLE001 - the parser's UsageError or argparse's exit
            problems.append(f"{where}: nmt {shlex.join(argv)}: {error}")
    for _where, segments in documented_commands():
        for words in segments:
            if words[:3] in (["python", "-m", "nmt.cli.demo"], [".venv/bin/python", "-m", "nmt.cli.demo"]):
                demo_parser.parse_args(words[3:])
    assert not problems, "\n".join(problems)


def _options(parser) -> set[str]:
    import argparse

    found = set()
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of options
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_every_documented_flag_exists():
    known = _options(build_parser()) | _options(build_demo_parser()) | set(OTHER_FLAGS)
    problems = []
    for path in DOCS:
        for span in _INLINE.findall(prose(path)):
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", span) if span.startswith("--") else ():
                if flag not in known:
                    problems.append(f"{path.relative_to(ROOT)}: `{span}`: {flag} is not an option of nmt, "
                                    f"of python -m nmt.cli.demo, or of OTHER_FLAGS")
    assert not problems, "\n".join(problems)


def _field_names(config_class) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(config_class) if f.metadata.get("config_key", True)}


def test_every_config_key_named_in_the_docs_exists():
    problems, seen = [], set()
    for path in DOCS:
        text = prose(path) + "".join(block for _, block in fenced(path, "bash", "sh", "shell", "yaml", ""))
        for section, key, sub in _KEY.findall(text):
            if f"{section}.{key}" in NOT_KEYS:
                continue
            seen.add(f"{section}.{key}")
            fields = _field_names(SECTIONS[section])
            if key not in fields:
                problems.append(f"{path.relative_to(ROOT)}: {section}.{key} is not a key (keys: {', '.join(fields)})")
                continue
            if sub:
                nested = typing.get_type_hints(SECTIONS[section])[key]
                if not dataclasses.is_dataclass(nested) or sub not in _field_names(nested):
                    problems.append(f"{path.relative_to(ROOT)}: {section}.{key}.{sub} is not a key")
    assert len(seen) >= 30, sorted(seen)
    assert not problems, "\n".join(problems)


def test_yaml_configs_in_the_docs_are_valid():
    checked = 0
    for path in DOCS:
        for _line, block in fenced(path, "yaml"):
            for values in yaml.safe_load_all(block):
                if not isinstance(values, dict) or not set(values) <= set(SECTIONS):
                    continue  # not a run config (a Kubernetes manifest, ...)
                run_config_from_dict(values)
                checked += 1
    assert checked >= 1


def test_python_blocks_compile():
    blocks = [(path, line, block) for path in DOCS for line, block in fenced(path, "python")]
    assert len(blocks) >= 8
    for path, line, block in blocks:
        compile(block, f"{path.relative_to(ROOT)}:{line}", "exec")


# ----------------------------------------------------------------------------- running them
def substitute(argv: list[str]) -> list[str]:
    """``--config RECIPE`` (a bundled recipe other than smoke, by name or as configs/RECIPE.yaml) -> ``--config smoke``."""
    recipes = set(bundled_configs()) - {"smoke"}
    argv = list(argv)
    for i, word in enumerate(argv[:-1]):
        if word == "--config" and (argv[i + 1] in recipes or (argv[i + 1].startswith("configs/")
                                                             and Path(argv[i + 1]).stem in recipes)):
            argv[i + 1] = "smoke"
    return argv


def _without_run_dir(argv: list[str]) -> tuple[list[str], str | None]:
    if "--run-dir" not in argv:
        return argv, None
    i = argv.index("--run-dir")
    return argv[:i] + argv[i + 2:], argv[i + 1]


def _write_lines(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _prepare(folder: Path) -> None:
    """``input.de`` and ``my_data/`` (see the module docstring)."""
    from nmt.data import load_dataset

    _write_lines(folder / "input.de", ["Ein Hund rennt durch den Park.", "Zwei Männer spielen Fußball.",
                                       "Eine Frau liest ein Buch."])
    for split, name, n in (("train", "train", 300), ("val", "valid", 64), ("test_2016_flickr", "test", 20)):
        corpus = load_dataset("multi30k", "de-en", split).head(n)
        _write_lines(folder / "my_data" / f"{name}.de", corpus.sources)
        _write_lines(folder / "my_data" / f"{name}.en", corpus.targets)
    shutil.copy(folder / "my_data" / "test.en", folder / "my_data" / "test.2.en")


def _run_nmt(argv: list[str], stdin: str | None, trained: dict) -> tuple[int, str]:
    """Runs ``nmt ARGV`` in-process (or copies an identical earlier training run); (status, output)."""
    key, run_dir = _without_run_dir(argv)
    if argv[0] == "train" and run_dir is not None and tuple(key) in trained:
        shutil.copytree(trained[tuple(key)], run_dir)
        return 0, f"copied {trained[tuple(key)]} (same training)"
    out = io.StringIO()
    streams = mock.patch.object(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode()))) if stdin is not None \
        else contextlib.nullcontext()
    with streams, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(argv)
    if argv[0] == "train" and run_dir is not None and code == 0:
        trained[tuple(key)] = run_dir
    return code, out.getvalue()


@pytest.fixture(scope="module")
def docs_run(tmp_path_factory, data_dir):
    """README's shell blocks run in order in a scratch folder: (folder, [(where, command, status, seconds, output)])."""
    folder = tmp_path_factory.mktemp("docs")
    results, trained = [], {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NMT_DATA_DIR", str(data_dir))
        patch.chdir(folder)
        _prepare(folder)
        for where, segments in documented_commands():
            if not where.startswith("README.md"):
                continue
            stdin = None
            for words in segments:
                if words == ["|"] or not_run_reason(words) is not None:
                    continue
                if words[0] == "echo":  # only as `echo TEXT | nmt ...`
                    stdin = " ".join(words[1:]) + "\n"
                    continue
                start = time.perf_counter()
                argv = nmt_argv(words)
                if argv is not None:
                    argv = substitute(argv)
                    code, output = _run_nmt(argv, stdin, trained)
                    command = "nmt " + shlex.join(argv)
                else:
                    done = subprocess.run(words, capture_output=True, text=True, check=False)
                    code, output, command = done.returncode, done.stdout + done.stderr, shlex.join(words)
                stdin = None
                results.append((where, command, code, time.perf_counter() - start, output))
    return folder, results


@pytest.mark.slow
def test_readme_commands_run(docs_run):
    folder, results = docs_run
    timing = "\n".join(f"{seconds:6.1f} s  {code}  {command}" for _, command, code, seconds, _ in results)
    failed = [f"{where}: {command} -> exit {code}\n{output[-2000:]}"
              for where, command, code, _, output in results if code != 0]
    assert not failed, "\n\n".join(failed) + "\n\n" + timing
    assert len(results) >= 20, timing
    # What the commands promise to write.
    lines = (folder / "input.de").read_text(encoding="utf-8").splitlines()
    assert len((folder / "output.en").read_text(encoding="utf-8").splitlines()) == len(lines)
    rows = [row.split("\t") for row in (folder / "nbest.tsv").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5 * len(lines) and all(len(row) == 4 for row in rows)
    for path in ("runs/smoke/translator", "runs/my_data/translator", "runs/adapted/translator",
                 "runs/de_en/export/saved_model.pb", "serving/de_en/1/saved_model.pb", "attention.png",
                 "my_data/test.report.csv", "my_data/test.report.json"):
        assert (folder / path).exists(), path
    adapted = yaml.safe_load((folder / "runs/adapted/config.yaml").read_text(encoding="utf-8"))
    assert adapted["data"]["dataset"] == "files" and adapted["train"]["init_from"]


@pytest.mark.slow
def test_readme_python_runs(docs_run, data_dir):
    folder, _ = docs_run
    code = "\n".join(block for _, block in fenced(README, "python"))
    for documented, tiny in PYTHON_SUBSTITUTIONS:
        assert documented in code, f"PYTHON_SUBSTITUTIONS: {documented!r} is no longer in README.md"
        code = code.replace(documented, tiny)
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()):
        patch.setenv("NMT_DATA_DIR", str(data_dir))
        patch.chdir(folder)
        namespace: dict = {"__name__": "readme"}
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - README's own examples
    assert (folder / "exports/de_en/saved_model.pb").is_file()
    assert (folder / "report.csv").is_file()
