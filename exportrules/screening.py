"""Party names against restricted-party lists: normalisation, exact and fuzzy matching.

Names are compared as *tokens*: Unicode NFKC, case folding, punctuation and
spacing removed, legal-form words dropped (Co., Ltd., Limited, Inc., Corp.,
Group, Holdings, GmbH, 有限公司, 股份有限公司, 集团 …) and common abbreviations
expanded (Intl → international); "technology" (and Tech, 技术, 科技) is dropped as
noise. Two keys come from the
tokens: the sorted tokens (word order does not matter) and the tokens run
together (spacing does not matter: "Hua Wei" is "Huawei").

* an **exact** hit on either key takes the list entry's effect;
* otherwise a **fuzzy** candidate scored at or above the ruleset's review
  threshold is a possible match for a person to review. Candidates come from a
  trigram index over the run-together keys, using only its rarer trigrams, so
  a query scores a few dozen names rather than the whole list; scores are
  rapidfuzz ratios (0-100), raised when the party's country matches the entry's
  and lowered when it differs.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from rapidfuzz import fuzz

__all__ = ["Candidate", "NameIndex", "ScreeningThresholds", "name_keys", "name_tokens", "normalize_name"]

_T = TypeVar("_T")

_PUNCT = re.compile(r"[^\w]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_CJK_LEGAL = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团", "公司")
_CJK_GENERIC = {"技术": "technology", "科技": "technology"}

LEGAL_FORMS = frozenset({
    "co", "company", "companies", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "group",
    "holdings", "holding", "gmbh", "llc", "plc", "sa", "ag", "bv", "nv", "pte", "sdn", "bhd", "jsc", "kk",
    "srl", "spa", "lp", "llp", "pvt", "the", "oy", "ab", "as",
})
"""Words that say what kind of company a name is, not which one."""

NOISE_WORDS = frozenset({"technology"})
"""Words so common in listed names that they tell nothing apart; dropped like legal forms."""

ABBREVIATIONS = {
    "tech": "technology", "techn": "technology", "technologies": "technology", "technological": "technology",
    "intl": "international", "int": "international", "internat": "international",
    "elec": "electronic", "electronics": "electronic", "info": "information", "mfg": "manufacturing",
    "semi": "semiconductor", "semiconductors": "semiconductor", "sci": "science", "sciences": "science",
    "natl": "national", "nat": "national", "inst": "institute", "univ": "university", "dev": "development",
    "microelectronic": "microelectronics", "systems": "system", "sys": "system", "industries": "industry",
    "ind": "industry", "labs": "laboratory", "lab": "laboratory", "laboratories": "laboratory",
    "ctr": "center", "centre": "center", "engg": "engineering", "eng": "engineering", "and": "",
}
"""Abbreviations and plural forms mapped to one spelling."""


_DROPPED_SURFACE = tuple(sorted(
    {w for w in LEGAL_FORMS | NOISE_WORDS if len(w) >= 6}
    | {"technologies", "technological", "corporation", "incorporated", "limited", "holdings", "company"}
))


def _near_dropped(word: str) -> bool:
    """A long word one slip away from a legal-form or noise word (``Tachnologies``, ``Haldings``)."""
    if len(word) < 6:
        return False
    return any(abs(len(word) - len(w)) <= 2 and fuzz.ratio(word, w) >= 80 for w in _DROPPED_SURFACE)


def normalize_name(name: str) -> str:
    """NFKC, case-folded, punctuation and spaces collapsed (no words dropped)."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _PUNCT.sub(" ", text).replace("_", " ")
    return " ".join(text.split())


def name_tokens(name: str) -> tuple[str, ...]:
    """The distinctive tokens of a name, in order."""
    text = unicodedata.normalize("NFKC", name).casefold()

    def cjk(m: re.Match[str]) -> str:
        run = m.group(0)
        changed = True
        while changed:  # strip legal suffixes, then generic words, from the end of the run
            changed = False
            for suffix in _CJK_LEGAL:
                if run.endswith(suffix) and len(run) > len(suffix):
                    run, changed = run[: -len(suffix)], True
            for word, english in _CJK_GENERIC.items():
                if run.endswith(word) and len(run) > len(word):
                    run, changed = f"{run[: -len(word)]} {english}", True
        return f" {run} "

    text = _CJK.sub(cjk, text)
    text = text.replace("&", " and ")
    out: list[str] = []
    for raw in _PUNCT.sub(" ", text).replace("_", " ").split():
        word = ABBREVIATIONS.get(raw, raw)
        if word and word not in LEGAL_FORMS and word not in NOISE_WORDS and not _near_dropped(word):
            out.append(word)
    if not out:  # a name made only of legal words: keep it as it is
        out = normalize_name(name).split()
    return tuple(out)


