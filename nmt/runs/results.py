"""Evaluation results of a run: per-sentence reports and corpus scores under ``eval/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from nmt.config.train import higher_is_better
from nmt.data import ParallelCorpus
from nmt.fileutils import atomic_write
from nmt.runs.layout import EVAL_DIR
from nmt.training.loop import HISTORY_FILE


# ----------------------------------------------------------------------------- results
def evaluation_paths(run_dir: str | Path, name: str, beam_size: int | None, suffix: str = ".csv") -> tuple[Path, Path]:
    """``(report, scores)`` paths under ``RUN_DIR/eval`` for a test set called ``name``."""
    stem = name.replace("/", ".").strip(".") or "test"
    beam = "export" if beam_size is None else f"beam{beam_size}"
    base = Path(run_dir) / EVAL_DIR / f"{stem}.{beam}"
    return base.with_name(base.name + suffix), base.with_name(base.name + ".json")


def evaluate_run(translator, corpus: ParallelCorpus, *, run_dir: str | Path | None = None,
                 beam_size: int | None = None, report: str | Path | None = None, tokenize: str = "13a",
                 lowercase: bool = False, verbose: bool = True, **extra: Any):
    """Scores ``translator`` on ``corpus`` and writes the per-sentence report and the scores.

    The report goes to ``report`` (``.csv``, ``.tsv`` or ``.parquet``; the scores
    beside it as ``.json``) or, by default, to ``RUN_DIR/eval/NAME.beamN.{csv,json}``;
    with neither, nothing is written.

    Returns:
        ``(evaluation, report_path, scores_path)``; the paths are None when nothing was written.
    """
    from nmt.evaluation import evaluate

    beam = beam_size or translator.config.beam_size
    result = evaluate(translator, corpus, beam_size=beam_size, tokenize=tokenize, lowercase=lowercase,
                      verbose=verbose)
    if report is not None:
        report = Path(report)
        scores = report.with_suffix(".json")
    elif run_dir is not None:
        report, scores = evaluation_paths(run_dir, corpus.name, beam)
    else:
        return result, None, None
    result.write_sentences(report)
    write_scores(scores, result, beam_size=beam, tokenize=tokenize, lowercase=lowercase, **extra)
    return result, report, scores


def write_scores(path: str | Path, evaluation, **extra: Any) -> Path:
    """Corpus scores and signatures of an :class:`nmt.evaluation.Evaluation` as JSON."""
    record = {"name": evaluation.name, "sentences": len(evaluation.sentences),
              **evaluation.scores.as_dict(), "signatures": evaluation.scores.signatures, **extra}
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def best_scores(run_dir: str | Path) -> dict[str, tuple[float, int]]:
    """Best value and its 1-based epoch of every validation metric in ``history.csv``.

    Lower is better except for accuracy and BLEU (``val_bleu``). Empty when there is no history.
    """
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return {}
    frame = pd.read_csv(path)
    if frame.empty:
        return {}
    best = {}
    for column in (c for c in frame.columns if c.startswith("val_")):
        values = frame[column]
        if values.isna().all():  # e.g. a column added by a later epoch's settings
            continue
        row = values.idxmax() if higher_is_better(column) else values.idxmin()
        epoch = int(frame.loc[row, "epoch"]) + 1 if "epoch" in frame.columns else int(row) + 1
        best[column] = (float(values[row]), epoch)
    return best
