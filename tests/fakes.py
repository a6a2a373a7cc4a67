"""Shared test doubles: a scripted fake model and the tiny-translator builder.

:func:`train_tiny` builds (and, with ``steps``, trains full-batch) a small
translator on a handful of pairs; ``conftest.py`` turns it into the session-scoped
``tiny_translator`` fixture, trained once per worker. :class:`FakeModel` is a
model without weights whose decoder emits UNK (attending to source position 1),
then END, for unknown-word replacement.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.models.seq2seq import Seq2Seq
from nmt.tokenizers import TokenizerConfig, tokenizer_class
from nmt.translate.translator import Translator
from nmt.vocab import END_ID, START_ID

#: German-English pairs of the shared tiny translator.
PAIRS = [
    ("ein hund rennt", "a dog runs"), ("eine katze schläft", "a cat sleeps"),
    ("zwei hunde spielen", "two dogs play"), ("der mann liest", "the man reads"),
    ("die frau singt", "the woman sings"), ("ein kind lacht", "a child laughs"),
    ("der hund schläft", "the dog sleeps"), ("die katze rennt", "the cat runs"),
    ("zwei kinder spielen", "two children play"), ("ein mann singt", "a man sings"),
    ("die frau liest", "the woman reads"), ("der mann lacht", "the man laughs"),
]
#: The shared tiny translator's decode settings.
TINY_DECODE = DecodeConfig(beam_size=3, max_length_a=1.0, max_length_b=5, max_input_length=12)


def train_tiny(pairs=PAIRS, kind: str = "sentencepiece", vocab_size: int | tuple[int, int] = 60, steps: int = 60,
               model_config: ModelConfig | None = None, config: DecodeConfig | None = None, *, seed: int = 5,
               names: tuple[str | None, str | None] = (None, None)) -> Translator:
    """A tiny translator trained ``steps`` full-batch steps on ``pairs`` (0: untrained, only built).

    Args:
        pairs: ``(source, target)`` sentences; the tokenizers are trained on them too.
        kind: the tokenizer kind of both sides.
        vocab_size: both sides' vocabulary size, or ``(source, target)``.
        steps: Adam (learning rate 0.03) steps on the whole set as one batch.
        model_config: default GRU 24 units, embeddings 16, dot attention.
        config: the decode settings (default :data:`TINY_DECODE`).
        seed: seeds Keras (Python, NumPy, TensorFlow) and the model's initializers.
        names: the source and target tokenizers' names (``None``: Keras' default).
    """
    keras.utils.set_random_seed(seed)
    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    sizes = (vocab_size, vocab_size) if isinstance(vocab_size, int) else vocab_size
    tokenizers = [tokenizer_class(kind).train(texts, TokenizerConfig(kind=kind, vocab_size=size), name=name)
                  for texts, size, name in zip((sources, targets), sizes, names)]
    model_config = model_config or ModelConfig(units=24, embedding_dim=16, attention="dot")
    model = Seq2Seq(model_config, tokenizers[0].vocab_size, tokenizers[1].vocab_size, seed=seed)
    if steps:
        src = [ids + [END_ID] for ids in tokenizers[0].tokenize(sources).to_list()]
        tgt = [ids + [END_ID] for ids in tokenizers[1].tokenize(targets).to_list()]
        width_s, width_t = max(map(len, src)), max(map(len, tgt))
        source = np.array([ids + [0] * (width_s - len(ids)) for ids in src], np.int32)
        target_out = np.array([ids + [0] * (width_t - len(ids)) for ids in tgt], np.int32)
        target_in = np.concatenate([np.full((len(tgt), 1), START_ID, np.int32), target_out[:, :-1]], axis=1)
        target_in[target_in == END_ID] = 0
        model.compile(keras.optimizers.Adam(0.03))
        batch = tf.data.Dataset.from_tensors(((source, target_in), target_out)).repeat()
        model.fit(batch, steps_per_epoch=steps, epochs=1, verbose=0)
    else:
        model.build()
    return Translator(model, tokenizers[0], tokenizers[1], config or TINY_DECODE)


class UnknownThenEnd:
    """A fake decoder: emits UNK (id 1) attending to source position 1, then END (id 3); vocabulary 8."""

    def step(self, token_ids, state, training=False):
        t = state["t"]
        logits = tf.one_hot(tf.where(t == 0, 1, 3), 8) * 10.0
        weights = tf.one_hot(tf.fill(tf.shape(t), 1), tf.shape(state["memory_mask"])[1])
        return logits, dict(state, t=t + 1), weights


class FakeModel:
    """A model without weights (exportable: ``variables`` is empty) around :class:`UnknownThenEnd`."""

    source_vocab_size = None
    target_vocab_size = None
    variables = ()
    decoder = UnknownThenEnd()

    def encode(self, source_ids, source_mask=None, training=False):
        return {"t": tf.zeros([tf.shape(source_ids)[0]], tf.int32), "memory_mask": source_mask}


# ----------------------------------------------------------------------------- the CLI in-process
def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """``nmt ARGV`` through :func:`nmt.cli.main` in this process: (exit status, stdout, stderr)."""
    from nmt.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, *fragments: str) -> None:
    """Exit status 2 and exactly one ``nmt: error:`` line holding every fragment."""
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("nmt: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
