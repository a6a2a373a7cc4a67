"""The ``nmt`` command: train, translate, evaluate, export, plot attention, inspect runs.

    nmt train --config configs/multi30k_de_en.yaml --run-dir runs/de_en [--set model.cell=lstm ...]
    nmt translate --model runs/de_en [--beam 5] [-i FILE|-] [-o FILE|-]
    nmt evaluate --model runs/de_en [--dataset multi30k --pair de-en --split test_2016_flickr | --src F --ref F]
    nmt export --model runs/de_en [--out DIR] [--overwrite]
    nmt plot-attention --model runs/de_en --text "Ein Hund rennt." --out attention.png
    nmt info runs/de_en

(also ``python -m nmt ...``). Run directories, config files and resuming are
described in :mod:`nmt.runs` and :mod:`nmt.run_config`.

Exit status: 0 on success; 2 on a user error (a missing file, an unknown or
ill-typed config key, a bad ``--set``, a language pair or split the dataset lacks, a
run directory that does not match), reported as one line ``nmt: error: ...`` on
stderr; 130 when interrupted (rerun ``nmt train`` with the same arguments to resume).
Unexpected internal errors keep their traceback (exit 1).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

PROG = "nmt"
USER_ERROR = 2
INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in the command line or its inputs: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (``nmt: error: ...``) instead of usage + message."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ----------------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    """The ``nmt`` argument parser with one subcommand per job."""
    parser = _Parser(prog=PROG, description="Neural machine translation: train, translate, evaluate, export.",
                     epilog="Run 'nmt COMMAND --help' for a command's options. Run directories and config "
                            "files: see the nmt.runs and nmt.run_config module docs.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser(
        "train", help="train (or resume) a run from a YAML config",
        description="Train a model from a YAML config into a run directory. An unfinished run in the "
                    "directory is resumed from its last completed epoch; a finished one is never overwritten "
                    "(raise train.epochs to continue it). The stored config.yaml must match the requested "
                    "config except for train.epochs and train.max_minutes.")
    train.add_argument("--config", metavar="CONFIG.yaml",
                       help="config file, or the name of one in configs/ (demo, smoke, multi30k_de_en, ...); "
                            "default: the run directory's config.yaml")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="override a config value (YAML syntax), e.g. --set model.cell=lstm "
                            "--set train.epochs=5; repeatable")
    train.add_argument("--run-dir", required=True, type=Path, metavar="DIR",
                       help="the run directory (created if needed)")
    train.add_argument("-q", "--quiet", action="store_true", help="one line per epoch, no progress bar")

    translate = commands.add_parser(
        "translate", help="translate lines of text",
        description="Translate one line at a time: one output line per input line (empty lines stay empty).")
    _add_model(translate)
    translate.add_argument("--beam", type=_positive, metavar="N", help="beam size (1: greedy); default: the "
                           "model's decode.beam_size")
    translate.add_argument("-i", "--input", default="-", metavar="FILE", help="input text, '-' for stdin (default)")
    translate.add_argument("-o", "--output", default="-", metavar="FILE", help="output, '-' for stdout (default)")
    translate.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    evaluate = commands.add_parser(
        "evaluate", help="score translations with sacreBLEU (BLEU, chrF, TER)",
        description="Translate a test set and print corpus BLEU, chrF and TER with their sacreBLEU signatures; "
                    "write the per-sentence report (CSV or Parquet by suffix) into RUN_DIR/eval/ or --report. "
                    "Without --dataset or --src, the run config's data.test split is used.")
    _add_model(evaluate)
    evaluate.add_argument("--dataset", metavar="NAME", help="a registered dataset (multi30k, anki-spa-eng)")
    evaluate.add_argument("--pair", metavar="SRC-TGT", help="language pair, e.g. de-en (default: the run's)")
    evaluate.add_argument("--split", metavar="SPLIT", help="e.g. test_2016_flickr (default: the run's data.test)")
    evaluate.add_argument("--src", type=Path, metavar="FILE", help="source sentences, one per line")
    evaluate.add_argument("--ref", type=Path, metavar="FILE", help="reference translations, aligned with --src")
    evaluate.add_argument("--beam", type=_positive, metavar="N", help="beam size (default: the model's)")
    evaluate.add_argument("--report", type=Path, metavar="PATH",
                          help="per-sentence report (.csv, .tsv or .parquet); default RUN_DIR/eval/NAME.beamN.csv")
    evaluate.add_argument("--tokenize", default="13a", help="sacreBLEU BLEU tokenizer (default 13a)")
    evaluate.add_argument("--lowercase", action="store_true", help="case-insensitive scores")
    evaluate.add_argument("--max-sentences", type=_positive, metavar="N",
                          help="score only the first N sentences (quick checks; not comparable scores)")

    export = commands.add_parser(
        "export", help="write a TensorFlow SavedModel (raw strings in, translations out)",
        description="Export the run's translator as a SavedModel with a serving_default signature.")
    _add_model(export)
    export.add_argument("--out", type=Path, metavar="DIR", help="export directory (default RUN_DIR/export)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing export")

    plot = commands.add_parser("plot-attention", help="plot one sentence's attention as a heatmap",
                               description="Translate --text and save its attention matrix as an image.")
    _add_model(plot)
    plot.add_argument("--text", required=True, help="the source sentence")
    plot.add_argument("--out", required=True, type=Path, metavar="FILE.png", help="image file to write")
    plot.add_argument("--beam", type=_positive, metavar="N", help="beam size (default: the model's)")

    info = commands.add_parser("info", help="show a run: config, vocabularies, parameters, scores",
                               description="Show a run directory's resolved config, vocabulary sizes, parameter "
                                           "count, training progress, best validation scores and evaluations.")
    info.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    return parser


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, metavar="RUN_DIR|EXPORT_DIR",
                        help="a run directory, a saved translator (directory or .keras) or a SavedModel export")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


# ----------------------------------------------------------------------------- TensorFlow
@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Hides what C++ libraries write to file descriptor 2 (TensorFlow's import-time notices).

    If the block raises, the hidden text is written to stderr after all, then the
    error propagates. ``TF_CPP_MIN_LOG_LEVEL=0`` turns the hiding off.
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        yield
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as hidden:
        os.dup2(hidden.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                hidden.seek(0)
                sys.stderr.write(hidden.read().decode("utf-8", "replace"))


def import_tensorflow() -> None:
    """Imports TensorFlow, Keras and tensorflow-text without their start-up notices on stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_stderr():
        import keras  # noqa: F401
        import tensorflow as tf
        import tensorflow_text  # noqa: F401

        tf.config.list_physical_devices()  # device discovery logs (cuInit...) happen here


