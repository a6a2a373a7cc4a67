"""Typed configuration of translation (``decode.*`` keys): search strategy, penalties, limits.

Build it from YAML or ``--set`` overrides with :func:`nmt.config.base.config_from_dict`
(unknown keys are errors listing the valid ones); :class:`nmt.translate.translator.Translator`
stores it beside the model and lets every ``translate`` call override a field.
"""

from __future__ import annotations

import dataclasses

from nmt.config.base import (
    ConfigError,
    check_fields,
    check_int,
    check_non_negative_int,
    check_non_negative_number,
    check_positive_int,
)


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    """How a :class:`~nmt.translate.translator.Translator` searches (``decode.*`` keys).

    Attributes:
        beam_size: 1 runs greedy search (:func:`nmt.search.greedy_search`); larger
            values run beam search (:func:`nmt.search.beam_search`) with that many
            hypotheses per sentence.
        length_penalty: GNMT length penalty ``alpha`` (Wu et al. 2016): a finished
            hypothesis of ``n`` tokens (END included) is ranked by
            ``log P / ((5 + n) / 6) ** alpha``; 0 ranks by ``log P``. Beam search only.
        coverage_penalty: GNMT coverage penalty ``beta``: adds
            ``beta * sum_i log(min(sum_j a_ij, 1))`` over real source positions ``i``
            and target steps ``j``; 0 disables it. Beam search only.
        max_length_a, max_length_b: a sentence of ``s`` source tokens (END
            included) gets at most ``floor(a * s + b)`` output tokens before END; the
            hypothesis is then forced to end.
        max_input_length: longer inputs are cut to this many source tokens (END
            included) with a warning that counts them.
        batch_size: sentences per search call; inputs are sorted by length first.
        replace_unknown: replace every unknown target token in the output by the
            source token that received the most attention when it was produced.
    """

    beam_size: int = 5
    length_penalty: float = 0.6
    coverage_penalty: float = 0.0
    max_length_a: float = 1.5
    max_length_b: int = 10
    max_input_length: int = 200
    batch_size: int = 64
    replace_unknown: bool = False

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("beam_size", "batch_size"):
            check_positive_int(name, getattr(self, name))
        check_int("max_input_length", self.max_input_length, minimum=2, note="one token and END")
        for name in ("length_penalty", "coverage_penalty", "max_length_a"):
            check_non_negative_number(name, getattr(self, name))
        check_non_negative_int("max_length_b", self.max_length_b)
        if self.max_length_a == 0 and self.max_length_b == 0:
            raise ConfigError("max_length_a=0 and max_length_b=0 allow no output token")
