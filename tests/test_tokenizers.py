"""Tests of nmt.tokenizers: round trips on Multi30k, the id layout, saving, graphs, odd text.

Tokenizers are trained once per module (SentencePiece on all of Multi30k train,
WordPiece on its first WORDPIECE_TRAIN_SENTENCES sentences because its learner is slow).
Run with ``-s`` to see the measured figures.
"""

from __future__ import annotations

import unicodedata

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt.config.base import ConfigError, config_from_dict
from nmt.data.readers import read_aligned
from nmt.tokenizers import (
    CharTokenizer,
    SentencePieceTokenizer,
    Tokenizer,
    TokenizerConfig,
    WordPieceTokenizer,
    normalize,
    normalize_strings,
    tokenizer_class,
    train_tokenizers,
)
from nmt.tokenizers.metrics import measure
from nmt.tokenizers.normalize import WHITESPACE_CHARACTERS
from nmt.vocab import SPECIAL_TOKENS, UNK_ID, UNK_SURFACE

KINDS = ("sentencepiece", "wordpiece", "char")
WORDPIECE_TRAIN_SENTENCES = 2000
SMALL_TRAIN_SENTENCES = 2000  # for option tests (joint, byte fallback)
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TRICKY = [
    "",
    "   ",
    "  Ein\u00a0Mann\tläuft.\n",
    "ﬁne ½ Ｆｕｌｌ ＡＢＣ",
    "İstanbul ΣΑΣ ß Ǆ",
    "a\x00b\x1bc\x7fd\x9fe",
    "e\u0301 café caf\u00e9",
    "line\u2028sep\x85x\u3000y\x1cz",
    "\u200bzero\u00adwidth",
    "汉字 かな 한국어 😀 👩‍👩‍👧",
]


def ids_list(ids: tf.RaggedTensor) -> list[list[int]]:
    return ids.to_list()


@pytest.fixture(scope="module")
def multi30k(data_dir):
    """(train, val) Multi30k German -> English."""
    root = data_dir / "multi30k"
    train = read_aligned(root / "train.de.gz", root / "train.en.gz", "de", "en")
    val = read_aligned(root / "val.de.gz", root / "val.en.gz", "de", "en")
    return train, val


@pytest.fixture(scope="module")
def sentencepiece_pair(multi30k):
    return train_tokenizers(multi30k[0], TokenizerConfig(kind="sentencepiece", vocab_size=8000))


@pytest.fixture(scope="module")
def wordpiece_pair(multi30k):
    config = TokenizerConfig(kind="wordpiece", vocab_size=8000, max_train_sentences=WORDPIECE_TRAIN_SENTENCES)
    return train_tokenizers(multi30k[0], config)


@pytest.fixture(scope="module")
def char_pair(multi30k):
    return train_tokenizers(multi30k[0], TokenizerConfig(kind="char", vocab_size=8000))


@pytest.fixture(scope="module", params=KINDS)
def pair(request):
    """(German, English) tokenizers of each kind."""
    return request.getfixturevalue(f"{request.param}_pair")


@pytest.fixture(scope="module")
def tokenizer(pair):
    """The German tokenizer of each kind."""
    return pair[0]


@pytest.fixture(scope="module")
def val_de(multi30k):
    return list(multi30k[1].sources)


# ----------------------------------------------------------------------------- normalization
def test_whitespace_class_is_exactly_str_isspace():
    expected = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert WHITESPACE_CHARACTERS == expected


