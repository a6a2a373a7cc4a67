"""sacreBLEU evaluation: corpus scores and signatures, sentence tables, worst sentences, paired tests."""

from __future__ import annotations

import pandas as pd
import pytest
from sacrebleu.metrics import BLEU, CHRF, TER

from nmt.data import ParallelCorpus, load_dataset
from nmt.evaluation import (
    SENTENCE_COLUMNS,
    Evaluation,
    available_tokenizers,
    evaluate,
    paired_bootstrap,
    score_corpus,
    sentence_frame,
    write_frame,
)

REFS = ["The cat sat on the mat.", "A dog runs in the park.", "Two men play football.", "It rains."] * 3
WEAK = ["The cat sat on a mat.", "A dog is running in a park.", "Two men are playing soccer.", "Raining."] * 3
GOOD = ["The cat sat on the mat.", "A dog runs in the park.", "Two men play soccer.", "It rains."] * 3


class Echo:
    """A stand-in translator whose translation of each source is given."""

    def __init__(self, table: dict[str, str]):
        self.table = table
        self.calls = []

    def translate(self, texts, **options):
        self.calls.append(options)
        return [self.table[t] for t in texts]


def test_corpus_scores_are_sacrebleus_with_references_as_one_stream():
    scores = score_corpus(WEAK, REFS)
    assert scores.bleu.score == pytest.approx(BLEU().corpus_score(WEAK, [REFS]).score)
    assert scores.chrf.score == pytest.approx(CHRF().corpus_score(WEAK, [REFS]).score)
    assert scores.ter.score == pytest.approx(TER(case_sensitive=True).corpus_score(WEAK, [REFS]).score)
    assert 0 < scores.bleu.score < 100
    assert set(scores.as_dict()) == {"bleu", "chrf", "ter"}
    assert "nrefs:1|case:mixed" in scores.signatures["bleu"] and "tok:13a" in scores.signatures["bleu"]
    assert "case:mixed" in scores.signatures["ter"]
    text = str(scores)
    assert text.count("version:") == 3 and "BLEU = " in text and "chrF2 = " in text and "TER = " in text


def test_identical_output_scores_perfectly():
    scores = score_corpus(REFS, REFS)
    assert scores.as_dict() == pytest.approx({"bleu": 100.0, "chrf": 100.0, "ter": 0.0})


def test_case_matters_unless_lowercase():
    upper = [r.upper() for r in REFS]
    assert score_corpus(upper, REFS).bleu.score < 10
    lower = score_corpus(upper, REFS, lowercase=True)
    assert lower.as_dict() == pytest.approx({"bleu": 100.0, "chrf": 100.0, "ter": 0.0})
    assert "case:lc" in lower.signatures["bleu"]


@pytest.mark.parametrize("tokenize", ["13a", "intl", "char", "zh"])
def test_each_tokenizer_is_in_the_signature(tokenize):
    scores = score_corpus(WEAK, REFS, tokenize=tokenize)
    assert f"tok:{tokenize}" in scores.signatures["bleu"]
    assert scores.bleu.score == pytest.approx(BLEU(tokenize=tokenize).corpus_score(WEAK, [REFS]).score)


def test_unknown_or_missing_tokenizers_are_errors():
    with pytest.raises(ValueError, match="not one of"):
        score_corpus(WEAK, REFS, tokenize="spaces")
    assert {"13a", "intl", "char", "zh"} <= set(available_tokenizers())
    if "ja-mecab" not in available_tokenizers():
        with pytest.raises(ValueError, match="sacrebleu\\[ja\\]"):
            score_corpus(WEAK, REFS, tokenize="ja-mecab")


def test_streams_must_align():
    with pytest.raises(ValueError, match="3 hypotheses but 12 references"):
        score_corpus(WEAK[:3], REFS)
    with pytest.raises(ValueError, match="no sentences"):
        score_corpus([], [])
    with pytest.raises(TypeError, match="hypothesis 1"):
        score_corpus(["a", None], ["a", "b"])


