"""Scoring translations with sacreBLEU: corpus scores with signatures, per-sentence tables, paired tests.

Every score is computed by sacreBLEU on detokenized, cased text (unless
``lowercase=True``), with the references passed as a list of reference streams
(``[refs]``), and reported with its signature, so numbers can be compared across
papers and runs::

    report = evaluate(translator, load_dataset("multi30k", "de-en", "test_2016_flickr"))
    print(report)                      # BLEU, chrF, TER with signatures
    report.worst(10)                   # the 10 sentences with the lowest sentence BLEU
    report.write_sentences("runs/test.parquet")
    print(paired_bootstrap(refs, baseline_hyps, candidate_hyps))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Score
from sacrebleu.significance import PairedTest

from nmt.data.corpus import ParallelCorpus

#: sacreBLEU tokenizers this module offers for BLEU (``ja-mecab`` needs ``sacrebleu[ja]``).
BLEU_TOKENIZERS = ("13a", "intl", "char", "zh", "ja-mecab")
#: Columns of the per-sentence table.
SENTENCE_COLUMNS = ("source", "reference", "hypothesis", "bleu", "chrf",
                    "source_words", "reference_words", "hypothesis_words")


def available_tokenizers() -> tuple[str, ...]:
    """The entries of :data:`BLEU_TOKENIZERS` that work here (``ja-mecab`` only when installed)."""
    result = []
    for name in BLEU_TOKENIZERS:
        try:
            _bleu(name, False)
        except ValueError:
            continue
        result.append(name)
    return tuple(result)


def _bleu(tokenize: str, lowercase: bool, effective_order: bool = False) -> BLEU:
    if tokenize not in BLEU_TOKENIZERS:
        raise ValueError(f"tokenize={tokenize!r} is not one of {', '.join(BLEU_TOKENIZERS)}")
    try:
        return BLEU(tokenize=tokenize, lowercase=lowercase, effective_order=effective_order)
    except (ImportError, RuntimeError) as error:  # ja-mecab without MeCab
        raise ValueError(f"sacreBLEU tokenizer {tokenize!r} is not available ({type(error).__name__}); "
                         f"install its dependencies with: pip install 'sacrebleu[ja]'") from error


def _metrics(tokenize: str, lowercase: bool) -> dict[str, BLEU | CHRF | TER]:
    """Corpus-level metric objects: BLEU (``tokenize``), chrF, TER, all (un)cased alike."""
    return {
        "bleu": _bleu(tokenize, lowercase),
        "chrf": CHRF(lowercase=lowercase),
        "ter": TER(case_sensitive=not lowercase),
    }


def _check_streams(hypotheses: Sequence[str], references: Sequence[str]) -> tuple[list[str], list[str]]:
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not references:
        raise ValueError("nothing to score: no sentences")
    for name, stream in (("hypothesis", hypotheses), ("reference", references)):
        for i, text in enumerate(stream):
            if not isinstance(text, str):
                raise TypeError(f"{name} {i} is a {type(text).__name__}, not a str")
    return hypotheses, references


@dataclasses.dataclass(frozen=True)
class CorpusScores:
    """Corpus BLEU, chrF and TER (sacreBLEU score objects) and their signatures."""

    bleu: Score
    chrf: Score
    ter: Score
    signatures: dict[str, str]

    def as_dict(self) -> dict[str, float]:
        """``{"bleu": ..., "chrf": ..., "ter": ...}`` as floats."""
        return {"bleu": self.bleu.score, "chrf": self.chrf.score, "ter": self.ter.score}

    def __str__(self) -> str:
        return "\n".join(f"{getattr(self, name)}  ({self.signatures[name]})" for name in ("bleu", "chrf", "ter"))


def score_corpus(hypotheses: Sequence[str], references: Sequence[str], *, tokenize: str = "13a",
                 lowercase: bool = False) -> CorpusScores:
    """sacreBLEU corpus BLEU, chrF and TER of detokenized ``hypotheses`` against one reference stream.

    Args:
        hypotheses, references: detokenized sentences, aligned.
        tokenize: sacreBLEU's BLEU tokenizer (:data:`BLEU_TOKENIZERS`).
        lowercase: case-insensitive scores (all three metrics).
    """
    hypotheses, references = _check_streams(hypotheses, references)
    metrics = _metrics(tokenize, lowercase)
    scores = {name: metric.corpus_score(hypotheses, [references]) for name, metric in metrics.items()}
    signatures = {name: str(metric.get_signature()) for name, metric in metrics.items()}
    return CorpusScores(**scores, signatures=signatures)


def sentence_frame(sources: Sequence[str], references: Sequence[str], hypotheses: Sequence[str], *,
                   tokenize: str = "13a", lowercase: bool = False) -> pd.DataFrame:
    """One row per sentence: texts, sentence BLEU (effective order), sentence chrF, word counts.

    Word counts split on whitespace. Columns: :data:`SENTENCE_COLUMNS`.
    """
    hypotheses, references = _check_streams(hypotheses, references)
    sources = list(sources)
    if len(sources) != len(references):
        raise ValueError(f"{len(sources)} sources but {len(references)} references")
    bleu, chrf = _bleu(tokenize, lowercase, effective_order=True), CHRF(lowercase=lowercase)
    return pd.DataFrame({
        "source": sources,
        "reference": references,
        "hypothesis": hypotheses,
        "bleu": [bleu.sentence_score(h, [r]).score for h, r in zip(hypotheses, references)],
        "chrf": [chrf.sentence_score(h, [r]).score for h, r in zip(hypotheses, references)],
        "source_words": [len(s.split()) for s in sources],
        "reference_words": [len(r.split()) for r in references],
        "hypothesis_words": [len(h.split()) for h in hypotheses],
    }, columns=list(SENTENCE_COLUMNS))


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Writes ``frame`` as CSV (``.csv``, ``.tsv``) or Parquet (``.parquet``), by suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix in (".csv", ".tsv"):
        frame.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    else:
        raise ValueError(f"{path}: write .csv, .tsv or .parquet")
    return path


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` returns: corpus scores and the per-sentence table."""

    name: str
    scores: CorpusScores
    sentences: pd.DataFrame

    @property
    def hypotheses(self) -> list[str]:
        return self.sentences["hypothesis"].tolist()

    def worst(self, n: int = 10, by: str = "bleu") -> pd.DataFrame:
        """The ``n`` sentences with the lowest ``by`` (``bleu`` or ``chrf``), ties by longer reference first."""
        if by not in ("bleu", "chrf"):
            raise ValueError(f"by={by!r} must be 'bleu' or 'chrf'")
        order = self.sentences.sort_values([by, "reference_words"], ascending=[True, False], kind="stable")
        return order.head(n)

    def write_sentences(self, path: str | Path) -> Path:
        """The per-sentence table as CSV or Parquet (see :func:`write_frame`)."""
        return write_frame(self.sentences, path)

    def __str__(self) -> str:
        return f"{self.name or 'corpus'} ({len(self.sentences):,} sentences)\n{self.scores}"