def test_normalize_removes_control_characters_but_not_whitespace():
    text = "x" + "".join(chr(c) for c in range(0xA0))
    kept = normalize(text, TokenizerConfig(normalization="none"))
    assert all(unicodedata.category(ch) != "Cc" for ch in kept)
    assert kept.endswith(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~")
    assert normalize("a\x00b\tc\x85d\x9fe\x1cf", TokenizerConfig()) == "ab c de f"


def test_normalize_documented_example():
    config = TokenizerConfig(lowercase=True)
    assert normalize(" Ein\u00a0Mann\tläuft. ", config) == "ein mann läuft."
    assert normalize("ﬁ ½\x00", TokenizerConfig()) == "fi 1⁄2"
    assert normalize("ﬁ ½\x00", TokenizerConfig(normalization="nfc")) == "ﬁ ½"
    composed = normalize("e\u0301", TokenizerConfig(normalization="none"))
    assert composed == "e\u0301" and normalize("e\u0301", TokenizerConfig(normalization="nfc")) == "é"


@pytest.mark.parametrize("normalization", ["nfkc", "nfc", "none"])
@pytest.mark.parametrize("lowercase", [False, True])
def test_graph_normalization_equals_python(multi30k, normalization, lowercase):
    config = TokenizerConfig(normalization=normalization, lowercase=lowercase)
    val = multi30k[1]
    texts = TRICKY + list(val.sources[:300]) + list(val.targets[:300])
    got = [t.decode("utf-8") for t in normalize_strings(tf.constant(texts), config).numpy()]
    assert got == [normalize(t, config) for t in texts]


@HYPOTHESIS
@given(texts=st.lists(st.text(st.characters(max_codepoint=0x2BFF)), min_size=1, max_size=5))
def test_graph_normalization_equals_python_on_arbitrary_text(texts):
    # Below U+2C00 Python's unicodedata (Unicode 14) and TensorFlow's ICU agree.
    for config in (TokenizerConfig(), TokenizerConfig(normalization="nfc", lowercase=True)):
        got = [t.decode("utf-8") for t in normalize_strings(tf.constant(texts), config).numpy()]
        assert got == [normalize(t, config) for t in texts]


# ----------------------------------------------------------------------------- figures on val
@pytest.mark.parametrize("side", ["de", "en"])
def test_sentencepiece_round_trip_on_val(sentencepiece_pair, multi30k, side):
    tokenizer, texts = _side(sentencepiece_pair, multi30k[1], side)
    result = measure(tokenizer, texts)
    print(f"\nsentencepiece {side}: vocab {tokenizer.vocab_size}, round trip {result.exact:.2%}, "
          f"unknown rate {result.unknown_rate:.3%}, {result.tokens_per_sentence:.1f} tokens/line")
    assert result.exact >= 0.99, result.failures
    assert result.unknown_rate < 0.005


@pytest.mark.parametrize("side", ["de", "en"])
def test_wordpiece_round_trip_loses_only_spacing(wordpiece_pair, multi30k, side):
    tokenizer, texts = _side(wordpiece_pair, multi30k[1], side)
    result = measure(tokenizer, texts)
    print(f"\nwordpiece {side} (trained on {WORDPIECE_TRAIN_SENTENCES} lines): vocab {tokenizer.vocab_size}, "
          f"round trip {result.exact:.2%}, ignoring spaces {result.ignoring_spaces:.2%}, "
          f"unknown rate {result.unknown_rate:.3%}")
    # Punctuation comes back space-separated ("couch ." for "couch."), nothing else changes.
    assert result.ignoring_spaces >= 0.99, result.failures
    assert result.exact < result.ignoring_spaces
    assert result.unknown_rate < 0.005


@pytest.mark.parametrize("side", ["de", "en"])
def test_char_round_trip_on_val(char_pair, multi30k, side):
    tokenizer, texts = _side(char_pair, multi30k[1], side)
    result = measure(tokenizer, texts)
    print(f"\nchar {side}: vocab {tokenizer.vocab_size}, round trip {result.exact:.2%}, "
          f"unknown rate {result.unknown_rate:.3%}")
    assert result.exact >= 0.99
    assert result.unknown_rate < 0.005


def _side(pair, val, side):
    return (pair[0], list(val.sources)) if side == "de" else (pair[1], list(val.targets))


def test_char_round_trip_is_exact_on_seen_characters(char_pair, multi30k):
    tokenizer = char_pair[0]
    seen = set(tokenizer.characters)
    texts = [t for t in multi30k[1].sources if set(normalize(t, tokenizer.config)) <= seen]
    assert len(texts) > 1000
    back = [t.decode("utf-8") for t in tokenizer.detokenize(tokenizer.tokenize(texts)).numpy()]
    assert back == [normalize(t, tokenizer.config) for t in texts]


# ----------------------------------------------------------------------------- id layout
def test_special_ids_and_vocabulary(tokenizer):
    assert (Tokenizer.PAD_ID, Tokenizer.UNK_ID, Tokenizer.START_ID, Tokenizer.END_ID) == (0, 1, 2, 3)
    vocabulary = tokenizer.get_vocabulary()
    assert tuple(vocabulary[:4]) == SPECIAL_TOKENS == ("[PAD]", "[UNK]", "[START]", "[END]")
    assert len(vocabulary) == tokenizer.vocab_size <= tokenizer.config.vocab_size
    labels = tokenizer.id_to_token(tf.constant([0, 1, 2, 3]))
    assert [t.decode() for t in labels.numpy()] == list(SPECIAL_TOKENS)


def test_ids_are_in_range_and_never_special(tokenizer, val_de):
    ids = tokenizer.tokenize(tf.constant(val_de))
    assert isinstance(ids, tf.RaggedTensor)
    assert ids.dtype == tf.int32 and ids.row_splits.dtype == tf.int64
    assert ids.shape.as_list() == [len(val_de), None]
    flat = ids.flat_values.numpy()
    assert flat.min() >= 1 and flat.max() < tokenizer.vocab_size
    assert not np.isin(flat, [0, 2, 3]).any()
    literal = tokenizer.tokenize(["[PAD] [START] [END] [UNK] <s> </s> <pad>"]).flat_values.numpy()
    assert not np.isin(literal, [0, 2, 3]).any()  # special tokens cannot be spelled in text


def test_id_to_token_keeps_shape_and_raggedness(tokenizer, val_de):
    ids = tokenizer.tokenize(val_de[:4])
    labels = tokenizer.id_to_token(ids)
    assert isinstance(labels, tf.RaggedTensor) and labels.dtype == tf.string
    assert labels.row_lengths().numpy().tolist() == ids.row_lengths().numpy().tolist()
    dense = tokenizer.id_to_token(ids.to_tensor())
    assert dense.shape == ids.to_tensor().shape
    vocabulary = tokenizer.get_vocabulary()
    assert [t.decode() for t in labels[0].numpy()] == [vocabulary[i] for i in ids[0].numpy()]
    out_of_range = tokenizer.id_to_token(tf.constant([-1, tokenizer.vocab_size]))
    assert out_of_range.numpy().tolist() == [b"[UNK]", b"[UNK]"]


def test_detokenize_ignores_pad_start_and_after_end(tokenizer, val_de):
    texts = val_de[:6]
    ids = tokenizer.tokenize(texts)
    expected = tokenizer.detokenize(ids).numpy().tolist()
    wrapped = [[2] + row + [3] + row[:2] + [3] for row in ids_list(ids)]
    padded = tf.ragged.constant(wrapped, dtype=tf.int64).to_tensor()  # int64 and 0-padded
    assert tokenizer.detokenize(padded).numpy().tolist() == expected
    assert tokenizer.detokenize(tf.ragged.constant(wrapped)).numpy().tolist() == expected
    assert tokenizer.detokenize(padded[0]).numpy() == expected[0]
    assert tokenizer.detokenize(tf.constant([[3, 5, 6], [0, 0, 0]])).numpy().tolist() == [b"", b""]


def test_detokenize_renders_unknown_and_out_of_range_ids(tokenizer):
    texts = tokenizer.detokenize(tf.constant([[UNK_ID], [-7], [tokenizer.vocab_size + 5]])).numpy()
    assert [t.decode() for t in texts] == [UNK_SURFACE] * 3


def test_scalar_empty_and_empty_batch(tokenizer):
    one = tokenizer.tokenize("Ein Hund rennt.")
    assert isinstance(one, tf.Tensor) and one.shape.rank == 1
    assert one.numpy().tolist() == ids_list(tokenizer.tokenize(["Ein Hund rennt."]))[0]
    assert ids_list(tokenizer.tokenize(["", "   \t "])) == [[], []]
    assert tokenizer.detokenize(tokenizer.tokenize([""])).numpy().tolist() == [b""]
    empty = tokenizer.tokenize(tf.constant([], tf.string))
    assert empty.nrows().numpy() == 0
    assert tokenizer.detokenize(empty).shape == (0,)
    with pytest.raises(ValueError, match="scalar or a \\[batch\\]"):
        tokenizer.tokenize([["a"]])


@HYPOTHESIS
@given(text=st.text())
def test_arbitrary_text_never_crashes(pair, text):
    tokenizer = pair[0]
    ids = tokenizer.tokenize([text, "", text[::-1]])
    flat = ids.flat_values.numpy()
    assert ((flat >= 1) & (flat < tokenizer.vocab_size)).all() and not np.isin(flat, [0, 2, 3]).any()
    back = tokenizer.detokenize(ids).numpy()
    assert back.shape == (3,) and back[1] == b""
    back[0].decode("utf-8")  # valid UTF-8
    tokenizer.id_to_token(ids)


@HYPOTHESIS
@given(data=st.data())
def test_char_round_trip_on_arbitrary_seen_characters(char_pair, data):
    tokenizer = char_pair[1]
    text = data.draw(st.text(st.sampled_from(tokenizer.characters)))
    expected = normalize(text, tokenizer.config)
    if set(expected) <= set(tokenizer.characters):  # NFKC may compose seen characters into unseen ones
        assert tokenizer.detokenize(tokenizer.tokenize([text])).numpy()[0].decode() == expected


@HYPOTHESIS
@given(text=st.text())
def test_sentencepiece_round_trip_on_arbitrary_text_with_seen_characters(sentencepiece_pair, text):
    tokenizer = sentencepiece_pair[1]
    expected = normalize(text, tokenizer.config)
    ids = tokenizer.tokenize([text])
    back = tokenizer.detokenize(ids).numpy()[0].decode()
    if UNK_ID not in ids.flat_values.numpy() and "▁" not in expected:
        assert back == expected


# ----------------------------------------------------------------------------- graphs
def test_tf_data_map_parallel_batched_and_unbatched(tokenizer, val_de):
    texts = val_de[:40]
    expected = ids_list(tokenizer.tokenize(texts))
    batched = tf.data.Dataset.from_tensor_slices(texts).batch(16).map(
        tokenizer.tokenize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    assert [row for batch in batched for row in ids_list(batch)] == expected
    unbatched = tf.data.Dataset.from_tensor_slices(texts).map(
        tokenizer, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    assert [ids.numpy().tolist() for ids in unbatched] == expected


def test_tf_function_with_string_signature(tokenizer, val_de):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(texts):
        ids = tokenizer.tokenize(texts)
        return ids.to_tensor(), tokenizer.detokenize(ids.to_tensor()), tokenizer.id_to_token(ids).to_tensor()

    @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.int32, ragged_rank=1)])
    def detokenize(ids):
        return tokenizer.detokenize(ids)

    texts = val_de[:8]
    ids, back, labels = round_trip(tf.constant(texts))
    eager = tokenizer.tokenize(texts)
    assert ids.numpy().tolist() == eager.to_tensor().numpy().tolist()
    assert back.numpy().tolist() == tokenizer.detokenize(eager).numpy().tolist()
    assert labels.shape == ids.shape
    assert detokenize(eager).numpy().tolist() == back.numpy().tolist()


