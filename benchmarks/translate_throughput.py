"""Translation throughput: compiled greedy and beam search against eager per-token baselines (issue 4).

For each test set (Multi30k de→en test_2016_flickr, Anki es→en test) this script

1. trains SentencePiece (8k per language) on the training split and the reference
   model (``ModelConfig()``: bidirectional GRU encoder 256, GRU decoder 256, bilinear
   attention) with ``fit`` for a bounded time (``--train-seconds``, default 180), so
   that outputs have realistic lengths (an untrained model decodes to the length
   limit; on 2 shared cores 3 minutes are a few hundred steps, which is not enough
   either: the table reports mean output and reference lengths);
2. saves the Translator and reloads it (as the TensorFlow tutorial's numbers are for
   a saved-and-reloaded translator) and times ``translate`` over the whole test set,
   batch 64, greedy and beam 5 (strings in, strings out: tokenization, sorting,
   search, detokenization);
3. in the same run, on a fixed random subset of the test set, times two eager
   baselines with the same batches and length limits:
   - *naive*: calls the whole model (``model((source, prefix))``) once per output
     token from Python in eager mode, as one would without a decoder step;
   - *eager step*: encodes once, then calls ``decoder.step`` once per token from
     Python in eager mode (the shape of the tutorial's eager ``translate``);
   and the compiled paths on the same subset, for like-for-like ratios.

    NMT_DATA_DIR=../shared/data .venv/bin/python benchmarks/translate_throughput.py

The machine is shared; the load average at the start and end is recorded.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from results import markdown_table, write_section

from nmt.config.decode import DecodeConfig
from nmt.config.model import ModelConfig
from nmt.config.pipeline import PipelineConfig
from nmt.data import load_dataset
from nmt.data.pipeline import make_dataset
from nmt.evaluation import score_corpus
from nmt.models.seq2seq import Seq2Seq
from nmt.search import max_output_lengths
from nmt.tokenizers import TokenizerConfig, train_tokenizers
from nmt.translate.translator import Translator
from nmt.vocab import END_ID, PAD_ID, START_ID

DATASETS = {
    "multi30k": ("multi30k", "de-en", "test_2016_flickr"),
    "anki": ("anki-spa-eng", "es-en", "test"),
}
BATCH = 64
BEAM = 5
#: TF NMT tutorial, Anki spa→en, batch 64: measured once on 2026-11-22 (that session's machine; its CPU was not
#: recorded), not in the run that prints them. benchmarks/peers.py (issue 20) is to measure it in the same run.
TUTORIAL = {"saved greedy": 221.0, "eager translate": 72.0}


class TimeBudget(keras.callbacks.Callback):
    """Stops ``fit`` after ``seconds`` of training and counts the optimizer steps."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.steps, self.loss = seconds, 0, float("nan")

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.loss = float((logs or {}).get("loss", self.loss))
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


@dataclass
class Timing:
    path: str
    sentences: int
    seconds: float
    tokens: int

    @property
    def rate(self) -> float:
        return self.sentences / self.seconds

    @property
    def token_rate(self) -> float:
        return self.tokens / self.seconds


def output_tokens(tokenizer, texts: list[str]) -> int:
    """Target subword tokens of the translations (END excluded), by re-tokenizing them."""
    return int(tokenizer.tokenize(tf.constant(texts, tf.string, shape=[len(texts)])).flat_values.shape[0])


def time_translate(translator, texts, label, beam_size) -> tuple[Timing, list[str]]:
    translator.translate(texts[:BATCH], beam_size=beam_size)  # trace once (not timed)
    start = time.perf_counter()
    result = translator.translate(texts, beam_size=beam_size)
    seconds = time.perf_counter() - start
    return Timing(label, len(texts), seconds, output_tokens(translator.target_tokenizer, result)), result


def batches(translator, texts):
    """The Translator's own batching: source ids sorted by length, 64 per batch, with their order."""
    cut = translator.config.max_input_length - 1
    ragged = translator.source_tokenizer.tokenize(tf.constant(texts, tf.string)).to_list()
    sources = [np.array(ids[:cut] + [END_ID], np.int32) for ids in ragged]
    order = sorted(range(len(texts)), key=lambda i: len(sources[i]))
    for start in range(0, len(order), BATCH):
        rows = order[start:start + BATCH]
        batch = np.zeros((len(rows), max(len(sources[i]) for i in rows)), np.int32)
        for r, i in enumerate(rows):
            batch[r, :len(sources[i])] = sources[i]
        yield rows, batch


def limits(batch, config: DecodeConfig) -> np.ndarray:
    return max_output_lengths(tf.constant(batch != PAD_ID), config.max_length_a, config.max_length_b).numpy()


