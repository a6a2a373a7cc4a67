"""Streamed training pairs (nmt.data.stream, nmt.data.pipeline.stream_batches) against the in-memory path."""

import collections
import dataclasses

import pytest
import tensorflow as tf
from stream_corpus import multi30k_pairs, write_aligned

from nmt.config.base import ConfigError
from nmt.config.cleaning import CleaningConfig
from nmt.config.data import DataConfig
from nmt.config.pipeline import PipelineConfig
from nmt.config.run import RunConfig
from nmt.config.train import TrainConfig
from nmt.data import CorpusError, ParallelCorpus, clean, read_aligned
from nmt.data.pipeline import make_dataset, stream_batches
from nmt.data.sampling import reservoir_sample
from nmt.data.stream import PairStream, split_files
from nmt.tokenizers import TokenizerConfig, train_tokenizers

N = 300
CLEANING = CleaningConfig(max_length=20, max_ratio=2.0)
PIPELINE = PipelineConfig(batch_size=16, shuffle_buffer=64, pool_batches=2, max_length=40, seed=3)


@pytest.fixture(scope="module")
def pairs(data_dir):
    return multi30k_pairs(data_dir, N)


@pytest.fixture(scope="module")
def prefix(pairs, tmp_path_factory):
    return write_aligned(tmp_path_factory.mktemp("stream") / "train", pairs)


def data_config(prefix, **changes):
    return DataConfig(**{"dataset": "files", "pair": "de-en", "train": str(prefix), "valid": None,
                         "cleaning": CLEANING, "streaming": True, **changes})


def in_memory(prefix, limit=None):
    corpus = read_aligned(f"{prefix}.de.gz", f"{prefix}.en.gz", "de", "en", name=str(prefix))
    return clean(corpus.head(limit) if limit else corpus, CLEANING)


@pytest.mark.parametrize("limit", [None, 130])
def test_one_pass_is_the_in_memory_corpus_cleaned(prefix, limit):
    stream = PairStream.of(data_config(prefix, max_train_pairs=limit))
    corpus, report = in_memory(prefix, limit)
    assert list(stream.pairs()) == list(corpus)
    assert dataclasses.replace(stream.report, corpus="") == dataclasses.replace(report, corpus="")
    assert 0 < report.kept < report.total == (limit or N)  # the rules drop some of these pairs


def test_blocks_start_anywhere(prefix):
    stream = PairStream.of(data_config(prefix))
    blocks = list(stream.blocks(64))
    assert [b for b, _, _ in blocks] == [0, 1, 2, 3, 4]
    assert list(stream.blocks(64, start_block=3)) == blocks[3:]
    assert list(stream.blocks(64, start_block=5)) == []


@pytest.mark.parametrize("joint", [False, True], ids=["separate", "joint"])
def test_a_sample_covering_the_corpus_is_the_corpus_and_trains_the_same_tokenizers(prefix, joint):
    config = TokenizerConfig(vocab_size=150, joint=joint, max_train_sentences=2 * N if joint else N)
    sample = PairStream.of(data_config(prefix)).sample(N, seed=0)
    corpus, _ = in_memory(prefix)
    assert sample.corpus.sources == corpus.sources and sample.corpus.targets == corpus.targets
    assert (sample.lines, sample.drawn) == (N, N)
    streamed, loaded = train_tokenizers(sample.corpus, config), train_tokenizers(corpus, config)
    probe = tf.constant([s for s, _ in corpus][:20] + [t for _, t in corpus][:20])
    for a, b in zip(streamed, loaded):
        assert a.vocab_size == b.vocab_size
        assert a.tokenize(probe).to_list() == b.tokenize(probe).to_list()


def test_a_smaller_sample_is_the_reservoirs_choice_of_lines(prefix, pairs):
    sample = PairStream.of(data_config(prefix, cleaning=CleaningConfig())).sample(40, seed=5)
    chosen = [pairs[i] for i, _ in reservoir_sample(range(N), 40, 5)]
    assert list(sample.corpus) == chosen and (sample.lines, sample.drawn) == (N, 40)
    again = PairStream.of(data_config(prefix, cleaning=CleaningConfig())).sample(40, seed=5)
    assert again.corpus == sample.corpus


def bad_corpus(tmp_path, pairs, bad_line):
    """The pairs with source line ``bad_line`` (1-based) not UTF-8."""
    sources = [s.encode() for s, _ in pairs]
    sources[bad_line - 1] = b"kaputt \xff\xfe"
    return write_aligned(tmp_path / "bad", pairs, source_lines=sources)


def test_an_invalid_line_deep_in_the_stream_names_file_and_line_even_inside_tf_data(tmp_path, pairs):
    prefix = bad_corpus(tmp_path, pairs, 250)
    stream = PairStream.of(data_config(prefix))
    with pytest.raises(CorpusError, match=r"bad\.de\.gz:250: invalid UTF-8"):
        list(stream.pairs())
    src, tgt = train_tokenizers(ParallelCorpus(("a b",), ("c d",), "de", "en"),
                                TokenizerConfig(kind="char", vocab_size=40))
    batches = stream_batches(stream, src, tgt, PIPELINE)
    with pytest.raises(CorpusError, match=r"bad\.de\.gz:250: invalid UTF-8") as caught, stream.errors():
        for _ in batches:
            pass
    assert not isinstance(caught.value, tf.errors.OpError)


