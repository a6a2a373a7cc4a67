"""Fine-tuning (train.init_from, nmt train --init-from): weights and tokenizers of another run, new data."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from nmt.cli import main
from nmt.config.base import ConfigError
from nmt.config.run import load_run_config
from nmt.config.train import TrainConfig
from nmt.data import load_dataset
from nmt.runs import (
    CONFIG_FILE,
    RunError,
    load_translator,
    make_datasets,
    open_run,
    read_run_config,
    train_run,
    write_run_config,
)
from nmt.training.loop import RunState

TOKENIZER_DIRS = ("source_tokenizer", "target_tokenizer")


class FirstStep(keras.callbacks.Callback):
    """The weights and optimizer step count the loop starts from (before the first step), and its last weights."""

    def on_train_begin(self, logs=None):
        self.weights = [np.array(w) for w in self.model.get_weights()]
        self.iterations = int(self.model.optimizer.iterations)

    def on_train_end(self, logs=None):
        self.last = [np.array(w) for w in self.model.get_weights()]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, data_dir) -> Path:
    """The smoke config trained 1 epoch (multi30k train), the run every fine-tuning here starts from."""
    run_dir = tmp_path_factory.mktemp("finetune") / "base"
    train_run(open_run(load_run_config("smoke"), run_dir, log=None), verbose=0, log=None)
    return run_dir


@pytest.fixture(scope="module")
def new_domain(tmp_path_factory, data_dir) -> list[str]:
    """Overrides of the smoke config for a small other set: 300 + 64 pairs of Multi30k test_2016_flickr as files."""
    folder = tmp_path_factory.mktemp("new_domain")
    corpus = load_dataset("multi30k", "de-en", "test_2016_flickr")
    for name, part in (("train", corpus.select(range(300))), ("valid", corpus.select(range(300, 364)))):
        (folder / f"{name}.de").write_text("".join(f"{s}\n" for s in part.sources), encoding="utf-8")
        (folder / f"{name}.en").write_text("".join(f"{t}\n" for t in part.targets), encoding="utf-8")
    return ["data.dataset=files", f"data.train={folder / 'train'}", f"data.valid={folder / 'valid'}",
            "data.test=null"]


def perplexity(model, val_ds) -> float:
    """Unsmoothed validation perplexity of ``model`` (the loop's ``val_perplexity``)."""
    nll = tokens = 0.0
    for batch in val_ds:
        stats = model.test_statistics(batch)
        nll, tokens = nll + float(stats["nll_sum"]), tokens + float(stats["tokens"])
    return math.exp(nll / tokens)


# ----------------------------------------------------------------------------- fine-tuning
@pytest.mark.slow
def test_fine_tuning_starts_from_the_base_run_and_improves_on_the_new_data(base_run, new_domain, tmp_path):
    config = load_run_config("smoke", [*new_domain, f"train.init_from={base_run}"])
    run = open_run(config, tmp_path / "tuned", log=None)
    for name in TOKENIZER_DIRS:  # the base run's tokenizers, byte for byte, not new ones
        files = sorted(p.name for p in (base_run / name).iterdir())
        assert files == sorted(p.name for p in (tmp_path / "tuned" / name).iterdir())
        for file in files:
            assert (base_run / name / file).read_bytes() == (tmp_path / "tuned" / name / file).read_bytes()
    base = load_translator(base_run)
    _, val_ds = make_datasets(run)
    before = perplexity(base.model, val_ds)

    first = FirstStep()
    result = train_run(run, verbose=0, callbacks=[first], log=None)
    assert first.iterations == 0  # a fresh optimizer
    for a, b in zip(first.weights, base.model.get_weights()):  # the base run's best weights
        np.testing.assert_array_equal(a, b)
    after = perplexity(result.translator.model, val_ds)
    assert after < before
    assert result.state.best < math.log(before)  # best val_loss (smoothed) below the base's unsmoothed one
    assert read_run_config(tmp_path / "tuned").train.init_from == str(base_run)

    # Continuing the fine-tuned run restores its own checkpoint: the base run is not read again.
    moved = base_run.with_name("base-moved")
    base_run.rename(moved)
    try:
        config = load_run_config(tmp_path / "tuned" / CONFIG_FILE, ["train.epochs=2"], stored=True)
        again = open_run(config, tmp_path / "tuned", log=None)
        assert again.status == "continue" and again.init_from is None
        resumed = FirstStep()
        train_run(again, verbose=0, callbacks=[resumed], log=None)
        assert resumed.iterations == 10 and RunState.read(tmp_path / "tuned").step == 20  # 10 steps an epoch
        for a, b in zip(resumed.weights, first.last):  # its own epoch-1 checkpoint
            np.testing.assert_array_equal(a, b)
    finally:
        moved.rename(base_run)


def test_init_from_is_an_absolute_path_and_nmt_train_sets_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert load_run_config("smoke", ["train.init_from=runs/base"]).train.init_from == str(tmp_path / "runs" / "base")
    with pytest.raises(ConfigError, match="init_from='' must be a run directory or null"):
        TrainConfig(init_from=" ")
    odd = tmp_path / "odd: dir #1"  # survives the YAML of --set
    assert main(["train", "--config", "smoke", "--run-dir", "new", "--init-from", str(odd)]) == 2
    assert f"nmt: error: train.init_from={odd}: no such run directory" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


# ----------------------------------------------------------------------------- errors
@pytest.fixture
def source_run(tmp_path) -> Path:
    """What check_source looks at of a trained smoke run (config.yaml, tokenizer folders, best.keras), untrained."""
    source = tmp_path / "source"
    write_run_config(source, load_run_config("smoke"))
    for name in TOKENIZER_DIRS:
        (source / name).mkdir()
        (source / name / "tokenizer.json").write_text("{}")
    (source / "best.keras").write_bytes(b"")
    return source


def test_init_from_must_be_a_trained_run(source_run, tmp_path):
    def check(source, message, error=RunError):
        config = load_run_config("smoke", [f"train.init_from={source}"])
        with pytest.raises(error, match=message) as caught:
            open_run(config, tmp_path / "run", log=None)
        assert "\n" not in str(caught.value)
        assert not (tmp_path / "run").exists()  # checked before the run directory is touched

    check(tmp_path / "missing", "no such run directory")
    (tmp_path / "empty").mkdir()
    check(tmp_path / "empty", r"is not a run directory \(no config.yaml\)")
    write_run_config(tmp_path / "empty", load_run_config("smoke"))
    check(tmp_path / "empty", r"has no tokenizers \(source_tokenizer/, target_tokenizer/ missing\)")
    (source_run / "best.keras").unlink()
    check(source_run, r"has no trained weights \(neither translator/ nor best.keras\)")
    config = load_run_config("smoke", [f"train.init_from={tmp_path / 'run'}"])
    (tmp_path / "run").mkdir()
    with pytest.raises(RunError, match="is the run directory itself"):
        open_run(config, tmp_path / "run", log=None)


def test_the_weights_of_a_finished_run_are_its_translator_else_best_keras(source_run):
    from nmt.runs.finetune import weights_file

    assert weights_file(source_run) == source_run / "best.keras"  # unfinished: the best so far
    (source_run / "translator").mkdir()
    for name in ("translator.json", "model.keras"):
        (source_run / "translator" / name).write_text("")
    assert weights_file(source_run) == source_run / "translator" / "model.keras"


@pytest.mark.parametrize(("overrides", "message"), [
    (["model.units=32", "model.cell=lstm"],
     r"the model section must equal the source run's \(fine-tuning keeps the source run's architecture\); "
     r"it differs in model.cell: source run 'gru', this run 'lstm'; model.units: source run 16, this run 32"),
    (["tokenizer.vocab_size=400"],
     r"the tokenizer section must equal the source run's \(the source run's tokenizers are reused, not trained.*"
     r"tokenizer.vocab_size: source run 300, this run 400"),
    (["data.pair=en-de"], "the source run translates de-en, this run's data is en-de"),
])
def test_init_from_needs_the_same_architecture_tokenizers_and_languages(source_run, tmp_path, overrides, message):
    config = load_run_config("smoke", [*overrides, f"train.init_from={source_run}"])
    with pytest.raises(ConfigError, match=message):
        open_run(config, tmp_path / "run", log=None)
    assert not (tmp_path / "run").exists()


def test_cli_errors_are_one_line(source_run, tmp_path, capsys):
    code = main(["train", "--config", "smoke", "--set", "model.units=32", "--run-dir", str(tmp_path / "run"),
                 "--init-from", str(source_run)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("nmt: error: train.init_from=") and err.count("\n") == 1
    assert "model.units: source run 16, this run 32" in err
