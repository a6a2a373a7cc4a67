"""The recurrent encoder-decoder as one ``keras.Model``, trained with ``fit``.

Data flow: ``source_ids -> Encoder -> (outputs, final states) -> Bridge -> decoder
state -> Decoder (teacher-forced) -> logits``. Batches are
``((source_ids, target_input_ids), target_output_ids)``, all int32 ``[batch, len]``
and padded with ``PAD_ID`` (:mod:`nmt.vocab`).

For search (greedy, beam), two calls are enough::

    state = model.encode(source_ids)                    # dict, batch first
    logits, state, weights = model.decoder.step(ids, state)

See :mod:`nmt.models.decoder` for the state structure and shapes.
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import tensorflow as tf
from keras import ops

from nmt.config.base import config_from_dict, config_to_dict
from nmt.config.model import ModelConfig
from nmt.models.attention import attention_class
from nmt.models.bridge import Bridge, final_hidden
from nmt.models.decoder import Decoder
from nmt.models.encoder import Encoder
from nmt.models.losses import Perplexity, TokenMean, token_statistics
from nmt.vocab import PAD_ID


@keras.saving.register_keras_serializable(package="nmt")
class Seq2Seq(keras.Model):
    """Recurrent sequence-to-sequence model with optional attention.

    Args:
        config: a :class:`nmt.config.model.ModelConfig` (or its dict form).
        source_vocab_size: source vocabulary size (from the source tokenizer).
        target_vocab_size: target vocabulary size (from the target tokenizer).
        seed: seed for dropout masks (weights follow ``keras.utils.set_random_seed``).

    Call arguments:
        inputs: ``(source_ids [batch, src_len], target_input_ids [batch, tgt_len])``,
            int, padded with ``PAD_ID``; target input starts with ``START_ID``.
        training: whether dropout is active.

    Returns:
        logits ``[batch, tgt_len, target_vocab_size]``; values at padded target
        positions are unspecified (the loss ignores them).

    Training: ``compile(optimizer, label_smoothing=..., clip_norm=...)`` then ``fit``.
    The loss is the smoothed cross-entropy summed over real target tokens divided
    by the number of real target tokens in the global batch (summed over
    replicas), so it is the same under any ``tf.distribute`` strategy. Gradients are
    made dense and clipped by their global norm after summing over replicas. Only
    real target positions go through the vocabulary projection (unless the step is
    XLA-compiled, which needs static shapes). Reported metrics:
    ``loss`` (per token), ``accuracy`` (token accuracy) and ``perplexity``
    (``exp`` of the unsmoothed per-token NLL), all over real tokens only.
    """

    def __init__(self, config, source_vocab_size: int, target_vocab_size: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, Mapping):
            config = config_from_dict(ModelConfig, config, where="model")
        self.config = config
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.seed = seed
        project_memory = (
            attention_class(config.attention).needs_query_sized_memory
            and config.encoder_state_size != config.target_units
        )
        self.encoder = Encoder(
            source_vocab_size,
            config.embedding_dim,
            config.units,
            num_layers=config.layers,
            cell=config.cell,
            bidirectional=config.bidirectional,
            bidirectional_merge=config.bidirectional_merge,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            layer_norm=config.layer_norm,
            residual=config.residual,
            output_units=config.target_units if project_memory else None,
            seed=seed,
            embedding_init=config.embedding_init,
            name="encoder",
        )
        self.bridge = Bridge(
            config.bridge,
            config.cell,
            encoder_layers=config.layers,
            encoder_units=config.units,
            directions=config.directions,
            decoder_layers=config.target_layers,
            decoder_units=config.target_units,
            merge=config.bidirectional_merge,
            name="bridge",
        )
        self.decoder = Decoder(
            target_vocab_size,
            config.embedding_dim,
            config.target_units,
            num_layers=config.target_layers,
            cell=config.cell,
            attention=config.attention,
            memory_dim=self.encoder.output_size,
            context_dim=config.units * config.directions,
            input_feeding=config.input_feeding,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            layer_norm=config.layer_norm,
            residual=config.residual,
            tie_embeddings=config.tie_embeddings,
            seed=None if seed is None else seed + 1000,
            embedding_init=config.embedding_init,
            name="decoder",
        )
        self.loss_tracker = TokenMean(name="loss")
        self.accuracy_tracker = TokenMean(name="accuracy")
        self.perplexity_tracker = Perplexity(name="perplexity")
        self.label_smoothing = 0.0
        self.clip_norm = None
        # No weight depends on input shapes: build now, so encode()/step() work at once.
        self.build()

    def build(self, input_shape=None):
        for layer in (self.encoder, self.bridge, self.decoder):
            if not layer.built:
                layer.build(None)

    # ------------------------------------------------------------------ inference API
    def encode(self, source_ids, source_mask=None, training=False):
        """Encodes a source batch into the decoder's initial state.

        Args:
            source_ids: int ``[batch, src_len]``, padded with ``PAD_ID``.
            source_mask: optional bool ``[batch, src_len]`` (defaults to ``source_ids != PAD_ID``);
                when given, the ids at masked positions are never read.
            training: whether dropout is active.

        Returns:
            The decoder state dict (batch first everywhere; see :mod:`nmt.models.decoder`).
        """
        if source_mask is None:
            source_mask = ops.not_equal(source_ids, PAD_ID)
        memory, encoder_states = self.encoder(source_ids, source_mask=source_mask, training=training)
        rnn_state = self.bridge(encoder_states)
        summary = final_hidden(encoder_states) if self.decoder.needs_summary else None
        return self.decoder.initial_state(rnn_state, memory, source_mask, summary)

    def logits_and_attention(self, source_ids, target_input_ids, source_mask=None, training=False):
        """Teacher-forced logits ``[batch, tgt_len, V]`` and attention ``[batch, tgt_len, src_len]``."""
        state = self.encode(source_ids, source_mask=source_mask, training=training)
        return self.decoder(target_input_ids, state, training=training)

    def call(self, inputs, training=None):
        source_ids, target_input_ids = inputs
        logits, _ = self.logits_and_attention(source_ids, target_input_ids, training=training)
        return logits

    # ------------------------------------------------------------------ training
    def compile(self, optimizer="adam", *, label_smoothing: float = 0.0, clip_norm: float | None = None, **kwargs):
        """Keras ``compile`` plus the loss's ``label_smoothing`` and the global-norm ``clip_norm``.

        Do not set the optimizer's own ``clipnorm``/``global_clipnorm``: under a
        distribution strategy it would clip each replica's partial gradient.
        """
        super().compile(optimizer=optimizer, **kwargs)
        self.label_smoothing = float(label_smoothing)
        self.clip_norm = None if clip_norm is None else float(clip_norm)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config:
            config.update(label_smoothing=self.label_smoothing, clip_norm=self.clip_norm)
        return config

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker, self.perplexity_tracker]

    def _statistics(self, data, training):
        (source_ids, target_input_ids), labels = data
        state = self.encode(source_ids, training=training)
        features, _ = self.decoder.features(target_input_ids, state, training=training)
        if not self.jit_compile:
            # Project only real target positions: the vocabulary projection is the
            # largest matmul, and padding can be half of a batch's positions.
            # (XLA needs static shapes, so jit-compiled steps project everything.)
            real = ops.not_equal(labels, PAD_ID)
            features, labels = tf.boolean_mask(features, real), tf.boolean_mask(labels, real)
        logits = ops.cast(self.decoder.project(features), "float32")  # softmax and loss in float32
        stats = token_statistics(labels, logits, self.label_smoothing)
        global_tokens = _replica_sum(stats["tokens"])
        loss = stats["loss_sum"] / ops.maximum(global_tokens, 1.0)
        return loss, stats

    def train_statistics(self, data):
        """One optimizer step on a (per-replica) batch; returns its token statistics.

        The step math of every training path: :meth:`train_step` (``fit``) and
        :func:`nmt.training.loop.train` (``strategy.run`` on each replica) both call it.
        Under a ``mixed_float16`` policy the optimizer is Keras's
        ``LossScaleOptimizer``: the loss is scaled before differentiation, clipping
        uses ``clip_norm * scale`` on the scaled gradients (the same as clipping the
        unscaled ones at ``clip_norm``), and the optimizer unscales them and skips
        steps with non-finite gradients.

        Returns:
            ``nmt.models.losses.token_statistics`` of the batch (float32 scalar sums).
        """
        with tf.GradientTape() as tape:
            loss, stats = self._statistics(data, training=True)
            scaled_loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled_loss, self.trainable_variables)
        if self.clip_norm is not None:
            # scale_loss(1) is the loss scale (1 without one): clip the scaled gradients at the scaled norm.
            clip_norm = self.clip_norm * ops.cast(self.optimizer.scale_loss(1.0), "float32")
            gradients = _clip_across_replicas(gradients, clip_norm)
        self.optimizer.apply(gradients, self.trainable_variables)
        return stats

    def test_statistics(self, data):
        """The token statistics of a (per-replica) batch, without dropout or update."""
        return self._statistics(data, training=False)[1]

    def train_step(self, data):
        return self._update_metrics(self.train_statistics(data))

    def test_step(self, data):
        return self._update_metrics(self.test_statistics(data))

    def _update_metrics(self, stats):
        self.loss_tracker.update_state(stats["loss_sum"], stats["tokens"])
        self.accuracy_tracker.update_state(stats["correct"], stats["tokens"])
        self.perplexity_tracker.update_state(stats["nll_sum"], stats["tokens"])
        return {metric.name: metric.result() for metric in self.metrics}

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "config": config_to_dict(self.config),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "seed": self.seed,
        }


def _replica_sum(value):
    """Sum of ``value`` over the replicas in sync (identity outside a strategy)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def _clip_across_replicas(gradients, clip_norm):
    """Clips the replica-summed gradients by global norm.

    Gradients are made dense first: the norm of an embedding's ``IndexedSlices``
    gradient counts a token that occurs twice as two slices, not as their sum.
    The optimizer sums gradients over replicas after this, so each replica hands
    it ``clipped_sum / replicas``.
    """
    gradients = [tf.convert_to_tensor(g) for g in gradients]
    context = tf.distribute.get_replica_context()
    replicas = 1 if context is None else context.num_replicas_in_sync
    if replicas > 1:
        gradients = context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)
    gradients, _ = tf.clip_by_global_norm(gradients, clip_norm)
    if replicas > 1:
        gradients = [g / replicas for g in gradients]
    return gradients
