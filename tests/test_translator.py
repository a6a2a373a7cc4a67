"""Translator: input forms, order, empty and long inputs, Unicode, n-best, saving; DecodeConfig."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from fakes import FakeModel, train_tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt.config.base import ConfigError, config_from_dict
from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.tokenizers import CharTokenizer, TokenizerConfig
from nmt.translate.translator import Hypothesis, Translation, Translator, TruncationWarning

SOURCES = ["ein hund", "eine katze", "zwei hunde", "der mann", "die frau", "ein kind"]
TARGETS = ["a dog", "a cat", "two dogs", "the man", "the woman", "a child"]


@pytest.fixture(scope="module")
def translator():
    """An untrained character translator (random weights) with batches of 2."""
    config = DecodeConfig(beam_size=3, max_length_a=0.5, max_length_b=4, batch_size=2, max_input_length=30)
    return train_tiny(list(zip(SOURCES, TARGETS)), kind="char", vocab_size=(24, 20), steps=0,
                      model_config=ModelConfig(units=12, embedding_dim=8), config=config, seed=3,
                      names=("de_tokenizer", "en_tokenizer"))


def test_translate_returns_the_form_of_its_input(translator):
    one = translator.translate("ein hund")
    assert isinstance(one, str)
    many = translator.translate(["ein hund", "der mann"])
    assert isinstance(many, list) and many[0] == one
    assert translator.translate(("ein hund",)) == [one]
    assert translator.translate(np.array(["ein hund"])) == [one]
    series = pd.Series(["der mann", "ein hund"], index=["x", "y"], name="de")
    result = translator.translate(series)
    assert isinstance(result, pd.Series)
    assert result.index.tolist() == ["x", "y"] and result.name == "de"
    assert result["y"] == one


def test_batched_translation_restores_order_and_equals_one_at_a_time(translator):
    texts = ["die frau und der mann", "ein hund", "", "zwei hunde", "eine katze und ein kind", "der mann", "ein"]
    together = translator.translate(texts)  # batch_size 2: sorted by length, 4 batches
    assert together == [translator.translate(text) for text in texts]
    assert translator.translate(texts[::-1]) == together[::-1]
    greedy = translator.translate(texts, beam_size=1)
    assert greedy == [translator.translate(text, beam_size=1, batch_size=64) for text in texts]


def test_empty_inputs_give_empty_translations(translator):
    assert translator.translate(["", "   ", None, float("nan"), "\n\t"]) == [""] * 5
    assert translator.translate("") == ""
    assert translator.translate([]) == []
    detailed = translator.translate("", return_attention=True)
    assert detailed.text == "" and detailed.tokens == () and detailed.attention.shape == (0, 0)


def test_non_string_inputs_are_rejected(translator):
    with pytest.raises(TypeError, match="input 1"):
        translator.translate(["ein hund", 3])
    with pytest.raises(TypeError):
        translator.translate(42)


def test_long_inputs_are_truncated_with_a_warning_that_counts_them(translator):
    long = "ein hund " * 10  # 89 characters
    with pytest.warns(TruncationWarning, match=r"2 of 3 inputs .* max_input_length=30"):
        result = translator.translate([long, "ein hund", long + "x"])
    # Truncation keeps the first 29 tokens (then END): the same as translating that prefix.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prefix = translator.translate(long[:29])
    assert result[0] == result[2] == prefix


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_arbitrary_unicode_never_crashes(translator, texts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        result = translator.translate(texts, beam_size=2)
    assert len(result) == len(texts) and all(isinstance(t, str) for t in result)
    for text, translation in zip(texts, result):
        if not text.strip():
            assert translation == ""


def test_lone_surrogates_and_control_characters_do_not_crash(translator):
    result = translator.translate(["\ud800 hund", "\x00\x1b[31m", "🐕 ein hund", "\u200b"])
    assert len(result) == 4


def test_return_attention_gives_labels_scores_and_a_matching_matrix(translator):
    result = translator.translate(["ein hund", "zwei hunde"], return_attention=True)
    texts = translator.translate(["ein hund", "zwei hunde"])
    for translation, text, source in zip(result, texts, ["ein hund", "zwei hunde"]):
        assert isinstance(translation, Translation) and translation.text == text
        assert translation.source_tokens == (*source, "[END]")
        assert translation.tokens[-1] == "[END]"
        assert translation.attention.shape == (len(translation.tokens), len(translation.source_tokens))
        np.testing.assert_allclose(translation.attention.sum(axis=1), 1.0, rtol=1e-5)
        assert translation.log_prob <= 0


def test_n_best_lists_are_sorted_and_start_with_the_translation(translator):
    lists = translator.translate_nbest(["ein hund", "", "der mann"], 3)
    assert len(lists) == 3 and all(len(hyps) == 3 for hyps in lists)
    for hyps, text in zip(lists, translator.translate(["ein hund", "", "der mann"])):
        assert all(isinstance(h, Hypothesis) for h in hyps)
        assert hyps[0].text == text
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
    with pytest.raises(ValueError, match="beam_size"):
        translator.translate_nbest("ein hund", 4, beam_size=2)


def test_overrides_equal_a_translator_configured_that_way(translator):
    texts = ["ein hund", "die frau"]
    other = Translator(translator.model, translator.source_tokenizer, translator.target_tokenizer,
                       DecodeConfig(beam_size=1, max_length_a=0.5, max_length_b=4))
    assert translator.translate(texts, beam_size=1) == other.translate(texts)
    capped = translator.translate(texts, max_length=2, return_attention=True)
    assert all(len(t.tokens) <= 3 for t in capped)


def test_search_is_traced_once_per_beam_size(translator):
    fresh = Translator(translator.model, translator.source_tokenizer, translator.target_tokenizer,
                       translator.config)
    for texts in (["ein"], ["ein hund", "der mann", "x"], ["die frau und der mann"] * 5):
        fresh.translate(texts, length_penalty=0.1 * len(texts), max_length=len(texts))
    assert fresh.translate_function(3).experimental_get_tracing_count() == 1


def test_replace_unknown_copies_the_attended_source_token():
    src_tok = CharTokenizer(TokenizerConfig(kind="char", vocab_size=10), characters=list("abcxyz"))
    tgt_tok = CharTokenizer(TokenizerConfig(kind="char", vocab_size=8), characters=list("abcd"))
    fake = Translator(FakeModel(), src_tok, tgt_tok, DecodeConfig(beam_size=1))
    assert fake.translate(["xyz", "ab"]) == ["\u2047", "\u2047"]
    assert fake.translate(["xyz", "ab"], replace_unknown=True) == ["y", "b"]
    assert fake.translate(["xyz"], replace_unknown=True, beam_size=2) == ["y"]


def test_a_vocabulary_mismatch_is_an_error(translator):
    small = CharTokenizer(TokenizerConfig(kind="char", vocab_size=8), characters=list("ab"))
    with pytest.raises(ValueError, match="target vocabulary has 19 ids .* tokenizer has 6"):
        Translator(translator.model, translator.source_tokenizer, small)
    with pytest.raises(ValueError, match="source vocabulary"):
        Translator(translator.model, small, translator.target_tokenizer)


@pytest.mark.parametrize("name", ["saved", "saved.keras"])
def test_save_and_load_give_identical_translations(translator, tmp_path, name):
    texts = ["ein hund", "zwei hunde", "die frau und der mann"]
    path = translator.save(tmp_path / name)
    loaded = Translator.load(path)
    assert loaded.config == translator.config
    assert loaded.translate(texts) == translator.translate(texts)
    assert loaded.translate(texts, beam_size=1) == translator.translate(texts, beam_size=1)
    expected = translator.translate(texts, return_attention=True)
    for a, b in zip(loaded.translate(texts, return_attention=True), expected):
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-6)
        assert a.score == pytest.approx(b.score, abs=1e-5)


def test_load_rejects_what_is_not_a_translator(tmp_path):
    with pytest.raises(FileNotFoundError, match="translator.json"):
        Translator.load(tmp_path)
    (tmp_path / "translator.json").write_text(json.dumps({"format_version": 99, "decode": {}}))
    with pytest.raises(ValueError, match="translator format 99"):
        Translator.load(tmp_path)


@pytest.mark.slow
def test_a_fresh_process_loads_and_translates_identically(translator, tmp_path):
    texts = ["ein hund", "eine katze", "die frau und der mann"]
    translator.save(tmp_path / "saved")
    script = (
        "import json, sys\n"
        "from nmt.translate.translator import Translator\n"
        f"t = Translator.load({str(tmp_path / 'saved')!r})\n"
        f"print(json.dumps([t.translate({texts!r}), t.translate({texts!r}, beam_size=1)]))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    fresh = json.loads(run.stdout.strip().splitlines()[-1])
    assert fresh == [translator.translate(texts), translator.translate(texts, beam_size=1)]


# ---------------------------------------------------------------------- DecodeConfig
def test_decode_config_validates_and_lists_valid_keys():
    assert config_from_dict(DecodeConfig, {"beam_size": 4}, where="decode").beam_size == 4
    with pytest.raises(ConfigError, match="decode.beam_width.*valid keys: .*decode.beam_size"):
        config_from_dict(DecodeConfig, {"beam_width": 4}, where="decode")
    for bad in ({"beam_size": 0}, {"beam_size": 2.0}, {"length_penalty": -1.0}, {"coverage_penalty": float("nan")},
                {"max_length_b": -1}, {"max_input_length": 1}, {"batch_size": True}, {"replace_unknown": "yes"},
                {"max_length_a": 0.0, "max_length_b": 0}):
        with pytest.raises(ConfigError):
            DecodeConfig(**bad)