def evaluate(translator, corpus: ParallelCorpus, *, tokenize: str = "13a", lowercase: bool = False,
             beam_size: int | None = None, length_penalty: float | None = None,
             coverage_penalty: float | None = None, verbose: bool = True) -> Evaluation:
    """Translates ``corpus.sources`` and scores them against ``corpus.targets``.

    Args:
        translator: a :class:`~nmt.translate.translator.Translator` (anything with ``translate(list)``).
        corpus: the test corpus.
        tokenize, lowercase: see :func:`score_corpus`.
        beam_size, length_penalty, coverage_penalty: override the translator's settings.
        verbose: print the scores with their signatures.
    """
    hypotheses = translator.translate(list(corpus.sources), beam_size=beam_size, length_penalty=length_penalty,
                                      coverage_penalty=coverage_penalty)
    scores = score_corpus(hypotheses, corpus.targets, tokenize=tokenize, lowercase=lowercase)
    sentences = sentence_frame(corpus.sources, corpus.targets, hypotheses, tokenize=tokenize, lowercase=lowercase)
    result = Evaluation(corpus.name, scores, sentences)
    if verbose:
        print(result)
    return result


@dataclasses.dataclass(frozen=True)
class MetricComparison:
    """One metric of a paired bootstrap test: both systems' scores, 95% CIs and the p-value."""

    metric: str
    baseline: float
    baseline_mean: float
    baseline_ci: float
    candidate: float
    candidate_mean: float
    candidate_ci: float
    p_value: float
    signature: str


@dataclasses.dataclass(frozen=True)
class PairedComparison:
    """sacreBLEU's paired bootstrap resampling (Koehn 2004) of a candidate against a baseline."""

    names: tuple[str, str]
    metrics: tuple[MetricComparison, ...]

    def __str__(self) -> str:
        base, cand = self.names
        lines = [f"paired bootstrap: {cand} vs {base}"]
        for m in self.metrics:
            lines.append(f"{m.metric}: {base} {m.baseline:.2f} ({m.baseline_mean:.2f} ± {m.baseline_ci:.2f}), "
                         f"{cand} {m.candidate:.2f} ({m.candidate_mean:.2f} ± {m.candidate_ci:.2f}), "
                         f"p = {m.p_value:.4f}  ({m.signature})")
        return "\n".join(lines)


def paired_bootstrap(references: Sequence[str], baseline: Sequence[str], candidate: Sequence[str], *,
                     names: tuple[str, str] = ("baseline", "candidate"), n_samples: int = 1000,
                     tokenize: str = "13a", lowercase: bool = False) -> PairedComparison:
    """Is ``candidate`` better than ``baseline``? sacreBLEU's paired bootstrap test on BLEU and chrF.

    Uses ``sacrebleu.significance.PairedTest(test_type="bs")`` with its fixed seed
    (``SACREBLEU_SEED``, 12345 by default), so results are reproducible. The p-value
    is the probability that the difference arose by chance.
    """
    baseline, references = _check_streams(baseline, references)
    candidate, _ = _check_streams(candidate, references)
    if n_samples < 1:
        raise ValueError(f"n_samples={n_samples!r} must be positive")
    metrics = {"BLEU": _bleu(tokenize, lowercase), "chrF": CHRF(lowercase=lowercase)}
    test = PairedTest([(names[0], baseline), (names[1], candidate)], metrics, [references],
                      test_type="bs", n_samples=n_samples)
    signatures, results = test()
    comparisons = []
    for key, (base, cand) in ((k, v) for k, v in results.items() if k != "System"):
        comparisons.append(MetricComparison(
            metric=key, baseline=base.score, baseline_mean=base.mean, baseline_ci=base.ci,
            candidate=cand.score, candidate_mean=cand.mean, candidate_ci=cand.ci,
            p_value=cand.p_value, signature=str(signatures[key]),
        ))
    return PairedComparison(tuple(names), tuple(comparisons))