def test_exported_saved_model_takes_raw_strings(tokenizer, val_de, tmp_path):
    class Export(tf.Module):
        def __init__(self, tokenizer):
            super().__init__()
            self.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            ids = self.tokenizer.tokenize(texts)
            return {"ids": ids.to_tensor(), "text": self.tokenizer.detokenize(ids)}

    texts = tf.constant(val_de[:5])
    expected = Export(tokenizer)(texts)
    tf.saved_model.save(Export(tokenizer), str(tmp_path / "export"))
    restored = tf.saved_model.load(str(tmp_path / "export"))(texts)
    assert restored["ids"].numpy().tolist() == expected["ids"].numpy().tolist()
    assert restored["text"].numpy().tolist() == expected["text"].numpy().tolist()


# ----------------------------------------------------------------------------- saving
def test_save_and_load_directory_gives_identical_ids(tokenizer, val_de, tmp_path):
    tokenizer.save(tmp_path / "tok")
    assert (tmp_path / "tok" / "tokenizer.json").is_file()
    restored = Tokenizer.load(tmp_path / "tok")
    assert type(restored) is type(tokenizer)
    assert restored.config == tokenizer.config and restored.name == tokenizer.name
    assert restored.get_vocabulary() == tokenizer.get_vocabulary()
    assert ids_list(restored.tokenize(val_de)) == ids_list(tokenizer.tokenize(val_de))
    assert type(tokenizer).load(tmp_path / "tok").vocab_size == tokenizer.vocab_size
    other = next(c for c in (SentencePieceTokenizer, WordPieceTokenizer, CharTokenizer) if c is not type(tokenizer))
    with pytest.raises(TypeError, match="not a"):
        other.load(tmp_path / "tok")


