"""Bounded, derandomized fuzzing (hypothesis) of what reads user input: translators, readers, config files.

Every test runs a fixed, small number of examples (``derandomize=True``: the same
examples on every run, no example database), so CI stays stable and fast:

- ``Translator.translate`` and the export's ``serving_default`` get arbitrary Unicode
  (NUL, lone surrogates, combining marks, right-to-left text, emoji ZWJ sequences,
  tabs, ``\\r``, form feeds, a 10,000-character line, empty lines next to long ones,
  lists of 0 and 1 items): one output per input, an input alone translates as it does
  inside its batch, and the export returns what the Python translator returns.
- ``nmt translate`` (stdin to stdout, in-process) keeps one output line per input line
  whatever the bytes, or fails with one line naming ``<stdin>`` and the line.
- The corpus readers (:mod:`nmt.data.readers`) parse damaged files (truncated or
  corrupt ``.gz``, a byte order mark, mixed line endings, 1 or 50 TSV columns,
  invalid UTF-8) correctly or raise a ``CorpusError`` naming the file (and line).
- Config files with any YAML value at any key of any section load, or raise one
  ``ConfigError`` line that names the key.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import sys
import tempfile
import typing
import warnings
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nmt.config.base import ConfigError
from nmt.config.run import RunConfig, load_run_config, read_yaml
from nmt.data.readers import CorpusError, iter_lines, read_aligned, read_table, read_tsv

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

# ----------------------------------------------------------------------------- text strategies
#: Hand-picked hard cases, mixed into the generated text.
SPECIAL = [
    "", " ", "\x00", "ein\x00hund", "\ud800", "a\udfffb", "e\u0301\u0308\u20dd", "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "\u202eein hund\u202c", "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 \U0001f44d\U0001f3fd",
    "ein\thund", "ein\rhund", "ein\x0chund", "\x0b\x1c\x1d\x1e\x85\u2028\u2029", "\ufeffein hund",
    "ein hund rennt " * 700,  # about 10,000 characters
    "x" * 10_000,
]
texts = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=40),
                  st.text(st.characters(codec="utf-8", categories=["L", "M", "Zs"]), max_size=30))
batches = st.lists(texts, max_size=6)


# ----------------------------------------------------------------------------- Translator and export
def _translate(translator, items):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TruncationWarning for the long lines
        return translator.translate(items)


@pytest.fixture(scope="module")
def exported(tiny_translator, tmp_path_factory):
    from nmt.export.loader import ExportedTranslator

    path = tiny_translator.export(tmp_path_factory.mktemp("fuzz") / "export")
    return ExportedTranslator(path)


#: Explicit examples run before the generated ones: every hard case at once, 0 and 1 items, long next to empty.
EXAMPLES = [SPECIAL, [], ["x" * 10_000], ["", "ein hund rennt " * 700, "", "ein hund"], ["\ud800"]]


def _with_examples(test):
    for items in reversed(EXAMPLES):
        test = example(items=items)(test)
    return test


@pytest.mark.slow
@settings(FUZZ, max_examples=30)
@_with_examples
@given(items=batches)
def test_translator_gives_one_output_per_input_alone_as_in_the_batch(tiny_translator, items):
    outputs = _translate(tiny_translator, items)
    assert isinstance(outputs, list) and len(outputs) == len(items)
    assert all(isinstance(text, str) for text in outputs)
    for item, output in zip(items, outputs):
        assert _translate(tiny_translator, [item]) == [output]
        if not item.strip():
            assert output == ""


@pytest.mark.slow
@settings(FUZZ, max_examples=15)
@_with_examples
@given(items=batches)
def test_export_gives_what_the_translator_gives(tiny_translator, exported, items):
    import tensorflow as tf

    expected = _translate(tiny_translator, items)
    assert exported.translate(items) == expected
    signature = exported.loaded.signatures["serving_default"]
    raw = [item.encode("utf-8", "replace") for item in items]
    out = signature(text=tf.constant(raw, tf.string, shape=[len(raw)]))
    assert out["translation"].shape == (len(items),) and out["score"].shape == (len(items),)
    for i, text in enumerate(raw):  # each input alone, straight through the signature
        alone = signature(text=tf.constant([text]))["translation"].numpy()[0]
        assert alone == out["translation"].numpy()[i]


@pytest.mark.slow
@settings(FUZZ, max_examples=10)
@example(raw=[b"\xff\xfe", b"", b"\xed\xa0\x80", b"ein \xc3"])
@given(raw=st.lists(st.binary(max_size=12), min_size=1, max_size=4))
def test_export_signature_takes_any_bytes(exported, raw):
    import tensorflow as tf

    out = exported.loaded.signatures["serving_default"](text=tf.constant(raw, tf.string, shape=[len(raw)]))
    assert out["translation"].shape == (len(raw),)
    for text, translation in zip(raw, out["translation"].numpy()):
        if not text.strip():
            assert translation == b""


# ----------------------------------------------------------------------------- nmt translate, stdin
lines_bytes = st.lists(st.one_of(st.sampled_from([b"", b"ein hund", b"katze\r", b"a\rb", b"\x0cform\x0cfeed",
                                                  b"\xef\xbb\xbfbom", b"\x00", "\u2028".encode()]),
                                 st.binary(max_size=10).filter(lambda b: b"\n" not in b)), max_size=6)


@pytest.mark.slow
@settings(FUZZ, max_examples=25)
@given(lines=lines_bytes, final_newline=st.booleans())
def test_cli_translate_stdin_keeps_lines_or_names_the_bad_line(tiny_translator, lines, final_newline):
    from nmt import runs
    from nmt.cli import main

    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    stdin, stdout, stderr = io.TextIOWrapper(io.BytesIO(data)), io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runs, "load_translator", lambda path: tiny_translator)
        patch.setattr(sys, "stdin", stdin)
        patch.setattr(sys, "stdout", stdout)
        patch.setattr(sys, "stderr", stderr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main(["translate", "--model", "tiny", "-q"])
    bad = [number for number, line in enumerate(lines, start=1) if not _is_utf8(line)]
    if bad:
        assert code == 2 and stdout.getvalue() == ""
        assert stderr.getvalue().splitlines() == [stderr.getvalue().strip()]
        assert stderr.getvalue().startswith(f"nmt: error: <stdin>:{bad[0]}: invalid UTF-8")
        return
    assert code == 0, stderr.getvalue()
    body = data.removeprefix(b"\xef\xbb\xbf")  # a byte order mark is not text
    expected = body.count(b"\n") + (not body.endswith(b"\n")) if body else 0
    assert stdout.getvalue().count("\n") == expected and stdout.getvalue().endswith("\n" if expected else "")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# ----------------------------------------------------------------------------- readers
plain_lines = st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=15), max_size=5)


def _write(path: Path, data: bytes) -> Path:
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


@settings(FUZZ, max_examples=30)
@given(lines=plain_lines, endings=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=5, max_size=5),
       bom=st.booleans(), suffix=st.sampled_from(["", ".gz"]))
def test_readers_parse_mixed_line_endings_and_a_byte_order_mark(lines, endings, bom, suffix):
    data = ("\ufeff" if bom else "") + "".join(line + ending for line, ending in zip(lines, endings))
    with tempfile.TemporaryDirectory() as folder:
        src = _write(Path(folder) / f"a.de{suffix}", data.encode())
        tgt = _write(Path(folder) / f"a.en{suffix}", "".join(f"{i}\n" for i in range(len(lines))).encode())
        assert list(iter_lines(src)) == lines
        corpus = read_aligned(src, tgt, "de", "en")
        assert list(corpus.sources) == lines and len(corpus.targets) == len(lines)


@settings(FUZZ, max_examples=60)
@example(data=b"a\tb\nx\ty\n" * 50, suffix=".gz", cut=30)
@example(data=b"a\tb\n\x00\t\xff\n", suffix="", cut=0)
@given(data=st.binary(max_size=60), suffix=st.sampled_from(["", ".gz"]), cut=st.integers(0, 200))
def test_readers_take_any_bytes_or_name_file_and_line(data, suffix, cut):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"x.tsv{suffix}"
        _write(path, data)
        if suffix and cut:  # truncated (or, past the end, corrupt: its last bytes flipped) compressed file
            packed = path.read_bytes()
            packed = packed[:-cut] if cut < len(packed) else packed[:-4] + bytes(b ^ 0xFF for b in packed[-4:])
            path.write_bytes(packed)
        table = lambda: read_table(path, source="a", target="b", src_lang="en", tgt_lang="es", format="tsv")  # noqa: E731
        for read in (lambda: list(iter_lines(path)), lambda: read_tsv(path, "en", "es"), table):
            try:
                result = read()
            except CorpusError as error:
                message = str(error)
                assert message.startswith(f"{path}:") and "\n" not in message, message
                continue
            body = data.removeprefix(b"\xef\xbb\xbf")  # a byte order mark is not text
            if isinstance(result, list) and (not suffix or not cut):
                assert len(result) == (body.count(b"\n") + (not body.endswith(b"\n")) if body else 0)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda data: data[: len(data) // 2], "cannot read after line"),  # truncated: EOFError
    (lambda data: data[:12] + b"\xff" * 4 + data[16:], "cannot read after line 0: Error -3"),  # zlib.error
    (lambda data: data[:-8] + b"\x00" * 8, "cannot read after line 2000: CRC check failed"),
    (lambda data: b"not gzip at all\n", "Not a gzipped file"),
])
def test_damaged_gzip_is_a_corpus_error_naming_the_file(tmp_path, damage, message):
    text = b"".join(b"line %d ein hund rennt\n" % i for i in range(2000))
    src, tgt = tmp_path / "train.de.gz", tmp_path / "train.en.gz"
    src.write_bytes(damage(gzip.compress(text, mtime=0)))
    tgt.write_bytes(gzip.compress(text, mtime=0))
    with pytest.raises(CorpusError, match=message) as error:
        read_aligned(src, tgt, "de", "en")
    assert str(error.value).startswith(f"{src}: ") and error.value.path == str(src)


@settings(FUZZ, max_examples=10)
@example(columns=1, rows=1)
@example(columns=50, rows=2)
@given(columns=st.integers(1, 50), rows=st.integers(1, 4))
def test_tsv_rows_of_1_to_50_columns(columns, rows):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pairs.tsv"
        path.write_text("".join("\t".join(f"r{r}c{c}" for c in range(columns)) + "\n" for r in range(rows)))
        if columns < 2:
            with pytest.raises(CorpusError, match=r"pairs\.tsv:1: expected at least 2 tab-separated columns, found 1"):
                read_tsv(path, "en", "es")
            return
        corpus = read_tsv(path, "en", "es")
        assert list(corpus.sources) == [f"r{r}c0" for r in range(rows)]
        assert list(corpus.targets) == [f"r{r}c1" for r in range(rows)]


# ----------------------------------------------------------------------------- config files
def _config_keys(cls: type, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every dotted key of a config dataclass (nested sections included), as tuples."""
    keys = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if not field.init or not field.metadata.get("config_key", True):
            continue
        key = (*prefix, field.name)
        keys.append(key)
        if dataclasses.is_dataclass(hints[field.name]):
            keys.extend(_config_keys(hints[field.name], key))
    return keys