def naive_greedy(model, batch, limit) -> np.ndarray:
    """Greedy decoding that runs the whole model on the growing prefix for every token (eager)."""
    rows = batch.shape[0]
    prefix = np.full((rows, 1), START_ID, np.int32)
    finished = np.zeros(rows, bool)
    for t in range(int(limit.max()) + 1):
        logits = model((tf.constant(batch), tf.constant(prefix)), training=False)[:, -1].numpy()
        tokens = np.where(t >= limit, END_ID, logits.argmax(-1)).astype(np.int32)
        tokens[finished] = PAD_ID
        finished |= tokens == END_ID
        prefix = np.concatenate([prefix, tokens[:, None]], 1)
        if finished.all():
            break
    return prefix[:, 1:]


def eager_step_greedy(model, batch, limit) -> np.ndarray:
    """Greedy decoding with one eager ``decoder.step`` call per token from Python."""
    state = model.encode(tf.constant(batch))
    tokens = tf.fill([batch.shape[0]], START_ID)
    finished = np.zeros(batch.shape[0], bool)
    out = []
    for t in range(int(limit.max()) + 1):
        logits, state, _ = model.decoder.step(tokens, state)
        ids = np.where(t >= limit, END_ID, tf.argmax(logits, -1, output_type=tf.int32).numpy()).astype(np.int32)
        ids[finished] = PAD_ID
        finished |= ids == END_ID
        out.append(ids)
        tokens = tf.constant(np.where(finished, END_ID, ids).astype(np.int32))
        if finished.all():
            break
    return np.stack(out, 1)


def time_eager(translator, texts, label, decode) -> tuple[Timing, list[str]]:
    model, tokenizer = translator.model, translator.target_tokenizer
    first = next(batches(translator, texts[:8]))[1]
    decode(model, first, limits(first, translator.config))  # warm up (not timed)
    result = [""] * len(texts)
    start = time.perf_counter()
    for rows, batch in batches(translator, texts):
        ids = decode(model, batch, limits(batch, translator.config))
        for i, text in zip(rows, translator.target_tokenizer.detokenize(tf.constant(ids)).numpy()):  # the Translator's own
            result[i] = text.decode("utf-8")
    seconds = time.perf_counter() - start
    return Timing(label, len(texts), seconds, output_tokens(tokenizer, result)), result


def train_reference(corpus, seconds: float):
    src_tok, tgt_tok = train_tokenizers(corpus, TokenizerConfig(kind="sentencepiece", vocab_size=8000))
    model = Seq2Seq(ModelConfig(), src_tok.vocab_size, tgt_tok.vocab_size, seed=0)
    model.compile(keras.optimizers.Adam(1e-3), label_smoothing=0.1, clip_norm=5.0)
    data = make_dataset(corpus, src_tok, tgt_tok, PipelineConfig(batch_size=BATCH, max_length=64))
    budget = TimeBudget(seconds)
    model.fit(data.repeat(), steps_per_epoch=50, epochs=100_000, callbacks=[budget], verbose=0)
    elapsed = time.perf_counter() - budget.start
    return Translator(model, src_tok, tgt_tok, DecodeConfig(beam_size=BEAM, batch_size=BATCH)), budget, elapsed


