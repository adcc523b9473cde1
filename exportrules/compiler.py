"""Lowering: the ruleset versions in force on a date become a :class:`Snapshot`.

A snapshot holds plain frozen dataclasses, closures and indexes; no pydantic
model or YAML node is touched while judging. Group memberships, equivalent
destinations and party listings are resolved for the snapshot's date range,
so a snapshot is valid for every date between two change dates of the catalog
and :class:`Compiler` caches one per range: a million transactions over five
years compile only as many snapshots as there are distinct date-states.

The work is a named list of stages (see :data:`STAGES`); each is a pure
function of the state built so far.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .catalog import Catalog, RulesetVersion
from .conditions import (
    FIELDS,
    All,
    AnyOf,
    Cond,
    FieldType,
    Not,
    Predicate,
    Test,
    compile_condition,
    parse_condition,
)
from .model import Quota, entry_window
from .screening import NameIndex, ScreeningThresholds
from .verdict import Outcome, RulesetUsed

__all__ = [
    "ITEM_FIELDS",
    "STAGES",
    "CAuthorization",
    "CClassification",
    "CControl",
    "CFlag",
    "CGate",
    "COwnership",
    "CParty",
    "CQuota",
    "CReview",
    "Compiler",
    "Meta",
    "RulesetSnapshot",
    "Snapshot",
    "compile_snapshot",
    "compiled_quota",
]


@dataclass(frozen=True, slots=True)
class Meta:
    """What a verdict reason needs to say about a rule."""

    id: str
    ruleset: str
    version: str
    jurisdiction: str
    citation: str
    source: str
    uncertain: bool


@dataclass(frozen=True, slots=True)
class CClassification:
    """A compiled classification."""

    meta: Meta
    cond: Cond | None
    pred: Predicate
    unless: Cond | None
    unless_pred: Predicate | None


@dataclass(frozen=True, slots=True)
class CControl:
    """A compiled control."""

    meta: Meta
    classes: frozenset[str]
    cond: Cond | None
    pred: Predicate
    requires: str
    review_policy: str
    message: str


@dataclass(frozen=True, slots=True)
class CReview:
    """A compiled review-policy override."""

    meta: Meta
    applies_to: frozenset[str]
    cond: Cond | None
    pred: Predicate
    policy: str
    evidence: tuple[str, ...]


ITEM_FIELDS = ("tpp", "performance_density", "datacenter", "memory_bandwidth", "io_bandwidth",
               "hbm_bandwidth_density", "kind", "eccn", "vendor", "name", "material", "fab_country", "us_tools",
               "us_content")
"""Item parameters conditions can read (as ``item.<name>``)."""


@dataclass(frozen=True, slots=True)
class CQuota:
    """A declared quota, as plain data."""

    quantity: int
    per: str
    key: tuple[str, ...]
    equivalent: str | None = None
    """The catalogue item the quantity is stated in; None for units of whatever ships."""
    equivalent_tpp: float | None = None
    """That item's TPP (None when the catalogue lacks it: the monitor then counts nothing as fitting)."""

    def amount(self, quantity: int, tpp: float | None) -> int | None:
        """What a shipment of *quantity* units, each of *tpp*, counts against this quota (None: unknown)."""
        if self.equivalent is None:
            return quantity
        return None if tpp is None else round(quantity * tpp)

    @property
    def limit(self) -> int | None:
        """The cap in the unit shipments count in (TPP for an equivalent; None: unknown)."""
        if self.equivalent is None:
            return self.quantity
        return None if self.equivalent_tpp is None else round(self.quantity * self.equivalent_tpp)

    def describe(self) -> str:
        """The cap in words."""
        per = self.per.replace("_", " ")
        unit = f" {self.equivalent}-equivalents (in TPP)" if self.equivalent else ""
        key = f" per {', '.join(self.key)}" if self.key else ""
        return f"{self.quantity:,}{unit} per {per}{key}"


@dataclass(frozen=True, slots=True)
class CAuthorization:
    """A compiled authorization."""

    meta: Meta
    covers: frozenset[str]
    cond: Cond | None
    pred: Predicate
    evidence: tuple[str, ...]
    licence: bool
    quota: CQuota | None
    action: str | None
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class CGate:
    """A compiled gate: whether the rulesets it names reach a shipment."""

    meta: Meta
    applies_to: tuple[str, ...]
    cond: Cond | None
    pred: Predicate
    message: str

    def gates(self, ruleset_id: str) -> bool:
        """Whether it gates the ruleset *ruleset_id* (never its own)."""
        return ruleset_id != self.meta.ruleset and any(
            ruleset_id == a or (a.endswith("/") and ruleset_id.startswith(a)) for a in self.applies_to)


