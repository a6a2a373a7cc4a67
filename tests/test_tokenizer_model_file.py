"""``tokenizer.model_file``: your own SentencePiece model instead of a trained one; normalization spellings.

The models are trained here with the ``sentencepiece`` package's defaults (unk 0,
bos 1, eos 2, no pad: not this package's id layout) on a few hundred Multi30k lines.
"""

from __future__ import annotations

import io
import itertools

import pytest
import sentencepiece as spm

from nmt.config.base import ConfigError, config_from_dict
from nmt.data import ParallelCorpus
from nmt.data.readers import iter_lines
from nmt.runs import build_tokenizers, load_tokenizers
from nmt.tokenizers import SentencePieceTokenizer, TokenizerConfig, train_tokenizers
from nmt.tokenizers.sentencepiece import standard_layout
from nmt.vocab import SPECIAL_TOKENS


@pytest.fixture(scope="module")
def lines(data_dir):
    """(400 German training lines, 100 German validation lines) of Multi30k."""
    root = data_dir / "multi30k"
    return (list(itertools.islice(iter_lines(root / "train.de.gz"), 400)),
            list(itertools.islice(iter_lines(root / "val.de.gz"), 100)))


@pytest.fixture(scope="module")
def model_file(lines, tmp_path_factory):
    """A SentencePiece unigram model with the package's default ids, trained on the 400 lines."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines[0]), model_writer=model, vocab_size=300,
                                   minloglevel=2, num_threads=1)
    path = tmp_path_factory.mktemp("spm") / "de.model"
    path.write_bytes(model.getvalue())
    return path


def test_a_model_file_is_used_instead_of_training(lines, model_file):
    original = spm.SentencePieceProcessor(model_file=str(model_file))
    assert (original.unk_id(), original.bos_id(), original.eos_id(), original.pad_id()) == (0, 1, 2, -1)
    corpus = ParallelCorpus(lines[0][:10], lines[0][:10], "de", "en")
    source, target = train_tokenizers(corpus, TokenizerConfig(model_file=str(model_file)))
    assert source is target and source.vocab_size == original.get_piece_size() + 1  # [PAD] added
    vocabulary = source.get_vocabulary()
    assert tuple(vocabulary[:4]) == SPECIAL_TOKENS
    ids = source.tokenize(lines[1]).to_list()
    expected = [["[UNK]" if i == original.unk_id() else original.id_to_piece(i) for i in original.encode(t)]
                for t in lines[1]]
    assert [[vocabulary[i] for i in row] for row in ids] == expected  # the same segmentation
    back = [t.decode() for t in source.detokenize(source.tokenize(lines[1])).numpy()]
    assert sum(b == t for b, t in zip(back, lines[1])) >= 90  # exact, but for characters the 400 lines lack


def test_the_run_keeps_its_own_copy_of_the_model(lines, model_file, tmp_path):
    copy = tmp_path / "copy.model"
    copy.write_bytes(model_file.read_bytes())
    corpus = ParallelCorpus(lines[0][:10], lines[0][:10], "de", "en")
    config = config_from_dict(TokenizerConfig, {"model_file": str(copy)}, where="tokenizer")
    built = build_tokenizers(tmp_path / "run", corpus, config)
    copy.unlink()  # the run no longer needs the file
    for folder in ("source_tokenizer", "target_tokenizer"):
        assert (tmp_path / "run" / folder / "sentencepiece.model").is_file()
    loaded = load_tokenizers(tmp_path / "run")
    assert loaded[0].tokenize(lines[1][:5]).to_list() == built[0].tokenize(lines[1][:5]).to_list()
    assert loaded[1].get_vocabulary() == built[1].get_vocabulary()


def test_a_model_in_this_package_layout_is_kept_as_it_is(lines, tmp_path):
    own = SentencePieceTokenizer.train(lines[0], TokenizerConfig(vocab_size=200))
    assert standard_layout(own.model_proto) == own.model_proto
    (tmp_path / "own.model").write_bytes(own.model_proto)
    same = SentencePieceTokenizer.from_model_file(tmp_path / "own.model", TokenizerConfig())
    assert same.get_vocabulary() == own.get_vocabulary()


def test_missing_or_foreign_files_are_config_errors(tmp_path):
    corpus = ParallelCorpus(["a"], ["b"], "de", "en")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nHund\n")
    (tmp_path / "empty.model").write_bytes(b"")
    for name, message in (("missing.model", "no such file"), ("vocab.txt", "is not a SentencePiece model"),
                          ("empty.model", "is not a SentencePiece model")):
        with pytest.raises(ConfigError, match=f"tokenizer.model_file {tmp_path / name}.*{message}"):
            train_tokenizers(corpus, TokenizerConfig(model_file=str(tmp_path / name)))
    with pytest.raises(ConfigError, match="model_file='x.model' needs kind='sentencepiece'"):
        TokenizerConfig(kind="char", model_file="x.model")


def test_normalization_is_read_in_any_case():
    assert TokenizerConfig(normalization="NFKC").normalization == "nfkc"
    assert config_from_dict(TokenizerConfig, {"normalization": "NFC"}).normalization == "nfc"
    assert TokenizerConfig(normalization="None").normalization == "none"
    with pytest.raises(ConfigError, match="normalization='NFD' is not one of 'nfkc', 'nfc', 'none' \\(any case\\)"):
        TokenizerConfig(normalization="NFD")
