"""Unknown-word replacement (Luong et al. 2015): copy the most-attended source token.

Graph code, so it can run inside an exported ``tf.function`` after search and
detokenization.
"""

from __future__ import annotations

import tensorflow as tf

from nmt.vocab import END_ID, PAD_ID, START_ID, UNK_ID, UNK_SURFACE

#: Subword markers stripped from a copied source token: SentencePiece's word start
#: and WordPiece's continuation prefix.
_MARKERS = "^(\u2581|##)"


def replace_unknown(texts, output_ids, attention, source_ids, source_tokenizer) -> tf.Tensor:
    """Replaces each ``UNK_SURFACE`` in ``texts`` by the source token attended most.

    The ``i``-th unknown id in ``output_ids`` (before its END) corresponds to the
    ``i``-th ``UNK_SURFACE`` in the detokenized text; it becomes the label of the
    source token with the largest attention weight at that step, subword markers
    removed. A row whose count of unknown ids and surfaces disagree is left as it
    is, and so is an unknown aligned to a special or unknown source token.

    Args:
        texts: ``tf.string [batch]``, ``detokenize(output_ids)``.
        output_ids: int ``[batch, T]``: the best hypothesis per sentence.
        attention: float ``[batch, T, S]``: its attention weights.
        source_ids: int ``[batch, S]``: the source ids the search read.
        source_tokenizer: the source :class:`~nmt.tokenizers.Tokenizer`.

    Returns:
        ``tf.string [batch]``.
    """
    output_ids = tf.cast(output_ids, tf.int32)
    source_ids = tf.cast(source_ids, tf.int32)
    before_end = tf.equal(tf.cumsum(tf.cast(tf.equal(output_ids, END_ID), tf.int32), axis=1), 0)
    unknown = before_end & tf.equal(output_ids, UNK_ID)
    aligned = tf.argmax(attention, axis=-1, output_type=tf.int32)  # [batch, T]
    aligned_ids = tf.gather(source_ids, aligned, batch_dims=1)
    labels = tf.strings.regex_replace(source_tokenizer.id_to_token(aligned_ids), _MARKERS, "")
    special = (aligned_ids == PAD_ID) | (aligned_ids == UNK_ID) | (aligned_ids == START_ID) | (aligned_ids == END_ID)
    labels = tf.where(special | tf.equal(labels, ""), UNK_SURFACE, labels)
    replacements = tf.ragged.boolean_mask(labels, unknown)  # [batch, (unknowns)]

    def one(args):
        text, row = args
        parts = tf.strings.split(text, sep=UNK_SURFACE)

        def join():
            interleaved = tf.reshape(tf.stack([parts[:-1], row], axis=1), [-1])
            return tf.strings.reduce_join(tf.concat([interleaved, parts[-1:]], 0))

        return tf.cond(tf.equal(tf.size(parts) - 1, tf.size(row)), join, lambda: text)

    texts = tf.convert_to_tensor(texts, tf.string)
    return tf.map_fn(one, (texts, replacements), fn_output_signature=tf.string)
