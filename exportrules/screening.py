"""Party names against restricted-party lists: normalisation, exact and fuzzy matching.

Names are compared as *tokens*: Unicode NFKC, case folding, punctuation and
spacing removed, legal-form words dropped (Co., Ltd., Limited, Inc., Corp.,
Group, Holdings, GmbH, 有限公司, 股份有限公司, 集团 …) and common abbreviations
expanded (Intl → international); "technology" (and Tech, 技术, 科技) is dropped as
noise. Words in another script are transliterated to Latin letters (anyascii:
华为 → huawei, Сугон → sugon), so a name written in its own script meets the list's
romanised entry. Two keys come from the
tokens: the sorted tokens (word order does not matter) and the tokens run
together (spacing does not matter: "Hua Wei" is "Huawei").

* an **exact** hit on either key takes the list entry's effect;
* otherwise a **fuzzy** candidate scored at or above the ruleset's review
  threshold is a possible match for a person to review. Candidates come from a
  trigram index over the run-together keys, using only its rarer trigrams, so
  a query scores a few dozen names rather than the whole list (in two rapidfuzz
  calls); scores are rapidfuzz ratios (0-100), raised when the party's country
  matches the entry's and lowered when it differs. A name one transposed, dropped or changed letter away
  from a listed name of seven letters or more, or two transposed letters in one of
  five or six ("Hauwei" for "Huawei"), is a candidate at the review score whatever
  its ratio: short names cannot reach a ratio threshold with one slip. A fuzzy score
  must also hold on the distinctive words, those few listed names share: "Inspur
  Electronic Information Industry" shares three generic words with "Ministry of
  Information Industry Electronics" but not its one distinctive word.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein

__all__ = [
    "Candidate",
    "NameIndex",
    "ScreeningThresholds",
    "clear_caches",
    "fold_homoglyphs",
    "mixed_script_words",
    "name_keys",
    "name_parts",
    "name_tokens",
    "normalize_name",
    "search_undated",
]

_T = TypeVar("_T")

_PUNCT = re.compile(r"[^\w]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_CJK_LEGAL = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团", "公司")
_CJK_GENERIC = {"技术": "technology", "科技": "technology"}

LEGAL_FORMS = frozenset({
    "co", "company", "companies", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "group",
    "holdings", "holding", "gmbh", "llc", "plc", "sa", "ag", "bv", "nv", "pte", "sdn", "bhd", "jsc", "kk",
    "srl", "spa", "lp", "llp", "pvt", "the", "oy", "ab", "as",
    # Russian and other Cyrillic legal forms as they read once transliterated (ООО, ЗАО, ОАО, ПАО)
    "ooo", "zao", "oao", "pao",
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


@lru_cache(maxsize=65536)
def _near_dropped(word: str) -> bool:
    """A long word one or two typing slips away from a legal-form or noise word (``Tachnologies``,
    ``Haldings``); a word further away keeps its place as a distinctive token (``Vorpraion`` is not
    ``corporation``). One C call per distinct word (rapidfuzz), memoised: words repeat across names."""
    return _slips_from(word, _DROPPED_SURFACE)


def _slips_from(word: str, vocabulary: Sequence[str]) -> bool:
    """Whether a word of six letters or more is one typing slip (two from nine letters on) away from a
    word of *vocabulary*: one C call (rapidfuzz)."""
    if len(word) < 6:
        return False
    slips = 1 if len(word) < 9 else 2
    return process.extractOne(word, vocabulary, scorer=Levenshtein.distance, score_cutoff=slips) is not None


def normalize_name(name: str) -> str:
    """NFKC, case-folded, punctuation and spaces collapsed (no words dropped)."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _PUNCT.sub(" ", text).replace("_", " ")
    return " ".join(text.split())


def _cjk(m: re.Match[str]) -> str:
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


_DROP = LEGAL_FORMS | NOISE_WORDS


