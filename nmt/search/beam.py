"""Beam search with a pool of finished hypotheses, batched, in one graph loop.

The algorithm follows fairseq's ``sequence_generator.py`` (2 x beam candidates per
step, so hypotheses that end never empty the beam) and OpenNMT-tf's
``opennmt/utils/decoding.py`` (the state is reordered generically; finished
sentences are forced to emit END). At every step, for each sentence:

1. Every one of its ``K`` alive hypotheses is extended by every token; the ``2K``
   extensions with the highest ``log P`` are the candidates.
2. A candidate that ends with END *and is among the top K* is finished: it gets the
   GNMT score ``log P / lp + cp`` (:mod:`nmt.search.penalties`) and enters the pool
   of the ``K`` best finished hypotheses. (An END outside the top ``K`` is dropped,
   so beam size 1 is exactly greedy search.)
3. The ``K`` best candidates that do not end stay alive.
4. The sentence is done when its pool holds ``K`` finished hypotheses and either
   the best candidate of this step was an END (OpenNMT-py's rule) or no alive
   hypothesis can still beat the worst of the pool: more tokens only lower
   ``log P``, so an alive hypothesis scores at most ``log P / lp(limit + 1)`` (the
   coverage penalty is ``<= 0``). It is also done at its length limit, where only END
   is allowed, or when nothing is alive. A done sentence leaves the batch the step
   function sees (as in fairseq), so sentences that end early cost nothing more.
   (fairseq stops as soon as ``K`` hypotheses have finished; that dropped a better
   alive hypothesis whenever two poor ENDs finished early, and beam 2 returned a
   lower model score than greedy search.)

The loop runs until every sentence is done.
"""

from __future__ import annotations

import tensorflow as tf

from nmt.search.common import SearchOutput, gather_rows, reorder_rows, top_k_rows
from nmt.search.greedy import unknown_batch
from nmt.search.penalties import coverage_penalty as _coverage_penalty
from nmt.search.penalties import length_penalty as _length_penalty
from nmt.vocab import END_ID, START_ID

_NEG_INF = -float("inf")


