"""The ``nmt`` command: train, translate, evaluate, export, plot attention, inspect runs.

    nmt train --config configs/multi30k_de_en.yaml --run-dir runs/de_en [--set model.cell=lstm ...]
    nmt translate --model runs/de_en [--beam 5] [-i FILE|-] [-o FILE|-]
    nmt evaluate --model runs/de_en [--dataset multi30k --pair de-en --split test_2016_flickr | --src F --ref F]
    nmt export --model runs/de_en [--out DIR] [--overwrite]
    nmt plot-attention --model runs/de_en --text "Ein Hund rennt." --out attention.png
    nmt info runs/de_en

(also ``python -m nmt ...``). Run directories, config files and resuming are
described in :mod:`nmt.runs` and :mod:`nmt.config.run`.

Exit status: 0 on success; 2 on a user error (a missing file, an unknown or
ill-typed config key, a bad ``--set``, a language pair or split the dataset lacks, a
run directory that does not match), reported as one line ``nmt: error: ...`` on
stderr; 141 (as for SIGPIPE) when the reader of stdout goes away, without a
traceback; 130 when interrupted (rerun ``nmt train`` with the same arguments to resume).
Unexpected internal errors keep their traceback (exit 1).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from nmt.cli.commands import COMMANDS
from nmt.cli.console import (
    BROKEN_PIPE,
    INTERRUPTED,
    PROG,
    USER_ERROR,
    UsageError,
    import_tensorflow,
    one_line,
    user_errors,
)
from nmt.cli.parser import build_parser


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
    except BrokenPipeError:  # the reader went away (`nmt translate ... | head`): stop quietly, as `cat` would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return BROKEN_PIPE
    except KeyboardInterrupt:
        hint = "; rerun the same command to resume" if args.command == "train" else ""
        print(f"\n{PROG}: interrupted{hint}", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        if isinstance(error, user_errors()):
            print(f"{PROG}: error: {one_line(error)}", file=sys.stderr)
            return USER_ERROR
        raise
