"""How the training pairs are cleaned (``data.cleaning.*`` keys)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from nmt.config.base import check_fields, check_number, check_positive_int


@dataclasses.dataclass(frozen=True)
class CleaningConfig:
    """What :func:`nmt.data.cleaning.clean` does, in this order.

    Attributes:
        normalization: Unicode normal form applied to both sides (``"none"`` keeps text as is).
        drop_empty: drop pairs where either side is empty or whitespace only.
        max_length: drop pairs where either side has more whitespace-separated
            words than this (``None``: no limit). Token-level limits belong to the pipeline.
        max_ratio: drop pairs whose word-count ratio (longer / shorter) exceeds this.
        deduplicate: keep only the first occurrence of each identical (source, target) pair.
    """

    normalization: Literal["NFC", "NFKC", "none"] = "NFC"
    drop_empty: bool = True
    max_length: int | None = None
    max_ratio: float | None = None
    deduplicate: bool = False

    def __post_init__(self) -> None:
        check_fields(self)
        check_positive_int("max_length", self.max_length, optional=True)
        check_number("max_ratio", self.max_ratio, at_least=1, optional=True)
