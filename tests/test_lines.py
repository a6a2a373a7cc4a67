"""LineCursor: skipping and taking lines by number gives exactly the lines iter_lines reads."""

import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nmt.data.lines as lines_module
from nmt.data import CorpusError, iter_lines
from nmt.data.lines import LineCursor
from nmt.data.readers import decode_line


def write(path, data: bytes):
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path



@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=9),
                max_size=30),
       st.booleans(), st.booleans(), st.booleans(),
       st.lists(st.tuples(st.booleans(), st.integers(0, 12)), max_size=12))
def test_skip_and_take_agree_with_iter_lines(tmp_path_factory, texts, final_newline, bom, gz, moves):
    data = "\n".join(texts).encode() + (b"\n" if final_newline and texts else b"")
    path = write(tmp_path_factory.mktemp("lines") / ("f.gz" if gz else "f"), (b"\xef\xbb\xbf" if bom else b"") + data)
    expected = list(iter_lines(path))
    old = lines_module.BLOCK_BYTES
    lines_module.BLOCK_BYTES = 7  # lines straddle blocks
    try:
        with LineCursor(path) as cursor:
            position = 0
            for take, count in moves:
                if take:
                    got = [decode_line(raw, path, position + i + 1) for i, raw in enumerate(cursor.take(count))]
                    assert got == expected[position:position + count]
                    position += len(got)
                else:
                    passed = cursor.skip(count)
                    assert passed == min(count, len(expected) - position)
                    position += passed
                assert cursor.line == position
            assert cursor.count_rest() == len(expected) - position
    finally:
        lines_module.BLOCK_BYTES = old


def test_decode_names_file_and_line(tmp_path):
    with pytest.raises(CorpusError, match=r"f\.txt:42: invalid UTF-8 at byte 1"):
        decode_line(b"a\xff", tmp_path / "f.txt", 42)
    assert decode_line(b"crlf\r", tmp_path / "f.txt", 1) == "crlf"


def test_truncated_gzip_and_missing_file(tmp_path):
    whole = gzip.compress(b"".join(b"line %d\n" % i for i in range(50_000)))
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[:len(whole) // 2])
    with LineCursor(path) as cursor, pytest.raises(CorpusError, match=r"cut\.gz: cannot read after line \d+"):
        cursor.count_rest()
    with pytest.raises(CorpusError, match="no such file"):
        LineCursor(tmp_path / "missing.gz")
