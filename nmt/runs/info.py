"""What ``nmt info`` shows about a run directory: its configuration, state, model and scores."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from nmt.config.run import RunConfig
from nmt.models.cells import cudnn_report
from nmt.runs.average import average_record
from nmt.runs.data import TOKENIZER_SAMPLE, load_tokenizers
from nmt.runs.layout import (
    CONFIG_FILE,
    EVAL_DIR,
    SOURCE_TOKENIZER,
    TARGET_TOKENIZER,
    TRANSLATOR_DIR,
    RunError,
    read_run_config,
)
from nmt.runs.model import build_model
from nmt.runs.results import best_scores
from nmt.training.loop import RunState
from nmt.translate.translator import SETTINGS_FILE


@dataclasses.dataclass
class RunInfo:
    """What ``nmt info`` shows about a run directory."""

    run_dir: Path
    config: RunConfig
    vocab_sizes: tuple[int, int] | None
    parameters: int | None
    state: RunState | None
    finished: bool
    best: dict[str, tuple[float, int]]
    evaluations: list[dict[str, Any]]
    cudnn: list[tuple[str, list[str]]] = dataclasses.field(default_factory=list)
    average: dict[str, Any] | None = None
    """What ``translator/average.json`` records when the translator is a checkpoint average
    (:mod:`nmt.runs.average`); ``None`` when it is the best checkpoint."""
    tokenizer_sample: dict[str, Any] | None = None
    """What ``tokenizer_sample.json`` records for a streamed corpus (:func:`nmt.runs.data.sample_stream`)."""

    @property
    def data_reading(self) -> str:
        """How the training pairs are read, in one line: in memory, or streamed and the tokenizers' sample."""
        data, tokenizer = self.config.data, self.config.tokenizer
        if not data.streaming:
            return "training pairs read into memory"
        line = f"training pairs streamed from disk in blocks of {self.config.pipeline.shuffle_buffer:,} lines"
        sample = self.tokenizer_sample
        if sample is not None:
            return (f"{line}; tokenizers trained on a uniform sample of {sample['drawn']:,} of {sample['lines']:,} "
                    f"pairs ({sample['kept']:,} after cleaning; seed {sample['seed']})")
        size = "every pair" if tokenizer.max_train_sentences is None else f"{tokenizer.max_train_sentences:,}"
        return f"{line}; tokenizers train on a uniform sample of {size} (not drawn yet)"

    @property
    def distribution(self) -> str:
        """Strategy, replicas, global and per-replica batch and precision, in one line."""
        train = self.config.train
        replicas = self.state.replicas if self.state is not None else None
        if replicas is None:
            replicas_text = "replicas: not recorded yet"
        else:
            replicas_text = f"{replicas} replica(s), {train.batch_size // replicas} pairs per replica"
        return (f"distribute {train.distribute} ({replicas_text}); global batch {train.batch_size}; "
                f"precision {train.precision}")


def run_info(run_dir: str | Path) -> RunInfo:
    """Configuration, vocabulary sizes, parameter count, progress, best validation and test scores of a run.

    Raises:
        RunError: ``run_dir`` is not a run directory.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such directory")
    config = read_run_config(run_dir)
    if config is None:
        raise RunError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    vocab_sizes = parameters = None
    cudnn = []
    if (run_dir / SOURCE_TOKENIZER).is_dir() and (run_dir / TARGET_TOKENIZER).is_dir():
        source, target = load_tokenizers(run_dir)
        vocab_sizes = (source.vocab_size, target.vocab_size)
        model = build_model(config, *vocab_sizes)
        parameters = model.count_params()
        cudnn = cudnn_report(model)
    evaluations = []
    for path in sorted((run_dir / EVAL_DIR).glob("*.json")):
        try:
            evaluations.append({"file": path.name, **json.loads(path.read_text(encoding="utf-8"))})
        except (OSError, ValueError):
            continue
    return RunInfo(run_dir, config, vocab_sizes, parameters, RunState.read(run_dir),
                   (run_dir / TRANSLATOR_DIR / SETTINGS_FILE).is_file(), best_scores(run_dir), evaluations, cudnn,
                   average_record(run_dir / TRANSLATOR_DIR), _read_json(run_dir / TOKENIZER_SAMPLE))


def _read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable (``nmt info`` shows what it can)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
