"""What a translation returns: :class:`Translation`, :class:`Hypothesis`, and the graph's output names.

NumPy only (no TensorFlow): :mod:`nmt.export.loader` reads SavedModel outputs with
:func:`translations_from_outputs` as the Translator reads its own graph's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

#: Outputs of :func:`nmt.translate.graph.translate_text` (and of the n-best signatures),
#: batch first: string ``[batch, n]``, float32 ``[batch, n]``, float32 ``[batch, n]``.
TRANSLATIONS, SCORES, LOG_PROBS = "translations", "scores", "log_probs"
#: The detailed outputs (best hypothesis only): float32 ``[batch, T, S]``, string
#: ``[batch, T]``, string ``[batch, S]``, int32 ``[batch]``, int32 ``[batch]``.
ATTENTION, TARGET_TOKENS, SOURCE_TOKENS, TARGET_LENGTH, SOURCE_LENGTH = (
    "attention", "target_tokens", "source_tokens", "target_length", "source_length")
DETAILED = (ATTENTION, TARGET_TOKENS, SOURCE_TOKENS, TARGET_LENGTH, SOURCE_LENGTH)


@dataclasses.dataclass(frozen=True)
class Translation:
    """One translation with what produced it (``translate(..., return_attention=True)``).

    Attributes:
        text: the detokenized translation.
        score: the search's ranking score (length/coverage-penalized for beam search).
        log_prob: the model score ``log P(tokens | source)``.
        tokens: target token labels (subwords), END included; empty for an empty input.
        source_tokens: source token labels as the model read them, END included.
        attention: float ``[len(tokens), len(source_tokens)]``.
    """

    text: str
    score: float
    log_prob: float
    tokens: tuple[str, ...]
    source_tokens: tuple[str, ...]
    attention: np.ndarray


@dataclasses.dataclass(frozen=True)
class Hypothesis:
    """One entry of an n-best list (:meth:`~nmt.translate.translator.Translator.translate_nbest`)."""

    text: str
    score: float
    log_prob: float


def translations_from_outputs(outputs: Mapping[str, np.ndarray]) -> list[list[Translation]]:
    """Per input row, its ``n`` :class:`Translation` objects, best first.

    Args:
        outputs: NumPy values of the graph's outputs: :data:`TRANSLATIONS` (bytes),
            :data:`SCORES`, :data:`LOG_PROBS` and, when present, the :data:`DETAILED`
            ones, which fill ``tokens``, ``source_tokens`` and ``attention`` of the best
            hypothesis (cut to the target and source lengths). Otherwise, and for the
            other hypotheses, those are ``()``, ``()`` and a ``[0, 0]`` array.
    """
    texts, scores, log_probs = outputs[TRANSLATIONS], outputs[SCORES], outputs[LOG_PROBS]
    detailed = ATTENTION in outputs
    nothing = np.zeros((0, 0), np.float32)
    result = []
    for row in range(texts.shape[0]):
        tokens, source_tokens, attention = (), (), nothing
        if detailed:
            length, source_length = int(outputs[TARGET_LENGTH][row]), int(outputs[SOURCE_LENGTH][row])
            tokens = _labels(outputs[TARGET_TOKENS][row, :length])
            source_tokens = _labels(outputs[SOURCE_TOKENS][row, :source_length])
            attention = outputs[ATTENTION][row, :length, :source_length]
        result.append([
            Translation(_text(texts[row, j]), float(scores[row, j]), float(log_probs[row, j]),
                        *((tokens, source_tokens, attention) if j == 0 else ((), (), nothing)))
            for j in range(texts.shape[1])
        ])
    return result


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _labels(values: np.ndarray) -> tuple[str, ...]:
    return tuple(_text(value) for value in values)