@dataclass(frozen=True, slots=True)
class CFlag:
    """A compiled red flag."""

    meta: Meta
    cond: Cond | None
    pred: Predicate
    action: str
    message: str


@dataclass(frozen=True, slots=True)
class CParty:
    """A restricted-party entry listed on the snapshot's dates."""

    meta: Meta
    names: tuple[str, ...]
    aliases: tuple[str, ...]
    country: str | None
    effect: str
    review_policy: str
    list: str
    listed: dt.date
    until: dt.date | None = None
    """Last day listed (inclusive), when the entry was removed."""


@dataclass(frozen=True, slots=True)
class COwnership:
    """An ownership rule in force on the snapshot's dates."""

    meta: Meta
    threshold: float
    effect: str
    lists: frozenset[str] | None = None
    """The lists whose parties count as owners; every list when None."""


@dataclass(frozen=True, slots=True)
class RulesetSnapshot:
    """One ruleset version's rules, compiled for a date range."""

    version: RulesetVersion
    controls: tuple[CControl, ...]
    reviews: tuple[CReview, ...]
    authorizations: tuple[CAuthorization, ...]
    flags: tuple[CFlag, ...]
    parties: tuple[CParty, ...]
    """Every entry of the version, whatever its dates; :attr:`party_index` filters by date."""
    party_index: NameIndex[CParty]
    screening: ScreeningThresholds
    ownership: tuple[COwnership, ...] = ()
    scope: Predicate = field(default=lambda _f: True, repr=False)
    scope_cond: Cond | None = None

    decides: bool = True
    """True when the ruleset has rules of its own (not only groups, items or clearances)."""
    used: Mapping[Outcome | None, RulesetUsed] = field(default_factory=dict, repr=False)
    """How a verdict names this version, for each outcome it can give (built once)."""
    screens_seller: bool = False
    """Whether its listings other than prohibitions reach the seller (``screening.screens_seller``)."""
    gates: tuple[CGate, ...] = ()
    """Gates of other rulesets that decide whether this one reaches a shipment at all."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything needed to judge transactions dated within ``[start, end]``."""

    start: dt.date
    end: dt.date | None
    rulesets: tuple[RulesetSnapshot, ...]
    classifications: tuple[CClassification, ...]
    groups: Mapping[str, frozenset[str]]
    equivalents: Mapping[str, str]
    items: Mapping[str, Mapping[str, Any]]
    """Catalogue id -> the item's parameters (read-only; unknown figures are None)."""
    thresholds: Mapping[str, tuple[float, ...]]
    """Numeric constants each field is compared with (boundary values for testing)."""
    evidence: frozenset[str]
    """Every evidence name a rule in force reads."""
    external: Mapping[str, tuple[tuple[RulesetSnapshot, CAuthorization], ...]]
    """``ruleset#control`` -> authorizations of other rulesets that can clear it."""
    pred_of: Callable[[Cond], Predicate] = field(repr=False)
    resolve: Callable[[str], frozenset[str]] = field(repr=False)
    widen: Callable[[frozenset[str]], frozenset[str]] = field(repr=False)
    all_versions: tuple[RulesetVersion, ...] = ()
    widen_by: Mapping[str, Callable[[frozenset[str]], frozenset[str]]] = field(default_factory=dict, repr=False)
    """Ruleset id -> how its conditions widen destinations (equivalents of the rulesets it uses)."""
    end_uses: frozenset[str] = frozenset()
    """Every end use a rule in force reads."""
    licence_formats: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict, repr=False)
    """Jurisdiction -> what its licence numbers look like (from the rulesets in force)."""
    explained: dict[tuple[Any, ...], tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    """Explanations already rendered, keyed on the condition (owned by this snapshot, so its identity is
    stable while the snapshot lives) and the values of the facts it reads; bounded."""
    reads: dict[int, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    """The fields each condition of this snapshot reads."""


# ------------------------------------------------------------------ stages


@dataclass(slots=True)
class _State:
    catalog: Catalog
    on: dt.date
    start: dt.date
    end: dt.date | None
    versions: list[RulesetVersion] = field(default_factory=list)
    groups: dict[str, frozenset[str]] = field(default_factory=dict)
    equivalents: dict[str, str] = field(default_factory=dict)
    items: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    memo: dict[int, Predicate] = field(default_factory=dict)
    equivalents_by: dict[str, dict[str, str]] = field(default_factory=dict)
    current_widen: Callable[[frozenset[str]], frozenset[str]] | None = None
    keep: list[Cond] = field(default_factory=list)
    classifications: list[CClassification] = field(default_factory=list)
    rulesets: list[RulesetSnapshot] = field(default_factory=list)
    thresholds: dict[str, tuple[float, ...]] = field(default_factory=dict)
    evidence: set[str] = field(default_factory=set)
    end_uses: set[str] = field(default_factory=set)
    party_indexes: dict[tuple[str, str, str], tuple[tuple[CParty, ...], NameIndex[CParty]]] = \
        field(default_factory=dict)
    """One party index per ruleset version, shared by every snapshot (dated entries)."""

    def active(self, since: dt.date | None, until: dt.date | None) -> bool:
        return (since is None or since <= self.on) and (until is None or self.on <= until)

    def resolve(self, group: str) -> frozenset[str]:
        return self.groups.get(group, frozenset())

    def widen(self, codes: frozenset[str]) -> frozenset[str]:
        extra = {c for c, judged_as in self.equivalents.items() if judged_as in codes}
        return codes | extra if extra else codes

    def widen_for(self, v: RulesetVersion) -> Callable[[frozenset[str]], frozenset[str]]:
        """Equivalent destinations as the rulesets *v* uses (and *v* itself) declare them."""
        eq: dict[str, str] = {}
        for rid in (*v.model.uses, v.id):
            eq.update(self.equivalents_by.get(rid, {}))
        if not eq:
            return _same

        def widen(codes: frozenset[str]) -> frozenset[str]:
            extra = {c for c, judged_as in eq.items() if judged_as in codes}
            return codes | extra if extra else codes

        return widen

    def pred_of(self, cond: Cond) -> Predicate:
        key = id(cond)
        pred = self.memo.get(key)
        if pred is None:
            pred = compile_condition(cond, resolve=self.resolve, widen=self.current_widen or self.widen)
            self.memo[key] = pred
            self.keep.append(cond)  # INVARIANT: memo keys stay valid while the snapshot lives
        return pred

    def lower(self, data: Any) -> tuple[Cond | None, Predicate]:
        if data is None:
            return None, _true
        cond, problems, _ = parse_condition(data, ())
        if cond is None or problems:  # validated already; a failure here is a bug, and fails closed
            return None, _unknown
        self._walk(cond)
        return cond, self.pred_of(cond)

    def _walk(self, cond: Cond) -> None:
        self.pred_of(cond)
        if isinstance(cond, Test):
            if FIELDS[cond.field] is FieldType.NUMBER and cond.op not in ("exists", "in", "not_in"):
                vals = cond.value if isinstance(cond.value, tuple) else (cond.value,)
                self.thresholds[cond.field] = tuple(sorted(set(self.thresholds.get(cond.field, ())) | set(vals)))
            if cond.field == "evidence" and cond.op != "exists":
                self.evidence.update(cond.value if isinstance(cond.value, tuple) else (cond.value,))
            if cond.field == "end_use" and cond.op != "exists":
                self.end_uses.update(cond.value if isinstance(cond.value, tuple) else (cond.value,))
        elif isinstance(cond, Not):
            self._walk(cond.part)
        elif isinstance(cond, (All, AnyOf)):
            for p in cond.parts:
                self._walk(p)


def _available(a: Any) -> Any:
    """An authorization's condition with what it can never clear taken out: ``when`` and not ``unavailable_when``."""
    if a.unavailable_when is None:
        return a.when
    never = {"not": a.unavailable_when}
    return never if a.when is None else {"all": [a.when, never]}


def compiled_quota(q: Quota | None, items: Mapping[str, Mapping[str, Any]]) -> CQuota | None:
    """A declared quota as plain data, a cap in compute carrying its equivalent's TPP from *items*."""
    if q is None:
        return None
    tpp = items[q.equivalent].get("tpp") if q.equivalent is not None and q.equivalent in items else None
    return CQuota(q.quantity, q.per, tuple(q.key), q.equivalent, tpp)


def _same(codes: frozenset[str]) -> frozenset[str]:
    return codes


def _true(_f: Mapping[str, Any]) -> bool | None:
    return True


def _unknown(_f: Mapping[str, Any]) -> bool | None:
    return None


def _select_versions(s: _State) -> None:
    s.versions = s.catalog.all_in_force(s.on)


def _resolve_groups(s: _State) -> None:
    # Must run before lowering: conditions bake group members into frozensets.
    for v in s.versions:
        for g in v.model.groups:
            s.groups[g.id] = frozenset(m.country for m in g.members if s.active(m.since, m.until))
        for e in v.model.equivalents:
            if s.active(e.since, e.until):
                s.equivalents[e.country] = e.judged_as
                s.equivalents_by.setdefault(v.id, {})[e.country] = e.judged_as


def _index_items(s: _State) -> None:
    # Catalogue entries are reference data, not rules: before a catalogue's first version takes
    # effect its first version still describes the items (an `as_of` in the past must not make
    # a known chip unknown).
    in_force = {v.id for v in s.versions}
    for rid, versions in s.catalog.versions.items():
        if rid not in in_force and versions and versions[0].model.items and s.on < versions[0].effective:
            for item in versions[0].model.items:
                s.items[item.id] = MappingProxyType({k: getattr(item, k) for k in ITEM_FIELDS})
    for v in s.versions:
        for item in v.model.items:
            s.items[item.id] = MappingProxyType({k: getattr(item, k) for k in ITEM_FIELDS})


def _meta(v: RulesetVersion, section: str, entry: Any) -> Meta:
    origin = v.origin(section, entry.id)
    return Meta(
        entry.id, v.id, v.version.isoformat(), v.jurisdiction, entry.citation,
        origin.where() if origin else v.file, bool(entry.uncertain or v.model.uncertain),
    )


def _lower_gates(s: _State) -> list[CGate]:
    gates: list[CGate] = []
    for v in s.versions:
        s.current_widen = s.widen_for(v)
        for g in v.model.gates:
            if s.active(*entry_window(g)):
                cond, pred = s.lower(g.when)
                gates.append(CGate(_meta(v, "gates", g), tuple(g.applies_to), cond, pred, g.message or ""))
    s.current_widen = None
    return gates


def _lower_rules(s: _State) -> None:
    gates = _lower_gates(s)
    for v in s.versions:
        rs = v.model
        # Conditions see equivalent destinations (Hong Kong as China) only where the rulesets they use say so.
        s.current_widen = s.widen_for(v)

        def live(e: Any) -> bool:
            return s.active(*entry_window(e))

        for c in rs.classifications:
            if live(c):
                cond, pred = s.lower(c.when)
                unless, unless_pred = s.lower(c.unless) if c.unless is not None else (None, None)
                s.classifications.append(CClassification(_meta(v, "classifications", c), cond, pred, unless,
                                                         unless_pred))
        controls = tuple(
            CControl(_meta(v, "controls", c), frozenset(c.classes), *s.lower(c.when), c.requires, c.review_policy,
                     c.message or "")
            for c in rs.controls if live(c)
        )
        reviews = tuple(
            CReview(_meta(v, "review_policies", r), frozenset(r.applies_to), *s.lower(r.when), r.policy,
                    tuple(r.requires_evidence))
            for r in rs.review_policies if live(r)
        )
        s.evidence.update(e for a in rs.authorizations for e in a.requires_evidence)
        s.evidence.update(e for r in rs.review_policies for e in r.requires_evidence)
        s.evidence.update(e for p in rs.patterns for e in p.cleared_by)
        auths = tuple(
            CAuthorization(_meta(v, "authorizations", a), frozenset(a.covers), *s.lower(_available(a)),
                           tuple(a.requires_evidence), a.requires_licence, compiled_quota(a.quota, s.items), a.action,
                           a.notice)
            for a in rs.authorizations if live(a)
        )
        flags = []
        for f in rs.flags:
            if live(f):
                cond, pred = s.lower(f.when)
                flags.append(CFlag(_meta(v, "flags", f), cond, pred, f.action or "review the red flag before shipping",
                                   f.message or ""))
        parties, index = _party_index(s, v)
        cfg = rs.screening
        thresholds = ScreeningThresholds(cfg.review_score, cfg.country_boost, cfg.country_penalty) if cfg \
            else ScreeningThresholds()
        screens_seller = bool(cfg and cfg.screens_seller)
        ownership = tuple(COwnership(_meta(v, "ownership_rules", o), o.threshold, o.effect,
                                     frozenset(o.lists) if o.lists else None)
                          for o in rs.ownership_rules if live(o))
        scope_cond, scope = s.lower(rs.scope)
        used = {o: RulesetUsed(v.id, v.version.isoformat(), v.jurisdiction, v.sha256, o)
                for o in (None, *Outcome)}
        s.rulesets.append(RulesetSnapshot(v, controls, reviews, auths, tuple(flags), parties, index, thresholds,
                                          ownership, scope, scope_cond, bool(controls or flags or parties), used,
                                          screens_seller, tuple(g for g in gates if g.gates(v.id))))


def _party_index(s: _State, v: RulesetVersion) -> tuple[tuple[CParty, ...], NameIndex[CParty]]:
    """The version's listed parties with their windows, indexed once for every date."""
    key = (v.id, v.version.isoformat(), v.sha256)
    found = s.party_indexes.get(key)
    if found is None:
        parties = tuple(
            CParty(_meta(v, "parties", p), tuple(p.names), tuple(p.aliases), p.country, p.effect, p.review_policy,
                   p.list_, p.listed, p.until)
            for p in v.model.parties
        )
        index = NameIndex.build(((p, (*p.names, *p.aliases), p.country) for p in parties),
                                window=lambda p: (p.listed, p.until))
        found = s.party_indexes[key] = (parties, index)
    return found


def _end_lowering(s: _State) -> None:
    s.current_widen = None


STAGES: tuple[tuple[str, Callable[[_State], None]], ...] = (
    ("select_versions", _select_versions),
    ("resolve_groups", _resolve_groups),  # before lower_rules: group members are baked into predicates
    ("index_items", _index_items),
    ("lower_rules", _lower_rules),  # also collects numeric thresholds
    ("end_lowering", _end_lowering),
)
"""The compiler's stages, in order."""


def compile_snapshot(catalog: Catalog, on: dt.date, *, start: dt.date | None = None,
                     end: dt.date | None = None,
                     party_indexes: dict[tuple[str, str, str], tuple[tuple[CParty, ...], NameIndex[CParty]]]
                     | None = None) -> Snapshot:
    """Compile the rulesets in force on *on* into a snapshot (party indexes are taken from, and added
    to, *party_indexes* when given)."""
    s = _State(catalog, on, start or on, end)
    if party_indexes is not None:
        s.party_indexes = party_indexes
    for _name, stage in STAGES:
        stage(s)
    external: dict[str, list[tuple[RulesetSnapshot, CAuthorization]]] = {}
    for rs in s.rulesets:
        for a in rs.authorizations:
            for target in a.covers:
                if "#" in target:
                    external.setdefault(target, []).append((rs, a))
    formats: dict[str, list[re.Pattern[str]]] = {}
    for v in s.versions:
        formats.setdefault(v.jurisdiction, []).extend(re.compile(f.pattern) for f in v.model.licence_formats)
    return Snapshot(
        s.start, s.end, tuple(s.rulesets), tuple(s.classifications), dict(s.groups), dict(s.equivalents),
        dict(s.items), dict(s.thresholds), frozenset(s.evidence), {k: tuple(v) for k, v in external.items()},
        s.pred_of, s.resolve,
        s.widen, tuple(s.versions), {v.id: s.widen_for(v) for v in s.versions},
        end_uses=frozenset(s.end_uses), licence_formats={j: tuple(ps) for j, ps in formats.items() if ps},
    )


class Compiler:
    """Snapshots of one catalog, cached per date-state; safe to share between threads.

    Party listings do not split date-states: each ruleset version has one dated party index.
    Compiling happens under a lock, so two threads asking for the same date-state get the same
    snapshot object.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.change_dates = catalog.change_dates()
        """Every date a verdict may change on (versions, memberships, listings): what a timeline visits."""
        self.state_dates = catalog.change_dates(listings=False)
        """The dates that split compiled date-states."""
        self._cache: dict[int, Snapshot] = {}
        self._parties: dict[tuple[str, str, str], tuple[tuple[CParty, ...], NameIndex[CParty]]] = {}
        self._lock = threading.RLock()

    def state_index(self, on: dt.date) -> int:
        """Which date-state *on* falls in (dates between two change dates share one)."""
        return bisect.bisect_right(self.state_dates, on)

    def snapshot(self, on: dt.date) -> Snapshot:
        """The snapshot for *on*, compiled once per date-state."""
        i = bisect.bisect_right(self.state_dates, on)
        snap = self._cache.get(i)
        if snap is None:
            with self._lock:
                snap = self._cache.get(i)
                if snap is None:
                    dates = self.state_dates
                    start = dates[i - 1] if i > 0 else dt.date.min
                    end = dates[i] - dt.timedelta(days=1) if i < len(dates) else None
                    snap = compile_snapshot(self.catalog, on, start=start, end=end, party_indexes=self._parties)
                    self._cache[i] = snap
        return snap

    @property
    def compiled(self) -> int:
        """How many snapshots have been compiled so far."""
        return len(self._cache)


def __dir__() -> list[str]:
    return list(__all__)