def beam_search(
    step_fn,
    state,
    max_lengths: tf.Tensor,
    source_mask: tf.Tensor,
    *,
    beam_size: int,
    length_penalty=0.0,
    coverage_penalty=0.0,
    n_best: int | None = None,
    start_id: int = START_ID,
    end_id: int = END_ID,
) -> SearchOutput:
    """Decodes ``batch`` sentences with beam search in a ``tf.while_loop``.

    Args:
        step_fn: ``(token_ids [n], state) -> (logits [n, V], state, weights [n, S])``
            with ``V >= 2`` (see :mod:`nmt.search.common`).
        state: the initial state, a nest of ``[batch, ...]`` tensors; it is tiled to
            ``[batch * beam_size, ...]`` (hypothesis ``k`` of the ``i``-th sentence
            still searched is row ``i * beam_size + k``). A leaf that ``step_fn``
            returns unchanged (the same tensor object, like the encoder memory) is
            not reordered, only cut when sentences are done.
        max_lengths: int32 ``[batch]`` (at least one sentence), tokens allowed before END.
        source_mask: bool ``[batch, S]``, False at source padding (for the coverage
            penalty and the attention's size).
        beam_size: hypotheses ``K`` kept per sentence: a Python int, or an int32 scalar
            tensor (one graph for every beam size, as the SavedModel export's n-best
            signature uses; shapes along ``K`` are then unknown while tracing and the
            caller must check ``K >= 1``).
        length_penalty: GNMT ``alpha`` (float or scalar tensor).
        coverage_penalty: GNMT ``beta`` (float or scalar tensor).
        n_best: how many finished hypotheses to return, ``1 <= n_best <= beam_size``
            (an int or, with a tensor ``beam_size``, an int32 scalar tensor that the
            caller checks); ``None`` returns all ``beam_size``.
        start_id, end_id: the START and END ids.

    Returns:
        A :class:`SearchOutput` with ``n = n_best`` hypotheses per sentence sorted by
        score, best first, and the attention of the best one.
    """
    if isinstance(beam_size, tf.Tensor):
        beam_size = tf.cast(beam_size, tf.int32)
    elif not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size={beam_size!r} must be a positive integer")
    n_best = beam_size if n_best is None else n_best
    if isinstance(beam_size, int) and isinstance(n_best, int) and not 1 <= n_best <= beam_size:
        raise ValueError(f"n_best={n_best!r} must be in [1, beam_size={beam_size}]")
    k = beam_size
    static_k = k if isinstance(k, int) else None  # for the loop's shape invariants
    max_lengths = tf.convert_to_tensor(max_lengths, tf.int32)
    source_mask = tf.convert_to_tensor(source_mask, tf.bool)
    batch = tf.shape(max_lengths)[0]
    src_len = tf.shape(source_mask)[1]
    limit = tf.reduce_max(max_lengths)
    in_top_k = tf.range(2 * k) < k  # [2K]: where an END candidate may finish

    def gather(values, indices):
        """``values [n, C, ...]`` at ``indices [n, C']`` -> ``[n, C', ...]``."""
        return tf.gather(values, indices, batch_dims=1)

    def body(t, active, tokens, state, alive, finished, count):
        # ``active`` [n]: the sentences still searched; ``tokens``, ``state`` and ``alive``
        # hold their n * K hypotheses only. ``finished`` and ``count`` cover every sentence.
        alive_log_probs, alive_ids, alive_attention, alive_coverage = alive
        n = tf.shape(active)[0]
        logits, new_state, weights = step_fn(tokens, state)
        logits = tf.cast(logits, tf.float32)
        weights = tf.reshape(tf.cast(weights, tf.float32), [n, k, src_len])

        # 1. The 2K best extensions of the K alive hypotheses: the 2K best tokens of each
        #    hypothesis (log P = logit - logsumexp), then the 2K best of those K x 2K.
        row_logits, row_tokens = top_k_rows(logits, 2 * k)  # [n K, m], m = min(2K, V)
        at_limit = tf.repeat(t >= tf.gather(max_lengths, active), k)[:, tf.newaxis]
        only_end = tf.one_hot(0, tf.shape(row_logits)[1], on_value=0.0, off_value=_NEG_INF)[tf.newaxis]
        row_logits = tf.where(at_limit, logits[:, end_id:end_id + 1] + only_end, row_logits)
        row_tokens = tf.where(at_limit, end_id, row_tokens)
        row_log_probs = row_logits - tf.reduce_logsumexp(logits, axis=-1, keepdims=True)
        per_row = tf.shape(row_logits)[1]
        totals = tf.reshape(alive_log_probs[:, :, tf.newaxis] + tf.reshape(row_log_probs, [n, k, per_row]),
                            [n, k * per_row])
        cand_log_probs, flat = tf.math.top_k(totals, 2 * k)  # [n, 2K], sorted
        parents = flat // per_row
        cand_tokens = tf.gather(tf.reshape(row_tokens, [n, k * per_row]), flat, batch_dims=1)
        step_weights = gather(weights, parents)  # [n, 2K, S]
        cand_ids = tf.concat([gather(alive_ids, parents), cand_tokens[:, :, tf.newaxis]], 2)
        cand_attention = tf.concat([gather(alive_attention, parents), step_weights[:, :, tf.newaxis]], 2)
        cand_coverage = gather(alive_coverage, parents) + step_weights
        ends = tf.equal(cand_tokens, end_id)

        # 2. END candidates in the top K finish and compete for the sentence's pool.
        finishing = ends & in_top_k[tf.newaxis, :] & (cand_log_probs > _NEG_INF)
        cand_scores = cand_log_probs / _length_penalty(t + 1, length_penalty)
        cand_scores += _coverage_penalty(cand_coverage, tf.gather(source_mask, active)[:, tf.newaxis, :],
                                         coverage_penalty)
        cand_scores = tf.where(finishing, cand_scores, _NEG_INF)
        rows = active[:, tf.newaxis]
        fin_scores, fin_log_probs, fin_lengths, fin_ids, fin_attention = finished
        fin_ids = tf.pad(fin_ids, [[0, 0], [0, 0], [0, 1]])
        fin_attention = tf.pad(fin_attention, [[0, 0], [0, 0], [0, 1], [0, 0]])
        scores, pick = tf.math.top_k(tf.concat([tf.gather(fin_scores, active), cand_scores], 1), k)
        merged = (
            scores,
            gather(tf.concat([tf.gather(fin_log_probs, active), cand_log_probs], 1), pick),
            gather(tf.concat([tf.gather(fin_lengths, active), tf.fill([n, 2 * k], t + 1)], 1), pick),
            gather(tf.concat([tf.gather(fin_ids, active), cand_ids], 1), pick),
            gather(tf.concat([tf.gather(fin_attention, active), cand_attention], 1), pick),
        )
        finished = tuple(
            tf.tensor_scatter_nd_update(full, rows, part)
            for full, part in zip((fin_scores, fin_log_probs, fin_lengths, fin_ids, fin_attention), merged)
        )
        active_count = tf.gather(count, active) + tf.reduce_sum(tf.cast(finishing, tf.int32), axis=1)
        count = tf.tensor_scatter_nd_update(count, rows, active_count)

        # 3. The K best candidates that do not end stay alive.
        alive_log_probs, pick = tf.math.top_k(tf.where(ends, _NEG_INF, cand_log_probs), k)
        alive = (alive_log_probs, gather(cand_ids, pick), gather(cand_attention, pick), gather(cand_coverage, pick))
        hypotheses = tf.reshape(gather(parents, pick) + (tf.range(n) * k)[:, tf.newaxis], [-1])
        state = reorder_rows(state, new_state, hypotheses)
        tokens = tf.reshape(gather(cand_tokens, pick), [-1])

        # 4. Done: K finished and (the best candidate ended, or no alive hypothesis can beat the
        #    pool's worst); nothing alive; or the length limit reached. Done sentences leave.
        sentence_limits = tf.gather(max_lengths, active)
        best_reachable = alive_log_probs[:, 0] / _length_penalty(sentence_limits + 1, length_penalty)
        pool_full = active_count >= k
        active_done = ((pool_full & (finishing[:, 0] | (scores[:, -1] >= best_reachable)))
                       | (alive_log_probs[:, 0] == _NEG_INF) | (t >= sentence_limits))

        def shrink():
            keep = tf.cast(tf.where(tf.logical_not(active_done))[:, 0], tf.int32)
            keep_hypotheses = tf.reshape(keep[:, tf.newaxis] * k + tf.range(k)[tf.newaxis], [-1])
            return (tf.gather(active, keep), tf.gather(tokens, keep_hypotheses),
                    gather_rows(state, keep_hypotheses), gather_rows(alive, keep))

        active, tokens, state, alive = tf.cond(
            tf.reduce_any(active_done), shrink, lambda: (active, tokens, state, alive)
        )
        return t + 1, active, tokens, state, alive, finished, count

    def cond(t, active, tokens, state, alive, finished, count):
        return tf.logical_and(t <= limit, tf.size(active) > 0)

    first = tf.concat([tf.zeros([1]), tf.fill([k - 1], _NEG_INF)], 0)
    alive = (
        tf.tile(first[tf.newaxis, :], [batch, 1]),
        tf.zeros([batch, k, 0], tf.int32),
        tf.zeros([batch, k, 0, src_len], tf.float32),
        tf.zeros([batch, k, src_len], tf.float32),
    )
    finished = (
        tf.fill([batch, k], _NEG_INF),
        tf.fill([batch, k], _NEG_INF),
        tf.zeros([batch, k], tf.int32),
        tf.zeros([batch, k, 0], tf.int32),
        tf.zeros([batch, k, 0, src_len], tf.float32),
    )
    tiled_state = tf.nest.map_structure(lambda x: tf.repeat(x, k, axis=0), state)
    loop_vars = (
        tf.constant(0),
        tf.range(batch),
        tf.fill([batch * k], start_id),
        tiled_state,
        alive,
        finished,
        tf.zeros([batch], tf.int32),
    )
    growing = (
        tf.TensorShape([None, static_k]),
        tf.TensorShape([None, static_k, None]),
        tf.TensorShape([None, static_k, None, None]),
        tf.TensorShape([None, static_k, None]),
    )
    invariants = (
        tf.TensorShape([]),
        tf.TensorShape([None]),
        tf.TensorShape([None]),
        tf.nest.map_structure(lambda x: unknown_batch(x.shape), tiled_state),
        growing,
        (tf.TensorShape([None, static_k]),) * 3 + growing[1:3],
        tf.TensorShape([None]),
    )
    finished = tf.while_loop(cond, body, loop_vars, shape_invariants=invariants)[5]
    fin_scores, fin_log_probs, fin_lengths, fin_ids, fin_attention = finished
    return SearchOutput(
        ids=fin_ids[:, :n_best],
        lengths=fin_lengths[:, :n_best],
        scores=fin_scores[:, :n_best],
        log_probs=fin_log_probs[:, :n_best],
        attention=fin_attention[:, 0],
    )