@lru_cache(maxsize=65536)
def _word(raw: str) -> str:
    """A raw word as a token: abbreviations spelt out; "" for legal forms, noise and their misspellings."""
    word = ABBREVIATIONS.get(raw, raw)
    return "" if not word or word in _DROP or _near_dropped(word) else word


_WORD = re.compile(r"\w+", re.UNICODE)
_ASCII_WORD = re.compile(r"[a-z0-9]+")


def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN" if ch.isalpha() else ""
    if not ch.isalpha():
        return ""
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return ""


@lru_cache(maxsize=8192)
def mixed_script_words(name: str) -> tuple[str, ...]:
    """Words of *name* whose letters come from more than one script (``Huаwei`` with a Cyrillic ``а``):
    the mark of a homoglyph, never of an honest name. Words of different scripts side by side
    (``华为 Huawei``) are fine."""
    if name.isascii():
        return ()
    return tuple(w for w in _WORD.findall(unicodedata.normalize("NFKC", name))
                 if len({sc for ch in w if (sc := _script(ch))}) > 1)


def _latin_lookalike(ch: str) -> str:
    """The Latin letter *ch* is a homoglyph of (Unicode's confusables data), or *ch* itself."""
    from confusable_homoglyphs import confusables  # loaded only for names that need it

    found: list[dict[str, Any]] = confusables.is_confusable(ch, preferred_aliases=["latin"], greedy=True) or []
    for entry in found:
        for glyph in entry.get("homoglyphs", ()):
            c = str(glyph.get("c", ""))
            if len(c) == 1 and c.isascii() and c.isalpha():
                return c
    return ch


def fold_homoglyphs(text: str) -> str:
    """*text* with the letters of mixed-script words that look like Latin ones replaced by them."""
    def fold(m: re.Match[str]) -> str:
        w = m.group(0)
        if len({sc for ch in w if (sc := _script(ch))}) < 2:
            return w
        return "".join(ch if ch.isascii() else _latin_lookalike(ch) for ch in w)

    return _WORD.sub(fold, text)


def name_tokens(name: str) -> tuple[str, ...]:
    """The distinctive tokens of a name, in order (homoglyphs of Latin letters folded first)."""
    # NFKC, homoglyphs and the CJK rules change nothing in ASCII text
    if name.isascii():  # words are runs of letters and digits; no transliteration to do
        out = [w for raw in _ASCII_WORD.findall(name.lower().replace("&", " and ")) if (w := _word(raw))]
    else:
        text = _CJK.sub(_cjk, fold_homoglyphs(unicodedata.normalize("NFKC", name)).casefold())
        if "&" in text:
            text = text.replace("&", " and ")
        out = [w for raw in _PUNCT.sub(" ", text).replace("_", " ").split() if (w := _word(_latin(raw)))]
    if not out:  # a name made only of legal words: keep it as it is
        out = normalize_name(name).split()
    return tuple(out)


@lru_cache(maxsize=65536)
def _latin(word: str) -> str:
    """A word in Latin letters: words holding letters of another script are transliterated (anyascii),
    Latin words (accents included: ``Telecomunicações``) are kept as they are."""
    if word.isascii() or all(_script(ch) in ("LATIN", "") for ch in word):
        return word
    from anyascii import anyascii  # loaded only for names in other scripts

    return _PUNCT.sub("", anyascii(word)).lower() or word


@lru_cache(maxsize=65536)
def name_parts(name: str) -> tuple[str, str, tuple[str, ...]]:
    """(sorted-token key, run-together key, tokens) of a name (memoised)."""
    tokens = name_tokens(name)
    return " ".join(sorted(tokens)), "".join(tokens), tokens


def name_keys(name: str) -> tuple[str, str]:
    """(sorted-token key, run-together key) of a name (memoised: names repeat across rulesets and orders)."""
    parts = name_parts(name)
    return parts[0], parts[1]


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
    contained: bool = False
    """The name holds every distinctive word of the listed name, and more (``Huawei Technologies
    Deutschland GmbH`` holds ``Huawei``): a possible subsidiary, for review."""


