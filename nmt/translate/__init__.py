"""Text in, text out: the one translate graph, unknown-word replacement and the Translator."""

from nmt.translate.translator import Translator, TruncationWarning
from nmt.translate.values import Hypothesis, Translation

__all__ = ["Hypothesis", "Translation", "Translator", "TruncationWarning"]