# ----------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    from nmt import runs
    from nmt.run_config import load_run_config

    run_dir: Path = args.run_dir
    if args.config is None:
        stored = run_dir / runs.CONFIG_FILE
        if not stored.is_file():
            raise UsageError(f"--config is required: {run_dir} holds no run ({runs.CONFIG_FILE} not found)")
        config = load_run_config(stored, args.overrides)
    else:
        config = load_run_config(args.config, args.overrides)
    print(f"== run directory {run_dir}")
    run = runs.open_run(config, run_dir)
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
    from nmt import cli_io, runs

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
    from nmt.configs import config_from_dict, config_to_dict
    from nmt.data import read_aligned
    from nmt.run_config import DataConfig
    from nmt.runs import prepare_data

    if (args.src is None) != (args.ref is None):
        raise UsageError("--src and --ref go together")
    if args.src is not None:
        if args.dataset or args.split:
            raise UsageError("give either --src/--ref or --dataset/--split, not both")
        langs = config.data.languages if config is not None else ("src", "ref")
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
        test = config_from_dict(DataConfig, {**config_to_dict(data), "pair": pair, "test": split}, where="data")
    else:
        dataset = args.dataset
        if args.split is None:
            raise UsageError(f"--dataset {dataset} needs --split")
        test = _data_config(dataset, args.pair, args.split)
    if config is not None and test.languages != config.data.languages and dataset != "files":
        raise UsageError(f"the model translates {config.data.pair_name}, the test set is {test.pair_name}")
    return prepare_data(test, splits=("test",))["test"]


def _data_config(dataset: str, pair: str | None, split: str):
    """A ``DataConfig`` whose ``test`` is ``split`` of a registered dataset (validated: pair, split)."""
    from nmt.configs import config_from_dict
    from nmt.data import list_datasets, split_sizes
    from nmt.run_config import DataConfig

    if dataset not in list_datasets():
        raise UsageError(f"--dataset {dataset!r} is not one of {', '.join(list_datasets())}")
    train = next(iter(split_sizes(dataset)))
    return config_from_dict(DataConfig, {"dataset": dataset, "pair": pair, "train": train, "valid": None, "test": split},
                            where="data")


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
    from nmt.run_config import dump_yaml

    info = runs.run_info(args.run_dir)
    config, state = info.config, info.state
    done = state.epoch if state else 0
    status = "finished" if info.finished else f"unfinished ({done} of {config.train.epochs} epochs completed)"
    data = config.data
    splits = ", ".join(f"{name}: {getattr(data, name)}" for name in ("train", "valid", "test") if getattr(data, name))
    lines = [f"run directory: {info.run_dir} ({status})", f"data: {data.dataset} {data.pair_name} ({splits})"]
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


# ----------------------------------------------------------------------------- entry point
def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that are the user's to fix (one line, exit 2)."""
    from nmt.cli_io import InputError
    from nmt.configs import ConfigError
    from nmt.data import CorpusError, DatasetError, DownloadError
    from nmt.exported_translator import ExportError
    from nmt.runs import RunError

    return UsageError, InputError, ConfigError, CorpusError, DatasetError, DownloadError, RunError, ExportError


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``nmt`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        print(f"{PROG}: error: {one_line(error)}", file=sys.stderr)
        return USER_ERROR
    try:
        import_tensorflow()
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        hint = "; rerun the same command to resume" if args.command == "train" else ""
        print(f"\n{PROG}: interrupted{hint}", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        if isinstance(error, user_errors()):
            print(f"{PROG}: error: {one_line(error)}", file=sys.stderr)
            return USER_ERROR
        raise


if __name__ == "__main__":
    sys.exit(main())
