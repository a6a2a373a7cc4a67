"""Corpus cleaning with a report of what was changed or dropped, and why."""

from __future__ import annotations

import dataclasses
import unicodedata

from nmt.config.cleaning import CleaningConfig
from nmt.data.corpus import ParallelCorpus


@dataclasses.dataclass(frozen=True)
class CleaningReport:
    """Counts of what :func:`clean` did; ``kept + dropped == total``."""

    corpus: str
    total: int
    normalized: int
    empty: int
    too_long: int
    bad_ratio: int
    duplicates: int
    kept: int

    @property
    def dropped(self) -> int:
        return self.empty + self.too_long + self.bad_ratio + self.duplicates

    def __str__(self) -> str:
        return (
            f"{self.corpus or 'corpus'}: kept {self.kept:,} of {self.total:,} pairs; "
            f"dropped {self.empty:,} empty, {self.too_long:,} too long, {self.bad_ratio:,} over the "
            f"length ratio, {self.duplicates:,} duplicates; {self.normalized:,} pairs changed by "
            f"Unicode normalization"
        )


def clean(corpus: ParallelCorpus, config: CleaningConfig = CleaningConfig()) -> tuple[ParallelCorpus, CleaningReport]:
    """Normalizes and filters ``corpus`` according to ``config``.

    Returns:
        The cleaned corpus (pair order kept) and a :class:`CleaningReport`.
    """
    form = None if config.normalization == "none" else config.normalization
    counts = dict(normalized=0, empty=0, too_long=0, bad_ratio=0, duplicates=0)
    seen: set[tuple[str, str]] = set()
    sources, targets = [], []
    for source, target in corpus:
        if form is not None:
            new_source = unicodedata.normalize(form, source)
            new_target = unicodedata.normalize(form, target)
            if (new_source, new_target) != (source, target):
                counts["normalized"] += 1
            source, target = new_source, new_target
        if config.drop_empty and (not source.strip() or not target.strip()):
            counts["empty"] += 1
            continue
        if config.max_length is not None or config.max_ratio is not None:
            n_src, n_tgt = len(source.split()), len(target.split())
            if config.max_length is not None and max(n_src, n_tgt) > config.max_length:
                counts["too_long"] += 1
                continue
            if config.max_ratio is not None and max(n_src, n_tgt) > config.max_ratio * max(1, min(n_src, n_tgt)):
                counts["bad_ratio"] += 1
                continue
        if config.deduplicate:
            if (source, target) in seen:
                counts["duplicates"] += 1
                continue
            seen.add((source, target))
        sources.append(source)
        targets.append(target)
    cleaned = dataclasses.replace(corpus, sources=tuple(sources), targets=tuple(targets))
    return cleaned, CleaningReport(corpus=corpus.name, total=len(corpus), kept=len(sources), **counts)
