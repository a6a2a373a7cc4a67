import numpy as np
import pytest
import tensorflow as tf

from nmt.config.base import ConfigError
from nmt.config.pipeline import PipelineConfig
from nmt.data import ParallelCorpus, read_aligned, stream_aligned
from nmt.data.pipeline import length_report, make_dataset, padding_ratio


class ByteTokenizer:
    """Test double: one id per UTF-8 byte (ids 4..259), no vocabulary to train."""

    def tokenize(self, texts):
        return tf.strings.unicode_decode(texts, "ISO-8859-1") + 4  # Latin-1: codepoint == byte


TOK = ByteTokenizer()


def toy(n=50, seed=0):
    rng = np.random.default_rng(seed)
    src = tuple("s" * int(k) for k in rng.integers(1, 30, n))
    tgt = tuple("t" * int(k) for k in rng.integers(1, 30, n))
    return ParallelCorpus(src, tgt, "xx", "yy", "toy")


def batches(dataset):
    return [(s.numpy(), ti.numpy(), to.numpy()) for (s, ti), to in dataset]


def test_structure_start_end_and_padding():
    corpus = ParallelCorpus(("ab", "abcd"), ("x", "xyz"), "xx", "yy")
    (src, tgt_in, tgt_out), = batches(make_dataset(corpus, TOK, TOK, PipelineConfig(shuffle=False)))
    a, b, c, d, x, y, z = (ord(ch) + 4 for ch in "abcdxyz")
    assert src.dtype == np.int32
    np.testing.assert_array_equal(src, [[a, b, 3, 0, 0], [a, b, c, d, 3]])
    np.testing.assert_array_equal(tgt_in, [[2, x, 0, 0], [2, x, y, z]])
    np.testing.assert_array_equal(tgt_out, [[x, 3, 0, 0], [x, y, z, 3]])


def test_every_example_appears_once_and_shapes_agree():
    corpus = toy(500)
    config = PipelineConfig(batch_size=16, pool_batches=4, max_length=None)
    seen = []
    for src, tgt_in, tgt_out in batches(make_dataset(corpus, TOK, TOK, config)):
        assert src.shape[0] == tgt_in.shape[0] == tgt_out.shape[0] <= 16
        assert tgt_in.shape == tgt_out.shape
        np.testing.assert_array_equal(tgt_in != 0, tgt_out != 0)  # same lengths
        assert ((src != 0).any(axis=1) & (tgt_in[:, 0] == 2)).all()
        for row in range(src.shape[0]):
            seen.append((int((src[row] != 0).sum()) - 1, int((tgt_in[row] != 0).sum()) - 1))
    assert sorted(seen) == sorted((len(s), len(t)) for s, t in corpus)


def test_max_length_drops_and_reports():
    corpus = toy(300)
    config = PipelineConfig(max_length=20, shuffle=False)
    kept = sum(b[0].shape[0] for b in batches(make_dataset(corpus, TOK, TOK, config)))
    expected = sum(len(s) + 1 <= 20 and len(t) + 1 <= 20 for s, t in corpus)
    report = length_report(corpus, TOK, TOK, 20)
    assert kept == expected == report.kept and report.dropped == 300 - expected > 0
    assert report.src_tokens == sum(map(len, corpus.sources))
    assert f"dropped {300 - expected}" in str(report)