def run(key: str, args) -> tuple[str, list[str]]:
    name, pair, split = DATASETS[key]
    train, test = load_dataset(name, pair, "train"), load_dataset(name, pair, split)
    print(f"[{key}] training for {args.train_seconds:.0f} s ...", flush=True)
    translator, budget, train_seconds = train_reference(train, args.train_seconds)
    with tempfile.TemporaryDirectory() as scratch:
        translator.save(os.path.join(scratch, "translator"))
        translator = Translator.load(os.path.join(scratch, "translator"))
    texts = list(test.sources)
    subset_ids = sorted(np.random.default_rng(0).choice(len(texts), args.baseline_sentences, replace=False))
    subset = [texts[i] for i in subset_ids]

    print(f"[{key}] compiled paths ...", flush=True)
    greedy, greedy_out = time_translate(translator, texts, "compiled greedy", 1)
    beam, beam_out = time_translate(translator, texts, f"compiled beam {BEAM}", BEAM)
    sub_greedy, sub_greedy_out = time_translate(translator, subset, "compiled greedy", 1)
    sub_beam, _ = time_translate(translator, subset, f"compiled beam {BEAM}", BEAM)
    print(f"[{key}] eager baselines on {len(subset)} sentences ...", flush=True)
    step, step_out = time_eager(translator, subset, "eager decoder.step per token", eager_step_greedy)
    naive, naive_out = time_eager(translator, subset, "naive: whole model per token (eager)", naive_greedy)

    agree = np.mean([a == b for a, b in zip(naive_out, sub_greedy_out)])
    agree_step = np.mean([a == b for a, b in zip(step_out, sub_greedy_out)])
    refs = list(test.targets)
    bleu_greedy = score_corpus(greedy_out, refs).bleu
    bleu_beam = score_corpus(beam_out, refs).bleu
    ref_tokens = output_tokens(translator.target_tokenizer, refs) / len(refs)

    def row(t: Timing, base: Timing | None):
        ratio = f"{t.rate / base.rate:.1f}×" if base else ""
        return [t.path, f"{t.sentences:,}", f"{t.seconds:.2f}", f"{t.rate:,.0f}", f"{t.token_rate:,.0f}", ratio]

    header = ["path", "sentences", "seconds", "sentences/s", "output tokens/s", "vs naive (same sentences)"]
    table = markdown_table(header, [
        row(greedy, None), row(beam, None),
        row(sub_greedy, naive), row(sub_beam, naive), row(step, naive), row(naive, naive),
    ])
    checks = [
        f"compiled greedy / naive = {sub_greedy.rate / naive.rate:.1f}× (target ≥ 10×): "
        f"{'met' if sub_greedy.rate >= 10 * naive.rate else 'NOT met'}",
        f"compiled beam {BEAM} / naive = {sub_beam.rate / naive.rate:.1f}× (target ≥ 2×): "
        f"{'met' if sub_beam.rate >= 2 * naive.rate else 'NOT met'}",
    ]
    if key == "anki":
        checks += [
            f"compiled greedy {greedy.rate:,.0f} sentences/s (target ≥ 660 = 3 × the tutorial's saved greedy "
            f"221): {'met' if greedy.rate >= 660 else 'NOT met'}",
            f"compiled beam {BEAM} {beam.rate:,.0f} sentences/s (target ≥ 221, the tutorial's saved greedy): "
            f"{'met' if beam.rate >= 221 else 'NOT met'}",
        ]
    body = (
        f"### {name} {pair} {split} ({len(texts):,} sentences)\n\n"
        f"Model: `ModelConfig()` (bidirectional GRU 256, GRU 256, bilinear attention, dense bridge), "
        f"SentencePiece {translator.source_tokenizer.vocab_size:,}/{translator.target_tokenizer.vocab_size:,}; "
        f"trained {budget.steps:,} steps of 64 pairs in {train_seconds:.0f} s (Adam 1e-3, label smoothing 0.1, final loss "
        f"{budget.loss:.2f}), saved and reloaded. Limits {translator.config.max_length_a}·s + "
        f"{translator.config.max_length_b}; beam {BEAM} with length penalty {translator.config.length_penalty}. "
        f"Mean output length {greedy.tokens / len(texts):.1f} (greedy) / {beam.tokens / len(texts):.1f} (beam) "
        f"tokens, references {ref_tokens:.1f}. BLEU greedy {bleu_greedy.score:.1f}, beam {bleu_beam.score:.1f} "
        f"(`{score_corpus(greedy_out[:1], refs[:1]).signatures['bleu']}`; {train_seconds / 60:.0f} minutes of training).\n\n"
        f"The first two rows cover the whole test set; the other rows share a random subset of "
        f"{len(subset)} sentences (numpy seed 0), the same batches and length limits. The eager greedy "
        f"outputs equal the compiled greedy output for {agree:.0%} (naive) and {agree_step:.0%} (step) "
        f"of those sentences.\n\n{table}\n\n" + "\n".join(f"- {c}" for c in checks) + "\n"
    )
    return body, checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-seconds", type=float, default=180.0)
    parser.add_argument("--baseline-sentences", type=int, default=256)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    args = parser.parse_args()
    # Seed before any SentencePiece tokenizer exists: tf.random.set_seed clears TensorFlow's kernel
    # cache, which destroys the tokenizers' resources (see the report of issue 4).
    keras.utils.set_random_seed(0)
    load = os.getloadavg()
    sections = [run(key, args)[0] for key in args.datasets]
    end = os.getloadavg()
    body = (
        f"Batch {BATCH}; times are wall-clock for `Translator.translate` on a list of strings (compiled "
        f"paths, one trace per beam size done before timing) or for the eager loops plus tokenization "
        f"and detokenization. Load average (1 min) {load[0]:.1f} at the start, {end[0]:.1f} at the end "
        f"(the machine is shared). TensorFlow's NMT tutorial, measured on 2026-11-22 on another run's machine "
        f"(its CPU was not recorded; not this run, so the ratios to it are indicative only) on Anki "
        f"spa→en: saved-and-reloaded greedy {TUTORIAL['saved greedy']:.0f} sentences/s, eager translate "
        f"{TUTORIAL['eager translate']:.0f} sentences/s (batch 64).\n\n" + "\n".join(sections)
    )
    # The standard run (3 minutes of training per model) owns "translate_throughput"; runs with another
    # training time get their own section, so both can stand side by side.
    default = args.train_seconds == parser.get_default("train_seconds")
    name = "translate_throughput" if default else f"translate_throughput_{args.train_seconds:.0f}s"
    title = "Translation throughput: compiled greedy and beam search"
    if not default:
        title += f" ({args.train_seconds:.0f} s of training)"
    write_section(name, title, body)


if __name__ == "__main__":
    main()