def test_load_without_config_file_fails(tmp_path):
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        Tokenizer.load(tmp_path)


def test_keras_serialize_deserialize_with_assets(tokenizer, val_de, tmp_path):
    serialized = keras.saving.serialize_keras_object(tokenizer)
    assert serialized["registered_name"] == f"nmt>{type(tokenizer).__name__}"
    tokenizer.save_assets(str(tmp_path))
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(tokenizer) and not restored.is_ready
    with pytest.raises(RuntimeError, match="no vocabulary yet"):
        restored.tokenize(["x"])
    restored.load_assets(str(tmp_path))
    assert restored.get_config() == tokenizer.get_config()
    assert ids_list(restored.tokenize(val_de)) == ids_list(tokenizer.tokenize(val_de))


def test_keras_model_archive_round_trip(tokenizer, val_de, tmp_path):
    texts = keras.Input(shape=(), dtype="string")
    model = keras.Model(texts, tokenizer(texts))
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    batch = tf.constant(val_de[:50])
    assert ids_list(restored(batch)) == ids_list(tokenizer(batch))


# ----------------------------------------------------------------------------- options
@pytest.mark.parametrize("kind", KINDS)
def test_lowercase_option(multi30k, kind):
    config = TokenizerConfig(kind=kind, vocab_size=1000, lowercase=True, max_train_sentences=500)
    tokenizer = tokenizer_class(kind).train(multi30k[0].targets, config)
    upper, lower = tokenizer.tokenize(["A MAN IS RUNNING.", "a man is running."])
    assert upper.numpy().tolist() == lower.numpy().tolist()
    assert not any(any(ch.isupper() for ch in token) for token in tokenizer.get_vocabulary()[4:])
    assert tokenizer.detokenize([upper]).numpy()[0].decode().replace(" .", ".") == "a man is running."