_Scored3 = tuple[tuple[int, float, bool], ...]


@dataclass(frozen=True, slots=True)
class _Variant(Generic[_T]):
    entry: _T
    number: int
    """Which entry (entries have several names)."""
    name: str
    sorted_key: str
    compact: str
    country: str | None
    start: dt.date | None
    until: dt.date | None

    def live(self, on: dt.date | None) -> bool:
        return on is None or ((self.start is None or self.start <= on) and (self.until is None or on <= self.until))


def _trigrams(text: str) -> set[str]:
    """The trigrams of a run-together key, padded: what the index is built on (queries get the same set
    from per-token caches and :func:`_joins`)."""
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


_Scored = tuple[tuple[int, float], ...]


class NameIndex(Generic[_T]):
    """Exact and fuzzy lookup of names against list entries, each in force over its own dates.

    One index serves every date: an entry carries its window (listing date to removal), and a
    search on a date keeps the candidates in force then. A list of 100,000 parties listed on
    10,000 dates is one index, built once. The index is immutable after it is built, so it may be
    shared between threads.
    """

    #: trigrams shared by more than this share of names are too common to find candidates with
    COMMON_SHARE = 0.02
    #: at most this many of a query's rarest trigrams are used to find candidates
    MAX_GRAMS = 8
    #: a word held by more listed names than this is too common to say a name contains a listed one
    MAX_CONTAINING = 512
    #: a word held by more than this share of listed names (and at least COMMON_WORD_MIN) is generic
    COMMON_WORD_SHARE = 0.004
    COMMON_WORD_MIN = 24
    #: names this long or longer (and no longer than SLIP_MAX) are candidates for review when one letter
    #: slip (transposed, dropped, added or changed) away from a listed name
    SLIP_LENGTH = 5
    SLIP_MAX = 14
    #: below this length only two letters transposed count as a slip (``Nanya`` is not ``Nanda``)
    SLIP_ANY = 7

    def __init__(self, variants: list[_Variant[_T]]) -> None:
        self._variants = variants
        self._sorted: dict[str, list[int]] = {}
        self._compact: dict[str, list[int]] = {}
        postings: defaultdict[str, list[int]] = defaultdict(list)
        words: defaultdict[str, list[int]] = defaultdict(list)
        self._words_of: list[frozenset[str]] = []
        for i, v in enumerate(variants):
            own = frozenset(v.sorted_key.split())
            self._words_of.append(own)
            for w in own:
                words[w].append(i)
            self._sorted.setdefault(v.sorted_key, []).append(i)
            self._compact.setdefault(v.compact, []).append(i)
            for g in _trigrams(v.compact):
                postings[g].append(i)
        # Each trigram's postings as (how many names, the set of them): candidates are found by set
        # operations in C rather than by counting in Python.
        self._grams: dict[str, tuple[int, frozenset[int]]] = {}
        for g, ids in postings.items():
            self._grams[g] = (len(ids), frozenset(ids))
        self._common = max(8, int(len(variants) * self.COMMON_SHARE))
        # Words so many listed names hold that sharing them says little (place names, business lines):
        # a fuzzy score must also hold on the other, distinctive words.
        common = max(self.COMMON_WORD_MIN, int(len(variants) * self.COMMON_WORD_SHARE))
        self._generic = frozenset(w for w, ids in words.items() if len(ids) > common)
        self._generic_list = sorted(w for w in self._generic if len(w) >= 5)
        # Each listed name is filed under its rarest word (four letters or more): a name that holds all
        # of a listed name's words holds that one, so a query looks only under its own words and meets
        # few names under each, however many listed names share a common word.
        by_rarest: defaultdict[str, list[int]] = defaultdict(list)
        for i, own in enumerate(self._words_of):
            long_words = [w for w in own if len(w) >= 4]
            rarest = min(long_words, key=lambda w: (len(words[w]), w)) if long_words else None
            if rarest is not None and not _affiliate_words(own):  # "Enterprises" alone names no one
                by_rarest[rarest].append(i)
        self._words: dict[str, tuple[int, ...]] = {w: tuple(ids) for w, ids in by_rarest.items()
                                                   if len(ids) <= self.MAX_CONTAINING}
        self.dated = any(v.start is not None or v.until is not None for v in variants)
        # Short names one letter slip apart rarely share two rare trigrams: each short run-together key
        # is also indexed under every key one letter shorter (a deletion neighbourhood), so a query
        # finds them by a few dictionary lookups whatever the size of the list.
        slips: defaultdict[str, list[int]] = defaultdict(list)
        for i, v in enumerate(variants):
            if self.SLIP_LENGTH <= len(v.compact) <= self.SLIP_MAX:
                for d in _one_shorter(v.compact):
                    slips[d].append(i)
        self._slips: dict[str, tuple[int, ...]] = {d: tuple(ids) for d, ids in slips.items()}
        # the two keys by variant number, so a query's candidates are gathered for rapidfuzz in one comprehension
        self._compacts = [v.compact for v in variants]
        self._sorted_keys = [v.sorted_key for v in variants]
        self._distinctive: dict[int, str] = {}
        """Each fuzzy candidate's words that are not generic in this list, worked out the first time needed."""

    @classmethod
    def build(cls, entries: Iterable[tuple[_T, Iterable[str], str | None]],
              window: Callable[[_T], tuple[dt.date | None, dt.date | None]] | None = None) -> NameIndex[_T]:
        """Index each entry under every one of its names: ``(entry, names, country)``; *window* gives
        an entry's first and last day in force (always, without it)."""
        variants: list[_Variant[_T]] = []
        for number, (entry, names, country) in enumerate(entries):
            start, until = window(entry) if window is not None else (None, None)
            for n in names:
                s, c = name_keys(n)
                if c:
                    variants.append(_Variant(entry, number, n, s, c, country, start, until))
        return cls(variants)

    def __len__(self) -> int:
        return len(self._variants)

    def entries(self, on: dt.date | None = None) -> list[_T]:
        """The entries in force on *on* (all of them without a date), in the order they were given."""
        seen: dict[int, _T] = {}
        for v in self._variants:
            if v.number not in seen and v.live(on):
                seen[v.number] = v.entry
        return list(seen.values())

    def exact(self, name: str, *, on: dt.date | None = None) -> list[Candidate[_T]]:
        """Entries one of whose names has the same tokens (any order) or the same letters run together."""
        return self._pick(self._exact(name), on, exact=True)

    def search(self, name: str, *, country: str | None = None,
               thresholds: ScreeningThresholds = ScreeningThresholds(), on: dt.date | None = None) \
            -> list[Candidate[_T]]:
        """Exact hits in force on *on* if any; otherwise fuzzy candidates in force on *on* at or above the
        review score, best first (every entry, without a date).

        The date-free work is kept in bounded LRUs shared by every index, one for what a name finds
        whatever its country and one with the country applied (order books repeat their parties, and a
        party's orders may name different countries); the date only filters it.
        """
        exact, fuzzy = search_undated(self, name, country, thresholds)
        return self._pick(exact, on, exact=True) or self._pick(fuzzy, on, exact=False)

    def _pick(self, scored: _Scored | _Scored3, on: dt.date | None, *, exact: bool) -> list[Candidate[_T]]:
        best: dict[int, Candidate[_T]] = {}
        for row in scored:
            i, score = row[0], row[1]
            v = self._variants[i]
            if v.number not in best and v.live(on):
                best[v.number] = Candidate(v.entry, v.name, score, exact, bool(row[2]) if len(row) > 2 else False)
        return list(best.values())

    def _exact(self, name: str) -> _Scored:
        s, c = name_keys(name)
        hits = {*self._sorted.get(s, ()), *self._compact.get(c, ())}
        return tuple((i, 100.0) for i in sorted(hits))

    def _undated(self, name: str, country: str | None, thresholds: ScreeningThresholds) -> tuple[_Scored, _Scored3]:
        """(exact hits, fuzzy or containing candidates) over every entry whatever its dates: the
        country-free work (kept in a shared LRU: a buyer's country varies across orders more than its
        name), then the country's boost or penalty."""
        exact, contained, fuzzy, slips = _raw_undated(self, name, thresholds)
        if not fuzzy and not slips:
            return exact, contained
        scored = list(contained)
        done = {i for i, _ in exact} | {row[0] for row in contained}
        review = thresholds.review_score
        for i, raw, short, where in fuzzy:
            if short and not (country and country == where):
                continue  # a letter off in a short name is another name ("Midea", "Miea") unless the country agrees
            score = raw
            if score and country and where:
                score = min(100.0, score + thresholds.country_boost) if country == where \
                    else score - thresholds.country_penalty
            if score >= review:
                done.add(i)
                scored.append((i, round(score, 1), False))
        # one slip in a short name ("Hauwei"): always for review, whatever its ratio or country
        scored.extend((i, review, False) for i in slips if i not in done)
        scored.sort(key=lambda x: (-x[1], x[0]))
        return exact, tuple(scored)

    def _raw(self, name: str, thresholds: ScreeningThresholds) -> _Raw:
        """What screening *name* finds before its country is known: exact hits, names it contains (for
        review), fuzzy candidates scored without the country (variant, score, whether the names are
        short, the variant's country) and variants one letter slip away."""
        exact = self._exact(name)
        s, c, tokens = name_parts(name)
        if not c:
            return exact, (), (), ()
        contained: list[tuple[int, float, bool]] = []
        done = {i for i, _ in exact}
        mine = frozenset(tokens)
        for t in mine:
            for i in self._words.get(t, ()):
                # every listed word, and more words that a subsidiary's name adds (a place, a business line)
                if i not in done and self._words_of[i] < mine and _affiliate_words(mine - self._words_of[i]):
                    done.add(i)
                    contained.append((i, thresholds.review_score, True))
        grams = self._grams
        postings = sorted({*(pair for t in tokens for pair in _token_postings(self, t)),
                           *((p[0], g) for g in _joins(tokens) if (p := grams.get(g)) is not None)})
        # A candidate shares at least two of the query's rarest trigrams (at most MAX_GRAMS of them;
        # common trigrams are skipped once three rare ones have been used). The sets grow in place:
        # copying them per trigram cost more than the counting.
        three = len(c) >= 10
        once: set[int] = set()
        twice: set[int] = set()
        thrice: set[int] = set()
        used = 0
        for n, g in postings[: self.MAX_GRAMS]:
            if n > self._common and used >= 3:
                break
            used += 1
            ids = grams[g][1]
            if three:
                thrice |= ids & twice
            twice |= ids & once
            once |= ids
        # A long query with one or two slips still shares three of its rarest trigrams with the name
        # it misspells; asking for three when six or more were used keeps a large list's candidates few.
        candidates = sorted(thrice if used >= 6 and three else twice)
        floor = thresholds.review_score - thresholds.country_boost
        lc = len(c)
        generic = self._generic
        mine_rare: str | None = None  # the query's distinctive words, worked out when a candidate needs them
        fuzzy: list[tuple[int, float, bool, str | None]] = []
        todo = [i for i in candidates if i not in done]
        # The candidates are scored in two C calls (rapidfuzz's process.extract over their run-together keys,
        # then their sorted tokens; it skips those whose lengths alone cannot reach the floor); four or
        # fewer are scored one by one.
        best: dict[int, float] = {}
        compacts, sorted_keys = self._compacts, self._sorted_keys
        if len(todo) > 4:
            for _, score, k in process.extract(c, [compacts[i] for i in todo], scorer=fuzz.ratio,
                                               score_cutoff=floor, limit=None):
                best[k] = score
            for _, score, k in process.extract(s, [sorted_keys[i] for i in todo], scorer=fuzz.token_sort_ratio,
                                               score_cutoff=floor, limit=None):
                if score > best.get(k, 0.0):
                    best[k] = score
        else:  # a few: two calls each cost less than building the lists
            for k, i in enumerate(todo):
                score = max(fuzz.ratio(c, compacts[i], score_cutoff=floor),
                            fuzz.token_sort_ratio(s, sorted_keys[i], score_cutoff=floor))
                if score:
                    best[k] = score
        for k in sorted(best):
            i, score = todo[k], best[k]
            v = self._variants[i]
            if generic:
                # the distinctive words must resemble each other too ("Inspur Electronic Information
                # Industry" is not "Ministry of Information Industry Electronics")
                theirs = self._distinctive.get(i)
                if theirs is None:  # kept: a pure function of the variant (one assignment, safe between threads)
                    theirs = self._distinctive[i] = " ".join(t for t in v.sorted_key.split()
                                                             if not _near_generic(self, t))
                if mine_rare is None:  # those not generic in this list, nor a slip from one
                    mine_rare = " ".join(t for t in sorted(tokens) if not _near_generic(self, t))
                if theirs and (not mine_rare or (
                        not fuzz.token_set_ratio(mine_rare, theirs, score_cutoff=floor)
                        and not fuzz.ratio(mine_rare.replace(" ", ""), theirs.replace(" ", ""), score_cutoff=floor))):
                    continue
            fuzzy.append((i, score, max(lc, len(v.compact)) < self.SLIP_ANY, v.country))
        slips: list[int] = []
        if self.SLIP_LENGTH <= lc <= self.SLIP_MAX + 1:
            by_deletion, by_compact = self._slips, self._compact
            near = set(by_deletion.get(c, ()))
            dels = _deletions(c)
            for d in by_deletion.keys() & dels:  # the keys both hold, found in C; most deletions are in neither
                near.update(by_deletion[d])
            for d in by_compact.keys() & dels:
                near.update(by_compact[d])
            for i in sorted(near - done):
                v = self._variants[i]
                if len(v.compact) >= self.SLIP_LENGTH and OSA.distance(c, v.compact, score_cutoff=1) <= 1 and (
                        min(lc, len(v.compact)) >= self.SLIP_ANY or Levenshtein.distance(c, v.compact) == 2):
                    slips.append(i)
        contained.sort()  # one score: in variant order, as the scored list is
        return exact, tuple(contained), tuple(fuzzy), tuple(slips)