CONFIG_KEYS = [key for key in _config_keys(RunConfig) if key != ("pipeline", "batch_size")]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-3, 3), st.floats(),
                    st.sampled_from([10**400, -(10**400), 2**63, float("nan"), float("-inf")]),
                    st.text(max_size=12), st.sampled_from(["gru", "lstm", "files", "de-en", "auto", "NFC", "1e-3"]))
yaml_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.one_of(st.text(max_size=6), st.integers(), st.booleans()),
                                             inner, max_size=3), max_leaves=6)


def _nested(key: tuple[str, ...], value):
    for part in reversed(key):
        value = {part: value}
    return value


@settings(FUZZ, max_examples=200)
@given(key=st.sampled_from(CONFIG_KEYS), value=yaml_values)
def test_any_yaml_value_at_any_config_key_loads_or_is_one_config_error_naming_it(key, value):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(yaml.safe_dump(_nested(key, value), sort_keys=False, allow_unicode=True), encoding="utf-8")
        try:
            load_run_config(path)
        except ConfigError as error:
            message = str(error)
            assert "\n" not in message, message
            assert key[-1] in message, (key, message)


@settings(FUZZ, max_examples=100)
@given(text=st.one_of(st.text(max_size=80), st.sampled_from([
    "model: [unclosed", "- 1\n- 2\n", "model: !!python/object:os.system {}", "a: &a [*a]", "? [a, b]\n: 1",
    "model:\n  units: 8\n  units: 9\n", "\t- x", "model: {1: 2, a: 3}", "data: {cleaning: 5}", "train: 7"])))
def test_any_config_text_loads_or_is_one_config_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        for load in (read_yaml, load_run_config):
            try:
                load(path)
            except ConfigError as error:
                assert "\n" not in str(error), str(error)
