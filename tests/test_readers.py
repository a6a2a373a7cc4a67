import gzip
import string

import pandas as pd
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from nmt.data import (
    CorpusError,
    from_dataframe,
    iter_lines,
    iter_table,
    read_aligned,
    read_table,
    read_tsv,
    stream_aligned,
    stream_table,
    stream_tsv,
)


def write(path, text, mode="w"):
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(text.encode("utf-8") if isinstance(text, str) else text)
    else:
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


# Line contents: anything but "\n" (the only line terminator), including tabs, "\r" inside
# lines, U+2028/U+0085 and other separators Python's str.splitlines would split on.
line_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=30).filter(
    lambda s: not s.endswith("\r"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(line_text, line_text), max_size=12), st.sampled_from(["\n", "\r\n"]),
       st.booleans())
def test_aligned_round_trip_arbitrary_unicode(tmp_path_factory, pairs, newline, gz):
    tmp = tmp_path_factory.mktemp("aligned")
    suffix = ".gz" if gz else ""
    src = write(tmp / f"s{suffix}", "".join(p[0] + newline for p in pairs))
    tgt = write(tmp / f"t{suffix}", "".join(p[1] + newline for p in pairs))
    corpus = read_aligned(src, tgt, "xx", "yy")
    assert list(corpus) == pairs


field = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n"), max_size=20).filter(
    lambda s: not s.endswith("\r"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(field, min_size=2, max_size=4), max_size=10))
def test_tsv_round_trip_arbitrary_fields(tmp_path_factory, rows):
    path = write(tmp_path_factory.mktemp("tsv") / "pairs.tsv", "".join("\t".join(r) + "\n" for r in rows))
    corpus = read_tsv(path, "en", "es")
    assert list(corpus) == [(r[0], r[1]) for r in rows]


def test_mismatched_line_counts_name_both_counts(tmp_path):
    src = write(tmp_path / "a.de", "1\n2\n3\n")
    tgt = write(tmp_path / "b.en.gz", "1\n2\n")
    with pytest.raises(CorpusError, match=r"a\.de has 3 lines, .*b\.en\.gz has 2 lines") as info:
        read_aligned(src, tgt, "de", "en")
    assert info.value.line == 3 and info.value.path == str(src)


def test_invalid_utf8_names_file_and_line(tmp_path):
    src = write(tmp_path / "a.de", b"gut\nschlecht \xff\n")
    tgt = write(tmp_path / "b.en", "good\nbad\n")
    with pytest.raises(CorpusError, match=r"a\.de:2: invalid UTF-8"):
        read_aligned(src, tgt, "de", "en")


def test_missing_file(tmp_path):
    with pytest.raises(CorpusError, match="nope.txt: no such file"):
        read_aligned(tmp_path / "nope.txt", tmp_path / "nope.txt", "de", "en")


def test_tsv_short_row_and_blank_line(tmp_path):
    path = write(tmp_path / "p.tsv", "Go.\tVe.\tCC-BY\nHi.\n")
    with pytest.raises(CorpusError, match=r"p\.tsv:2: expected at least 2 tab-separated columns, found 1"):
        read_tsv(path, "en", "es")
    path = write(tmp_path / "q.tsv", "Go.\tVe.\n\nRun.\tCorre.\n")
    with pytest.raises(CorpusError, match=r"q\.tsv:2: "):
        read_tsv(path, "en", "es")


def test_tsv_column_choice(tmp_path):
    path = write(tmp_path / "p.tsv", "Go.\tVe.\tattribution #1\n")
    assert list(read_tsv(path, "es", "en", src_column=1, tgt_column=0)) == [("Ve.", "Go.")]


def test_line_terminators_only_newline(tmp_path):
    path = write(tmp_path / "x", "a\u2028b\x85c\rd\r\ne\n")
    assert list(iter_lines(path)) == ["a\u2028b\x85c\rd", "e"]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "csv.gz"])
def test_read_table_formats_with_quoting(tmp_path, fmt):
    frame = pd.DataFrame({"id": [1, 2, 3], "en": ['He said "hi", then left.', "two\nlines", ""],
                          "de": ["Er sagte „hallo“, dann ging er.", "zwei\tZeilen", "leer"]})
    path = tmp_path / f"pairs.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep="," if fmt.startswith("csv") else "\t", index=False)
    corpus = read_table(path, source="en", target="de", src_lang="en", tgt_lang="de")
    assert list(corpus) == list(zip(frame.en, frame.de))