def test_seeded_shuffle_is_reproducible_and_seed_dependent():
    corpus = toy(400)
    first = batches(make_dataset(corpus, TOK, TOK, PipelineConfig(batch_size=8, pool_batches=5, seed=3)))
    again = batches(make_dataset(corpus, TOK, TOK, PipelineConfig(batch_size=8, pool_batches=5, seed=3)))
    other = batches(make_dataset(corpus, TOK, TOK, PipelineConfig(batch_size=8, pool_batches=5, seed=4)))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    assert not all(a[0].shape == b[0].shape and np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_token_budget_batches():
    corpus = toy(400)
    config = PipelineConfig(batch_tokens=120, max_length=40, pool_batches=10)
    rows = 0
    for src, tgt_in, _ in batches(make_dataset(corpus, TOK, TOK, config)):
        assert src.shape[0] * max(src.shape[1], tgt_in.shape[1]) <= 120
        rows += src.shape[0]
    assert rows == length_report(corpus, TOK, TOK, 40).kept


def test_bucketing_lowers_padding():
    # Translations have correlated lengths: target = source length +- 2.
    rng = np.random.default_rng(1)
    lengths = rng.integers(3, 40, 2000)
    corpus = ParallelCorpus(tuple("s" * int(n) for n in lengths),
                            tuple("t" * int(n + d) for n, d in zip(lengths, rng.integers(-2, 3, 2000))), "x", "y")
    plain = padding_ratio(make_dataset(corpus, TOK, TOK, PipelineConfig(bucketing=False, batch_size=32)))
    bucketed = padding_ratio(make_dataset(corpus, TOK, TOK, PipelineConfig(batch_size=32, pool_batches=20)))
    assert bucketed < plain / 3


def test_streaming_input_gives_the_same_examples(tmp_path):
    corpus = toy(100)
    (tmp_path / "s").write_text("".join(s + "\n" for s in corpus.sources))
    (tmp_path / "t").write_text("".join(t + "\n" for t in corpus.targets))
    config = PipelineConfig(shuffle=False, bucketing=False, batch_size=100, max_length=None)
    streamed = batches(make_dataset(stream_aligned(tmp_path / "s", tmp_path / "t"), TOK, TOK, config))
    in_memory = batches(make_dataset(corpus, TOK, TOK, config))
    for a, b in zip(streamed, in_memory, strict=True):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kwargs", [dict(batch_size=0), dict(max_length=1), dict(batch_tokens=10, max_length=50)])
def test_config_validation(kwargs):
    with pytest.raises(ConfigError):
        PipelineConfig(**kwargs)


def test_real_multi30k_batches(data_dir):
    corpus = read_aligned(data_dir / "multi30k/val.de.gz", data_dir / "multi30k/val.en.gz", "de", "en")
    dataset = make_dataset(corpus, TOK, TOK, PipelineConfig(batch_size=64, max_length=200))
    total = sum(b[0].shape[0] for b in batches(dataset))
    assert total == length_report(corpus, TOK, TOK, 200).kept > 1000


@pytest.mark.parametrize("dataset,pair,split", [("anki-spa-eng", "es-en", "val"), ("multi30k", "de-en", "val")])
def test_real_sentencepiece_batches(data_dir, dataset, pair, split):
    from nmt.data import load_dataset
    from nmt.tokenizers import TokenizerConfig, normalize, train_tokenizers

    train = load_dataset(dataset, pair, "train", data_dir=data_dir).head(8000)
    corpus = load_dataset(dataset, pair, split, data_dir=data_dir)
    # Byte fallback: characters unseen in the 8,000 training pairs still round-trip exactly.
    config = TokenizerConfig(kind="sentencepiece", vocab_size=2000, byte_fallback=True)
    src_tok, tgt_tok = train_tokenizers(train, config)
    dataset = make_dataset(corpus, src_tok, tgt_tok, PipelineConfig(batch_size=32, max_length=200, seed=5))
    sources = set()
    for src, tgt_in, tgt_out in batches(dataset):
        lengths = (src != 0).sum(axis=1)
        assert (src[np.arange(len(src)), lengths - 1] == 3).all()          # END closes the source
        assert (tgt_in[:, 0] == 2).all() and not (tgt_in[:, 1:] == 2).any()  # START only first
        tgt_lengths = (tgt_out != 0).sum(axis=1)
        assert (tgt_out[np.arange(len(tgt_out)), tgt_lengths - 1] == 3).all()
        np.testing.assert_array_equal(tgt_in[:, 1:][tgt_out[:, 1:] != 0], tgt_out[:, :-1][tgt_out[:, 1:] != 0])
        texts = src_tok.detokenize(tf.constant(src)).numpy()
        sources.update(t.decode() for t in texts)
    assert sources == {normalize(s, config) for s in corpus.sources}


@pytest.mark.slow
def test_bucketing_keeps_padding_under_10_percent_on_multi30k_train(data_dir):
    from nmt.data import load_dataset
    from nmt.tokenizers import TokenizerConfig, train_tokenizers

    train = load_dataset("multi30k", "de-en", "train", data_dir=data_dir)
    src_tok, tgt_tok = train_tokenizers(train, TokenizerConfig(kind="sentencepiece", vocab_size=8000))
    config = PipelineConfig(batch_size=64, max_length=100, cache=False)
    assert padding_ratio(make_dataset(train, src_tok, tgt_tok, config)) < 0.10
    # The same data without bucketing pads about half of every batch.
    unbucketed = padding_ratio(make_dataset(train.head(5000), src_tok, tgt_tok, PipelineConfig(bucketing=False)))
    assert unbucketed > 0.3


@pytest.mark.parametrize("options", [dict(batch_size=16, pool_batches=3, max_length=60),
                                     dict(batch_tokens=400, pool_batches=2, max_length=None),
                                     dict(batch_size=7, pool_batches=1, max_length=80, bucketing=False)])
def test_a_block_batched_with_tensor_ops_equals_the_per_example_pipeline(data_dir, options):
    """batch_block (a streamed corpus's blocks) gives the batches of the per-example tf.data stages."""
    from nmt.data.pipeline import batch_block, batch_examples, encode_pairs, filter_max_length

    corpus = read_aligned(data_dir / "multi30k/val.de.gz", data_dir / "multi30k/val.en.gz", "de", "en").head(500)
    config = PipelineConfig(**options)
    encoded = encode_pairs(TOK, TOK)(tf.constant(corpus.sources), tf.constant(corpus.targets))
    reference = (tf.data.Dataset.from_tensor_slices(encoded).apply(filter_max_length(config.max_length))
                 .apply(batch_examples(config)))
    expected, got = batches(reference), batches(batch_block(*encoded, config))
    assert len(got) == len(expected) > 3
    for a, b in zip(got, expected):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y, strict=True)