def test_sentence_frame_has_sentence_scores_and_lengths():
    frame = sentence_frame(["s1", "s2 s2"], REFS[:2], WEAK[:2])
    assert tuple(frame.columns) == SENTENCE_COLUMNS
    bleu = BLEU(effective_order=True)
    assert frame["bleu"].tolist() == pytest.approx([bleu.sentence_score(h, [r]).score for h, r in zip(WEAK, REFS[:2])])
    assert frame["chrf"][1] == pytest.approx(CHRF().sentence_score(WEAK[1], [REFS[1]]).score)
    assert frame["source_words"].tolist() == [1, 2]
    assert frame["reference_words"].tolist() == [6, 6] and frame["hypothesis_words"].tolist() == [6, 7]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_sentence_tables_round_trip_through_files(tmp_path, suffix):
    frame = sentence_frame(REFS, REFS, WEAK)
    frame.loc[0, "hypothesis"] = 'a "quoted", tabbed\tline — ünïcode'
    path = write_frame(frame, tmp_path / f"sentences{suffix}")
    back = (pd.read_parquet(path) if suffix == ".parquet"
            else pd.read_csv(path, sep="\t" if suffix == ".tsv" else ","))
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    with pytest.raises(ValueError, match="parquet"):
        write_frame(frame, tmp_path / "sentences.xlsx")


def test_evaluate_translates_scores_and_prints_signatures(capsys):
    corpus = ParallelCorpus([f"src {i}" for i in range(len(REFS))], REFS, "de", "en", name="toy/test")
    translator = Echo({f"src {i}": h for i, h in enumerate(WEAK)})
    report = evaluate(translator, corpus, beam_size=2)
    assert isinstance(report, Evaluation)
    assert translator.calls == [{"beam_size": 2, "length_penalty": None, "coverage_penalty": None}]
    assert report.hypotheses == WEAK
    assert report.scores.bleu.score == pytest.approx(BLEU().corpus_score(WEAK, [REFS]).score)
    printed = capsys.readouterr().out
    assert "toy/test (12 sentences)" in printed and printed.count("nrefs:1") == 3
    worst = report.worst(4)
    assert len(worst) == 4 and worst["bleu"].is_monotonic_increasing
    assert worst["bleu"].iloc[0] == report.sentences["bleu"].min()
    assert set(report.worst(2, by="chrf").index) <= set(report.sentences.index)
    with pytest.raises(ValueError):
        report.worst(2, by="ter")
    evaluate(translator, corpus, verbose=False)
    assert capsys.readouterr().out == ""


def test_evaluate_a_real_translator_end_to_end(tiny_translator):
    sources = ["ein hund rennt", "die frau singt", "zwei kinder"]
    targets = ["a dog runs", "the woman sings", "two children"]
    report = evaluate(tiny_translator, ParallelCorpus(sources, targets, "de", "en"), tokenize="char", verbose=False)
    assert report.hypotheses == tiny_translator.translate(sources)
    assert len(report.sentences) == 3 and "tok:char" in report.scores.signatures["bleu"]


def test_paired_bootstrap_prefers_the_better_system():
    result = paired_bootstrap(REFS, WEAK, GOOD, names=("weak", "good"), n_samples=200)
    assert result.names == ("weak", "good")
    assert [m.metric for m in result.metrics] == ["BLEU", "chrF2"]
    for metric in result.metrics:
        assert metric.candidate > metric.baseline
        assert metric.p_value < 0.05
        assert "bs:200" in metric.signature and "seed:12345" in metric.signature
    assert "good vs weak" in str(result)
    again = paired_bootstrap(REFS, WEAK, GOOD, names=("weak", "good"), n_samples=200)
    assert again == result  # sacreBLEU's fixed seed: reproducible


def test_paired_bootstrap_does_not_call_a_one_sentence_change_significant():
    candidate = list(WEAK)
    candidate[0] = "The cat sat on the mat ."
    result = paired_bootstrap(REFS, WEAK, candidate, n_samples=200)
    assert all(m.candidate > m.baseline and m.p_value > 0.05 for m in result.metrics)


def test_copying_the_source_scores_low_on_real_multi30k(data_dir):
    corpus = load_dataset("multi30k", "de-en", "test_2016_flickr", data_dir=data_dir)
    copy = score_corpus(corpus.sources, corpus.targets)
    assert 0 < copy.bleu.score < 10  # German is not English
    assert score_corpus(corpus.targets, corpus.targets).bleu.score == pytest.approx(100.0)