def test_on_error_skip_skips_and_counts(tmp_path, pairs):
    prefix = bad_corpus(tmp_path, pairs, 250)
    stream = PairStream.of(data_config(prefix, on_error="skip", cleaning=CleaningConfig()))
    assert list(stream.pairs()) == pairs[:249] + pairs[250:]
    assert (stream.report.skipped, stream.report.total, stream.report.kept) == (1, N, N - 1)
    assert "1 unreadable lines skipped" in str(stream.report)
    sample = PairStream.of(data_config(prefix, on_error="skip", cleaning=CleaningConfig())).sample(None, seed=0)
    assert len(sample.corpus) == N - 1


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_misaligned_files_are_an_error_even_with_skip(tmp_path, pairs, on_error):
    prefix = write_aligned(tmp_path / "short", pairs)
    write_aligned(tmp_path / "cut", pairs[:-1])  # a target side one line short
    (tmp_path / "short.en.gz").write_bytes((tmp_path / "cut.en.gz").read_bytes())
    config = data_config(prefix, on_error=on_error)
    message = rf"short\.de\.gz:{N}: aligned files differ in length: .* has {N} lines, .* has {N - 1} lines"
    with pytest.raises(CorpusError, match=message):
        PairStream.of(config).sample(10, seed=0)
    with pytest.raises(CorpusError, match=message):
        list(PairStream.of(config).pairs())


def test_tsv_streams_the_chosen_columns_and_skips_short_rows(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tx\tA\nb\ty\tB\nonly one column\nc\tz\tC\n", encoding="utf-8")
    config = DataConfig(dataset="files", pair="en-es", train=str(path), valid=None, format="tsv",
                        source_column=2, target_column=0, streaming=True)
    with pytest.raises(CorpusError, match=r"pairs\.tsv:3: expected at least 3 tab-separated columns"):
        list(PairStream.of(config).pairs())
    stream = PairStream.of(dataclasses.replace(config, on_error="skip"))
    assert list(stream.pairs()) == [("A", "a"), ("B", "b"), ("C", "c")] and stream.report.skipped == 1
    assert split_files(config, str(path)).columns == (2, 0)


def rows(batches):
    """Multiset of (source ids, target ids) rows, padding removed."""
    counts = collections.Counter()
    for (source, _), target in batches:
        for s, t in zip(source.numpy().tolist(), target.numpy().tolist()):
            counts[tuple(i for i in s if i), tuple(i for i in t if i)] += 1
    return counts


@pytest.fixture(scope="module")
def tokenizers(prefix):
    corpus, _ = in_memory(prefix)
    return train_tokenizers(corpus, TokenizerConfig(vocab_size=150))


def positions_of(elements):
    return [tuple(position.numpy().tolist()) for _, position in elements]


def test_every_pass_yields_the_in_memory_epochs_pairs_and_resumes_at_any_batch(prefix, tokenizers):
    corpus, _ = in_memory(prefix)
    stream = PairStream.of(data_config(prefix))
    expected = rows(make_dataset(corpus, *tokenizers, PIPELINE))
    endless = list(stream_batches(stream, *tokenizers, PIPELINE, endless=True).take(30))
    passes = [position[0] for position in positions_of(endless)]
    first, second = endless[:passes.count(0)], endless[passes.count(0):passes.count(0) + passes.count(1)]
    assert passes[:len(first) + len(second)] == [0] * len(first) + [1] * len(second) and len(second) == len(first)
    assert positions_of(endless) == sorted(set(positions_of(endless)))  # blocks in order, each block's batches together
    assert rows(b for b, _ in first) == expected
    assert rows(b for b, _ in second) == expected  # every pass: the same pairs, reshuffled
    assert [b[1].numpy().tolist() for b, _ in second[:3]] != [b[1].numpy().tolist() for b, _ in first[:3]]
    single = stream_batches(stream, *tokenizers, PIPELINE).take(2).map(lambda batch, position: position)
    assert [tuple(p.tolist()) for p in single.as_numpy_iterator()] == positions_of(first[:2])  # the first pass
    # Resuming after a batch mid-block continues with exactly the batches that followed it, into the next pass.
    cut = 5
    pass_index, block, batch = positions_of(endless)[cut - 1]
    resumed = list(stream_batches(stream, *tokenizers, PIPELINE, start=(pass_index, block, batch + 1),
                                  endless=True).take(len(endless) - cut))
    assert positions_of(resumed) == positions_of(endless[cut:])
    assert rows(b for b, _ in resumed) == rows(b for b, _ in endless[cut:])


def test_streaming_configuration_is_checked():
    files = dict(dataset="files", pair="de-en", train="corpus/train")
    with pytest.raises(ConfigError, match="streaming=True needs dataset='files'"):
        DataConfig(streaming=True)
    with pytest.raises(ConfigError, match="on_error='skip' needs dataset='files'"):
        DataConfig(on_error="skip")
    with pytest.raises(ConfigError, match=r"not the table 'corpus/train\.parquet'"):
        DataConfig(**{**files, "train": "corpus/train.parquet"}, streaming=True)
    with pytest.raises(ConfigError, match="cleaning.deduplicate"):
        DataConfig(**files, streaming=True, cleaning=CleaningConfig(deduplicate=True))
    with pytest.raises(ConfigError, match="on_error='skip' reads aligned files"):
        DataConfig(**{**files, "valid": "corpus/valid.csv"}, on_error="skip")
    assert DataConfig(**files, streaming=True, format="tsv").streaming
    with pytest.raises(ConfigError, match="train.distribute='mirrored' must be 'none'"):
        RunConfig(data=DataConfig(**files, streaming=True), train=TrainConfig(distribute="mirrored"))
    with pytest.raises(ConfigError, match="max_steps"):
        TrainConfig(max_steps=0)
