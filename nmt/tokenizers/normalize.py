"""Text normalization applied before tokenizing, in Python and as TensorFlow ops.

Every tokenizer runs :func:`normalize_strings` inside its graph before splitting text
into tokens, and trains on text passed through :func:`normalize`, the Python
reference. Both do, in this order:

1. remove control characters (Unicode category Cc) except the whitespace ones
   (tab, line feed, vertical tab, form feed, carriage return, U+001C-U+001F, U+0085);
2. apply the Unicode normalization form ``config.normalization`` (NFKC or NFC;
   nothing for ``"none"``);
3. lowercase with Unicode full case mapping (``str.lower``; accents stay) when
   ``config.lowercase`` is set;
4. replace every run of whitespace (the characters for which ``str.isspace()`` is
   true) with one space and strip leading and trailing spaces.

The two agree on all text up to differences between the Unicode versions of Python's
``unicodedata`` (14.0 for Python 3.11) and TensorFlow's ICU (a few hundred recently
assigned code points). A tokenizer's ``detokenize(tokenize(x))`` is compared against
``normalize(x)``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol

import tensorflow as tf
import tensorflow_text as tf_text

# Cc characters that are not whitespace: U+0000-0008, U+000E-001B, U+007F-0084, U+0086-009F.
_CONTROL_RANGES = ((0x00, 0x08), (0x0E, 0x1B), (0x7F, 0x84), (0x86, 0x9F))
# Exactly the characters with str.isspace() (checked in tests/test_tokenizers.py).
_WHITESPACE_RANGES = ((0x09, 0x0D), (0x1C, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
                      (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
                      (0x3000, 0x3000))


def _python_class(ranges: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]+")


def _re2_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "[" + "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]+"


_CONTROL_PY = _python_class(_CONTROL_RANGES)
_CONTROL_RE2 = _re2_class(_CONTROL_RANGES)
_WHITESPACE_RE2 = _re2_class(_WHITESPACE_RANGES)
WHITESPACE_CHARACTERS = frozenset(chr(c) for a, b in _WHITESPACE_RANGES for c in range(a, b + 1))


class NormalizationOptions(Protocol):
    """The two config fields normalization reads (a :class:`TokenizerConfig` has them)."""

    @property
    def normalization(self) -> str: ...

    @property
    def lowercase(self) -> bool: ...


def normalize(text: str, config: NormalizationOptions) -> str:
    """The normalized form of one sentence (steps 1-4 of the module docstring).

    Example: ``normalize(" Ein\\u00a0Mann\\tläuft. ", TokenizerConfig(lowercase=True))``
    is ``"ein mann läuft."``.
    """
    text = _CONTROL_PY.sub("", text)
    if config.normalization != "none":
        text = unicodedata.normalize(config.normalization.upper(), text)
    if config.lowercase:
        text = text.lower()
    return " ".join(text.split())


def normalize_strings(texts: tf.Tensor, config: NormalizationOptions) -> tf.Tensor:
    """:func:`normalize` as TensorFlow ops, for tf.data and exported graphs.

    Args:
        texts: ``tf.string`` tensor of any shape holding UTF-8 text.
        config: supplies ``normalization`` and ``lowercase``.

    Returns:
        ``tf.string`` tensor with the shape of ``texts``.
    """
    texts = tf.strings.regex_replace(texts, _CONTROL_RE2, "")
    if config.normalization != "none":
        texts = tf_text.normalize_utf8(texts, config.normalization.upper())
    if config.lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    return collapse_whitespace_strings(texts)


def collapse_whitespace_strings(texts: tf.Tensor) -> tf.Tensor:
    """Step 4 alone: whitespace runs become one space, ends stripped (any shape)."""
    return tf.strings.strip(tf.strings.regex_replace(texts, _WHITESPACE_RE2, " "))
