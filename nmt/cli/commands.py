"""One function per ``nmt`` subcommand: ``cmd_train``, ``cmd_translate``, ..."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from nmt.cli.console import UsageError


# ----------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    from nmt import runs
    from nmt.config.run import load_run_config

    run_dir: Path = args.run_dir
    if args.config is None:
        stored = run_dir / runs.CONFIG_FILE
        if not stored.is_file():
            raise UsageError(f"--config is required: {run_dir} holds no run ({runs.CONFIG_FILE} not found)")
        config = load_run_config(stored, args.overrides, stored=True)
    else:
        config = load_run_config(args.config, args.overrides)
    print(f"== run directory {run_dir}")
    run = runs.open_run(config, run_dir)  # checks config.data first: a bad dataset leaves run_dir alone
    if run.status == "continue":
        print(f"  continuing a finished run up to epoch {config.train.epochs}")
    result = runs.train_run(run, verbose=2 if args.quiet else "auto")
    state = result.state
    if not result.epochs:
        print("  no epoch left to train")
    print(f"  {result.parameters:,} parameters; {len(result.epochs)} epoch(s) in {result.seconds:.0f} s")
    if state is not None and state.best is not None:
        print(f"  best {config.train.monitor} {state.best:.4f} at epoch {state.best_epoch} "
              f"({state.epoch} epochs completed{', stopped early' if state.stopped else ''})")
    print(f"  translator: {run_dir / runs.TRANSLATOR_DIR}\n"
          f"  next: nmt evaluate --model {run_dir}   |   nmt translate --model {run_dir} -i FILE")
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from nmt import runs
    from nmt.cli import textio as cli_io

    translator = runs.load_translator(args.model)
    kwargs = {} if args.beam is None else {"beam_size": args.beam}
    if args.input == "-" and sys.stdin.isatty():  # interactive: one line at a time
        with cli_io.open_output(args.output) as out:
            for line in cli_io.iter_stdin_lines():
                cli_io.write_lines(out, [translator.translate(line, **kwargs)])
        return 0
    lines = cli_io.read_lines(args.input)
    chunk = 512
    progress = cli_io.Progress(len(lines), "translating", enabled=args.input != "-" and not args.quiet)
    with cli_io.open_output(args.output) as out:
        for start in range(0, len(lines), chunk):
            batch = lines[start:start + chunk]
            cli_io.write_lines(out, translator.translate(batch, **kwargs))
            progress.update(len(batch))
    progress.close()
    return 0


def _test_corpus(args: argparse.Namespace, config):
    """The test corpus named by ``--dataset/--pair/--split``, ``--src/--ref`` or the run's ``data.test``."""
    from nmt.config.base import config_from_dict, config_to_dict
    from nmt.config.data import DataConfig
    from nmt.data import check_data_config, languages, pair_name, read_aligned
    from nmt.runs.data import prepare_data

    if (args.src is None) != (args.ref is None):
        raise UsageError("--src and --ref go together")
    if args.src is not None:
        if args.dataset or args.split:
            raise UsageError("give either --src/--ref or --dataset/--split, not both")
        langs = languages(config.data) if config is not None else ("src", "ref")
        if args.pair:
            langs = tuple(args.pair.split("-", 1)) if "-" in args.pair else langs
        return read_aligned(args.src, args.ref, langs[0], langs[1], name=args.src.name)
    if args.dataset is None and config is None:
        raise UsageError("--model has no run config to take a test set from: give --dataset/--pair/--split "
                         "or --src/--ref")
    data = config.data if config is not None else None
    if args.dataset is None or (data is not None and args.dataset == data.dataset):
        dataset = data.dataset
        pair = args.pair or data.pair
        split = args.split or data.test
        if split is None:
            raise UsageError("the run config has no data.test split: give --split (or --src/--ref)")
        if dataset == "files" and args.split:
            split = str(Path(args.split).resolve())
        test = check_data_config(config_from_dict(DataConfig, {**config_to_dict(data), "pair": pair, "test": split},
                                                  where="data"))
    else:
        dataset = args.dataset
        if args.split is None:
            raise UsageError(f"--dataset {dataset} needs --split")
        test = _data_config(dataset, args.pair, args.split)
    if config is not None and dataset != "files" and languages(test) != languages(config.data):
        raise UsageError(f"the model translates {pair_name(config.data)}, the test set is {pair_name(test)}")
    return prepare_data(test, splits=("test",))["test"]