_Raw = tuple[_Scored, _Scored3, tuple[tuple[int, float, bool, "str | None"], ...], tuple[int, ...]]


AFFILIATE_WORDS = frozenset({
    "cloud", "international", "global", "research", "institute", "investment", "software", "services", "service",
    "digital", "semiconductor", "computing", "computer", "electronic", "device", "devices", "terminal", "system",
    "enterprise", "enterprises", "network", "networks", "datacenter", "data", "center", "trading", "import",
    "export", "branch",
    "subsidiary", "overseas", "intelligent", "intelligence", "ai", "chip", "chips", "microelectronics", "ic",
    "engineering", "development", "laboratory", "innovation", "communication", "communications", "telecom",
    # places as companies write them in their own languages
    "deutschland", "nederland", "italia", "espana", "españa", "schweiz", "suisse", "osterreich", "österreich",
    "polska", "sverige", "norge", "danmark", "suomi", "nippon", "turkiye", "türkiye", "brasil", "mexico", "méxico",
    "rossiya", "europe", "european", "asia", "asean", "pacific", "africa", "middle", "east", "america", "americas",
    "hong", "kong", "macau", "macao", "shenzhen", "shanghai", "beijing", "hangzhou", "chengdu", "wuhan", "suzhou",
    "dubai", "abu", "dhabi", "riyadh", "singapore", "kuala", "lumpur", "penang", "johor",
})
"""Words a subsidiary's name adds to its parent's (besides country names): a name that holds a listed
name plus only such words is a possible affiliate, for review; plus other words (``Megvii Coffee``),
it is another business."""


