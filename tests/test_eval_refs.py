"""Several references per sentence, sacreBLEU tokenizers by name, report names from the settings (nmt evaluate)."""

from __future__ import annotations

import copy
import io
import urllib.error

import pandas as pd
import pytest
import sentencepiece as spm
from fakes import assert_user_error, run_cli, train_tiny
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.tokenizers import tokenizer_spm

from nmt import runs
from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.config.run import load_run_config
from nmt.data import ParallelCorpus
from nmt.evaluation import (
    BLEU_TOKENIZERS,
    available_tokenizers,
    bleu_metric,
    evaluate,
    paired_bootstrap,
    score_corpus,
    sentence_frame,
    spm_model_path,
)

REFS = ["The cat sat on the mat.", "A dog runs in the park.", "Two men play football.", "It rains."]
REFS2 = ["A cat is sitting on the mat.", "A dog is running in a park.", "Two men are playing soccer.", "Rain."]
HYPS = ["The cat sat on a mat.", "A dog is running in a park.", "Two men are playing soccer.", "Raining."]


# ----------------------------------------------------------------------------- several references
def test_several_reference_streams_are_sacrebleus_multi_reference_scores():
    scores = score_corpus(HYPS, [REFS, REFS2])
    assert scores.bleu.score == pytest.approx(BLEU().corpus_score(HYPS, [REFS, REFS2]).score)
    assert scores.chrf.score == pytest.approx(CHRF().corpus_score(HYPS, [REFS, REFS2]).score)
    assert scores.ter.score == pytest.approx(TER(case_sensitive=True).corpus_score(HYPS, [REFS, REFS2]).score)
    assert scores.bleu.score > score_corpus(HYPS, REFS).bleu.score  # the second reference matches better
    assert "nrefs:2" in scores.signatures["bleu"] and "nrefs:1" in score_corpus(HYPS, [REFS]).signatures["bleu"]
    with pytest.raises(ValueError, match="4 hypotheses but 3 references in stream 2"):
        score_corpus(HYPS, [REFS, REFS2[:3]])
    assert paired_bootstrap([REFS, REFS2], REFS, HYPS, n_samples=20).metrics[0].candidate == pytest.approx(
        scores.bleu.score)


def test_the_sentence_table_has_every_reference():
    frame = sentence_frame(["s"] * 4, [REFS, REFS2], HYPS)
    assert list(frame.columns[:4]) == ["source", "reference", "reference_2", "hypothesis"]
    assert frame["reference_2"].tolist() == REFS2
    bleu = BLEU(effective_order=True)
    assert frame["bleu"].tolist() == pytest.approx([bleu.sentence_score(h, [a, b]).score
                                                    for h, a, b in zip(HYPS, REFS, REFS2)])


def test_evaluate_scores_against_every_reference(capsys):
    class Echo:
        def translate(self, texts, **options):
            return [HYPS[int(t)] for t in texts]

    corpus = ParallelCorpus([str(i) for i in range(4)], REFS, "de", "en", name="toy")
    result = evaluate(Echo(), corpus, references=[REFS, REFS2], verbose=False)
    assert result.scores.as_dict() == score_corpus(HYPS, [REFS, REFS2]).as_dict()
    assert result.sentences["reference_2"].tolist() == REFS2
    with pytest.raises(ValueError, match="stream 2"):
        evaluate(Echo(), corpus, references=[REFS, REFS2[:2]], verbose=False)


# ----------------------------------------------------------------------------- tokenizers
def test_tokenizers_follow_the_installed_sacrebleu():
    assert BLEU_TOKENIZERS[0] == "13a" and {"none", "intl", "char", "zh", "flores200"} <= set(BLEU_TOKENIZERS)
    assert set(BLEU_TOKENIZERS) <= set(BLEU.TOKENIZERS) and "spm" not in BLEU_TOKENIZERS
    assert {"13a", "none", "flores200"} <= set(available_tokenizers())
    assert "tok:none" in score_corpus(HYPS, REFS, tokenize="none").signatures["bleu"]
    with pytest.raises(ValueError, match="not one of 13a, none"):
        bleu_metric("moses", False)


@pytest.fixture
def sacrebleu_dir(tmp_path, monkeypatch):
    """sacreBLEU's model folder moved to tmp_path; downloads fail as they do offline."""
    def offline(url, path, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(tmp_path))
    monkeypatch.setattr(tokenizer_spm, "download_file", offline)
    return tmp_path


