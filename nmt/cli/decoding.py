"""Decoding options of ``nmt translate`` and ``nmt evaluate``: parsing, checking, applying, n-best output.

Each option overrides one field of the model's stored :class:`~nmt.config.decode.DecodeConfig`
for this command only (:data:`OPTIONS`). A saved translator or run takes them all; a
SavedModel export fixes its penalties, length limits and unknown-word replacement at
export time, so only ``--beam``, ``--batch-size`` and ``--n-best`` apply to it (the
others are a one-line error naming them).

``--n-best K`` writes ``K`` lines per input line, best first (an empty input gives ``K``
empty lines); ``--n-best-format tsv`` writes one row per hypothesis instead:
``input_index<TAB>rank<TAB>score<TAB>translation``, ``input_index`` counting input lines
from 0, ``rank`` from 1, ``score`` the search's ranking score (length/coverage-penalized
log-probability for beam search).

``nmt translate`` streams its input: :func:`translate_chunks` takes
:func:`chunk_size` lines at a time (``--batch-size`` multiples, about
:data:`CHUNK_LINES`), translates them (the translator sorts a chunk by length into
batches and restores the order) and hands back their output lines, so memory does not
grow with the input and the output equals that of translating all lines at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from nmt.cli.console import UsageError

#: DecodeConfig field -> its command-line option.
OPTIONS = {
    "beam_size": "--beam",
    "length_penalty": "--length-penalty",
    "coverage_penalty": "--coverage-penalty",
    "max_length_a": "--max-length-a",
    "max_length_b": "--max-length-b",
    "batch_size": "--batch-size",
    "replace_unknown": "--replace-unknown",
}
#: Fields an export takes per call (everything else is fixed at export time).
EXPORT_FIELDS = ("beam_size", "batch_size")
#: Input lines ``nmt translate`` reads, translates and writes at a time (rounded up to a batch multiple).
CHUNK_LINES = 4096
#: ``nmt translate --help``: how input is read and output written.
STREAMING_HELP = (
    "The input (plain text, or gzip for a name ending in .gz) is read, translated and written in chunks of "
    f"about {CHUNK_LINES:,} lines (a multiple of --batch-size), so memory stays flat for any input length. "
    "An output file (-o) is written under a temporary name beside it and renamed into place at the end: an "
    "error (such as invalid UTF-8 at some line, named with its file and line number) or an interruption "
    "leaves no output file, or the previous one untouched. Standard output is streamed instead: the chunks "
    "before an error have already been written.")


# ----------------------------------------------------------------------------- parsing
def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be at least 0")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be a non-negative number")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def add_decode_options(parser: argparse.ArgumentParser, *, n_best: bool = False) -> None:
    """Adds ``--beam``, ``--length-penalty``, ... (and ``--n-best``/``--n-best-format`` when ``n_best``)."""
    group = parser.add_argument_group("decoding (default: the model's decode settings)")
    group.add_argument("--beam", type=positive_int, metavar="N", help="beam size (1: greedy search)")
    group.add_argument("--length-penalty", type=non_negative_float, metavar="A",
                       help="GNMT length penalty alpha (0: rank by log-probability); beam search only")
    group.add_argument("--coverage-penalty", type=non_negative_float, metavar="B",
                       help="GNMT coverage penalty beta (0: off); beam search only")
    group.add_argument("--max-length-a", type=non_negative_float, metavar="A",
                       help="output at most floor(A * source_tokens + B) tokens: sets A")
    group.add_argument("--max-length-b", type=non_negative_int, metavar="B", help="sets B of that limit")
    group.add_argument("--batch-size", type=positive_int, metavar="N",
                       help="sentences per search call (speed and memory only; same output)")
    group.add_argument("--replace-unknown", action=argparse.BooleanOptionalAction, default=None,
                       help="replace unknown output tokens by the most-attended source token")
    if n_best:
        group.add_argument("--n-best", type=positive_int, metavar="K",
                           help="write the K best translations of each line, best first (K lines per input "
                                "line); the beam size becomes at least K unless --beam is given")
        group.add_argument("--n-best-format", choices=("lines", "tsv"), default="lines",
                           help="lines: K lines per input line (default); tsv: one row "
                                "input_index<TAB>rank<TAB>score<TAB>translation per hypothesis (index from 0, "
                                "rank from 1)")
        _add_stream_options(parser)


def _add_stream_options(parser: argparse.ArgumentParser) -> None:
    """``nmt translate``'s input and output notes (:data:`STREAMING_HELP`) and ``--progress``."""
    group = parser.add_argument_group("input and output", STREAMING_HELP)
    group.add_argument("--progress", action="store_true",
                       help="report progress (lines, lines/s) on stderr: one line per chunk when stderr is not "
                            "a terminal, also for stdin input (default: a live line on a terminal and a final "
                            "line for -i FILE; never with -q)")


