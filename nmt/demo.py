"""`make demo`: the data pipeline on Multi30k de->en, end to end.

Loads the corpus (NMT_DATA_DIR, the cache, or a verified download), prints its
statistics, trains SentencePiece tokenizers on the training split, shows
tokenization round trips, and builds bucketed batches with their shapes and
padding ratio.

    python -m nmt.demo [--pair de-en] [--vocab-size 8000]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import tensorflow as tf

from nmt.data import load_dataset
from nmt.pipeline import PipelineConfig, length_report, make_dataset, padding_ratio
from nmt.tokenizers import TokenizerConfig, normalize, train_tokenizers


def corpus_statistics(corpora: dict) -> str:
    """One line per split: pairs and mean/max words per side."""
    lines = []
    for split, corpus in corpora.items():
        src = np.array([len(s.split()) for s in corpus.sources])
        tgt = np.array([len(t.split()) for t in corpus.targets])
        lines.append(f"  {split:<17} {len(corpus):>7,} pairs   {corpus.src_lang}: {src.mean():5.1f} words "
                     f"(max {src.max()})   {corpus.tgt_lang}: {tgt.mean():5.1f} words (max {tgt.max()})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="de-en", help="Multi30k language pair, source-target (default de-en)")
    parser.add_argument("--vocab-size", type=int, default=8000, help="SentencePiece vocabulary per language")
    args = parser.parse_args(argv)

    print(f"== Multi30k {args.pair}")
    corpora = {split: load_dataset("multi30k", args.pair, split) for split in ("train", "val", "test_2016_flickr")}
    print(corpus_statistics(corpora))

    config = TokenizerConfig(kind="sentencepiece", vocab_size=args.vocab_size)
    start = time.perf_counter()
    src_tok, tgt_tok = train_tokenizers(corpora["train"], config)
    print(f"\n== SentencePiece tokenizers ({config.model_type}, {args.vocab_size:,} per language), "
          f"trained on train in {time.perf_counter() - start:.1f} s")
    val = corpora["val"]
    for sentence, tokenizer in ((val.sources[0], src_tok), (val.targets[0], tgt_tok)):
        ids = tokenizer.tokenize(tf.constant([sentence]))[0]
        pieces = [p.decode() for p in tokenizer.id_to_token(ids).numpy()]
        back = tokenizer.detokenize(ids[tf.newaxis])[0].numpy().decode()
        print(f"  text:   {sentence}\n  pieces: {' '.join(pieces)}\n  ids:    {ids.numpy().tolist()}\n"
              f"  detokenized == normalized text: {back == normalize(sentence, config)}\n")
    for name, corpus in (("train", corpora["train"]), ("val", val)):
        print(f"  {name}: {length_report(corpus, src_tok, tgt_tok, max_length=100)}")

    print("\n== Batches ((source_ids, target_input_ids), target_output_ids)")
    pipeline = PipelineConfig(batch_size=64, max_length=100)
    dataset = make_dataset(corpora["train"], src_tok, tgt_tok, pipeline)
    for (src, tgt_in), tgt_out in dataset.take(3):
        print(f"  source {tuple(src.shape)}  target input {tuple(tgt_in.shape)}  target output {tuple(tgt_out.shape)}")
    (src, tgt_in), tgt_out = next(iter(dataset))
    print(f"  first row: source {src[0].numpy().tolist()}\n"
          f"             target input {tgt_in[0].numpy().tolist()}\n"
          f"             target output {tgt_out[0].numpy().tolist()}")
    plain = make_dataset(corpora["train"], src_tok, tgt_tok, dataclasses.replace(pipeline, bucketing=False))
    print(f"\n  padding ratio over one epoch: {padding_ratio(dataset):.1%} with bucketing, "
          f"{padding_ratio(plain):.1%} without")


if __name__ == "__main__":
    main()
