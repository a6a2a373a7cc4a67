"""Scoring translations with sacreBLEU: corpus scores with signatures, per-sentence tables, paired tests.

Every score is computed by sacreBLEU on detokenized, cased text (unless
``lowercase=True``), with the references passed as a list of reference streams
(``[refs]``, or ``[refs_1, refs_2, ...]`` for several references per sentence), and reported with its signature, so numbers can be compared across
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

#: sacreBLEU's BLEU tokenizers, as the installed sacreBLEU names them (``BLEU.TOKENIZERS``;
#: ``13a`` first, the deprecated alias ``spm`` of ``flores101`` left out). ``ja-mecab`` and
#: ``ko-mecab`` need ``sacrebleu[ja]`` / ``sacrebleu[ko]``; the SentencePiece ones
#: (``flores101``, ``flores200`` = spBLEU, ``spBLEU-1K``) download their model once into
#: sacreBLEU's folder (``$SACREBLEU``, default ``~/.sacrebleu``).
BLEU_TOKENIZERS = ("13a", *(name for name in BLEU.TOKENIZERS if name not in ("13a", "spm")))
#: Tokenizers that need a SentencePiece model file (downloaded on first use).
SPM_TOKENIZERS = tuple(name for name in BLEU_TOKENIZERS if name.startswith(("flores", "spBLEU")))
#: Columns of the per-sentence table with one reference; the ``k``-th further reference
#: adds ``reference_{k}`` after ``reference`` (``reference_2``, ...).
SENTENCE_COLUMNS = ("source", "reference", "hypothesis", "bleu", "chrf",
                    "source_words", "reference_words", "hypothesis_words")


def available_tokenizers() -> tuple[str, ...]:
    """The entries of :data:`BLEU_TOKENIZERS` whose dependencies are installed.

    Nothing is downloaded: the SentencePiece tokenizers count as available when the
    ``sentencepiece`` package is (their model may still need a download, see :func:`bleu_metric`).
    """
    result = []
    for name in BLEU_TOKENIZERS:
        if name in SPM_TOKENIZERS:
            try:
                import sentencepiece  # noqa: F401
            except ImportError:
                continue
        else:
            try:
                bleu_metric(name, False)
            except ValueError:
                continue
        result.append(name)
    return tuple(result)


def spm_model_path(tokenize: str) -> Path:
    """Where sacreBLEU keeps (or downloads) the SentencePiece model of ``tokenize`` (one of :data:`SPM_TOKENIZERS`)."""
    from sacrebleu.tokenizers import tokenizer_spm

    url = tokenizer_spm.SPM_MODELS[tokenize]["url"]
    return Path(tokenizer_spm.SACREBLEU_DIR) / "models" / Path(url).name


def bleu_metric(tokenize: str, lowercase: bool, effective_order: bool = False) -> BLEU:
    """sacreBLEU's ``BLEU`` with the tokenizer ``tokenize``.

    Raises:
        ValueError: an unknown name (the message lists :data:`BLEU_TOKENIZERS`), a
            tokenizer whose package is missing (says what to install), or a
            SentencePiece model that cannot be downloaded (says where to put it).
    """
    if tokenize not in BLEU_TOKENIZERS:
        raise ValueError(f"tokenize={tokenize!r} is not one of {', '.join(BLEU_TOKENIZERS)}")
    try:
        return BLEU(tokenize=tokenize, lowercase=lowercase, effective_order=effective_order)
    except (ImportError, RuntimeError) as error:  # ja-mecab / ko-mecab without MeCab
        extra = "ko" if tokenize.startswith("ko") else "ja"
        raise ValueError(f"sacreBLEU tokenizer {tokenize!r} is not available ({type(error).__name__}); "
                         f"install its dependencies with: pip install 'sacrebleu[{extra}]'") from error
    except (OSError, SystemExit) as error:  # the SentencePiece model download failed (offline?)
        from sacrebleu.tokenizers import tokenizer_spm

        path = spm_model_path(tokenize)
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"sacreBLEU tokenizer {tokenize!r} needs its SentencePiece model {path}, which could not "
                         f"be downloaded from {tokenizer_spm.SPM_MODELS[tokenize]['url']} ({reason}); download it "
                         f"there by hand (or set SACREBLEU to a folder holding models/{path.name})") from None


def _metrics(tokenize: str, lowercase: bool) -> dict[str, BLEU | CHRF | TER]:
    """Corpus-level metric objects: BLEU (``tokenize``), chrF, TER, all (un)cased alike."""
    return {
        "bleu": bleu_metric(tokenize, lowercase),
        "chrf": CHRF(lowercase=lowercase),
        "ter": TER(case_sensitive=not lowercase),
    }


#: One reference stream (``[ref_0, ref_1, ...]``), or several (``[[ref_0, ...], [ref'_0, ...]]``).
References = Sequence[str] | Sequence[Sequence[str]]


def reference_streams(references: References) -> list[list[str]]:
    """``references`` as a list of reference streams: a stream of ``str`` becomes ``[stream]``."""
    if isinstance(references, str):
        raise TypeError("references must be a sequence of str or of reference streams, not a str")
    references = list(references)
    if references and all(isinstance(r, str) for r in references):
        return [references]
    if not references or not all(isinstance(r, Sequence) and not isinstance(r, str) for r in references):
        return [references]  # empty, or odd items: _check_streams names the problem
    return [list(stream) for stream in references]


def _check_streams(hypotheses: Sequence[str], references: References) -> tuple[list[str], list[list[str]]]:
    """Checks ``hypotheses`` and every reference stream: same length, non-empty, all ``str``."""
    hypotheses, streams = list(hypotheses), reference_streams(references)
    for k, stream in enumerate(streams):
        which = "references" if len(streams) == 1 else f"references in stream {k + 1}"
        if len(hypotheses) != len(stream):
            raise ValueError(f"{len(hypotheses)} hypotheses but {len(stream)} {which}")
    if not hypotheses:
        raise ValueError("nothing to score: no sentences")
    named = [("hypothesis", hypotheses)] + [("reference" if len(streams) == 1 else f"reference (stream {k + 1})", stream)
                                            for k, stream in enumerate(streams)]
    for name, stream in named:
        for i, text in enumerate(stream):
            if not isinstance(text, str):
                raise TypeError(f"{name} {i} is a {type(text).__name__}, not a str")
    return hypotheses, streams


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


def score_corpus(hypotheses: Sequence[str], references: References, *, tokenize: str = "13a",
                 lowercase: bool = False) -> CorpusScores:
    """sacreBLEU corpus BLEU, chrF and TER of detokenized ``hypotheses`` against one or more reference streams.

    Args:
        hypotheses: detokenized sentences ``[n]``.
        references: one stream ``[n]`` of detokenized references, or a list of ``k``
            such streams (``[k][n]``, sacreBLEU's layout; the signatures say ``nrefs:k``).
        tokenize: sacreBLEU's BLEU tokenizer (:data:`BLEU_TOKENIZERS`).
        lowercase: case-insensitive scores (all three metrics).
    """
    hypotheses, streams = _check_streams(hypotheses, references)
    metrics = _metrics(tokenize, lowercase)
    scores = {name: metric.corpus_score(hypotheses, streams) for name, metric in metrics.items()}
    signatures = {name: str(metric.get_signature()) for name, metric in metrics.items()}
    return CorpusScores(**scores, signatures=signatures)


def sentence_frame(sources: Sequence[str], references: References, hypotheses: Sequence[str], *,
                   tokenize: str = "13a", lowercase: bool = False) -> pd.DataFrame:
    """One row per sentence: texts, sentence BLEU (effective order), sentence chrF, word counts.

    Sentence scores use every reference of the sentence. Word counts split on
    whitespace (``reference_words``: the first reference). Columns:
    :data:`SENTENCE_COLUMNS`, with ``reference_2``, ``reference_3``, ... after
    ``reference`` when there are several reference streams.
    """
    hypotheses, streams = _check_streams(hypotheses, references)
    sources = list(sources)
    if len(sources) != len(hypotheses):
        raise ValueError(f"{len(sources)} sources but {len(hypotheses)} references")
    bleu, chrf = bleu_metric(tokenize, lowercase, effective_order=True), CHRF(lowercase=lowercase)
    per_sentence = [list(refs) for refs in zip(*streams)]
    extra = {f"reference_{k}": stream for k, stream in enumerate(streams[1:], start=2)}
    columns = list(SENTENCE_COLUMNS)
    columns[columns.index("reference") + 1:columns.index("reference") + 1] = list(extra)
    return pd.DataFrame({
        "source": sources,
        "reference": streams[0],
        **extra,
        "hypothesis": hypotheses,
        "bleu": [bleu.sentence_score(h, refs).score for h, refs in zip(hypotheses, per_sentence)],
        "chrf": [chrf.sentence_score(h, refs).score for h, refs in zip(hypotheses, per_sentence)],
        "source_words": [len(s.split()) for s in sources],
        "reference_words": [len(r.split()) for r in streams[0]],
        "hypothesis_words": [len(h.split()) for h in hypotheses],
    }, columns=columns)


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
             coverage_penalty: float | None = None, references: Sequence[Sequence[str]] | None = None,
             verbose: bool = True) -> Evaluation:
    """Translates ``corpus.sources`` and scores them against ``corpus.targets`` (or ``references``).

    Args:
        translator: a :class:`~nmt.translate.translator.Translator` (anything with ``translate(list)``).
        corpus: the test corpus.
        tokenize, lowercase: see :func:`score_corpus`.
        beam_size, length_penalty, coverage_penalty: override the translator's settings.
        references: every reference stream ``[k][len(corpus)]`` to score against
            (multi-reference BLEU, chrF and TER); default ``[corpus.targets]``.
        verbose: print the scores with their signatures.
    """
    streams = [list(corpus.targets)] if references is None else [list(stream) for stream in references]
    _check_streams(list(corpus.sources), streams)  # before translating: misaligned references fail fast
    hypotheses = translator.translate(list(corpus.sources), beam_size=beam_size, length_penalty=length_penalty,
                                      coverage_penalty=coverage_penalty)
    scores = score_corpus(hypotheses, streams, tokenize=tokenize, lowercase=lowercase)
    sentences = sentence_frame(corpus.sources, streams, hypotheses, tokenize=tokenize, lowercase=lowercase)
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


def paired_bootstrap(references: References, baseline: Sequence[str], candidate: Sequence[str], *,
                     names: tuple[str, str] = ("baseline", "candidate"), n_samples: int = 1000,
                     tokenize: str = "13a", lowercase: bool = False) -> PairedComparison:
    """Do ``candidate`` and ``baseline`` differ beyond test-set sampling? sacreBLEU's paired bootstrap on BLEU and chrF.

    Uses ``sacrebleu.significance.PairedTest(test_type="bs")`` with its fixed seed
    (``SACREBLEU_SEED``, 12345 by default), so results are reproducible. The test is
    two-sided on the absolute score difference (Koehn 2004, as Moses'
    ``bootstrap-hypothesis-difference-significance.pl``): ``p`` is the share of the
    ``n_samples`` resampled test sets whose absolute difference, centred on the mean
    resampled difference, exceeds the observed one, counted with +1 so that
    ``p >= 1 / (n_samples + 1)``. It resamples the test sentences for these two fixed
    outputs only: it says nothing of the variation between training runs (seeds).
    ``references`` is one stream or several (see :func:`score_corpus`).
    """
    baseline, streams = _check_streams(baseline, references)
    candidate, _ = _check_streams(candidate, streams)
    if n_samples < 1:
        raise ValueError(f"n_samples={n_samples!r} must be positive")
    metrics = {"BLEU": bleu_metric(tokenize, lowercase), "chrF": CHRF(lowercase=lowercase)}
    test = PairedTest([(names[0], baseline), (names[1], candidate)], metrics, streams,
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
