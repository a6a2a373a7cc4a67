"""How well a tokenizer round-trips text, and the report behind docs/tokenizers.md.

``python -m nmt.tokenizers.metrics`` trains every kind on
Multi30k ``train`` (German and English) and prints, for ``val``, the round-trip rate,
the unknown-token rate and the training time as a Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from nmt.tokenizers.base import Tokenizer
from nmt.tokenizers.normalize import normalize
from nmt.vocab import UNK_ID


@dataclasses.dataclass(frozen=True)
class RoundTrip:
    """Measurements of one tokenizer on a list of sentences.

    Attributes:
        sentences: number of sentences measured.
        exact: fraction with ``detokenize(tokenize(x)) == normalize(x)``.
        ignoring_spaces: the same comparison with all spaces removed from both sides
            (what WordPiece keeps: everything but the spacing).
        unknown_rate: fraction of produced ids that are ``UNK_ID``.
        sentences_with_unknown: fraction of sentences with at least one ``UNK_ID``.
        tokens_per_sentence: mean number of ids per sentence.
        failures: up to 5 ``(normalized, detokenized)`` pairs that differ.
    """

    sentences: int
    exact: float
    ignoring_spaces: float
    unknown_rate: float
    sentences_with_unknown: float
    tokens_per_sentence: float
    failures: tuple[tuple[str, str], ...]


def measure(tokenizer: Tokenizer, texts: Sequence[str], batch_size: int = 1024) -> RoundTrip:
    """Tokenizes and detokenizes ``texts`` (raw sentences) in batches and compares."""
    exact = spaceless = unknown = with_unknown = tokens = 0
    failures = []
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start:start + batch_size])
        ids = tokenizer.tokenize(tf.constant(batch, tf.string))
        back = [text.decode("utf-8") for text in tokenizer.detokenize(ids).numpy()]
        flat, rows = ids.flat_values.numpy(), ids.value_rowids().numpy()
        unknown += int(np.sum(flat == UNK_ID))
        with_unknown += len(set(rows[flat == UNK_ID].tolist()))
        tokens += flat.size
        for text, result in zip(batch, back):
            expected = normalize(text, tokenizer.config)
            exact += expected == result
            spaceless += expected.replace(" ", "") == result.replace(" ", "")
            if expected != result and len(failures) < 5:
                failures.append((expected, result))
    count = max(len(texts), 1)
    return RoundTrip(len(texts), exact / count, spaceless / count, unknown / max(tokens, 1),
                     with_unknown / count, tokens / count, tuple(failures))


def _report(data_dir: Path | None, kinds: Sequence[str], vocab_size: int, max_train_sentences: int | None) -> None:
    from nmt.config.tokenizer import TokenizerConfig
    from nmt.data.datasets import load_dataset
    from nmt.tokenizers.training import train_tokenizers

    train = load_dataset("multi30k", "de-en", "train", data_dir=data_dir)
    val = load_dataset("multi30k", "de-en", "val", data_dir=data_dir)
    print(f"Multi30k train {len(train)} pairs -> val {len(val)} pairs; vocab_size={vocab_size}, "
          f"max_train_sentences={max_train_sentences}")
    print("| kind | lang | vocab | train s (both langs) | round trip | ignoring spaces | unk rate "
          "| lines with unk | tokens/line |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        config = TokenizerConfig(kind=kind, vocab_size=vocab_size, max_train_sentences=max_train_sentences)
        started = time.perf_counter()
        source, target = train_tokenizers(train, config)
        seconds = time.perf_counter() - started
        for lang, tokenizer, texts in (("de", source, val.sources), ("en", target, val.targets)):
            m = measure(tokenizer, texts)
            print(f"| {kind} | {lang} | {tokenizer.vocab_size} | {seconds:.1f} | {m.exact:.2%} | "
                  f"{m.ignoring_spaces:.2%} | {m.unknown_rate:.3%} | {m.sentences_with_unknown:.2%} | "
                  f"{m.tokens_per_sentence:.1f} |")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="a folder holding multi30k/ (default: NMT_DATA_DIR, else the cache, else a download)")
    parser.add_argument("--kinds", nargs="+", default=["sentencepiece", "wordpiece", "char"])
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--max-train-sentences", type=int, default=None)
    args = parser.parse_args(argv)
    _report(args.data_dir, args.kinds, args.vocab_size, args.max_train_sentences)


if __name__ == "__main__":
    main()
