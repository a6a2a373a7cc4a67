"""train.monitor=val_bleu: greedy sacreBLEU on validation pairs at every epoch end (nmt.training.bleu)."""

from __future__ import annotations

import keras
import model_grid
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from fakes import PAIRS

from nmt.config.base import ConfigError
from nmt.config.model import ModelConfig
from nmt.config.run import load_run_config
from nmt.config.train import TrainConfig, higher_is_better
from nmt.runs import best_scores, open_run, train_run
from nmt.training.bleu import ValidationBleu
from nmt.training.loop import ResumableCheckpoint, RunState, train

QUICK = dict(learning_rate=0.01, schedule="constant", tensorboard=False, early_stopping_patience=None)
#: Pairs of 7 words (BLEU needs 4-grams): two of the tiny pairs joined by "und"/"and".
LONG_PAIRS = [(f"{s1} und {s2}", f"{t1} and {t2}") for (s1, t1), (s2, t2) in zip(PAIRS, PAIRS[1:] + PAIRS[:1])]


class EchoTranslator:
    """Translates by looking the source up in a fixed table ('' for unknown sources)."""

    def __init__(self, table: dict[str, str]):
        self.table = table
        self.calls: list[dict] = []

    def translate(self, texts, **kwargs):
        self.calls.append(kwargs)
        return [self.table.get(text, "") for text in texts]


class WeightsPerEpoch(keras.callbacks.Callback):
    """The model's weights at every epoch end (what ResumableCheckpoint would save as best)."""

    def __init__(self):
        super().__init__()
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([np.array(w) for w in self.model.get_weights()])


# ----------------------------------------------------------------------------- units
def test_validation_bleu_scores_greedy_translations_with_sacrebleu():
    sources, references = [s for s, _ in LONG_PAIRS], [t for _, t in LONG_PAIRS]
    perfect = EchoTranslator(dict(LONG_PAIRS))
    assert ValidationBleu(perfect, sources, references)() == {"val_bleu": pytest.approx(100.0)}
    assert perfect.calls == [{"beam_size": 1, "batch_size": 64}]  # greedy, 64 a batch
    assert ValidationBleu(EchoTranslator({}), sources, references)() == {"val_bleu": 0.0}
    half = EchoTranslator(dict(LONG_PAIRS[:6]))
    assert 0.0 < ValidationBleu(half, sources, references)()["val_bleu"] < 100.0
    cased = EchoTranslator({s: t.upper() for s, t in LONG_PAIRS})  # cased BLEU: upper case is wrong
    assert ValidationBleu(cased, sources, references)()["val_bleu"] == 0.0
    with pytest.raises(ValueError, match="2 sources but 1 references"):
        ValidationBleu(perfect, ["a", "b"], ["a"])


def test_higher_bleu_is_better_everywhere():
    assert higher_is_better("val_bleu") and higher_is_better("val_accuracy") and higher_is_better("accuracy")
    assert not higher_is_better("val_loss") and not higher_is_better("val_perplexity")
    assert ResumableCheckpoint("unused", RunState(), "val_bleu", patience=None, keep=1).higher_is_better


def test_val_bleu_config_checks(tmp_path):
    assert TrainConfig(monitor="val_bleu").bleu_sentences == 200
    with pytest.raises(ConfigError, match="bleu_sentences=0 must be a positive integer"):
        TrainConfig(bleu_sentences=0)
    with pytest.raises(ConfigError, match="set data.valid"):
        load_run_config("smoke", ["train.monitor=val_bleu", "data.valid=null"])
    with pytest.raises(ValueError, match="needs epoch_metrics"):
        train(model_grid.make_model(ModelConfig(**model_grid.TINY)), None, None,
              TrainConfig(monitor="val_bleu", **QUICK), tmp_path, verbose=0)


def test_epoch_metrics_reach_every_callback_before_they_run(tmp_path):
    """Scripted val_bleu 1, 3, 2: history.csv has it, best.keras is epoch 2, and plateau reduces in mode max."""
    model = model_grid.make_model(ModelConfig(cell="gru", attention="bilinear", **model_grid.TINY))
    (source, target_in), target_out = model_grid.tiny_batch()
    data = tf.data.Dataset.from_tensors(((source, target_in), target_out)).repeat(2)
    scores = iter([1.0, 3.0, 2.0])
    seen = WeightsPerEpoch()
    config = TrainConfig(epochs=3, monitor="val_bleu", **{**QUICK, "schedule": "plateau"}, plateau_patience=1,
                         plateau_factor=0.5)
    history = train(model, data, data.take(1), config, tmp_path, verbose=0, callbacks=[seen],
                    epoch_metrics=lambda: {"val_bleu": next(scores)})
    assert history.history["val_bleu"] == [1.0, 3.0, 2.0]
    frame = pd.read_csv(tmp_path / "history.csv")
    assert frame["val_bleu"].tolist() == [1.0, 3.0, 2.0]
    # mode max: only 3 -> 2 is a wait (mode min would have reduced twice, to 0.0025)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)
    state = RunState.read(tmp_path)
    assert (state.best, state.best_epoch, state.wait) == (3.0, 2, 1)
    best = keras.saving.load_model(tmp_path / "best.keras")
    for a, b in zip(best.get_weights(), seen.weights[1]):
        np.testing.assert_array_equal(a, b)
    assert best_scores(tmp_path)["val_bleu"] == (3.0, 2)


# ----------------------------------------------------------------------------- a run
@pytest.mark.slow
def test_a_run_monitoring_val_bleu_keeps_the_epoch_with_the_highest_bleu(tmp_path):
    table = tmp_path / "pairs.tsv"
    table.write_text("".join(f"{s}\t{t}\n" for s, t in LONG_PAIRS), encoding="utf-8")
    config = load_run_config("smoke", [
        "data.dataset=files", f"data.train={table}", f"data.valid={table}", "data.test=null", "data.format=tsv",
        "tokenizer.vocab_size=60", "train.monitor=val_bleu", "train.bleu_sentences=10", "train.epochs=4",
        "train.steps_per_epoch=6", "train.batch_size=12", "train.learning_rate=0.03", "train.label_smoothing=0",
        "model.dropout=0"])
    run = open_run(config, tmp_path / "run", log=None)
    seen = WeightsPerEpoch()
    result = train_run(run, verbose=0, callbacks=[seen], log=None)
    frame = pd.read_csv(tmp_path / "run" / "history.csv")
    bleu = frame["val_bleu"].to_numpy()
    assert len(bleu) == 4 and np.all((bleu >= 0) & (bleu <= 100))
    assert bleu.max() > 0  # the pairs are learnt: greedy translations start to match
    best_epoch = int(np.argmax(bleu)) + 1  # the first of equal maxima, as ResumableCheckpoint keeps it
    state = result.state
    assert state.best == pytest.approx(bleu.max()) and state.best_epoch == best_epoch
    best = keras.saving.load_model(tmp_path / "run" / "best.keras")
    for a, b in zip(best.get_weights(), seen.weights[best_epoch - 1]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(result.translator.model.get_weights(), seen.weights[best_epoch - 1]):
        np.testing.assert_array_equal(a, b)
    scores = best_scores(tmp_path / "run")
    assert scores["val_bleu"] == (pytest.approx(bleu.max()), best_epoch)
    assert scores["val_loss"][0] == pytest.approx(frame["val_loss"].min())  # lower is still better for the loss
