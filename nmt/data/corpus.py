"""The parallel corpus value: aligned source and target sentences plus language codes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import pandas as pd


@dataclasses.dataclass(frozen=True)
class ParallelCorpus:
    """Aligned sentence pairs: ``sources[i]`` translates to ``targets[i]``.

    Attributes:
        sources: source-language sentences.
        targets: target-language sentences, same length as ``sources``.
        src_lang: source language code (``"de"``).
        tgt_lang: target language code (``"en"``).
        name: where the corpus came from, for reports (``"multi30k/train"``).
    """

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    src_lang: str
    tgt_lang: str
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "targets", tuple(self.targets))
        if len(self.sources) != len(self.targets):
            raise ValueError(
                f"corpus {self.name or '<unnamed>'}: {len(self.sources)} source sentences "
                f"but {len(self.targets)} target sentences"
            )

    def __len__(self) -> int:
        return len(self.sources)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return zip(self.sources, self.targets)

    def select(self, indices: Sequence[int], name: str | None = None) -> ParallelCorpus:
        """The pairs at ``indices``, in that order."""
        return dataclasses.replace(
            self,
            sources=tuple(self.sources[i] for i in indices),
            targets=tuple(self.targets[i] for i in indices),
            name=self.name if name is None else name,
        )

    def head(self, n: int) -> ParallelCorpus:
        """The first ``n`` pairs."""
        return self.select(range(min(n, len(self))))

    def reversed(self) -> ParallelCorpus:
        """The same pairs with source and target swapped."""
        return ParallelCorpus(self.targets, self.sources, self.tgt_lang, self.src_lang, self.name)

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with columns ``source`` and ``target``; languages in ``df.attrs``."""
        frame = pd.DataFrame({"source": list(self.sources), "target": list(self.targets)})
        frame.attrs.update(src_lang=self.src_lang, tgt_lang=self.tgt_lang, name=self.name)
        return frame

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        *,
        source: str = "source",
        target: str = "target",
        name: str | None = None,
    ) -> ParallelCorpus:
        """Builds a corpus from two string columns of ``frame``.

        Languages default to ``frame.attrs`` (as written by :meth:`to_frame`).

        Raises:
            KeyError: a named column is missing (the message lists the columns).
            ValueError: a cell is missing or not a string (the message gives its row).
        """
        for column in (source, target):
            if column not in frame.columns:
                raise KeyError(f"column {column!r} not in DataFrame; columns: {list(frame.columns)}")
        src_lang = src_lang or frame.attrs.get("src_lang")
        tgt_lang = tgt_lang or frame.attrs.get("tgt_lang")
        if not src_lang or not tgt_lang:
            raise ValueError("src_lang and tgt_lang are required (not found in DataFrame.attrs)")
        columns = []
        for column in (source, target):
            values = frame[column].tolist()
            for row, value in zip(frame.index, values):
                if not isinstance(value, str):
                    raise ValueError(
                        f"DataFrame column {column!r}, row {row!r}: expected a string, got {value!r}"
                    )
            columns.append(values)
        return cls(tuple(columns[0]), tuple(columns[1]), src_lang, tgt_lang,
                   frame.attrs.get("name", "") if name is None else name)
