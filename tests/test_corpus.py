import pandas as pd
import pytest

from nmt.data import ParallelCorpus


def corpus():
    return ParallelCorpus(("a b", "c", "d e f"), ("A B", "C", "D E F"), "xx", "yy", "toy")


def test_lengths_must_match():
    with pytest.raises(ValueError, match="3 source sentences but 2 target"):
        ParallelCorpus(("a", "b", "c"), ("A", "B"), "xx", "yy")


def test_frame_round_trip_keeps_languages_and_text():
    frame = corpus().to_frame()
    assert list(frame.columns) == ["source", "target"]
    assert frame.attrs["src_lang"] == "xx"
    assert ParallelCorpus.from_frame(frame) == corpus()


def test_from_frame_named_columns_and_errors():
    frame = pd.DataFrame({"en": ["hi", "bye"], "es": ["hola", "adiós"]})
    got = ParallelCorpus.from_frame(frame, "en", "es", source="en", target="es")
    assert got.targets == ("hola", "adiós")
    with pytest.raises(KeyError, match="'de' not in DataFrame; columns: \\['en', 'es'\\]"):
        ParallelCorpus.from_frame(frame, "en", "es", source="de", target="es")
    with pytest.raises(ValueError, match="src_lang and tgt_lang are required"):
        ParallelCorpus.from_frame(frame, source="en", target="es")
    broken = pd.DataFrame({"source": ["a", None], "target": ["b", "c"]})
    with pytest.raises(ValueError, match="column 'source', row 1: expected a string"):
        ParallelCorpus.from_frame(broken, "x", "y")


def test_select_head_reversed():
    c = corpus()
    assert c.select([2, 0]).sources == ("d e f", "a b")
    assert len(c.head(2)) == 2 and len(c.head(10)) == 3
    assert c.reversed().sources == c.targets and c.reversed().src_lang == "yy"
    assert list(c)[1] == ("c", "C")
