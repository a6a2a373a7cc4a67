"""How the training pairs are cleaned (``data.cleaning.*`` keys)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from nmt.config.base import ConfigError, validate_literals


@dataclasses.dataclass(frozen=True)
class CleaningConfig:
    """What :func:`clean` does, in this order.

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
        validate_literals(self)
        if self.max_length is not None and self.max_length < 1:
            raise ConfigError(f"max_length must be >= 1, got {self.max_length}")
        if self.max_ratio is not None and self.max_ratio < 1:
            raise ConfigError(f"max_ratio must be >= 1, got {self.max_ratio}")
