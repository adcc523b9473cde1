"""Party names against restricted-party lists: normalisation and exact matching.

Names are compared after Unicode NFKC, case folding, and turning punctuation
and runs of whitespace into single spaces, so ``HUAWEI TECHNOLOGIES CO., LTD``
and ``Huawei Technologies Co Ltd`` are the same name. Fuzzy matching and
ownership chains build on this module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["NameIndex", "normalize_name"]

_PUNCT = re.compile(r"[^\w]+", re.UNICODE)
_T = TypeVar("_T")


def normalize_name(name: str) -> str:
    """A comparison key for a party name: NFKC, case-folded, punctuation and spaces collapsed."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _PUNCT.sub(" ", text).replace("_", " ")
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class NameIndex(Generic[_T]):
    """Normalised name -> entries with that name or alias."""

    exact: Mapping[str, tuple[_T, ...]]

    @classmethod
    def build(cls, entries: Iterable[tuple[_T, Iterable[str]]]) -> NameIndex[_T]:
        """Index each entry under every one of its names."""
        table: dict[str, list[_T]] = {}
        for entry, names in entries:
            for n in names:
                key = normalize_name(n)
                if key:
                    bucket = table.setdefault(key, [])
                    if entry not in bucket:
                        bucket.append(entry)
        return cls({k: tuple(v) for k, v in table.items()})

    def lookup(self, name: str) -> tuple[_T, ...]:
        """Entries whose normalised name or alias equals *name*'s."""
        return self.exact.get(normalize_name(name), ())


def __dir__() -> list[str]:
    return list(__all__)
