"""``nmt translate`` in chunks (issue 18): lazy input, chunk boundaries, atomic ``-o``, progress.

A tiny untrained character translator (batches of 2) stands in for a model;
:data:`nmt.cli.decoding.CHUNK_LINES` is set to 4, so chunks hold 4 lines and the
inputs of 3, 4 and 5 lines fall just below, on and above a chunk boundary. Every
output must equal that of one chunk holding all lines.
"""

from __future__ import annotations

import copy
import gzip
import io
import os
import sys
import threading
from types import SimpleNamespace

import pytest
from fakes import assert_user_error, run_cli, train_tiny

from nmt import runs
from nmt.cli import decoding, textio
from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig

CHUNK = 4
LINES = ["ein hund", "", "die frau und der mann", "zwei hunde", "  ", "eine katze", "der mann", "ein kind",
         "die frau"]


@pytest.fixture(scope="module")
def translator():
    config = DecodeConfig(beam_size=2, max_length_a=0.5, max_length_b=4, batch_size=2, max_input_length=30)
    return train_tiny(list(zip(["ein hund", "eine katze", "der mann"], ["a dog", "a cat", "the man"])), kind="char",
                      vocab_size=(24, 20), steps=0, model_config=ModelConfig(units=8, embedding_dim=8),
                      config=config, seed=3)


@pytest.fixture
def cli(translator, monkeypatch):
    """Loads the tiny translator for any --model; chunks of :data:`CHUNK` lines."""
    monkeypatch.setattr(runs, "load_translator", lambda path, log=None: copy.copy(translator))
    monkeypatch.setattr(decoding, "CHUNK_LINES", CHUNK)
    return translator


def _translate(capsys, source, *options) -> tuple[int, str, str]:
    return run_cli(capsys, "translate", "--model", "tiny", "-i", source, *options)


# ----------------------------------------------------------------------------- chunk boundaries
@pytest.mark.parametrize("count", [CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 1])
@pytest.mark.parametrize("final_newline", [True, False])
def test_chunk_boundaries_give_the_output_of_one_call(capsys, cli, tmp_path, count, final_newline):
    lines = LINES[:count]
    source = tmp_path / "input.de"
    source.write_text("\n".join(lines) + ("\n" if final_newline else ""), encoding="utf-8")
    code, out, err = _translate(capsys, source, "-q")
    assert code == 0, err
    assert out == "".join(line + "\n" for line in cli.translate(lines))  # one line per input line
    code, _, err = _translate(capsys, source, "-q", "-o", tmp_path / "output.en")
    assert code == 0, err
    assert (tmp_path / "output.en").read_text(encoding="utf-8") == out


@pytest.mark.parametrize("options", [["--n-best", "2"], ["--n-best", "2", "--n-best-format", "tsv"]])
def test_n_best_across_chunks_equals_one_chunk(capsys, cli, tmp_path, monkeypatch, options):
    source = tmp_path / "input.de"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    chunked = _translate(capsys, source, "-q", *options)
    monkeypatch.setattr(decoding, "CHUNK_LINES", 1000)
    whole = _translate(capsys, source, "-q", *options)
    assert chunked == whole and whole[0] == 0
    rows = whole[1].splitlines()
    assert len(rows) == 2 * len(LINES)
    if "tsv" in options:  # input indices go on counting across chunks
        assert [row.split("\t")[0] for row in rows] == [str(i) for i in range(len(LINES)) for _ in range(2)]


def test_gzip_input_equals_plain_input(capsys, cli, tmp_path):
    text = "\n".join(LINES) + "\n"
    (tmp_path / "input.de").write_text(text, encoding="utf-8")
    (tmp_path / "input.de.gz").write_bytes(gzip.compress(text.encode()))
    assert _translate(capsys, tmp_path / "input.de.gz", "-q") == _translate(capsys, tmp_path / "input.de", "-q")
    (tmp_path / "broken.gz").write_bytes(b"not gzip\n")
    code, _, err = _translate(capsys, tmp_path / "broken.gz", "-q")
    assert_user_error(code, err, "broken.gz: cannot read after line 0")