def test_joint_vocabulary_is_shared(multi30k):
    config = TokenizerConfig(joint=True, vocab_size=4000, max_train_sentences=2 * SMALL_TRAIN_SENTENCES)
    source, target = train_tokenizers(multi30k[0], config)
    assert source is target
    vocabulary = set(source.get_vocabulary())
    assert {"▁Mann", "▁man", "▁Hund", "▁dog"} <= vocabulary
    for texts in (multi30k[1].sources, multi30k[1].targets):
        assert measure(source, list(texts)).unknown_rate < 0.005


def test_separate_vocabularies_differ(sentencepiece_pair):
    german, english = sentencepiece_pair
    assert german is not english
    assert "▁Mann" in german.get_vocabulary() and "▁Mann" not in english.get_vocabulary()
    assert (german.name, english.name) == ("de_tokenizer", "en_tokenizer")


def test_sentencepiece_byte_fallback(multi30k):
    texts = ["Ein Schneemann ☃ steht vor dem 雪山."]
    plain_config = TokenizerConfig(vocab_size=1000, max_train_sentences=SMALL_TRAIN_SENTENCES)
    plain = SentencePieceTokenizer.train(multi30k[0].sources, plain_config)
    assert UNK_ID in plain.tokenize(texts).flat_values.numpy()
    assert UNK_SURFACE in plain.detokenize(plain.tokenize(texts)).numpy()[0].decode()

    config = TokenizerConfig(vocab_size=1000, byte_fallback=True, max_train_sentences=SMALL_TRAIN_SENTENCES)
    tokenizer = SentencePieceTokenizer.train(multi30k[0].sources, config)
    vocabulary = tokenizer.get_vocabulary()
    assert vocabulary[4] == "<0x00>" and vocabulary[259] == "<0xFF>"
    ids = tokenizer.tokenize(texts).flat_values.numpy()
    assert UNK_ID not in ids and ((ids >= 4) & (ids < 260)).sum() >= 9  # 3 + 3 + 3 UTF-8 bytes
    assert tokenizer.detokenize(tokenizer.tokenize(texts)).numpy()[0].decode() == texts[0]