@lru_cache(maxsize=8192)
def name_keys(name: str) -> tuple[str, str]:
    """(sorted-token key, run-together key) of a name (memoised: names repeat across rulesets and orders)."""
    tokens = name_tokens(name)
    return " ".join(sorted(tokens)), "".join(tokens)


@dataclass(frozen=True, slots=True)
class ScreeningThresholds:
    """How fuzzy scores become review flags; set per ruleset."""

    review_score: float = 90.0
    country_boost: float = 5.0
    country_penalty: float = 10.0


@dataclass(frozen=True, slots=True)
class Candidate(Generic[_T]):
    """A list entry a name may refer to."""

    entry: _T
    name: str
    """The listed name or alias that matched."""
    score: float
    """100 for an exact hit; the adjusted fuzzy score otherwise."""
    exact: bool


@dataclass(frozen=True, slots=True)
class _Variant(Generic[_T]):
    entry: _T
    name: str
    sorted_key: str
    compact: str
    country: str | None


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class NameIndex(Generic[_T]):
    """Exact and fuzzy lookup of names against list entries."""

    #: trigrams shared by more than this share of names are too common to find candidates with
    COMMON_SHARE = 0.02
    #: at most this many of a query's rarest trigrams are used to find candidates
    MAX_GRAMS = 8

    def __init__(self, variants: list[_Variant[_T]]) -> None:
        self._variants = variants
        self._sorted: dict[str, list[int]] = {}
        self._compact: dict[str, list[int]] = {}
        self._grams: dict[str, list[int]] = {}
        for i, v in enumerate(variants):
            self._sorted.setdefault(v.sorted_key, []).append(i)
            self._compact.setdefault(v.compact, []).append(i)
            for g in _trigrams(v.compact):
                self._grams.setdefault(g, []).append(i)
        self._common = max(8, int(len(variants) * self.COMMON_SHARE))
        self._memo: dict[tuple[str, str | None, ScreeningThresholds], list[Candidate[_T]]] = {}

    @classmethod
    def build(cls, entries: Iterable[tuple[_T, Iterable[str], str | None]]) -> NameIndex[_T]:
        """Index each entry under every one of its names: ``(entry, names, country)``."""
        variants: list[_Variant[_T]] = []
        for entry, names, country in entries:
            for n in names:
                s, c = name_keys(n)
                if c:
                    variants.append(_Variant(entry, n, s, c, country))
        return cls(variants)

    def __len__(self) -> int:
        return len(self._variants)

    def exact(self, name: str) -> list[Candidate[_T]]:
        """Entries one of whose names has the same tokens (any order) or the same letters run together."""
        s, c = name_keys(name)
        hits = {*self._sorted.get(s, ()), *self._compact.get(c, ())}
        return self._best([(i, 100.0) for i in sorted(hits)], exact=True)

    def search(self, name: str, *, country: str | None = None,
               thresholds: ScreeningThresholds = ScreeningThresholds()) -> list[Candidate[_T]]:
        """Exact hits if any; otherwise fuzzy candidates at or above the review score, best first.

        Results are memoised per (name, country, thresholds): order books repeat their parties.
        """
        key = (name, country, thresholds)
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) > 50_000:
                self._memo.clear()
            hit = self._memo[key] = self._search(name, country, thresholds)
        return list(hit)

    def _search(self, name: str, country: str | None, thresholds: ScreeningThresholds) -> list[Candidate[_T]]:
        found = self.exact(name)
        if found:
            return found
        s, c = name_keys(name)
        if not c:
            return []
        postings = sorted((p for g in _trigrams(c) if (p := self._grams.get(g))), key=len)
        counts: Counter[int] = Counter()
        used = 0
        for posting in postings[: self.MAX_GRAMS]:
            if len(posting) > self._common and used >= 3:
                break  # the rest are common trigrams; the rare ones have found the candidates
            used += 1
            counts.update(posting)
        if not counts:
            return []
        need = max(2, min(used, 3) - 1)
        scored: list[tuple[int, float]] = []
        for i, n in counts.items():
            if n < need:
                continue
            v = self._variants[i]
            score = max(fuzz.ratio(c, v.compact), fuzz.token_sort_ratio(s, v.sorted_key))
            if country and v.country:
                score = min(100.0, score + thresholds.country_boost) if country == v.country \
                    else score - thresholds.country_penalty
            if score >= thresholds.review_score:
                scored.append((i, round(score, 1)))
        return self._best(scored, exact=False)

    def _best(self, scored: list[tuple[int, float]], *, exact: bool) -> list[Candidate[_T]]:
        best: dict[int, Candidate[_T]] = {}
        for i, score in sorted(scored, key=lambda x: (-x[1], x[0])):
            v = self._variants[i]
            key = id(v.entry)
            if key not in best:
                best[key] = Candidate(v.entry, v.name, score, exact)
        return list(best.values())


def __dir__() -> list[str]:
    return list(__all__)