# ----------------------------------------------------------------------------- laziness
def test_lines_are_taken_one_chunk_at_a_time():
    taken = []

    def lines():
        for index in range(7):
            taken.append(index)
            yield f"line {index}"

    seen = []
    fake = SimpleNamespace(config=SimpleNamespace(batch_size=2),
                           translate=lambda batch: seen.append(len(taken)) or [t.upper() for t in batch])
    args = SimpleNamespace(n_best=None)
    chunks = decoding.translate_chunks(fake, lines(), args, {}, size=3)
    assert next(chunks) == (3, ["LINE 0", "LINE 1", "LINE 2"]) and taken == [0, 1, 2]
    assert [count for count, _ in chunks] == [3, 1]
    assert seen == [3, 6, 7]  # each chunk translated as soon as it was read


def test_open_lines_reads_lazily_and_names_the_bad_line(tmp_path):
    path = tmp_path / "big.de"
    path.write_bytes(b"eins\nzwei\r\n" * 3 + b"caf\xe9\n" + b"never read\n")
    lines = textio.open_lines(path)  # opening reads nothing
    assert [next(lines) for _ in range(6)] == ["eins", "zwei"] * 3
    with pytest.raises(textio.InputError, match=r"big\.de:7: invalid UTF-8"):
        next(lines)
    with pytest.raises(textio.InputError, match="no such file"):
        textio.open_lines(tmp_path / "missing.de")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n", b"a", b"a\n", b"a\n\nb", b"\n\n",
                                  b"\xef\xbb\xbfa\r\nb"])
def test_count_lines_counts_as_read_lines(tmp_path, data):
    path = tmp_path / "input.txt"
    path.write_bytes(data)
    assert textio.count_lines(path) == len(textio.read_lines(path))


def test_chunk_size_is_a_batch_multiple(monkeypatch):
    monkeypatch.setattr(decoding, "CHUNK_LINES", 10)
    sizes = [decoding.chunk_size(SimpleNamespace(config=SimpleNamespace(batch_size=b))) for b in (1, 3, 10, 64)]
    assert sizes == [10, 12, 10, 64]


# ----------------------------------------------------------------------------- errors and atomic output
def test_an_error_deep_in_the_input_leaves_no_output_file(capsys, cli, tmp_path):
    source = tmp_path / "input.de"
    source.write_bytes(("\n".join(LINES[:CHUNK + 1]) + "\n").encode() + b"caf\xe9\n")  # bad line in chunk 2
    output = tmp_path / "output.en"
    output.write_text("previous\n")
    code, _, err = _translate(capsys, source, "-q", "-o", output)
    assert_user_error(code, err, f"input.de:{CHUNK + 2}: invalid UTF-8")
    assert output.read_text() == "previous\n" and sorted(os.listdir(tmp_path)) == ["input.de", "output.en"]
    code, out, err = _translate(capsys, source, "-q")  # stdout streams: the first chunk is out already
    assert_user_error(code, err, f"input.de:{CHUNK + 2}: invalid UTF-8")
    assert out.count("\n") == CHUNK


def test_output_file_replaces_the_old_one_through_a_symlink(capsys, cli, tmp_path):
    source = tmp_path / "input.de"
    source.write_text("ein hund\n")
    (tmp_path / "real.en").write_text("old\n")
    os.chmod(tmp_path / "real.en", 0o640)
    (tmp_path / "link.en").symlink_to("real.en")
    assert _translate(capsys, source, "-q", "-o", tmp_path / "link.en")[0] == 0
    assert (tmp_path / "link.en").is_symlink() and (tmp_path / "real.en").read_text().count("\n") == 1
    assert (tmp_path / "real.en").stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["input.de", "link.en", "real.en"]


