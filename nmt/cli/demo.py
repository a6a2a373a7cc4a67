"""`make demo`: the main job on Multi30k de->en, end to end on a CPU in about 10 minutes.

1. loads the corpus (NMT_DATA_DIR, the cache, or a verified download) and prints
   its statistics;
2. trains SentencePiece tokenizers on the training split and shows a round trip;
3. builds bucketed batches and reports their shapes and padding;
4. trains a small attention model (bidirectional GRU encoder, GRU decoder,
   additive attention) within the time budget ``train.max_minutes`` of
   configs/demo.yaml, with checkpoints in the run directory;
5. scores greedy and beam-search translations of test_2016_flickr with sacreBLEU
   (BLEU, chrF, TER with signatures) and writes the per-sentence reports;
6. translates a few sentences, plots one attention matrix and the training
   curves, and exports a SavedModel.

    python -m nmt.cli.demo [--run-dir runs/demo] [--config demo] [--set train.max_minutes=3 ...]
    python -m nmt.cli.demo --smoke [--run-dir DIR]      # configs/smoke.yaml: the same steps in a minute

It runs the code path of the ``nmt`` command (:mod:`nmt.runs`): the run directory
is the one ``nmt train`` writes, so ``nmt translate --model runs/demo`` and
``nmt evaluate --model runs/demo`` work on it. Rerunning resumes an unfinished run,
and reuses a finished one (evaluation, plots and export are redone).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from nmt.data.corpus import ParallelCorpus


def corpus_statistics(corpora: dict[str, ParallelCorpus]) -> str:
    """One line per split: pairs and mean/max words per side."""
    lines = []
    for split, corpus in corpora.items():
        src = np.array([len(s.split()) for s in corpus.sources])
        tgt = np.array([len(t.split()) for t in corpus.targets])
        lines.append(f"  {split:<6} {corpus.name:<34} {len(corpus):>7,} pairs   {corpus.src_lang}: {src.mean():5.1f} "
                     f"words (max {src.max()})   {corpus.tgt_lang}: {tgt.mean():5.1f} words (max {tgt.max()})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The demo's options."""
    parser = argparse.ArgumentParser(prog="python -m nmt.cli.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, help="checkpoints, logs, reports (default runs/demo, "
                                                     "runs/demo-smoke with --smoke)")
    parser.add_argument("--config", help="config file or name in configs/ (default demo, smoke with --smoke)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a config value, e.g. --set train.max_minutes=3; repeatable")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny settings (configs/smoke.yaml, 100 test sentences): checks the chain in a minute")
    parser.add_argument("--test-sentences", type=int, metavar="N",
                        help="evaluate on the first N test sentences (default: all; 100 with --smoke)")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    return parser


def run_demo(args: argparse.Namespace) -> dict[str, Path]:
    """The six steps; returns what was written, by label."""
    import tensorflow as tf

    from nmt import runs
    from nmt.config.run import load_run_config
    from nmt.data import check_data_config, pair_name
    from nmt.data.pipeline import length_report, make_dataset, padding_ratio
    from nmt.tokenizers import normalize

    config = load_run_config(args.config or ("smoke" if args.smoke else "demo"), args.overrides)
    run_dir: Path = args.run_dir or Path("runs/demo-smoke" if args.smoke else "runs/demo")
    data = check_data_config(config.data)
    status = runs.run_status(run_dir, config)  # fails early on a mismatching run directory

    print(f"== 1. {data.dataset} {pair_name(data)} (run directory {run_dir}: {status} run)")
    corpora = runs.prepare_data(data, ("train", "valid", "test"), log=print)
    test = corpora.pop("test")
    limit = args.test_sentences or (100 if args.smoke else None)
    if limit:
        test = test.head(limit)
    print(corpus_statistics({**corpora, "test": test}))

    tok = config.tokenizer
    print(f"\n== 2. {tok.kind} tokenizers ({tok.vocab_size:,} per language), trained on the training split only")
    run = runs.open_run(config, run_dir, allow_finished=True, corpora=corpora, log=print)
    src_tok = run.source_tokenizer
    sentence = corpora["valid"].sources[0] if "valid" in corpora else test.sources[0]
    ids = src_tok.tokenize(tf.constant([sentence]))[0]
    pieces = [p.decode() for p in src_tok.id_to_token(ids).numpy()]
    back = src_tok.detokenize(ids[tf.newaxis])[0].numpy().decode()
    print(f"  text:   {sentence}\n  pieces: {' '.join(pieces)}\n  ids:    {ids.numpy().tolist()}\n"
          f"  detokenized == normalized text: {back == normalize(sentence, tok)}")

    print("\n== 3. Batches ((source_ids, target_input_ids), target_output_ids)")
    pipeline = config.pipeline
    print(f"  train: {length_report(corpora['train'], src_tok, run.target_tokenizer, pipeline.max_length)}")
    train_ds, _ = runs.make_datasets(run)
    for (src, tgt_in), tgt_out in train_ds.take(2):
        print(f"  source {tuple(src.shape)}  target input {tuple(tgt_in.shape)}  target output {tuple(tgt_out.shape)}")
    plain = make_dataset(corpora["train"], src_tok, run.target_tokenizer, dataclasses.replace(pipeline, bucketing=False))
    print(f"  padding over one epoch: {padding_ratio(train_ds):.1%} with bucketing, "
          f"{padding_ratio(plain):.1%} without")

    budget = config.train.max_minutes
    print(f"\n== 4. Training ({config.model.cell} {config.model.units}, attention {config.model.attention}; "
          f"at most {config.train.epochs} epochs{f' or {budget:g} minutes' if budget else ''})")
    result = runs.train_run(run, verbose=2, log=print)
    state = result.state
    print(f"  {result.parameters:,} parameters; {len(result.epochs)} epoch(s), {result.seconds:.0f} s in this call")
    if state is not None:
        why = ("the time budget" if state.out_of_time else "early stopping" if state.stopped
               else "the epoch limit")
        best = f"; best val_loss {state.best:.3f} at epoch {state.best_epoch}" if state.best is not None else ""
        print(f"  {state.epoch} epochs, {state.seconds / 60:.1f} minutes in all, ended by {why}{best}")
    translator = result.translator

    print(f"\n== 5. Evaluation on {test.name} ({len(test):,} sentences; sacreBLEU, cased, detokenized)")
    outputs: dict[str, Path] = {}
    for beam in (1, 5):
        print(f"  -- {'greedy' if beam == 1 else f'beam {beam}'}")
        start = time.perf_counter()
        _, report, scores = runs.evaluate_run(translator, test, run_dir=run_dir, beam_size=beam)
        print(f"     ({len(test) / (time.perf_counter() - start):.0f} sentences/s)")
        outputs[f"report, {'greedy' if beam == 1 else f'beam {beam}'}"] = report
        outputs[f"scores, {'greedy' if beam == 1 else f'beam {beam}'}"] = scores

    print("\n== 6. Translations")
    for source, reference in list(zip(test.sources, test.targets))[:3]:
        print(f"  {source}\n    -> {translator.translate(source, beam_size=5)}\n    reference: {reference}")
    outputs["translator"] = run_dir / runs.TRANSLATOR_DIR
    try:
        from nmt.plotting import plot_training_curves, plot_translation

        plot_translation(translator, test.sources[0], path=run_dir / "attention.png")
        outputs["attention heatmap"] = run_dir / "attention.png"
        plot_training_curves(run_dir / "history.csv", path=run_dir / "training_curves.png")
        outputs["training curves"] = run_dir / "training_curves.png"
    except ImportError as error:  # matplotlib is the optional `plot` extra
        print(f"  (no plots: {error})")
    if not args.no_export:
        start = time.perf_counter()
        outputs["SavedModel export"] = translator.export(run_dir / runs.EXPORT_DIR, overwrite=True)
        print(f"  exported a SavedModel in {time.perf_counter() - start:.0f} s")
    outputs["run configuration"] = run_dir / runs.CONFIG_FILE
    outputs["training log"] = run_dir / "history.csv"
    return outputs


def main(argv: list[str] | None = None) -> int:
    """Runs the demo; user errors are one line on stderr and exit status 2 (as in ``nmt``)."""
    from nmt.cli.console import PROG, USER_ERROR, import_tensorflow, one_line, user_errors

    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        import_tensorflow()
        outputs = run_demo(args)
    except KeyboardInterrupt:
        print("\ninterrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as error:
        if isinstance(error, user_errors()):
            print(f"{PROG}.cli.demo: error: {one_line(error)}", file=sys.stderr)
            return USER_ERROR
        raise
    print(f"\n== Results ({(time.perf_counter() - start) / 60:.1f} minutes)")
    for label, path in outputs.items():
        print(f"  {label:<20} {path}")
    run_dir = outputs["translator"].parent
    print(f"\n  nmt translate --model {run_dir}   # type German sentences\n  nmt info {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
