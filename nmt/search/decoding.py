"""Search over a :class:`~nmt.models.seq2seq.Seq2Seq`: encode, pick the strategy, compile once.

:func:`search` is graph code (:func:`nmt.translate.graph.translate_text` calls it
inside the Translator's and the SavedModel's ``tf.function`` s) and the one place
that chooses between greedy and beam search, for a Python int beam size (while
tracing) or an int32 scalar tensor (in the graph, with ``tf.cond``).
:func:`compiled_search` wraps it in a ``tf.function`` whose input signature has
unknown batch and source sizes and scalar tensors for the penalties and limits, so
changing any of them never retraces. Only the beam size and the number of returned
hypotheses are fixed per compiled function.
"""

from __future__ import annotations

import tensorflow as tf

from nmt.search.beam import beam_search
from nmt.search.common import SearchOutput, max_output_lengths
from nmt.search.greedy import greedy_search


def search(
    model,
    source_ids: tf.Tensor,
    *,
    beam_size: int | tf.Tensor = 1,
    length_penalty=0.0,
    coverage_penalty=0.0,
    max_length_a=1.5,
    max_length_b=10,
    n_best: int | tf.Tensor = 1,
    source_mask: tf.Tensor | None = None,
) -> SearchOutput:
    """Translates a batch of source ids with greedy (``beam_size=1``) or beam search.

    Args:
        model: a :class:`~nmt.models.seq2seq.Seq2Seq` (anything with ``encode(source_ids,
            source_mask=..., training=...)`` and ``decoder.step``).
        source_ids: int32 ``[batch, src_len]``, 0-padded, each source ending with END.
        beam_size: 1 for greedy search, more for beam search: a Python int (only the
            chosen search is traced) or an int32 scalar tensor (both are traced and
            ``tf.cond`` picks greedy search for 1; the caller checks ``beam_size >= 1``).
        length_penalty, coverage_penalty: GNMT ``alpha`` and ``beta`` (beam search only).
        max_length_a, max_length_b: at most ``floor(a * s + b)`` tokens before END for a
            source of ``s`` real tokens.
        n_best: hypotheses returned per sentence (``<= beam_size``); an int, or with
            a tensor ``beam_size`` an int32 scalar tensor (1 when ``beam_size`` is 1;
            the caller checks).
        source_mask: bool ``[batch, src_len]``, defaults to ``source_ids != 0``; ids at
            masked positions are never read.

    Returns:
        A :class:`~nmt.search.common.SearchOutput`; greedy search gives ``n = 1`` and
        ``scores == log_probs``.
    """
    source_ids = tf.convert_to_tensor(source_ids, tf.int32)
    if source_mask is None:
        source_mask = tf.not_equal(source_ids, 0)
    state = model.encode(source_ids, source_mask=source_mask, training=False)
    max_lengths = max_output_lengths(source_mask, max_length_a, max_length_b)

    def step(token_ids, step_state):
        return model.decoder.step(token_ids, step_state, training=False)

    def greedy() -> SearchOutput:
        return greedy_search(step, state, max_lengths)

    def beam() -> SearchOutput:
        return beam_search(
            step, state, max_lengths, source_mask, beam_size=beam_size, length_penalty=length_penalty,
            coverage_penalty=coverage_penalty, n_best=n_best,
        )

    if isinstance(beam_size, int):
        if beam_size == 1 and n_best != 1:
            raise ValueError(f"greedy search (beam_size=1) returns one hypothesis, not n_best={n_best}")
        return greedy() if beam_size == 1 else beam()
    beam_size = tf.cast(beam_size, tf.int32)
    return tf.cond(tf.equal(beam_size, 1), greedy, beam)


def compiled_search(model, beam_size: int = 1, n_best: int = 1) -> tf.types.experimental.PolymorphicFunction:
    """A ``tf.function`` of :func:`search` for one beam size, traced once.

    Call it as ``fn(source_ids, length_penalty, coverage_penalty, max_length_a,
    max_length_b)`` with int32 ``[batch, src_len]`` sources (any sizes) and scalars
    (float32, float32, float32, int32); it returns a :class:`SearchOutput`.
    ``fn.experimental_get_tracing_count()`` counts its traces.
    """

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="source_ids"),
            tf.TensorSpec([], tf.float32, name="length_penalty"),
            tf.TensorSpec([], tf.float32, name="coverage_penalty"),
            tf.TensorSpec([], tf.float32, name="max_length_a"),
            tf.TensorSpec([], tf.int32, name="max_length_b"),
        ],
    )
    def run(source_ids, length_penalty, coverage_penalty, max_length_a, max_length_b):
        return search(
            model, source_ids, beam_size=beam_size, length_penalty=length_penalty,
            coverage_penalty=coverage_penalty, max_length_a=max_length_a, max_length_b=max_length_b,
            n_best=n_best,
        )

    return run
