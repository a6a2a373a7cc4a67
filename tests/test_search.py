"""Greedy and beam search: scripted step functions with known answers, and invariants on tiny models."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt.config.model import ModelConfig
from nmt.models.seq2seq import Seq2Seq
from nmt.search import (
    beam_search,
    compiled_search,
    coverage_penalty,
    greedy_search,
    length_penalty,
    max_output_lengths,
    search,
    top_k_rows,
)
from nmt.search import common as search_common
from nmt.tokenizers import CharTokenizer, TokenizerConfig
from nmt.translate.unknown import replace_unknown

END, A, B = 3, 4, 5
NEG = -np.inf  # the logit of an impossible token


# ---------------------------------------------------------------------- scripted steps
class Scripted:
    """A step function from tables: logits ``[steps, V(prev), V]`` and weights ``[steps, V(prev), S]``.

    The state carries the step number per row and a constant ``memory`` (returned
    unchanged, as the encoder memory is). Step numbers past the table reuse its last row.
    """

    def __init__(self, logits, weights=None, src_len: int = 3):
        self.logits = tf.constant(logits, tf.float32)
        steps, vocab, _ = self.logits.shape
        if weights is None:
            weights = np.full((steps, vocab, src_len), 1.0 / src_len, np.float32)
        self.weights = tf.constant(weights, tf.float32)
        self.src_len = self.weights.shape[-1]
        self.calls = 0

    def state(self, batch: int):
        return {"t": tf.zeros([batch], tf.int32), "memory": tf.zeros([batch, self.src_len])}

    def __call__(self, token_ids, state):
        self.calls += 1
        t = tf.minimum(state["t"], self.logits.shape[0] - 1)
        index = tf.stack([t, token_ids], axis=1)
        new_state = dict(state, t=state["t"] + 1)
        return tf.gather_nd(self.logits, index), new_state, tf.gather_nd(self.weights, index)


def markov(table: dict[int, dict[int, float]], vocab: int = 6, steps: int = 1) -> np.ndarray:
    """Logits ``[steps, V, V]`` from ``{prev: {next: probability}}``.

    Unlisted tokens are impossible; after an unlisted previous token only END is possible.
    """
    logits = np.full((vocab, vocab), NEG, np.float32)
    logits[:, END] = 0.0
    for prev, row in table.items():
        logits[prev, END] = NEG
        for token, p in row.items():
            logits[prev, token] = math.log(p)
    return np.repeat(logits[np.newaxis], steps, axis=0)


def run_greedy(script: Scripted, max_lengths):
    max_lengths = tf.constant(max_lengths, tf.int32)
    return greedy_search(script, script.state(len(max_lengths)), max_lengths)


def run_beam(script: Scripted, max_lengths, beam_size, alpha=0.0, beta=0.0, n_best=None):
    max_lengths = tf.constant(max_lengths, tf.int32)
    mask = tf.ones([len(max_lengths), script.src_len], tf.bool)
    return beam_search(script, script.state(len(max_lengths)), max_lengths, mask, beam_size=beam_size,
                       length_penalty=alpha, coverage_penalty=beta, n_best=n_best)


def tokens(ids_row) -> list[int]:
    """Ids up to and including END."""
    ids = list(np.asarray(ids_row))
    return ids[: ids.index(END) + 1] if END in ids else ids


# Greedy takes A (0.5) then END (0.4): P = 0.20. B (0.4) then END (0.95) is better: P = 0.38.
TRAP = {2: {A: 0.5, B: 0.4, END: 0.1}, A: {A: 0.3, B: 0.3, END: 0.4}, B: {END: 0.95, A: 0.05}}


def test_greedy_follows_the_argmax_and_pads_after_end():
    out = run_greedy(Scripted(markov(TRAP)), [10, 10])
    assert out.ids.shape[:2] == (2, 1)
    for row in out.ids.numpy()[:, 0]:
        assert list(row) == [A, END]
    np.testing.assert_allclose(out.log_probs.numpy()[:, 0], math.log(0.5 * 0.4), rtol=1e-5)
    assert out.lengths.numpy().tolist() == [[2], [2]]


def test_beam_search_finds_the_sequence_greedy_misses():
    out = run_beam(Scripted(markov(TRAP)), [10], beam_size=2, n_best=2)
    assert tokens(out.ids[0, 0]) == [B, END]
    assert tokens(out.ids[0, 1]) == [A, END]
    np.testing.assert_allclose(out.log_probs.numpy()[0], [math.log(0.38), math.log(0.2)], rtol=1e-5)


def test_an_end_outside_the_top_beam_candidates_is_not_finished():
    # END (0.1) is 3rd of the 4 candidates at the first step: beam 2 must not return [END].
    out = run_beam(Scripted(markov(TRAP)), [10], beam_size=2, n_best=2)
    assert all(len(tokens(row)) > 1 for row in out.ids.numpy()[0])


def test_beam_search_does_not_stop_while_an_alive_hypothesis_beats_the_pool():
    # Step 0: [END] finishes (0.45) next to A (0.5). Step 1: B's END (0.045) finishes too, so
    # K = 2 hypotheses have finished, but A, A (0.495) is alive and ends next with 0.49 > 0.45.
    # fairseq's rule (stop once K have finished) returned [END]; greedy returns A, A, END.
    steps = [
        markov({2: {A: 0.5, END: 0.45, B: 0.05}}),
        markov({A: {A: 0.99, END: 0.01}, B: {END: 0.9, A: 0.1}}),
        markov({A: {END: 0.99, A: 0.01}}),
    ]
    script = Scripted(np.concatenate(steps))
    out = run_beam(script, [10], beam_size=2, n_best=2)
    assert [tokens(row) for row in out.ids.numpy()[0]] == [[A, A, END], [END]]
    np.testing.assert_allclose(out.log_probs.numpy()[0], [math.log(0.5 * 0.99 * 0.99), math.log(0.45)], rtol=1e-5)
    assert tokens(run_greedy(Scripted(np.concatenate(steps)), [10]).ids[0, 0]) == [A, A, END]


def test_beam_search_stops_once_no_alive_hypothesis_can_beat_the_pool():
    # After step 1 the pool holds [END] (0.6) and [A, END] (0.1) while B, B (0.12) is alive: go on.
    # After step 2 the best alive hypothesis, B, B, B (0.072), is below the pool's worst (0.1) and
    # with alpha = 0 can only fall: stop there. B -> B stays the best candidate at every step, so
    # without this bound the search would run to the length limit (50).
    loop = {2: {END: 0.6, A: 0.2, B: 0.2}, A: {END: 0.5, A: 0.5}, B: {END: 0.4, B: 0.6}}
    script = Scripted(markov(loop))
    out = run_beam(script, [50], beam_size=2, n_best=2)
    assert [tokens(row) for row in out.ids.numpy()[0]] == [[END], [A, END]]
    assert script.calls <= 3  # not 50 steps until the length limit


def test_search_forces_end_at_each_sentences_own_limit():
    # END is never among the 2 best candidates, so it only comes when forced.
    loop = {prev: {A: 0.5, B: 0.49, END: 0.01} for prev in (2, A, B)}
    for out in (run_greedy(Scripted(markov(loop)), [3, 0, 5]), run_beam(Scripted(markov(loop)), [3, 0, 5], 2)):
        rows = out.ids.numpy()[:, 0]
        assert [tokens(r) for r in rows] == [[A] * 3 + [END], [END], [A] * 5 + [END]]
        assert out.lengths.numpy()[:, 0].tolist() == [4, 1, 6]
        assert (rows[1, 1:] == 0).all() and (rows[0, 4:] == 0).all()


def test_beam_search_stops_when_every_sentence_is_done():
    script = Scripted(markov({2: {END: 0.6, A: 0.4}, A: {END: 0.7, A: 0.3}}))
    out = run_beam(script, [50], beam_size=2, n_best=2)
    assert [tokens(r) for r in out.ids.numpy()[0]] == [[END], [A, END]]
    assert out.ids.shape[-1] == 2  # two steps, not 51


def test_length_and_coverage_penalties_match_gnmt():
    np.testing.assert_allclose(length_penalty(tf.constant([1, 7]), 0.6).numpy(), [1.0, 2.0**0.6], rtol=1e-6)
    np.testing.assert_allclose(length_penalty(tf.constant([9]), 0.0).numpy(), [1.0])
    coverage = tf.constant([[0.5, 2.0, 0.25, 0.0]])
    mask = tf.constant([[True, True, True, False]])
    expected = 0.2 * (math.log(0.5) + 0.0 + math.log(0.25))
    np.testing.assert_allclose(coverage_penalty(coverage, mask, 0.2).numpy(), [expected], rtol=1e-6)
    assert coverage_penalty(tf.zeros([1, 2]), tf.constant([[True, True]]), 0.1).numpy()[0] > -10


@pytest.mark.parametrize("columns", [5, 1024, 1100, 8000])
def test_top_k_rows_equals_tf_top_k(columns):
    rng = np.random.default_rng(columns)
    values = rng.normal(size=(7, columns)).astype(np.float32)
    values[0, :] = -np.inf  # a row with nothing possible
    values[1, : columns // 2] = -np.inf
    values = tf.constant(values)
    for k in (1, 10, 32):
        expected = tf.math.top_k(values, min(k, columns))
        got = top_k_rows(values, k)
        np.testing.assert_array_equal(got[0].numpy(), expected.values.numpy())
        finite = np.isfinite(expected.values.numpy())
        np.testing.assert_array_equal(got[1].numpy()[finite], expected.indices.numpy()[finite])
        assert (got[1].numpy() >= 0).all() and (got[1].numpy() < columns).all()


def test_beam_search_over_a_large_vocabulary_is_unchanged_by_the_blocked_top_k(monkeypatch):
    rng = np.random.default_rng(9)
    logits = rng.normal(0, 3, (6, 1500, 1500)).astype(np.float32)
    blocked = run_beam(Scripted(logits), [5, 2, 4], beam_size=4, alpha=0.6, n_best=4)
    monkeypatch.setattr(search_common, "BLOCKED_TOP_K_MIN_COLUMNS", 10**9)
    plain = run_beam(Scripted(logits), [5, 2, 4], beam_size=4, alpha=0.6, n_best=4)
    np.testing.assert_array_equal(blocked.ids.numpy(), plain.ids.numpy())
    np.testing.assert_allclose(blocked.scores.numpy(), plain.scores.numpy(), rtol=1e-6)


def test_max_output_lengths_is_a_times_source_length_plus_b():
    mask = tf.constant([[True, True, True, False], [True, False, False, False]])
    assert max_output_lengths(mask, 1.5, 2).numpy().tolist() == [6, 3]
    assert max_output_lengths(mask, 0.0, 7).numpy().tolist() == [7, 7]


# ---------------------------------------------------------------------- brute force
def brute_force(logits, weights, limit, alpha, beta):
    """Every sequence over {A, B} then END (END forced after ``limit`` tokens), GNMT-scored."""
    log_probs = tf.nn.log_softmax(logits).numpy()
    best = None
    for n in range(limit + 1):
        for body in itertools.product((A, B), repeat=n):
            sequence, prev, total, cover = (*body, END), 2, 0.0, 0.0
            for t, token in enumerate(sequence):
                step = min(t, len(log_probs) - 1)
                total += log_probs[step, prev, token]
                cover = cover + weights[step, prev]
                prev = token
            score = total / ((5 + len(sequence)) / 6) ** alpha
            score += beta * np.sum(np.log(np.clip(cover, 1e-10, 1.0)))
            if best is None or score > best[0]:
                best = (score, total, list(sequence))
    return best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), alpha=st.sampled_from([0.0, 0.6, 1.5]),
       beta=st.sampled_from([0.0, 0.4]), limit=st.integers(0, 3))
def test_an_unpruned_beam_returns_the_brute_force_optimum(seed, alpha, beta, limit):
    rng = np.random.default_rng(seed)
    steps, vocab, src_len = limit + 1, 6, 3
    logits = rng.normal(0, 2, (steps, vocab, vocab)).astype(np.float32)
    logits[:, :, :3] = NEG  # only A, B and END are possible
    weights = rng.dirichlet(np.ones(src_len), (steps, vocab)).astype(np.float32)
    score, log_prob, sequence = brute_force(logits, weights, limit, alpha, beta)
    # 16 hypotheses hold every prefix of <= 3 tokens: nothing is pruned.
    out = run_beam(Scripted(logits, weights), [limit], beam_size=16, alpha=alpha, beta=beta, n_best=1)
    assert tokens(out.ids[0, 0]) == sequence
    np.testing.assert_allclose(out.scores.numpy()[0, 0], score, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.log_probs.numpy()[0, 0], log_prob, rtol=1e-4, atol=1e-5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), alpha=st.sampled_from([0.0, 1.0]))
def test_beam_size_one_equals_greedy_on_scripted_steps(seed, alpha):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (6, 7, 7)).astype(np.float32)
    limits = rng.integers(0, 7, size=3).tolist()
    greedy = run_greedy(Scripted(logits), limits)
    beam = run_beam(Scripted(logits), limits, beam_size=1, alpha=alpha)
    for g, b in zip(greedy.ids.numpy()[:, 0], beam.ids.numpy()[:, 0]):
        assert tokens(g) == tokens(b)
    np.testing.assert_allclose(greedy.log_probs.numpy(), beam.log_probs.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(greedy.lengths.numpy(), beam.lengths.numpy())


def test_n_best_lists_are_sorted_and_distinct():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 1, (5, 6, 6)).astype(np.float32)
    logits[:, :, :3] = NEG
    out = run_beam(Scripted(logits), [4, 2], beam_size=4, alpha=0.6)
    scores = out.scores.numpy()
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    for sentence in out.ids.numpy():
        assert len({tuple(tokens(row)) for row in sentence}) == 4


# ---------------------------------------------------------------------- tiny real models
@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(7)
    net = Seq2Seq(ModelConfig(units=16, embedding_dim=8, attention="bilinear"), 23, 19, seed=7)
    net.build()
    return net


def sources(rng, batch, vocab=23, longest=7):
    """Random 0-padded sources ending with END, of lengths 2..longest."""
    lengths = rng.integers(2, longest + 1, size=batch)
    ids = np.zeros((batch, int(lengths.max())), np.int32)
    for row, length in enumerate(lengths):
        ids[row, : length - 1] = rng.integers(4, vocab, size=length - 1)
        ids[row, length - 1] = END
    return ids


@pytest.mark.parametrize("beam_size", [1, 3])
def test_a_sentence_alone_equals_the_same_sentence_in_a_batch(model, beam_size):
    batch = sources(np.random.default_rng(0), 6)
    together = search(model, batch, beam_size=beam_size, length_penalty=0.6, max_length_b=5)
    for row in range(len(batch)):
        alone_source = batch[row : row + 1, : int((batch[row] != 0).sum())]
        alone = search(model, alone_source, beam_size=beam_size, length_penalty=0.6, max_length_b=5)
        assert tokens(alone.ids[0, 0]) == tokens(together.ids[row, 0])
        np.testing.assert_allclose(alone.scores.numpy()[0], together.scores.numpy()[row], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("beam_size", [1, 2])
def test_source_padding_never_changes_the_output(model, beam_size):
    batch = sources(np.random.default_rng(1), 4)
    plain = search(model, batch, beam_size=beam_size, max_length_b=4)
    padded = np.pad(batch, [[0, 0], [0, 5]])
    more = search(model, padded, beam_size=beam_size, max_length_b=4)
    # Garbage ids where the explicit mask says padding are never read either.
    garbage = np.where(padded == 0, 17, padded).astype(np.int32)
    masked = search(model, garbage, beam_size=beam_size, max_length_b=4, source_mask=padded != 0)
    for other in (more, masked):
        assert tokens_all(plain) == tokens_all(other)
        np.testing.assert_allclose(plain.scores.numpy(), other.scores.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(plain.attention.numpy(), other.attention.numpy()[:, :, : batch.shape[1]],
                                   atol=1e-5)
        assert np.all(other.attention.numpy()[:, :, batch.shape[1]:] == 0)


def tokens_all(out) -> list[list[int]]:
    return [tokens(row) for row in out.ids.numpy()[:, 0]]


def test_beam_size_one_equals_greedy_on_a_model(model):
    batch = sources(np.random.default_rng(2), 8)
    mask = tf.not_equal(batch, 0)
    limits = max_output_lengths(mask, 1.5, 10)

    def step(ids, state):
        return model.decoder.step(ids, state)

    greedy = greedy_search(step, model.encode(batch), limits)
    beam = beam_search(step, model.encode(batch), limits, mask, beam_size=1, length_penalty=0.6)
    assert tokens_all(greedy) == tokens_all(beam)
    np.testing.assert_allclose(greedy.log_probs.numpy(), beam.log_probs.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(greedy.attention.numpy(), beam.attention.numpy(), atol=1e-6)


@pytest.fixture(scope="module")
def trained():
    """A tiny model trained for a few seconds to copy its source reversed (peaked distributions)."""
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(11)
    net = Seq2Seq(ModelConfig(units=16, embedding_dim=16), 12, 12, seed=11)
    src = sources(rng, 512, vocab=12, longest=6)
    lengths = (src != 0).sum(1)
    tgt_out = np.zeros_like(src)
    for row, n in enumerate(lengths):
        tgt_out[row, : n - 1] = src[row, : n - 1][::-1]
        tgt_out[row, n - 1] = END
    tgt_in = np.concatenate([np.full((len(src), 1), 2, np.int32), tgt_out[:, :-1]], 1)
    tgt_in[tgt_in == END] = 0
    net.compile(keras.optimizers.Adam(0.02))
    net.fit((src, tgt_in), tgt_out, batch_size=64, epochs=12, verbose=0)
    return net


def test_no_beam_beats_an_unpruned_beam_on_a_trained_model(trained):
    # A larger beam can score *lower* than a smaller one (it may prune the path the smaller
    # beam kept), so the theorem to test is against the optimum: with at most 2 tokens before
    # END and 12 ids, 144 hypotheses hold every prefix, nothing is pruned, and that search
    # returns the highest model score there is (alpha = 0: the ranking score is the model score).
    batch = sources(np.random.default_rng(5), 16, vocab=12, longest=6)
    limits = dict(length_penalty=0.0, max_length_a=0.0, max_length_b=2)
    optimum = search(trained, batch, beam_size=144, **limits).log_probs.numpy()[:, 0]
    for beam_size in (1, 2, 4, 8):
        best = search(trained, batch, beam_size=beam_size, **limits).log_probs.numpy()[:, 0]
        assert (best <= optimum + 1e-4).all(), (beam_size, best - optimum)
    # The beams that are pruned here do find the optimum for most sentences.
    assert np.isclose(best, optimum, atol=1e-4).mean() >= 0.75


def test_the_trained_copy_model_reverses_its_input(trained):
    # Sanity check that the fixture learned something: most outputs are the exact reversal.
    batch = sources(np.random.default_rng(6), 32, vocab=12, longest=6)
    out = search(trained, batch, beam_size=3)
    right = sum(tokens(out.ids[row, 0])[:-1] == list(batch[row][batch[row] > 3][::-1]) for row in range(32))
    assert right >= 24


def test_compiled_search_traces_once_for_any_batch_or_length(model):
    rng = np.random.default_rng(4)
    for beam_size in (1, 3):
        fn = compiled_search(model, beam_size=beam_size)
        for batch, longest in ((1, 2), (5, 7), (3, 4), (8, 3)):
            src = sources(rng, batch, longest=longest)
            out = fn(tf.constant(src), tf.constant(0.6), tf.constant(0.1), tf.constant(1.0), tf.constant(3))
            assert out.ids.shape[0] == batch and out.attention.shape[2] == src.shape[1]
        assert fn.experimental_get_tracing_count() == 1


def test_compiled_and_eager_search_agree(model):
    batch = sources(np.random.default_rng(8), 5)
    eager = search(model, batch, beam_size=3, length_penalty=0.6, coverage_penalty=0.2, n_best=2)
    compiled = compiled_search(model, 3, n_best=2)(batch, 0.6, 0.2, 1.5, 10)
    np.testing.assert_array_equal(eager.ids.numpy(), compiled.ids.numpy())
    np.testing.assert_allclose(eager.scores.numpy(), compiled.scores.numpy(), rtol=1e-5, atol=1e-5)


def test_a_tensor_beam_size_chooses_the_search_in_the_graph(model):
    # One graph for every beam size: beam 1 is greedy search (scores are log-probs, no length
    # penalty), more is beam search; both equal the search traced for that Python int.
    batch = sources(np.random.default_rng(9), 5)
    settings = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)]

    @tf.function(input_signature=settings)
    def dynamic(source_ids, beam_size, n_best):
        return search(model, source_ids, beam_size=beam_size, n_best=n_best, length_penalty=0.6)

    for beam_size, n_best in ((1, 1), (3, 2), (4, 4)):
        fixed = tf.function(lambda ids, k=beam_size, n=n_best: search(model, ids, beam_size=k, n_best=n,
                                                                        length_penalty=0.6))(batch)
        out = dynamic(batch, beam_size, n_best)
        assert out.ids.shape[1] == n_best
        for got, expected in zip(out, fixed):
            np.testing.assert_array_equal(got.numpy(), expected.numpy())
    assert dynamic.experimental_get_tracing_count() == 1
    greedy = dynamic(batch, 1, 1)
    np.testing.assert_array_equal(greedy.scores.numpy(), greedy.log_probs.numpy())


def test_search_rejects_bad_arguments(model):
    with pytest.raises(ValueError, match="n_best"):
        search(model, np.array([[5, 3]], np.int32), beam_size=2, n_best=3)
    with pytest.raises(ValueError, match="n_best"):
        search(model, np.array([[5, 3]], np.int32), beam_size=1, n_best=2)


# ---------------------------------------------------------------------- unknown replacement
def test_replace_unknown_copies_the_most_attended_source_token():
    tokenizer = CharTokenizer(TokenizerConfig(kind="char", vocab_size=10), characters=list("abcxyz"))
    source = tokenizer.tokenize(["xyz", "ab"]).to_tensor()
    source = tf.concat([source, tf.fill([2, 1], END)], 1)
    output = tf.constant([[4, 1, 5, 1, END], [1, END, 0, 0, 0]])  # "a?b?", "?"
    attention = np.zeros((2, 5, 4), np.float32)
    attention[0, 1, 2] = attention[0, 3, 0] = attention[1, 0, 1] = 1.0
    texts = tokenizer.detokenize(output)
    result = replace_unknown(texts, output, attention, source, tokenizer).numpy().tolist()
    assert result == [b"azbx", b"b"]