def test_sentencepiece_bpe_and_soft_vocab_limit():
    texts = ["a small corpus", "with few words", "a few words"] * 20
    tokenizer = SentencePieceTokenizer.train(texts, TokenizerConfig(model_type="bpe", vocab_size=5000))
    assert tokenizer.vocab_size < 100  # soft limit: no error on a tiny corpus
    assert tokenizer.detokenize(tokenizer.tokenize(texts[:3])).numpy().tolist() == [t.encode() for t in texts[:3]]


def test_max_train_sentences_limits_char_vocabulary():
    tokenizer = CharTokenizer.train(["ab", "cd", "ef"], TokenizerConfig(kind="char", max_train_sentences=2))
    assert tokenizer.characters == ("a", "b", "c", "d")
    capped = CharTokenizer.train(["aaabbc"], TokenizerConfig(kind="char", vocab_size=6))
    assert capped.characters == ("a", "b")
    assert ids_list(capped.tokenize(["abc"])) == [[4, 5, UNK_ID]]


def test_training_on_empty_text_fails():
    with pytest.raises(ValueError, match="no non-empty"):
        SentencePieceTokenizer.train(["", "  "], TokenizerConfig())


# ----------------------------------------------------------------------------- config & construction
def test_config_validation():
    with pytest.raises(ConfigError, match="kind"):
        TokenizerConfig(kind="bytes")
    with pytest.raises(ConfigError, match="vocab_size"):
        TokenizerConfig(vocab_size=4)
    with pytest.raises(ConfigError, match="vocab_size"):
        TokenizerConfig(byte_fallback=True, vocab_size=200)
    with pytest.raises(ConfigError, match="byte_fallback"):
        TokenizerConfig(kind="wordpiece", byte_fallback=True)
    with pytest.raises(ConfigError, match="character_coverage"):
        TokenizerConfig(character_coverage=0.0)
    with pytest.raises(ConfigError, match="max_train_sentences"):
        TokenizerConfig(max_train_sentences=0)
    with pytest.raises(ConfigError, match="lowercase"):
        TokenizerConfig(lowercase="yes")
    with pytest.raises(ConfigError, match="valid keys: .*vocab_size"):
        config_from_dict(TokenizerConfig, {"vocab": 10})


def test_construction_checks_kind_and_readiness():
    with pytest.raises(TypeError, match="abstract"):
        Tokenizer()
    with pytest.raises(ConfigError, match="kind='wordpiece'"):
        WordPieceTokenizer(TokenizerConfig(kind="char"))
    with pytest.raises(ConfigError, match="unknown tokenizer kind"):
        tokenizer_class("bytes")
    empty = WordPieceTokenizer({"kind": "wordpiece", "lowercase": True})
    assert empty.config.lowercase and not empty.is_ready
    with pytest.raises(RuntimeError, match="no vocabulary yet"):
        empty.detokenize([[4]])
    with pytest.raises(ValueError, match="must start with"):
        WordPieceTokenizer(vocabulary=["a", "b"])
    with pytest.raises(ValueError, match="pad/unk/bos/eos"):
        SentencePieceTokenizer(model_proto=_foreign_sentencepiece_model())


def _foreign_sentencepiece_model() -> bytes:
    """A model with SentencePiece's default ids (unk 0, bos 1, eos 2)."""
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(["a b c d e f g"] * 10), model_writer=model,
                                   vocab_size=12, hard_vocab_limit=False, minloglevel=2)
    return model.getvalue()



def test_sentencepiece_survives_reseeding_after_pipelines_are_built():
    """keras.utils.set_random_seed resets TF's eager kernel cache (tensorflow/text#570)."""
    import keras

    tokenizer = SentencePieceTokenizer.train(["ein Hund läuft", "zwei Katzen schlafen"] * 50,
                                             TokenizerConfig(vocab_size=40))
    dataset = tf.data.Dataset.from_tensor_slices(["ein Hund", "zwei Katzen"]).batch(2).map(tokenizer.tokenize)
    expected = next(iter(dataset)).to_list()
    graph_fn = tf.function(tokenizer.tokenize, input_signature=[tf.TensorSpec([None], tf.string)])
    graph_fn(tf.constant(["ein Hund"]))
    keras.utils.set_random_seed(7)
    assert next(iter(dataset)).to_list() == expected
    assert graph_fn(tf.constant(["ein Hund", "zwei Katzen"])).to_list() == expected
    assert tokenizer.tokenize(tf.constant(["ein Hund", "zwei Katzen"])).to_list() == expected