def test_flores200_offline_says_where_its_model_goes(sacrebleu_dir, capsys, tmp_path):
    path = spm_model_path("flores200")
    assert path.parent == sacrebleu_dir / "models"
    with pytest.raises(ValueError, match="needs its SentencePiece model .*could not be downloaded") as error:
        score_corpus(HYPS, REFS, tokenize="flores200")
    assert str(path) in str(error.value)
    code, _, err = run_cli(capsys, "evaluate", "--model", tmp_path, "--src", tmp_path / "x", "--ref",
                           tmp_path / "y", "--tokenize", "flores200")
    assert_user_error(code, err, "--tokenize 'flores200'", "download it there by hand")
    code, _, err = run_cli(capsys, "evaluate", "--model", tmp_path, "--tokenize", "moses")
    assert_user_error(code, err, "--tokenize 'moses' is not one of 13a, none,", "flores200")


def test_flores200_with_its_model_in_place_is_spbleu(sacrebleu_dir):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(REFS * 20 + REFS2 * 20), model_writer=model,
                                   vocab_size=60, hard_vocab_limit=False, minloglevel=2, num_threads=1)
    path = spm_model_path("flores200")
    path.parent.mkdir(parents=True)
    path.write_bytes(model.getvalue())
    scores = score_corpus(HYPS, REFS, tokenize="flores200")
    assert "tok:flores200" in scores.signatures["bleu"]
    assert scores.bleu.score == pytest.approx(BLEU(tokenize="flores200").corpus_score(HYPS, [REFS]).score)


# ----------------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run directory (smoke config, de-en) whose translator is a tiny untrained one, handed out as copies."""
    folder = tmp_path_factory.mktemp("eval") / "run"
    translator = train_tiny([("ein hund", "a dog"), ("der mann", "the man")], kind="char", vocab_size=(24, 20),
                            steps=0, model_config=ModelConfig(units=12, embedding_dim=8), seed=3,
                            config=DecodeConfig(beam_size=2, max_length_a=0.5, max_length_b=4))
    translator.save(folder / runs.TRANSLATOR_DIR)
    runs.write_run_config(folder, load_run_config("smoke"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runs, "load_translator", lambda path, log=None: copy.copy(translator))
        yield folder


def test_evaluate_with_two_references_and_report_names_from_the_settings(capsys, run_dir, tmp_path):
    src, ref, ref2 = tmp_path / "test.de", tmp_path / "test.en", tmp_path / "test2.en"
    src.write_text("ein hund\nder mann\nein mann\n")
    ref.write_text("a dog\nthe man\na man\n")
    ref2.write_text("one dog\nthe guy\none man\n")
    files = ["--src", src, "--ref", ref, "--ref", ref2]
    code, out, err = run_cli(capsys, "evaluate", "--model", run_dir, *files)
    assert code == 0, err
    assert "nrefs:2" in out
    first = run_dir / "eval" / "test.de.beam2.refs2.csv"
    frame = pd.read_csv(first, keep_default_na=False)
    assert frame["reference"].tolist() == ["a dog", "the man", "a man"]
    assert frame["reference_2"].tolist() == ["one dog", "the guy", "one man"]
    before = first.read_bytes()
    code, out, err = run_cli(capsys, "evaluate", "--model", run_dir, *files, "--tokenize", "intl", "--lowercase",
                             "--length-penalty", "1", "--beam", "1")
    assert code == 0, err
    assert (run_dir / "eval" / "test.de.beam1.tok-intl.lc.lp1.refs2.csv").is_file()
    assert (run_dir / "eval" / "test.de.beam1.tok-intl.lc.lp1.refs2.json").is_file()
    assert first.read_bytes() == before
    code, _, err = run_cli(capsys, "evaluate", "--model", run_dir, "--src", src, "--ref", ref)
    assert code == 0 and (run_dir / "eval" / "test.de.beam2.csv").is_file(), err
    ref2.write_text("one dog\nthe guy\n")
    code, _, err = run_cli(capsys, "evaluate", "--model", run_dir, *files)
    assert_user_error(code, err, "test.de has 3 lines", "test2.en has 2 lines")
    code, _, err = run_cli(capsys, "evaluate", "--model", run_dir, *files[:2], "--coverage-penalty", "-1")
    assert_user_error(code, err, "--coverage-penalty", "non-negative")