def decode_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The DecodeConfig fields the command line sets: ``{field: value}``."""
    values = {field: getattr(args, option.lstrip("-").replace("-", "_"), None) for field, option in OPTIONS.items()}
    return {field: value for field, value in values.items() if value is not None}


def check_decode_args(args: argparse.Namespace) -> None:
    """Checks before the model loads: ``--n-best`` against ``--beam`` and ``--replace-unknown``; export options."""
    from nmt.export.loader import is_saved_model

    if is_saved_model(args.model):
        _refuse_fixed(args.model, decode_overrides(args))
    k = getattr(args, "n_best", None)
    if k is None:
        if getattr(args, "n_best_format", "lines") != "lines":
            raise UsageError("--n-best-format needs --n-best")
        return
    if args.beam is not None and k > args.beam:
        raise UsageError(f"--n-best {k} needs a beam of at least {k}, got --beam {args.beam}")
    if args.replace_unknown:
        raise UsageError("--replace-unknown does not apply to --n-best lists")


# ----------------------------------------------------------------------------- applying
def _option_names(message: str) -> str:
    """A DecodeConfig error with option names: ``max_length_a=0.0`` -> ``--max-length-a 0.0``."""
    for field, option in OPTIONS.items():
        message = re.sub(rf"\b{field}=", f"{option} ", message)
    return message


def configure(translator, args: argparse.Namespace) -> dict[str, Any]:
    """Applies the decoding options to ``translator``; returns the keyword arguments for its ``translate``.

    A :class:`~nmt.translate.translator.Translator` gets its ``config`` replaced (every
    field, checked by :class:`~nmt.config.decode.DecodeConfig`), and needs no
    arguments; an :class:`~nmt.export.loader.ExportedTranslator` takes ``beam_size``
    as an argument (its ``batch_size`` is set on its config).

    Raises:
        UsageError: an invalid combination (named by option), or an option an export cannot honour.
    """
    from nmt.config.base import ConfigError
    from nmt.export.loader import ExportedTranslator

    overrides = decode_overrides(args)
    if isinstance(translator, ExportedTranslator):
        _refuse_fixed(translator.path, overrides)
        beam = max(overrides.get("beam_size", translator.config.beam_size), getattr(args, "n_best", None) or 1)
        if beam > translator.max_beam_size:
            option = "--beam" if "beam_size" in overrides else "--n-best"
            raise UsageError(f"{option}: {translator.path} accepts beam sizes up to {translator.max_beam_size}, "
                             f"not {beam}")
        if "batch_size" in overrides:
            translator.config = dataclasses.replace(translator.config, batch_size=overrides["batch_size"])
        return {"beam_size": overrides["beam_size"]} if "beam_size" in overrides else {}
    try:
        translator.config = dataclasses.replace(translator.config, **overrides)
    except ConfigError as error:
        raise UsageError(_option_names(str(error))) from None
    return {}


def _refuse_fixed(path, overrides: dict[str, Any]) -> None:
    """UsageError naming the options an export at ``path`` cannot honour, if any are in ``overrides``."""
    fixed = [OPTIONS[field] for field in overrides if field not in EXPORT_FIELDS]
    if fixed:
        raise UsageError(f"{', '.join(fixed)}: {path} is a SavedModel export, whose "
                         f"{'setting is' if len(fixed) == 1 else 'settings are'} fixed at export time (only "
                         f"--beam, --batch-size and --n-best apply); use the run directory instead")


def changed_settings(before, after) -> dict[str, Any]:
    """The DecodeConfig fields (of :data:`OPTIONS`, but ``batch_size``) that differ between two configs."""
    return {field: getattr(after, field) for field in OPTIONS
            if field not in ("beam_size", "batch_size") and getattr(before, field) != getattr(after, field)}


# ----------------------------------------------------------------------------- translating
def nbest(translator, lines: Sequence[str], k: int, beam_size: int | None) -> list[list[tuple[str, float]]]:
    """The ``k`` best ``(translation, score)`` pairs of each line, best first.

    ``beam_size`` (default ``max(k, the model's beam size)``) must be at least ``k``.
    """
    from nmt.export.loader import ExportedTranslator

    if not isinstance(translator, ExportedTranslator):
        hypotheses = translator.translate_nbest(list(lines), k, beam_size=beam_size)
        return [[(h.text, h.score) for h in row] for row in hypotheses]
    import tensorflow as tf

    from nmt.translate.values import SCORES, TRANSLATIONS

    beam = beam_size or max(k, translator.config.beam_size)
    function = translator.loaded.signatures["translate_nbest"]
    step, result = translator.config.batch_size, []
    for start in range(0, len(lines), step):
        chunk = list(lines[start:start + step])
        out = function(text=tf.constant(chunk, tf.string, shape=[len(chunk)]), beam_size=tf.constant(beam, tf.int32),
                       num_hypotheses=tf.constant(k, tf.int32), max_length=tf.constant(-1, tf.int32))
        texts, scores = out[TRANSLATIONS].numpy(), out[SCORES].numpy()
        result.extend([[(texts[i, j].decode("utf-8", "replace"), float(scores[i, j])) for j in range(k)]
                       for i in range(len(chunk))])
    return result


def output_lines(translator, lines: Sequence[str], args: argparse.Namespace, kwargs: dict[str, Any],
                 first_index: int = 0) -> list[str]:
    """What ``nmt translate`` writes for ``lines``: one translation each, or the n-best lines/rows.

    ``first_index`` is the input index of ``lines[0]`` (for TSV rows).
    """
    k = getattr(args, "n_best", None)
    if k is None:
        return translator.translate(list(lines), **kwargs)
    rows = nbest(translator, lines, k, args.beam)
    if args.n_best_format == "tsv":
        return [f"{first_index + i}\t{rank}\t{score:.6f}\t{text}"
                for i, row in enumerate(rows) for rank, (text, score) in enumerate(row, start=1)]
    return [text for row in rows for text, _ in row]


def chunk_size(translator) -> int:
    """Lines per chunk for ``translator``: :data:`CHUNK_LINES` rounded up to a multiple of its batch size."""
    batch = translator.config.batch_size
    return batch * max(1, math.ceil(CHUNK_LINES / batch))


def translate_chunks(translator, lines: Iterable[str], args: argparse.Namespace, kwargs: dict[str, Any], *,
                     size: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """``(input lines, output lines)`` of each chunk of ``size`` (default :func:`chunk_size`) input lines.

    ``lines`` is consumed one chunk at a time, just before that chunk is translated;
    the output lines are :func:`output_lines`' (n-best indices count from the first
    input line).
    """
    from nmt.cli.textio import chunks
    from nmt.translate.translator import TruncationWarning

    first = truncated = limit = 0
    for chunk in chunks(lines, size or chunk_size(translator)):
        with warnings.catch_warnings(record=True) as caught:  # other warnings pass the caller's filters as before
            warnings.simplefilter("always", TruncationWarning)
            output = output_lines(translator, chunk, args, kwargs, first_index=first)
        for warning in caught:  # the chunks' truncation counts become one warning at the end
            if isinstance(warning.message, TruncationWarning):
                truncated, limit = truncated + warning.message.truncated, warning.message.limit
            else:  # these already passed the caller's filters (an ignored category never reaches here)
                warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
        yield len(chunk), output
        first += len(chunk)
    if truncated:
        warnings.warn(TruncationWarning(truncated, first, limit), stacklevel=2)
