"""Corpus cleaning with a report of what was changed or dropped, and why.

:class:`PairCleaner` applies the rules to one pair at a time and counts; :func:`clean`
runs it over an in-memory corpus, :mod:`nmt.data.stream` over pairs read from disk, so
both paths keep and drop exactly the same pairs.
"""

from __future__ import annotations

import dataclasses
import unicodedata

from nmt.config.cleaning import CleaningConfig
from nmt.data.corpus import ParallelCorpus


@dataclasses.dataclass(frozen=True)
class CleaningReport:
    """Counts of what :func:`clean` did; ``kept + dropped == total``.

    ``skipped`` counts the lines ``data.on_error: skip`` left out (invalid UTF-8, a TSV row
    with too few columns); they are part of ``total`` and ``dropped``.
    """

    corpus: str
    total: int
    normalized: int
    empty: int
    too_long: int
    bad_ratio: int
    duplicates: int
    kept: int
    skipped: int = 0

    @property
    def dropped(self) -> int:
        return self.empty + self.too_long + self.bad_ratio + self.duplicates + self.skipped

    def __str__(self) -> str:
        skipped = f", {self.skipped:,} unreadable lines skipped (on_error: skip)" if self.skipped else ""
        return (
            f"{self.corpus or 'corpus'}: kept {self.kept:,} of {self.total:,} pairs; "
            f"dropped {self.empty:,} empty, {self.too_long:,} too long, {self.bad_ratio:,} over the "
            f"length ratio, {self.duplicates:,} duplicates{skipped}; {self.normalized:,} pairs changed by "
            f"Unicode normalization"
        )


class PairCleaner:
    """The rules of a :class:`CleaningConfig`, one pair at a time, with running counts.

    Call it on every ``(source, target)`` in order: it returns the cleaned pair, or
    ``None`` for a dropped one. :meth:`skip` counts a line left out before cleaning
    (``on_error: skip``); :meth:`report` gives the counts so far.
    """

    def __init__(self, config: CleaningConfig = CleaningConfig(), name: str = ""):
        self.config, self.name = config, name
        self._form = None if config.normalization == "none" else config.normalization
        self._counts = dict(normalized=0, empty=0, too_long=0, bad_ratio=0, duplicates=0, skipped=0)
        self._seen: set[tuple[str, str]] = set()
        self._total = self._kept = 0

    def __call__(self, source: str, target: str) -> tuple[str, str] | None:
        config, counts = self.config, self._counts
        self._total += 1
        if self._form is not None:
            new_source = unicodedata.normalize(self._form, source)
            new_target = unicodedata.normalize(self._form, target)
            if new_source != source or new_target != target:
                counts["normalized"] += 1
            source, target = new_source, new_target
        if config.drop_empty and (not source.strip() or not target.strip()):
            counts["empty"] += 1
            return None
        if config.max_length is not None or config.max_ratio is not None:
            n_src, n_tgt = len(source.split()), len(target.split())
            if config.max_length is not None and max(n_src, n_tgt) > config.max_length:
                counts["too_long"] += 1
                return None
            if config.max_ratio is not None and max(n_src, n_tgt) > config.max_ratio * max(1, min(n_src, n_tgt)):
                counts["bad_ratio"] += 1
                return None
        if config.deduplicate:
            if (source, target) in self._seen:
                counts["duplicates"] += 1
                return None
            self._seen.add((source, target))
        self._kept += 1
        return source, target

    def skip(self) -> None:
        """Counts a pair left out unread (``on_error: skip``)."""
        self._total += 1
        self._counts["skipped"] += 1

    def report(self) -> CleaningReport:
        """The counts so far."""
        return CleaningReport(corpus=self.name, total=self._total, kept=self._kept, **self._counts)


def clean(corpus: ParallelCorpus, config: CleaningConfig = CleaningConfig()) -> tuple[ParallelCorpus, CleaningReport]:
    """Normalizes and filters ``corpus`` according to ``config``.

    Returns:
        The cleaned corpus (pair order kept) and a :class:`CleaningReport`.
    """
    cleaner = PairCleaner(config, corpus.name)
    kept = [pair for pair in (cleaner(source, target) for source, target in corpus) if pair is not None]
    cleaned = dataclasses.replace(corpus, sources=tuple(s for s, _ in kept), targets=tuple(t for _, t in kept))
    return cleaned, cleaner.report()
