"""The recurrent encoder-decoder: cells, embedding, encoder, bridge, attention, decoder, losses.

Data flow of :class:`~nmt.models.seq2seq.Seq2Seq`: source ids -> token embedding
(:mod:`~nmt.models.embedding`) -> recurrent encoder (:mod:`~nmt.models.encoder`) ->
bridge to the decoder's initial state (:mod:`~nmt.models.bridge`) -> decoder
(:mod:`~nmt.models.decoder`) attending over the encoder outputs
(:mod:`~nmt.models.attention`) -> logits, trained with :mod:`~nmt.models.losses`.
The decoder's ``step()`` is what :mod:`nmt.search` decodes with. Encoder and decoder
share one recurrent stack (:mod:`~nmt.models.stack`, built from :mod:`~nmt.models.cells`);
every name a model option takes is checked against the config's ``Literal`` types in
:mod:`~nmt.models.choices`.
"""

from nmt.models.seq2seq import Seq2Seq

__all__ = ["Seq2Seq"]