def test_read_table_errors(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"en": ["a"], "es": ["b"]}).to_csv(path, index=False)
    with pytest.raises(CorpusError, match=r"p\.csv: no column 'de'; columns: \['en', 'es'\]"):
        read_table(path, source="de", target="es", src_lang="de", tgt_lang="es")
    with pytest.raises(CorpusError, match="cannot tell the table format"):
        read_table(write(tmp_path / "p.xlsx", "x"), source="a", target="b", src_lang="a", tgt_lang="b")
    bad = write(tmp_path / "bad.csv", b"en,es\nok,\xff\n")
    with pytest.raises(CorpusError, match=r"bad\.csv: invalid UTF-8"):
        read_table(bad, source="en", target="es", src_lang="en", tgt_lang="es")
    pd.DataFrame({"en": ["a", None], "es": ["b", "c"]}).to_parquet(tmp_path / "n.parquet")
    with pytest.raises(CorpusError, match=r"data row 2, column 'en': (None|nan) is not a string"):
        read_table(tmp_path / "n.parquet", source="en", target="es", src_lang="en", tgt_lang="es")


def test_from_dataframe():
    frame = pd.DataFrame({"source": ["x"], "target": ["y"]})
    assert list(from_dataframe(frame, src_lang="a", tgt_lang="b")) == [("x", "y")]


def test_streaming_reads_lazily_and_validates(tmp_path):
    src = write(tmp_path / "s.gz", "".join(f"satz {i}\n" for i in range(1000)))
    tgt = write(tmp_path / "t.gz", "".join(f"sentence {i}\n" for i in range(1000)))
    dataset = stream_aligned(src, tgt)
    first = next(iter(dataset))
    assert [t.numpy().decode() for t in first] == ["satz 0", "sentence 0"]
    assert sum(1 for _ in dataset) == 1000  # a fresh pass each iteration
    short = write(tmp_path / "u", "only\n")
    with pytest.raises(tf.errors.InvalidArgumentError, match="has 1000 lines.*has 1 lines"):
        list(stream_aligned(src, short))
    tsv = write(tmp_path / "p.tsv", "Go.\tVe.\nbroken\n")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"p\.tsv:2: expected at least 2"):
        list(stream_tsv(tsv))


def test_real_multi30k_and_anki_files(data_dir):
    corpus = read_aligned(data_dir / "multi30k/val.de.gz", data_dir / "multi30k/val.en.gz", "de", "en")
    assert len(corpus) == 1014
    assert all(s.strip() and t.strip() for s, t in corpus)
    assert not any(set(s) & set("\r\n") for s in corpus.sources + corpus.targets)
    streamed = list(stream_aligned(data_dir / "multi30k/val.de.gz", data_dir / "multi30k/val.en.gz"))
    assert [s.numpy().decode() for s, _ in streamed] == list(corpus.sources)
    assert set(string.ascii_letters) & set("".join(corpus.targets))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_stream_table_in_chunks(tmp_path, fmt):
    frame = pd.DataFrame({"en": [f"sentence {i}" for i in range(25)], "de": [f"Satz {i}" for i in range(25)]})
    path = tmp_path / f"p.{fmt}"
    frame.to_parquet(path) if fmt == "parquet" else frame.to_csv(path, index=False)
    assert list(iter_table(path, source="en", target="de", chunk_rows=7)) == list(zip(frame.en, frame.de))
    streamed = [(s.numpy().decode(), t.numpy().decode()) for s, t in stream_table(path, source="en", target="de")]
    assert streamed == list(zip(frame.en, frame.de))
    frame.loc[20, "de"] = None
    frame.to_parquet(path) if fmt == "parquet" else frame.to_csv(path, index=False)
    if fmt == "parquet":  # CSV reads the missing cell back as an empty string
        with pytest.raises(CorpusError, match=r"data row 21, column 'de'"):
            list(iter_table(path, source="en", target="de", chunk_rows=7))
