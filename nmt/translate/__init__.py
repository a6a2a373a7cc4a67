"""Text in, text out: the one translate graph, unknown-word replacement and the Translator."""

from nmt.translate.translator import Hypothesis, Translation, Translator, TruncationWarning

__all__ = ["Hypothesis", "Translation", "Translator", "TruncationWarning"]