@lru_cache(maxsize=1)
def _place_words() -> frozenset[str]:
    import pycountry  # deferred: only names that hold a listed one need it

    words: set[str] = set()
    for c in pycountry.countries:
        for attr in ("name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                words.update(w for w in _PUNCT.sub(" ", value.casefold()).split() if len(w) > 2)
    return frozenset(words - {"and", "the", "islands", "republic", "of"})


def _affiliate_words(extra: frozenset[str]) -> bool:
    return all(w in AFFILIATE_WORDS or w.isdigit() or w in _place_words() for w in extra)


@lru_cache(maxsize=65536)
def _near_generic(index: NameIndex[Any], token: str) -> bool:
    """Whether *token* is one of *index*'s generic words, or a typing slip or two away from one
    (``Idustry``); one C call per distinct token, memoised."""
    return token in index._generic or _slips_from(token, index._generic_list)


def _one_shorter(text: str) -> frozenset[str]:
    """Every string one letter shorter than *text*."""
    return frozenset(text[:i] + text[i + 1 :] for i in range(len(text)))


@lru_cache(maxsize=4096)
def _deletions(text: str) -> frozenset[str]:
    """:func:`_one_shorter` for a query, kept a while: a name is screened against every index."""
    return _one_shorter(text)


@lru_cache(maxsize=4096)
def _joins(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The trigrams of the padded run-together key that no single token holds: the two that start just
    before each token (where tokens meet, or the padding begins) and the one with the closing pad. A
    trigram that crosses a boundary starts at one of those places, whatever the tokens' lengths."""
    padded = "  " + "".join(tokens) + " "
    out = [padded[-3:]]
    pos = 0
    for t in tokens:
        out.append(padded[pos : pos + 3])
        out.append(padded[pos + 1 : pos + 4])
        pos += len(t)
    return tuple(out)


@lru_cache(maxsize=65536)
def _token_postings(index: NameIndex[Any], token: str) -> tuple[tuple[int, str], ...]:
    """(count, trigram) for the trigrams inside *token* that *index* knows (tokens repeat across names)."""
    grams = index._grams
    return tuple((p[0], g) for i in range(len(token) - 2) if (p := grams.get(g := token[i : i + 3])) is not None)


@lru_cache(maxsize=32768)
def search_undated(index: NameIndex[Any], name: str, country: str | None,
                   thresholds: ScreeningThresholds) -> tuple[_Scored, _Scored3]:
    """(exact hits, fuzzy candidates) for *name* over every entry of *index*, whatever their dates, as
    (variant number, score) pairs; one bounded LRU shared by every index. Keyed on the index object
    itself (held by the cache, so never confused with a later one)."""
    return index._undated(name, country, thresholds)


@lru_cache(maxsize=32768)
def _raw_undated(index: NameIndex[Any], name: str, thresholds: ScreeningThresholds) -> _Raw:
    """:meth:`NameIndex._raw`, in one bounded LRU shared by every index."""
    return index._raw(name, thresholds)


def clear_caches() -> None:
    """Empty the shared screening and name-key caches (for memory measurements and tests)."""
    search_undated.cache_clear()
    _raw_undated.cache_clear()
    _near_generic.cache_clear()
    _token_postings.cache_clear()
    _deletions.cache_clear()
    _joins.cache_clear()
    name_parts.cache_clear()
    mixed_script_words.cache_clear()
    _word.cache_clear()
    _near_dropped.cache_clear()


def __dir__() -> list[str]:
    return list(__all__)
