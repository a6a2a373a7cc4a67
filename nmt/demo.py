"""`make demo`: the main job on Multi30k de->en, end to end on a CPU.

1. loads the corpus (NMT_DATA_DIR, the cache, or a verified download) and prints
   its statistics;
2. trains SentencePiece tokenizers on the training split and shows a round trip;
3. builds bucketed batches and reports their shapes and padding;
4. trains a small attention model (bidirectional GRU encoder, GRU decoder,
   bilinear attention) for a few epochs, with checkpoints in the run directory;
5. scores greedy and beam-search translations of test_2016_flickr with sacreBLEU
   (BLEU, chrF, TER with signatures) and writes the per-sentence report;
6. translates a few sentences, plots one attention matrix, and saves the translator.

    python -m nmt.demo [--run-dir runs/demo] [--epochs 4] [--units 256]

Rerunning with the same run directory resumes an unfinished training run.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from nmt.data import load_dataset
from nmt.evaluation import evaluate
from nmt.model_config import ModelConfig, TrainConfig
from nmt.pipeline import PipelineConfig, length_report, make_dataset, padding_ratio
from nmt.seq2seq import Seq2Seq
from nmt.tokenizers import Tokenizer, TokenizerConfig, normalize, train_tokenizers
from nmt.training import train
from nmt.translator import Translator


def corpus_statistics(corpora: dict) -> str:
    """One line per split: pairs and mean/max words per side."""
    lines = []
    for split, corpus in corpora.items():
        src = np.array([len(s.split()) for s in corpus.sources])
        tgt = np.array([len(t.split()) for t in corpus.targets])
        lines.append(f"  {split:<17} {len(corpus):>7,} pairs   {corpus.src_lang}: {src.mean():5.1f} words "
                     f"(max {src.max()})   {corpus.tgt_lang}: {tgt.mean():5.1f} words (max {tgt.max()})")
    return "\n".join(lines)


def tokenizers_for(run_dir: Path, corpus, config: TokenizerConfig) -> tuple[Tokenizer, Tokenizer]:
    """The run's tokenizers: reloaded when the run directory has them, else trained and saved."""
    folders = run_dir / "source_tokenizer", run_dir / "target_tokenizer"
    if all((folder / "tokenizer.json").exists() for folder in folders):
        return Tokenizer.load(folders[0]), Tokenizer.load(folders[1])
    start = time.perf_counter()
    tokenizers = train_tokenizers(corpus, config)
    print(f"  trained on {len(corpus):,} pairs in {time.perf_counter() - start:.1f} s")
    for tokenizer, folder in zip(tokenizers, folders):
        tokenizer.save(folder)
    return tokenizers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="de-en", help="Multi30k language pair, source-target (default de-en)")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/demo"), help="checkpoints, logs, reports")
    parser.add_argument("--vocab-size", type=int, default=8000, help="SentencePiece vocabulary per language")
    parser.add_argument("--units", type=int, default=256, help="recurrent units (encoder per direction, decoder)")
    parser.add_argument("--epochs", type=int, default=4, help="training epochs over Multi30k train")
    parser.add_argument("--max-train-pairs", type=int, default=None, help="train on the first N pairs only")
    args = parser.parse_args(argv)
    run_dir = args.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)

    print(f"== 1. Multi30k {args.pair}")
    corpora = {split: load_dataset("multi30k", args.pair, split) for split in ("train", "val", "test_2016_flickr")}
    if args.max_train_pairs:
        corpora["train"] = corpora["train"].head(args.max_train_pairs)
    print(corpus_statistics(corpora))

    print(f"\n== 2. SentencePiece tokenizers ({args.vocab_size:,} per language), trained on train only")
    tok_config = TokenizerConfig(kind="sentencepiece", vocab_size=args.vocab_size)
    src_tok, tgt_tok = tokenizers_for(run_dir, corpora["train"], tok_config)
    sentence = corpora["val"].sources[0]
    ids = src_tok.tokenize(tf.constant([sentence]))[0]
    pieces = [p.decode() for p in src_tok.id_to_token(ids).numpy()]
    back = src_tok.detokenize(ids[tf.newaxis])[0].numpy().decode()
    print(f"  text:   {sentence}\n  pieces: {' '.join(pieces)}\n  ids:    {ids.numpy().tolist()}\n"
          f"  detokenized == normalized text: {back == normalize(sentence, tok_config)}")

    print("\n== 3. Batches ((source_ids, target_input_ids), target_output_ids)")
    pipeline = PipelineConfig(batch_size=64, max_length=100)
    print(f"  train: {length_report(corpora['train'], src_tok, tgt_tok, pipeline.max_length)}")
    train_ds = make_dataset(corpora["train"], src_tok, tgt_tok, pipeline)
    val_ds = make_dataset(corpora["val"], src_tok, tgt_tok, dataclasses.replace(pipeline, shuffle=False))
    for (src, tgt_in), tgt_out in train_ds.take(2):
        print(f"  source {tuple(src.shape)}  target input {tuple(tgt_in.shape)}  target output {tuple(tgt_out.shape)}")
    plain = make_dataset(corpora["train"], src_tok, tgt_tok, dataclasses.replace(pipeline, bucketing=False))
    print(f"  padding over one epoch: {padding_ratio(train_ds):.1%} with bucketing, "
          f"{padding_ratio(plain):.1%} without")

    print(f"\n== 4. Training (run directory {run_dir})")
    model_config = ModelConfig(cell="gru", units=args.units, embedding_dim=args.units, bidirectional=True,
                               attention="bilinear", bridge="dense", dropout=0.2)
    train_config = TrainConfig(epochs=args.epochs, learning_rate=2e-3, warmup_steps=300,
                               early_stopping_patience=None, tensorboard=False)
    model = Seq2Seq(model_config, src_tok.vocab_size, tgt_tok.vocab_size, seed=train_config.seed)
    start = time.perf_counter()
    train(model, train_ds, val_ds, train_config, run_dir, verbose=2)
    print(f"  {model.count_params():,} parameters; {time.perf_counter() - start:.0f} s of training in this call")

    print("\n== 5. Evaluation on test_2016_flickr (sacreBLEU, cased, detokenized)")
    translator = Translator(model, src_tok, tgt_tok)
    test = corpora["test_2016_flickr"]
    for beam in (1, 5):
        print(f"  -- {'greedy' if beam == 1 else f'beam {beam}'}")
        start = time.perf_counter()
        result = evaluate(translator, test, beam_size=beam)
        print(f"     ({len(test) / (time.perf_counter() - start):.0f} sentences/s)")
    report = result.write_sentences(run_dir / "test_2016_flickr.sentences.csv")

    print("\n== 6. Translations")
    for source, reference in list(zip(test.sources, test.targets))[:3]:
        print(f"  {source}\n    -> {translator.translate(source, beam_size=5)}\n    reference: {reference}")
    outputs = {"per-sentence report": report, "translator": translator.save(run_dir / "translator")}
    try:
        from nmt.plotting import plot_training_curves, plot_translation

        plot_translation(translator, test.sources[0], path=run_dir / "attention.png")
        plot_training_curves(run_dir / "history.csv", path=run_dir / "training_curves.png")
        outputs.update({"attention heatmap": run_dir / "attention.png",
                        "training curves": run_dir / "training_curves.png"})
    except ImportError as error:  # matplotlib is the optional `plot` extra
        print(f"  (no plots: {error})")
    print("\n== Results")
    for label, path in outputs.items():
        print(f"  {label:<20} {path}")


if __name__ == "__main__":
    main()
