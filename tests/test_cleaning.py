import pytest

from nmt.config.base import ConfigError
from nmt.config.cleaning import CleaningConfig
from nmt.data import ParallelCorpus
from nmt.data.cleaning import clean


def make(pairs):
    return ParallelCorpus(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), "de", "en", "t")


def test_counts_every_reason_and_keeps_order():
    corpus = make([
        ("ein Hund", "a dog"),
        ("   ", "empty source"),
        ("", ""),
        ("ein Hund", "a dog"),              # duplicate
        ("eins zwei drei vier", "one"),     # ratio 4
        ("a b c d e f g", "a b c d e f g"),  # too long (7 > 6)
        ("Cafe\u0301", "cafe\u0301"),       # NFC changes it
    ])
    cleaned, report = clean(corpus, CleaningConfig(max_length=6, max_ratio=3, deduplicate=True))
    assert cleaned.sources == ("ein Hund", "Café")
    assert (report.empty, report.duplicates, report.bad_ratio, report.too_long) == (2, 1, 1, 1)
    assert report.normalized == 1 and report.kept == 2 and report.kept + report.dropped == report.total == 7
    assert "kept 2 of 7 pairs" in str(report)


def test_nfkc_and_none():
    corpus = make([("ﬁ ①", "x")])
    assert clean(corpus, CleaningConfig(normalization="NFKC"))[0].sources == ("fi 1",)
    assert clean(corpus, CleaningConfig(normalization="none"))[0].sources == ("ﬁ ①",)


def test_defaults_keep_everything_but_empty():
    corpus = make([("a", "b"), ("a", "b"), ("x " * 500, "y")])
    cleaned, report = clean(corpus)
    assert len(cleaned) == 3 and report.dropped == 0


@pytest.mark.parametrize("kwargs", [dict(normalization="NFD"), dict(max_length=0), dict(max_ratio=0.5)])
def test_bad_config(kwargs):
    with pytest.raises(ConfigError):
        CleaningConfig(**kwargs)
