"""Search strategies over a decoder's single ``step()``: greedy and beam search.

Both are pure TensorFlow graph code over a step function
``(token_ids [n], state) -> (logits [n, V], state, weights [n, S])`` (see
:mod:`nmt.search.common`), so they run batched inside one ``tf.function`` and can be
tested with scripted steps. :func:`search` and :func:`compiled_search` apply them to
a :class:`~nmt.models.seq2seq.Seq2Seq`.
"""

from nmt.search.beam import beam_search
from nmt.search.common import SearchOutput, max_output_lengths, top_k_rows
from nmt.search.decoding import compiled_search, search
from nmt.search.greedy import greedy_search
from nmt.search.penalties import coverage_penalty, length_penalty

__all__ = [
    "SearchOutput",
    "beam_search",
    "compiled_search",
    "coverage_penalty",
    "greedy_search",
    "length_penalty",
    "max_output_lengths",
    "search",
    "top_k_rows",
]