def test_a_named_pipe_is_written_directly(capsys, cli, tmp_path):
    source, pipe = tmp_path / "input.de", tmp_path / "pipe"
    source.write_text("\n".join(LINES) + "\n")
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()))
    reader.start()
    code, _, err = _translate(capsys, source, "-q", "-o", pipe)
    reader.join(timeout=60)
    assert code == 0, err
    assert received[0].count("\n") == len(LINES) and pipe.exists() and not pipe.is_file()


# ----------------------------------------------------------------------------- progress
def test_progress_per_chunk_with_the_flag_never_with_quiet(capsys, cli, tmp_path, monkeypatch):
    source = tmp_path / "input.de"
    source.write_text("\n".join(LINES) + "\n")
    code, _, err = _translate(capsys, source)  # stderr is no terminal: the final line only
    assert code == 0 and err.splitlines()[-1].startswith(f"translating [{'#' * 30}] 9/9 lines,")
    assert len(err.splitlines()) == 1 and "lines/s" in err
    code, _, err = _translate(capsys, source, "--progress")
    assert [line.split(",")[0] for line in err.splitlines()] == [
        "translating 4 lines", "translating 8 lines", "translating 9 lines", f"translating [{'#' * 30}] 9/9 lines"]
    assert _translate(capsys, source, "--progress", "-q")[2] == ""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(source.read_bytes())))
    code, out, err = run_cli(capsys, "translate", "--model", "tiny", "--progress")
    assert code == 0 and out.count("\n") == len(LINES) and "9/9 lines" in err


def test_help_documents_streaming(capsys):
    from nmt.cli.parser import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["translate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--progress" in text and "renamed into place" in text and "already been written" in text


def test_progress_on_a_terminal_redraws_one_line():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = textio.Progress(None, "translating", stream=stream)
    progress.update(4096)
    progress.update(10)
    progress.close()
    frames = stream.getvalue().split("\r")[1:]
    assert [frame.rsplit(", ", 1)[0] for frame in frames] == [
        "translating 0 lines", "translating 4,096 lines", "translating 4,106 lines",
        f"translating [{'#' * 30}] 4,106/4,106 lines"]
    assert frames[-1].endswith(" lines/s\n") and stream.getvalue().count("\n") == 1


def test_truncation_is_one_warning_for_the_whole_input_not_one_per_chunk(cli, tmp_path):
    """10 lines over max_input_length=30 characters, in chunks of 4: one warning counting all 10."""
    import warnings

    from nmt.translate.translator import TruncationWarning

    lines = ["ein hund " * 5 if i % 2 else "ein hund" for i in range(20)]  # every other line is 45 characters
    args = SimpleNamespace(n_best=None, n_best_format="lines")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = [output for _, output in decoding.translate_chunks(cli, lines, args, {})]
    truncation = [warning.message for warning in caught if warning.category is TruncationWarning]
    assert len(outputs) == 5 and len(truncation) == 1
    assert (truncation[0].truncated, truncation[0].total, truncation[0].limit) == (10, 20, 30)
    assert str(truncation[0]).startswith("10 of 20 inputs are longer than max_input_length=30 tokens")


def test_other_warnings_keep_the_callers_filters_across_chunks(monkeypatch):
    """Only truncation warnings are collected per chunk: a warning the caller ignores stays ignored."""
    import warnings

    monkeypatch.setattr(decoding, "CHUNK_LINES", CHUNK)

    def translate(lines):
        warnings.warn("raised by every call", UserWarning, stacklevel=2)
        warnings.warn("shown", RuntimeWarning, stacklevel=2)
        return list(lines)

    fake = SimpleNamespace(config=SimpleNamespace(batch_size=2), translate=translate)
    args = SimpleNamespace(n_best=None, n_best_format="lines")
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", UserWarning)
        outputs = [output for _, output in decoding.translate_chunks(fake, LINES, args, {})]
    assert sum(outputs, []) == LINES and len(outputs) == 3
    assert [str(w.message) for w in caught] == ["shown"] * 3  # the UserWarning was shown 3 times before