def _data_config(dataset: str, pair: str | None, split: str):
    """A ``DataConfig`` whose ``test`` is ``split`` of a registered dataset (checked: pair, split)."""
    from nmt.config.base import config_from_dict
    from nmt.config.data import DataConfig
    from nmt.data import check_data_config, list_datasets, split_sizes

    if dataset not in list_datasets():
        raise UsageError(f"--dataset {dataset!r} is not one of {', '.join(list_datasets())}")
    train = next(iter(split_sizes(dataset)))
    return check_data_config(config_from_dict(
        DataConfig, {"dataset": dataset, "pair": pair, "train": train, "valid": None, "test": split}, where="data"))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from nmt import runs
    from nmt.evaluation import available_tokenizers

    if args.report is not None and args.report.suffix not in (".csv", ".tsv", ".parquet"):
        raise UsageError(f"--report {args.report}: use a .csv, .tsv or .parquet file name")
    if args.tokenize not in available_tokenizers():
        raise UsageError(f"--tokenize {args.tokenize!r} is not one of {', '.join(available_tokenizers())}")
    if not args.model.exists():
        raise UsageError(f"--model {args.model}: no such file or directory")
    run_dir = runs.run_dir_of(args.model)
    config = runs.read_run_config(run_dir) if run_dir is not None else None
    corpus = _test_corpus(args, config)  # before loading the model: data errors come fast
    if args.max_sentences:
        corpus = corpus.head(args.max_sentences)
    translator = runs.load_translator(args.model)
    start = time.perf_counter()
    _, report, scores = runs.evaluate_run(translator, corpus, run_dir=run_dir, beam_size=args.beam,
                                          report=args.report, tokenize=args.tokenize, lowercase=args.lowercase,
                                          model=str(args.model))
    beam = args.beam or translator.config.beam_size
    print(f"({len(corpus):,} sentences in {time.perf_counter() - start:.1f} s, beam {beam})")
    if report is None:
        print("no per-sentence report written: give --report PATH")
    else:
        print(f"per-sentence report: {report}\nscores: {scores}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from nmt import runs

    if (args.model / runs.SAVED_MODEL_FILE).is_file():
        raise UsageError(f"--model {args.model} is already an export")
    translator = runs.load_translator(args.model)
    out = args.out or (runs.run_dir_of(args.model) or args.model) / runs.EXPORT_DIR
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise UsageError(f"{out} already exists; pass --overwrite to replace it, or choose --out")
    try:
        translator.export(out, overwrite=args.overwrite)
    except FileExistsError as error:  # e.g. --overwrite on a directory that is not an export
        raise UsageError(str(error)) from None
    print(f"SavedModel: {out}\n  nmt translate --model {out} -i FILE")
    return 0


def cmd_plot_attention(args: argparse.Namespace) -> int:
    from nmt import runs

    try:
        from nmt.plotting import plot_translation
    except ImportError as error:
        raise UsageError(str(error)) from None
    translator = runs.load_translator(args.model)
    if not args.text.strip():
        raise UsageError("--text is empty")
    if not args.out.parent.is_dir():
        raise UsageError(f"--out {args.out}: the folder {args.out.parent} does not exist")
    plot_translation(translator, args.text, path=args.out, beam_size=args.beam)
    print(f"{translator.translate(args.text, beam_size=args.beam)}\nattention heatmap: {args.out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from nmt import runs
    from nmt.config.run import dump_yaml
    from nmt.data import pair_name

    info = runs.run_info(args.run_dir)  # checks the stored data section against the registry
    config, state = info.config, info.state
    done = state.epoch if state else 0
    status = "finished" if info.finished else f"unfinished ({done} of {config.train.epochs} epochs completed)"
    data = config.data
    splits = ", ".join(f"{name}: {getattr(data, name)}" for name in ("train", "valid", "test") if getattr(data, name))
    lines = [f"run directory: {info.run_dir} ({status})", f"data: {data.dataset} {pair_name(data)} ({splits})"]
    if info.vocab_sizes:
        lines.append(f"vocabulary: source {info.vocab_sizes[0]:,}, target {info.vocab_sizes[1]:,} "
                     f"({config.tokenizer.kind})")
        lines.append(f"parameters: {info.parameters:,}")
    if state is not None:
        lines.append(f"training: {state.epoch} epochs, {state.step:,} steps"
                     f"{', stopped early' if state.stopped else ''}")
    if info.best:
        lines.append("best validation scores (history.csv): " + ", ".join(
            f"{name} {value:.4f} (epoch {epoch})" for name, (value, epoch) in info.best.items()))
    for record in info.evaluations:
        lines.append(f"evaluation {record['file']}: BLEU {record.get('bleu', float('nan')):.2f}, "
                     f"chrF {record.get('chrf', float('nan')):.2f}, TER {record.get('ter', float('nan')):.2f} "
                     f"({record.get('sentences', '?')} sentences; {record.get('signatures', {}).get('bleu', '')})")
    lines.append("config:")
    lines.extend(f"  {line}" for line in dump_yaml(config).splitlines())
    print("\n".join(lines))
    return 0


COMMANDS = {
    "train": cmd_train,
    "translate": cmd_translate,
    "evaluate": cmd_evaluate,
    "export": cmd_export,
    "plot-attention": cmd_plot_attention,
    "info": cmd_info,
}
