"""The argument parser of the ``nmt`` command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from nmt.cli.console import PROG, UsageError
from nmt.cli.decoding import add_decode_options, positive_int


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (``nmt: error: ...``) instead of usage + message."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ----------------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    """The ``nmt`` argument parser with one subcommand per job."""
    parser = _Parser(prog=PROG, description="Neural machine translation: train, translate, evaluate, export.",
                     epilog="Run 'nmt COMMAND --help' for a command's options. Run directories and config "
                            "files: see the nmt.runs and nmt.config.run module docs.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser(
        "train", help="train (or resume) a run from a YAML config",
        description="Train a model from a YAML config into a run directory. An unfinished run in the "
                    "directory is resumed from its last checkpoint; a finished one is never overwritten "
                    "(raise train.epochs to continue it). The stored config.yaml must match the requested "
                    "config except for train.epochs, train.max_minutes, train.distribute and "
                    "train.checkpoint_every_steps. With train.distribute=multi_worker, start the same command on "
                    "every worker with its own TF_CONFIG (docs/distributed.md). With --init-from, a new run "
                    "fine-tunes another run: it starts from that run's best weights and tokenizers (fresh "
                    "optimizer) and trains on its own data.")
    train.add_argument("--config", metavar="CONFIG.yaml",
                       help="config file, or the name of one in configs/ (demo, smoke, multi30k_de_en, ...); "
                            "default: the run directory's config.yaml")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="override a config value (YAML syntax), e.g. --set model.cell=lstm "
                            "--set train.epochs=5; repeatable")
    train.add_argument("--run-dir", required=True, type=Path, metavar="DIR",
                       help="the run directory (created if needed)")
    train.add_argument("--init-from", type=Path, metavar="RUN_DIR",
                       help="fine-tune: start from this trained run's best weights and reuse its tokenizers "
                            "(sets train.init_from; the model and tokenizer sections must equal that run's)")
    train.add_argument("-q", "--quiet", action="store_true", help="one line per epoch, no progress bar")

    translate = commands.add_parser(
        "translate", help="translate lines of text",
        description="Translate one line at a time: one output line per input line (empty lines stay empty).")
    _add_model(translate)
    translate.add_argument("-i", "--input", default="-", metavar="FILE", help="input text, '-' for stdin (default)")
    translate.add_argument("-o", "--output", default="-", metavar="FILE", help="output, '-' for stdout (default)")
    translate.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_decode_options(translate, n_best=True)

    evaluate = commands.add_parser(
        "evaluate", help="score translations with sacreBLEU (BLEU, chrF, TER)",
        description="Translate a test set and print corpus BLEU, chrF and TER with their sacreBLEU signatures; "
                    "write the per-sentence report (CSV or Parquet by suffix) into RUN_DIR/eval/ or --report. "
                    "Without --dataset or --src, the run config's data.test split is used. The default report "
                    "name holds the settings (NAME.beamN[.tok-T][.lc][.lpA][.cpB][.lenA+B][.unk|.nounk][.refsK]), "
                    "so evaluations with other settings do not overwrite each other.")
    _add_model(evaluate)
    evaluate.add_argument("--dataset", metavar="NAME", help="a registered dataset (multi30k, anki-spa-eng)")
    evaluate.add_argument("--pair", metavar="SRC-TGT", help="language pair, e.g. de-en (default: the run's)")
    evaluate.add_argument("--split", metavar="SPLIT", help="e.g. test_2016_flickr (default: the run's data.test)")
    evaluate.add_argument("--src", type=Path, metavar="FILE", help="source sentences, one per line")
    evaluate.add_argument("--ref", type=Path, action="append", metavar="FILE",
                          help="reference translations, aligned with --src; repeat for several references per "
                               "sentence (multi-reference BLEU, chrF, TER)")
    evaluate.add_argument("--report", type=Path, metavar="PATH",
                          help="per-sentence report (.csv, .tsv or .parquet); default RUN_DIR/eval/NAME.beamN...csv")
    evaluate.add_argument("--tokenize", default="13a", metavar="NAME",
                          help="sacreBLEU BLEU tokenizer: 13a (default), none, intl, char, zh, flores200 (spBLEU; "
                               "downloads its SentencePiece model once), ... as the installed sacreBLEU offers")
    evaluate.add_argument("--lowercase", action="store_true", help="case-insensitive scores")
    evaluate.add_argument("--max-sentences", type=positive_int, metavar="N",
                          help="score only the first N sentences (quick checks; not comparable scores)")
    add_decode_options(evaluate)

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
    plot.add_argument("--beam", type=positive_int, metavar="N", help="beam size (default: the model's)")

    average = commands.add_parser(
        "average", help="average a run's last checkpoints into its translator",
        description="Average the weights of the run's N newest checkpoints (by training step; epoch and step "
                    "checkpoints alike) into a translator: by default the run's translator/ is replaced, so "
                    "translate, evaluate and export use the average, and nmt info says so. Training the run "
                    "further writes a new best-checkpoint translator. The run must have kept N checkpoints "
                    "(train.average_last or train.keep_checkpoints).")
    average.add_argument("--model", required=True, type=Path, metavar="RUN_DIR", help="the run directory")
    average.add_argument("--last", required=True, type=positive_int, metavar="N", help="how many checkpoints")
    average.add_argument("--out", type=Path, metavar="DIR",
                         help="write the averaged translator here instead of RUN_DIR/translator")

    info = commands.add_parser("info", help="show a run: config, vocabularies, parameters, scores",
                               description="Show a run directory's resolved config, vocabulary sizes, parameter "
                                           "count, training progress, best validation scores and evaluations.")
    info.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    return parser


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, metavar="RUN_DIR|EXPORT_DIR",
                        help="a run directory, a saved translator (directory or .keras) or a SavedModel export")
