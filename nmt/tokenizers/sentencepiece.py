"""SentencePiece subwords: trained with the ``sentencepiece`` package, run by tensorflow-text.

Training sees text already normalized by :func:`nmt.tokenizers.normalize.normalize`
and the graph normalizes with the same rules before ``SentencepieceTokenizer`` runs,
so SentencePiece itself must not normalize again: its normalization rule is a no-op
(see ``_NOOP_RULE``). Detokenization is exact: ``detokenize(tokenize(x)) ==
normalize(x)`` unless ``x`` holds a character unseen in training, which comes back as
``UNK_SURFACE`` (or exactly, through UTF-8 byte pieces, with ``byte_fallback``).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import keras
import sentencepiece as spm
import tensorflow as tf
import tensorflow_text as tf_text

from nmt.config.base import ConfigError
from nmt.config.tokenizer import TokenizerConfig
from nmt.tokenizers.base import Tokenizer
from nmt.vocab import END_ID, PAD_ID, SPECIAL_TOKENS, START_ID, UNK_ID, UNK_SURFACE

MODEL_FILE = "sentencepiece.model"

# SentencePiece's "identity" rule makes tensorflow-text log "precompiled_charsmap is
# empty" each time a model is loaded. This one-line rule (U+0001 -> space) is never
# applied because normalize() has already removed every U+0001, so it is a silent no-op.
_NOOP_RULE = "1\t20\n"


@keras.saving.register_keras_serializable(package="nmt")
class SentencePieceTokenizer(Tokenizer):
    """SentencePiece unigram or BPE subwords (``tensorflow_text.SentencepieceTokenizer``).

    Pieces mark a preceding space with ``▁`` (``"▁dog"``); ids 0-3 are the special
    tokens, then (with ``byte_fallback``) 256 byte pieces ``<0x00>``...``<0xFF>``, then
    the learned pieces.

    Args:
        config: a :class:`TokenizerConfig` with ``kind="sentencepiece"`` (or its dict).
        model_proto: a serialized SentencePiece model with pad/unk/bos/eos ids 0/1/2/3,
            as written by :meth:`train`; ``None`` leaves the tokenizer empty until
            :meth:`load_assets`. ``get_config`` stores ``None``: the model is an asset.
        **kwargs: ``keras.layers.Layer`` arguments.
    """

    kind = "sentencepiece"

    def __init__(
        self,
        config: TokenizerConfig | Mapping[str, Any] | None = None,
        model_proto: bytes | None = None,
        **kwargs: Any,
    ):
        super().__init__(config, **kwargs)
        self.model_proto = None
        if model_proto is not None:
            self.set_model_proto(model_proto)

    def set_model_proto(self, model_proto: bytes) -> None:
        """Installs a serialized model (checks its special ids)."""
        model_proto = bytes(model_proto)
        processor = spm.SentencePieceProcessor(model_proto=model_proto)
        found = (processor.pad_id(), processor.unk_id(), processor.bos_id(), processor.eos_id())
        if found != (PAD_ID, UNK_ID, START_ID, END_ID):
            raise ValueError(f"SentencePiece model has pad/unk/bos/eos ids {found}, expected (0, 1, 2, 3)")
        self.model_proto = model_proto
        self._set_labels(processor.id_to_piece(i) for i in range(processor.get_piece_size()))

    def _sentencepiece(self) -> tf_text.SentencepieceTokenizer:
        """A SentencePiece op resource owned by the graph (or eager call) being built.

        Deliberately not one resource kept on ``self``: an eagerly created resource is
        destroyed by ``tf.random.set_seed`` / ``keras.utils.set_random_seed`` (they
        reset the eager kernel cache, tensorflow/text#570), which would break every
        tf.data pipeline and tf.function already built with it. A resource created
        inside the graph lives as long as that graph and is saved with it.
        """
        return tf_text.SentencepieceTokenizer(model=self.model_proto, out_type=tf.int32)

    def _tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return self._sentencepiece().tokenize(texts)

    def _detokenize(self, ids: tf.RaggedTensor) -> tf.Tensor:
        return self._sentencepiece().detokenize(ids)

    @classmethod
    def train(
        cls, texts: Iterable[str], config: TokenizerConfig, *, name: str | None = None
    ) -> SentencePieceTokenizer:
        """Trains a model on ``texts`` (normalized first), quietly and deterministically.

        ``config.vocab_size`` counts the special ids and is a soft limit: a corpus too
        small for it gives a smaller vocabulary instead of an error.
        """
        sentences = cls._training_texts(texts, config)
        model = io.BytesIO()
        with tempfile.TemporaryDirectory() as scratch:
            rule_path = os.path.join(scratch, "noop_rule.tsv")
            with open(rule_path, "w", encoding="utf-8") as rule:
                rule.write(_NOOP_RULE)
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences),
                model_writer=model,
                vocab_size=config.vocab_size,
                hard_vocab_limit=False,
                model_type=config.model_type,
                character_coverage=config.character_coverage,
                byte_fallback=config.byte_fallback,
                pad_id=PAD_ID, unk_id=UNK_ID, bos_id=START_ID, eos_id=END_ID,
                pad_piece=SPECIAL_TOKENS[PAD_ID], unk_piece=SPECIAL_TOKENS[UNK_ID],
                bos_piece=SPECIAL_TOKENS[START_ID], eos_piece=SPECIAL_TOKENS[END_ID],
                unk_surface=UNK_SURFACE,
                normalization_rule_tsv=rule_path,
                remove_extra_whitespaces=True,
                num_threads=1,  # multi-threaded training is not reproducible, and no faster here
                minloglevel=2,  # errors only
            )
        return cls(config, model_proto=model.getvalue(), name=name)

    @classmethod
    def from_model_file(cls, path: str | Path, config: TokenizerConfig, *,
                        name: str | None = None) -> SentencePieceTokenizer:
        """A tokenizer around an existing SentencePiece ``.model`` file (``tokenizer.model_file``).

        A model whose special ids are not pad/unk/bos/eos = 0/1/2/3 is rewritten to that
        layout (:func:`standard_layout`); the file itself is left as it is.

        Raises:
            ConfigError: naming ``tokenizer.model_file`` and the path: no such file, or
                not a SentencePiece model.
        """
        path = Path(path)
        where = f"tokenizer.model_file {path}"
        if not path.is_file():
            raise ConfigError(f"{where}: no such file")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ConfigError(f"{where}: cannot read it ({error.strerror})") from None
        try:
            return cls(config, model_proto=standard_layout(data), name=name)
        except (ValueError, RuntimeError) as error:
            reason = " ".join(str(error).split())
            raise ConfigError(f"{where} is not a SentencePiece model ({reason})") from None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "model_proto": None}

    def save_assets(self, dir_path: str) -> None:
        self._check_ready()
        with open(os.path.join(dir_path, MODEL_FILE), "wb") as file:
            file.write(self.model_proto)

    def load_assets(self, dir_path: str) -> None:
        with open(os.path.join(dir_path, MODEL_FILE), "rb") as file:
            self.set_model_proto(file.read())


def standard_layout(model_proto: bytes) -> bytes:
    """A serialized SentencePiece model with this package's special ids (pad/unk/bos/eos = 0/1/2/3).

    A model already in that layout comes back unchanged. Otherwise the pieces of its
    pad, unk, bos and eos ids (those it has) are removed and ``[PAD]``, ``[UNK]``,
    ``[START]``, ``[END]`` put first as ids 0-3, the other pieces following in their
    order with their scores (so segmentation is unchanged); unknown text detokenizes
    to ``UNK_SURFACE``.

    Raises:
        ValueError: ``model_proto`` is not a SentencePiece model (or has no unknown piece).
    """
    from google.protobuf.message import DecodeError
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    model = model_pb2.ModelProto()
    try:
        model.ParseFromString(bytes(model_proto))
    except DecodeError as error:
        raise ValueError(str(error)) from None
    spec, pieces = model.trainer_spec, list(model.pieces)
    Type = model_pb2.ModelProto.SentencePiece.Type
    if not pieces or sum(piece.type == Type.UNKNOWN for piece in pieces) != 1:
        raise ValueError("it needs exactly one unknown piece")
    layout = (spec.pad_id, spec.unk_id, spec.bos_id, spec.eos_id)
    if layout == (PAD_ID, UNK_ID, START_ID, END_ID):
        return bytes(model_proto)
    special = {i for i in layout if 0 <= i < len(pieces)} | {i for i, p in enumerate(pieces) if p.type == Type.UNKNOWN}
    rest = [piece for i, piece in enumerate(pieces) if i not in special]
    del model.pieces[:]
    for token, kind in zip(SPECIAL_TOKENS, (Type.CONTROL, Type.UNKNOWN, Type.CONTROL, Type.CONTROL)):
        model.pieces.add(piece=token, score=0.0, type=kind)
    model.pieces.extend(rest)
    spec.pad_id, spec.unk_id, spec.bos_id, spec.eos_id = PAD_ID, UNK_ID, START_ID, END_ID
    spec.pad_piece, spec.unk_piece, spec.bos_piece, spec.eos_piece = SPECIAL_TOKENS
    spec.unk_surface = UNK_SURFACE
    return model.SerializeToString()
