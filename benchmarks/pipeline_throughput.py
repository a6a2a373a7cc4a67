"""Pipeline throughput and padding on Multi30k train (issue 2's benchmark).

Trains SentencePiece (8k, per language) on Multi30k de-en train, then times full
passes of `make_dataset` (tokenization in a parallel map, filtering, bucketing,
batching) and measures the padding ratio (pad tokens / all tokens of source,
target input and target output) with and without bucketing.

    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/pipeline_throughput.py
"""

from __future__ import annotations

import dataclasses
import time

from results import markdown_table, write_section

from nmt.config.pipeline import PipelineConfig
from nmt.data import load_dataset
from nmt.data.pipeline import make_dataset, padding_ratio
from nmt.tokenizers import TokenizerConfig, train_tokenizers


def passes(dataset, repeats: int) -> tuple[float, int]:
    """Best seconds per full pass and sentences per pass."""
    best, sentences = float("inf"), 0
    for _ in range(repeats):
        start, sentences = time.perf_counter(), 0
        for (src, _), _ in dataset:
            sentences += int(src.shape[0])
        best = min(best, time.perf_counter() - start)
    return best, sentences


def main() -> None:
    corpus = load_dataset("multi30k", "de-en", "train")
    start = time.perf_counter()
    src_tok, tgt_tok = train_tokenizers(corpus, TokenizerConfig(kind="sentencepiece", vocab_size=8000))
    train_seconds = time.perf_counter() - start

    base = PipelineConfig(batch_size=64, max_length=100)
    variants = {
        "no bucketing, 64 sentences": dataclasses.replace(base, bucketing=False, cache=False),
        "bucketing, 64 sentences": dataclasses.replace(base, cache=False),
        "bucketing, 2,000 tokens": dataclasses.replace(base, batch_tokens=2000, cache=False),
        "bucketing, 64 sentences, cached": base,
    }
    rows = []
    for label, config in variants.items():
        dataset = make_dataset(corpus, src_tok, tgt_tok, config)
        seconds, sentences = passes(dataset, repeats=3)
        batches = sum(1 for _ in dataset)
        rows.append([label, f"{sentences:,}", f"{batches:,}", f"{sentences / seconds:,.0f}",
                     f"{padding_ratio(dataset):.1%}"])
    table = markdown_table(["pipeline", "sentences", "batches", "sentences/s (best of 3 passes)", "padding"], rows)
    body = (f"Multi30k de→en train (29,000 pairs), SentencePiece unigram 8k per language "
            f"(trained in {train_seconds:.1f} s), max_length 100. Padding = pad tokens / all tokens "
            f"of source, target input and target output. The cached pipeline's first pass "
            f"tokenizes; later passes read the cache.\n\n{table}\n")
    write_section("pipeline_throughput", "tf.data pipeline: throughput and padding (Multi30k de→en train)", body)


if __name__ == "__main__":
    main()
