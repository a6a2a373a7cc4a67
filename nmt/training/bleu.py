"""``val_bleu``: corpus BLEU of greedy translations of validation pairs, at every epoch end.

With ``train.monitor: val_bleu`` the run (:func:`nmt.runs.train.train_run`) hands
:func:`nmt.training.loop.train` a :class:`ValidationBleu` as ``epoch_metrics``: at
every epoch end, after the validation loss, it translates the first
``train.bleu_sentences`` validation sources greedily (beam 1, batches of 64) with the
model being trained (a :class:`~nmt.translate.translator.Translator` around the live
model and the run's tokenizers, so the weights of this very step are used) and scores
them with sacreBLEU (``13a`` tokenization, cased, detokenized text: the
:func:`nmt.evaluation.bleu_metric` of ``nmt evaluate``). The loop adds the score to the
epoch logs as ``val_bleu`` before any callback sees them, so it is a column of
``history.csv``, a TensorBoard scalar, and the metric of ``best.keras``, early stopping
and reduce-on-plateau (higher is better).

Under ``multi_worker`` every worker computes it (same weights, same sentences) and the
loop averages the workers' values with one collective, so every worker holds the same
number and takes the same early-stopping decision.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from nmt.evaluation import bleu_metric
from nmt.translate.translator import TruncationWarning

#: The key of the epoch logs (and the ``history.csv`` column).
VAL_BLEU = "val_bleu"

#: Sentences per translate call.
BATCH_SIZE = 64


class ValidationBleu:
    """A callable epoch metric: ``{"val_bleu": BLEU}`` of greedy translations of ``sources``.

    Args:
        translator: translates a list of ``str`` (``translate(texts, beam_size=1,
            batch_size=64) -> list[str]``): a Translator around the model being trained.
        sources: source sentences ``[n]`` (the first ``train.bleu_sentences`` validation pairs).
        references: their reference translations ``[n]``.
        batch_size: sentences per translate call.
    """

    def __init__(self, translator, sources: Sequence[str], references: Sequence[str], *,
                 batch_size: int = BATCH_SIZE):
        if len(sources) != len(references):
            raise ValueError(f"{len(sources)} sources but {len(references)} references")
        if not sources:
            raise ValueError("val_bleu needs at least one validation pair")
        self.translator = translator
        self.sources, self.references = list(sources), list(references)
        self.batch_size = batch_size
        self.metric = bleu_metric("13a", lowercase=False)

    def hypotheses(self) -> list[str]:
        """Greedy translations ``[n]`` of the sources by the model as it is now."""
        with warnings.catch_warnings():  # long validation sentences are cut as nmt evaluate cuts them
            warnings.simplefilter("ignore", TruncationWarning)
            return list(self.translator.translate(self.sources, beam_size=1, batch_size=self.batch_size))

    def __call__(self) -> dict[str, float]:
        """``{"val_bleu": score}``, the corpus BLEU in ``[0, 100]``."""
        score = self.metric.corpus_score(self.hypotheses(), [self.references])
        return {VAL_BLEU: float(score.score)}
