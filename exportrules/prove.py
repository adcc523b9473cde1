"""Deciding ruleset properties exactly, with an SMT solver (z3; the ``prove`` extra).

For each date-state a property is carried on, the rules in force are translated into formulas over one
symbolic transaction: its numbers as reals, its countries, strings and item as finite choices, its
evidence and licences as one flag per name (and per jurisdiction), every fact that may be missing with a
"given" flag, and each condition in the engine's three-valued logic as a pair (definitely true,
definitely false). The translation follows the generated decision functions (:mod:`exportrules.plan`),
which the test suite proves equal to the interpreter, rule for rule: classifications and their
``unless``, each ruleset's scope, controls (definite and possible classes), the authorizations that
clear them (with licences by jurisdiction, evidence and quotas), flags, and the strictest outcome.

The solver is asked for a transaction in the property's scope that breaks it. None: the property is
**proved** for every transaction in scope, on every date it is carried. One: its model becomes a
transaction (JSON), which the native engine judges again; only if the engine agrees is the property
**refuted** (with an ``exportrules judge`` line that reproduces it). A model the engine does not agree
with, or a construct that is not translated, sends that property to sampling, labelled as such.

What is assumed, and said in every result: parties are not on, nor near, any restricted-party list (a
listing only adds ``blocked`` or ``flagged``), names are plain (no mixed scripts), and items are either
catalogue items or items given by their figures.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import z3

from .compiler import RulesetSnapshot, Snapshot
from .conditions import FIELDS, All, AnyOf, Cond, FieldType, Not, Test, country_members, parse_condition
from .judging import routes_for
from .screening import name_keys
from .testing.properties import _expectation, _Spec, _specs, check_property

if TYPE_CHECKING:
    from .engine import Engine
    from .verdict import Verdict

__all__ = ["ProofResult", "Untranslatable", "deep_findings", "prove_properties"]

ROLES = ("buyer", "end_user", "consignee", "seller")
_RECEIVING = ("buyer", "end_user", "consignee")
_OTHER = "\x00other"
_NUMBERS = ("tpp", "performance_density", "memory_bandwidth", "io_bandwidth", "hbm_bandwidth_density")
_ITEM_STRINGS = ("kind", "vendor", "material", "eccn", "name")
_OUTCOMES = ("permitted", "flagged", "blocked")


class Untranslatable(Exception):
    """A construct the translation does not cover; the property is sampled instead."""


@dataclass(frozen=True)
class ProofResult:
    """How one property fared."""

    property: str
    ruleset: str
    source: str
    status: str
    """``proved``, ``refuted``, or ``sampled`` (translation fell short; see *note*)."""
    states: int = 0
    """Date-states decided."""
    seconds: float = 0.0
    message: str = ""
    note: str = ""
    counterexample: Mapping[str, Any] | None = None
    as_of: str | None = None
    verdict: Mapping[str, Any] | None = None
    related: Mapping[str, Any] | None = None
    sampled_passed: bool | None = None

    @builtins.property  # `property` is a field of this class
    def passed(self) -> bool:
        return self.status == "proved" or (self.status == "sampled" and bool(self.sampled_passed))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"property": self.property, "ruleset": self.ruleset, "source": self.source,
                               "status": self.status, "passed": self.passed, "states": self.states,
                               "seconds": round(self.seconds, 3)}
        for k in ("message", "note"):
            if getattr(self, k):
                out[k] = getattr(self, k)
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample
            out["as_of"] = self.as_of
            out["verdict"] = self.verdict
            if self.related is not None:
                out["related"] = self.related
        return out


# ----------------------------------------------------------------- three-valued formulas

@dataclass(frozen=True)
class T3:
    """A condition's value: *t* when definitely true, *f* when definitely false, neither when unknown."""

    t: Any
    f: Any

    @staticmethod
    def of(value: bool) -> T3:
        return T3(z3.BoolVal(value), z3.BoolVal(not value))

    @staticmethod
    def test(given: Any, holds: Any) -> T3:
        return T3(z3.And(given, holds), z3.And(given, z3.Not(holds)))


UNKNOWN = T3(z3.BoolVal(False), z3.BoolVal(False))


def _and(parts: list[T3]) -> T3:
    return T3(z3.And(*[p.t for p in parts]), z3.Or(*[p.f for p in parts])) if parts else T3.of(True)


def _or(parts: list[T3]) -> T3:
    return T3(z3.Or(*[p.t for p in parts]), z3.And(*[p.f for p in parts])) if parts else T3.of(False)


def _same(codes: frozenset[str]) -> frozenset[str]:
    return codes


def _max(a: Any, b: Any) -> Any:
    return z3.If(a >= b, a, b)


# ----------------------------------------------------------------- the symbolic transaction

@dataclass
class Universe:
    """The finite choices: countries, strings per field, name keys, evidence, jurisdictions, items."""

    countries: list[str]
    strings: dict[str, list[str]]
    names: list[str]
    name_text: dict[str, str]
    evidence: list[str]
    jurisdictions: list[str]
    licence_literals: list[str]
    items: list[str]
    item_params: dict[str, Mapping[str, Any]]
    regions: list[str] = field(default_factory=list)
    """The subdivisions conditions name (parties' regions range over these; others change nothing)."""
    other_region: dict[str, str] = field(default_factory=dict)
    """For each country with one, a subdivision no condition names (what `destination_region` other is)."""

    def code(self, field: str, value: str) -> int:
        values = self.strings[field]
        return values.index(value) if value in values else values.index(_OTHER)


@dataclass
class Tx:
    """One symbolic transaction; a copy shares every variable of its parent but those it overrides."""

    tag: str
    u: Universe
    v: dict[str, Any] = field(default_factory=dict)
    parent: Tx | None = None

    def var(self, name: str, make: Callable[[str], Any]) -> Any:
        found = self.v.get(name)
        if found is not None:
            return found
        if self.parent is not None:
            return self.parent.var(name, make)
        found = self.v[name] = make(f"{self.tag}.{name}")
        return found

    def lookup(self, name: str) -> Any:
        found = self.v.get(name)
        if found is None and self.parent is not None:
            return self.parent.lookup(name)
        return found

    def names(self) -> set[str]:
        return set(self.v) | (self.parent.names() if self.parent is not None else set())

    def copy(self, tag: str, **overrides: Any) -> Tx:
        return Tx(tag, self.u, dict(overrides), self)

    # facts -----------------------------------------------------------
    def country(self, name: str) -> Any:
        return self.var(name, z3.Int)

    def given(self, name: str) -> Any:
        return self.var(name + "?", z3.Bool)

    def present(self, role: str) -> Any:
        return self.var(role + "!", z3.Bool)

    def role_party(self, role: str) -> tuple[Any, str]:
        """(present, which role's figures): end user and consignee stand in for the buyer when absent."""
        if role in ("end_user", "consignee"):
            own = self.present(role)
            return z3.Or(own, self.present("buyer")), role
        return self.present(role), role

    def item_sel(self) -> Any:
        return self.var("item", z3.Int)

    def num(self, name: str) -> Any:
        return self.var(name, z3.Real)


def _domain(tx: Tx) -> list[Any]:
    """The constraints every symbolic transaction obeys."""
    u = tx.u
    n = len(u.countries)
    out: list[Any] = []
    for name in sorted(tx.v):
        var = tx.v[name]
        if name.endswith("?") or name.endswith("!"):
            continue
        if name in ("ship_from", "destination", "item.fab_country") \
                or name.endswith((".country", ".headquarters", ".owner")):
            out.append(z3.And(var >= 0, var < n))
        elif name in u.strings:
            out.append(z3.And(var >= 0, var < len(u.strings[name])))
        elif name.endswith(".name"):
            out.append(z3.And(var >= 0, var < len(u.names)))
        elif name == "quantity":
            out += [var >= 1, var <= 10**9]
        elif name == "item":
            out.append(z3.And(var >= 0, var <= len(u.items)))
        elif name.startswith("item.") and name[5:] in _NUMBERS:
            out.append(var >= 0)
        elif name == "item.us_content":
            out += [var >= 0, var <= 1]
    return out


def _item_constraints(tx: Tx) -> list[Any]:
    """A catalogue item has its catalogue figures; an item given by figures (index len(items)) has any."""
    u = tx.u
    sel = tx.item_sel()
    out: list[Any] = []
    for k, item_id in enumerate(u.items):
        p = u.item_params[item_id]
        eqs: list[Any] = []
        for f in _NUMBERS:
            value = p.get(f)
            g = tx.given("item." + f)
            eqs.append(g if value is not None else z3.Not(g))
            if value is not None:
                eqs.append(tx.num("item." + f) == z3.RealVal(str(value)))
        dc = p.get("datacenter")
        eqs.append(tx.given("item.datacenter") if dc is not None else z3.Not(tx.given("item.datacenter")))
        if dc is not None:
            eqs.append(tx.var("item.datacenter", z3.Bool) == z3.BoolVal(bool(dc)))
        for f in _ITEM_STRINGS:
            value = p.get(f)
            g = tx.given("item." + f)
            eqs.append(g if value is not None else z3.Not(g))
            if value is not None:
                eqs.append(tx.var("item." + f, z3.Int) == u.code("item." + f, str(value)))
        out.append(z3.Implies(sel == k, z3.And(*eqs)))
    # an item given by its figures: kind defaults to ic
    spec = sel == len(u.items)
    out.append(z3.Implies(spec, tx.given("item.kind")))
    return out


# ----------------------------------------------------------------- conditions


class _Translator:
    """Conditions and outcomes of one snapshot, over one symbolic transaction."""

    def __init__(self, snap: Snapshot, tx: Tx, day: dt.date | None = None) -> None:
        self.snap, self.tx, self.u = snap, tx, tx.u
        self.day = day or snap.start
        self.dated = False
        """Whether a formula read the date (then equal formulas on different date ranges are different)."""
        self.cls: dict[str, Any] = {}
        self.unk: dict[str, Any] = {}
        self.parts: dict[str, list[tuple[Any, Any]]] = {}
        """Ruleset id -> (rule meta, its contribution to the ruleset's outcome rank), for shadowing."""
        self.clears: dict[str, list[Any]] = {}
        """Authorization id -> when it may clear a control that may apply (an over-approximation: a model
        the engine does not confirm sends the property to sampling)."""

    # facts ------------------------------------------------------------------
    def _party_field(self, role: str, attr: str) -> tuple[Any, Any]:
        """(given, value) of ``role.attr`` as the plan reads it (end user and consignee default to the buyer)."""
        tx = self.tx
        if role in ("end_user", "consignee"):
            own = tx.present(role)
            g_own, v_own = self._own(role, attr)
            g_b, v_b = self._own("buyer", attr)
            return (z3.If(own, g_own, z3.And(tx.present("buyer"), g_b)), z3.If(own, v_own, v_b))
        g, v = self._own(role, attr)
        return z3.And(tx.present(role), g), v

    def _own(self, role: str, attr: str) -> tuple[Any, Any]:
        tx = self.tx
        if attr == "headquarters":  # the headquarters, else the country
            hq_g, hq = tx.given(f"{role}.headquarters"), tx.country(f"{role}.headquarters")
            c_g, c = tx.given(f"{role}.country"), tx.country(f"{role}.country")
            return z3.Or(hq_g, c_g), z3.If(hq_g, hq, c)
        if attr == "country":
            return tx.given(f"{role}.country"), tx.country(f"{role}.country")
        if attr == "name":
            return z3.BoolVal(True), tx.var(f"{role}.name", z3.Int)
        raise Untranslatable(f"`{role}.{attr}`")

    def _places(self, kind: str) -> list[tuple[Any, Any]]:
        """(present, country) pairs of the receiving parties' headquarters (with majority owners) or countries."""
        tx = self.tx
        out: list[tuple[Any, Any]] = []
        for role in _RECEIVING:
            present = tx.present(role)
            if kind == "headquarters":
                g, v = self._own(role, "headquarters")
                out.append((z3.And(present, g), v))
                out.append((z3.And(present, tx.given(f"{role}.owner")), tx.country(f"{role}.owner")))
            else:
                out.append((z3.And(present, tx.given(f"{role}.country")), tx.country(f"{role}.country")))
        return out

    def _in(self, var: Any, codes: Iterable[str]) -> Any:
        idx = [self.u.countries.index(c) for c in codes if c in self.u.countries]
        return z3.Or(*[var == i for i in idx]) if idx else z3.BoolVal(False)

    def _region_in(self, code: str) -> Any:
        """Whether a party, or the destination, is in the subdivision *code*."""
        tx = self.tx
        dest = z3.And(tx.given("destination_region"),
                      tx.var("destination_region", z3.Int) == self.u.code("destination_region", code)) \
            if code in self.u.strings["destination_region"] else z3.BoolVal(False)
        return z3.Or(dest, tx.var(f"reg:{code}", z3.Bool)) if code in self.u.regions else dest

    def _str(self, field: str) -> tuple[Any, Any]:
        tx = self.tx
        if field == "item.id":
            sel = tx.item_sel()
            return sel < len(self.u.items), sel
        if field == "end_use":
            return tx.given("end_use"), tx.var("end_use", z3.Int)
        if field == "id":
            return tx.given("id"), tx.var("id", z3.Int)
        if field == "destination_region":
            return tx.given(field), tx.var(field, z3.Int)
        if field.startswith("item."):
            return tx.given(field), tx.var(field, z3.Int)
        raise Untranslatable(f"`{field}`")

    def _str_index(self, field: str, value: str) -> int:
        if field == "item.id":
            return self.u.items.index(value) if value in self.u.items else -1
        values = self.u.strings[field]
        return values.index(value) if value in values else -1

    def _number(self, field: str) -> tuple[Any, Any]:
        tx = self.tx
        if field == "quantity":
            return z3.BoolVal(True), tx.var("quantity", z3.Int)
        if field == "date":
            self.dated = True
            return z3.BoolVal(True), tx.var("date", z3.Int)
        if field == "item.total_bandwidth":
            gm, m = self._number("item.memory_bandwidth")
            gi, i = self._number("item.io_bandwidth")
            return z3.And(gm, gi), m + i
        return tx.given(field), tx.num(field)

    # conditions --------------------------------------------------------------
    def cond(self, cond: Cond | None, widen: Callable[[frozenset[str]], frozenset[str]], *,
             classes: bool = True) -> T3:
        if cond is None:
            return T3.of(True)
        if isinstance(cond, All):
            return _and([self.cond(p, widen, classes=classes) for p in cond.parts])
        if isinstance(cond, AnyOf):
            return _or([self.cond(p, widen, classes=classes) for p in cond.parts])
        if isinstance(cond, Not):
            inner = self.cond(cond.part, widen, classes=classes)
            return T3(inner.f, inner.t)
        if isinstance(cond, Test):
            return self.test(cond, widen, classes)
        raise Untranslatable(f"condition {type(cond).__name__}")

    def test(self, t: Test, widen: Callable[[frozenset[str]], frozenset[str]], classes: bool) -> T3:
        name, op, value = t.field, t.op, t.value
        ftype = FIELDS[name]
        tx = self.tx
        values = value if isinstance(value, tuple) else (value,)
        if name == "item.class":
            if not classes:
                if op == "exists":
                    return T3.of(not value)
                return UNKNOWN
            anyc = z3.Or(*self.cls.values()) if self.cls else z3.BoolVal(False)
            if op == "exists":
                return T3(anyc, z3.Not(anyc)) if value else T3(z3.Not(anyc), anyc)
            hit = z3.Or(*[self.cls[c] for c in values if c in self.cls]) if any(c in self.cls for c in values) \
                else z3.BoolVal(False)
            if op in ("eq", "in", "contains"):
                return T3(hit, z3.Not(hit))
            return T3(z3.Not(hit), hit)
        positive = op in ("eq", "in", "contains")
        if op == "exists":
            present = self._present(name, ftype)
            return T3(present, z3.Not(present)) if value else T3(z3.Not(present), present)
        if ftype in (FieldType.COUNTRY, FieldType.COUNTRY_SET) and op in ("eq", "ne", "in", "not_in", "contains"):
            members = country_members(values, self.snap.resolve, widen)
            if name == "transit":
                hit = z3.Or(*[tx.var(f"tr:{c}", z3.Bool) for c in sorted(members) if c in self.u.countries])
                return T3.test(z3.BoolVal(True), hit if positive else z3.Not(hit))
            if ftype is FieldType.COUNTRY_SET:
                kind = "headquarters" if name == "parties.headquarters" else "country"
                places = self._places(kind)
                anyg = z3.Or(*[p for p, _ in places])
                hit = z3.Or(*[z3.And(p, self._in(c, members)) for p, c in places])
                holds = hit if positive else z3.Not(hit)
                return T3.test(anyg, holds)
            if name in ("destination", "ship_from"):
                holds = self._in(tx.country(name), members)
                return T3.test(z3.BoolVal(True), holds if positive else z3.Not(holds))
            if name == "item.fab_country":
                holds = self._in(tx.country(name), members)
                return T3.test(tx.given(name), holds if positive else z3.Not(holds))
            role, attr = name.split(".")
            g, v = self._party_field(role, attr)
            holds = self._in(v, members)
            return T3.test(g, holds if positive else z3.Not(holds))
        if ftype is FieldType.STR_SET:
            if name == "evidence":
                hit = z3.Or(*[tx.var(f"ev:{w}", z3.Bool) for w in values]) if values else z3.BoolVal(False)
            elif name == "licences":
                hit = z3.Or(*[tx.var(f"lit:{w}", z3.Bool) for w in values]) if values else z3.BoolVal(False)
            elif name == "parties.region":
                hit = z3.Or(*[self._region_in(w) for w in values]) if values else z3.BoolVal(False)
            else:
                raise Untranslatable(f"`{name}` {op}")
            return T3.test(z3.BoolVal(True), hit if positive else z3.Not(hit))
        if name.endswith(".name") and op in ("eq", "ne", "in", "not_in"):
            role = name.split(".")[0]
            g, v = self._party_field(role, "name")
            keys = [name_keys(x)[0] for x in values]
            hit = z3.Or(*[v == self.u.names.index(k) for k in keys if k in self.u.names]) \
                if any(k in self.u.names for k in keys) else z3.BoolVal(False)
            return T3.test(g, hit if positive else z3.Not(hit))
        if ftype is FieldType.STR:
            g, v = self._str(name)
            if op in ("eq", "ne", "in", "not_in"):
                idx = [self._str_index(name, x) for x in values]
                hit = z3.Or(*[v == i for i in idx if i >= 0]) if any(i >= 0 for i in idx) else z3.BoolVal(False)
                return T3.test(g, hit if positive else z3.Not(hit))
            raise Untranslatable(f"`{name}` {op}")
        if ftype is FieldType.BOOL:
            g = tx.given(name)
            b = tx.var(name, z3.Bool)
            if op in ("eq", "ne"):
                holds = b == z3.BoolVal(bool(value))
                return T3.test(g, holds if op == "eq" else z3.Not(holds))
            raise Untranslatable(f"`{name}` {op}")
        if ftype in (FieldType.NUMBER, FieldType.DATE):
            g, v = self._number(name)
            conv: Callable[[Any], Any] = (lambda d: d.toordinal()) if ftype is FieldType.DATE \
                else (lambda x: z3.RealVal(str(x)) if name != "quantity" else int(x))
            if op == "between":
                holds = z3.And(conv(value[0]) <= v, v <= conv(value[1]))
            elif op in ("in", "not_in"):
                hit = z3.Or(*[v == conv(x) for x in values])
                holds = hit if op == "in" else z3.Not(hit)
            else:
                c = conv(value)
                holds = {"lt": v < c, "lte": v <= c, "gt": v > c, "gte": v >= c, "eq": v == c,
                         "ne": v != c}[op]
            return T3.test(g, holds)
        raise Untranslatable(f"`{name}` {op}")

    def _present(self, name: str, ftype: FieldType) -> Any:
        tx = self.tx
        if name == "evidence":
            return z3.Or(*[tx.var(f"ev:{w}", z3.Bool) for w in self.u.evidence])
        if name == "licences":
            return z3.Or(*[tx.var(f"lic:{j}", z3.Bool) for j in self.u.jurisdictions],
                         *[tx.var(f"lit:{w}", z3.Bool) for w in self.u.licence_literals])
        if name in ("parties.headquarters", "parties.country"):
            return z3.Or(*[p for p, _ in self._places("headquarters" if name == "parties.headquarters"
                                                      else "country")])
        if name in ("destination", "ship_from", "quantity", "date"):
            return z3.BoolVal(True)
        if name == "transit":
            return z3.Or(*[tx.var(f"tr:{c}", z3.Bool) for c in self.u.countries])
        if name == "parties.region":
            return z3.Or(tx.given("destination_region"), *[tx.var(f"reg:{w}", z3.Bool) for w in self.u.regions])
        if name == "destination_region":
            return self._str(name)[0]
        if "." in name and name.split(".")[0] in ROLES:
            role, attr = name.split(".")
            return self._party_field(role, attr)[0]
        if name in ("item.id", "end_use", "id") or name.startswith("item."):
            if ftype in (FieldType.NUMBER,):
                return self._number(name)[0]
            if ftype is FieldType.BOOL:
                return tx.given(name)
            return self._str(name)[0]
        raise Untranslatable(f"`{name}` exists")

    # outcomes ----------------------------------------------------------------
    def classified(self, c: Any) -> T3:
        """Whether one classification entry classes the item (its ``unless`` applied)."""
        widen = self.snap.widen_by.get(c.meta.ruleset, _same)
        r = self.cond(c.cond, widen, classes=False)
        if c.unless is not None:
            u = self.cond(c.unless, widen, classes=False)
            r = T3(z3.And(r.t, u.f), z3.Or(r.f, u.t))
        return r

    def classes(self) -> None:
        snap = self.snap
        cls: dict[str, list[Any]] = {}
        unk: dict[str, list[Any]] = {}
        for c in snap.classifications:
            r = self.classified(c)
            cls.setdefault(c.meta.id, []).append(r.t)
            unk.setdefault(c.meta.id, []).append(z3.And(z3.Not(r.t), z3.Not(r.f)))
        self.cls = {k: z3.Or(*v) for k, v in cls.items()}
        self.unk = {k: z3.And(z3.Or(*unk[k]), z3.Not(self.cls[k])) for k in cls}

    def clear(self, rs: RulesetSnapshot, control_id: str, applies: Any = None) -> Any:
        """The outcome rank (0, 1, 2) of a control, were it to apply (*applies*: when it may)."""
        routes = routes_for(self.snap, rs, frozenset({control_id}))
        if not routes:
            return z3.IntVal(2)
        tx = self.tx
        c: list[Any] = []
        q: list[Any] = []
        p: list[Any] = []
        for owner, a in routes:
            widen = self.snap.widen_by.get(owner.version.id, _same)
            v = self.cond(a.cond, widen)
            ok = v.t
            if a.licence:
                ok = z3.And(ok, tx.var(f"lic:{owner.version.jurisdiction}", z3.Bool))
            if a.evidence:
                have = z3.And(*[tx.var(f"ev:{e}", z3.Bool) for e in a.evidence])
                (q if a.quota is not None else c).append(z3.And(ok, have))
                p.append(z3.And(ok, z3.Not(have)))
                cleared = z3.And(ok, have)
            else:
                (q if a.quota is not None else c).append(ok)
                cleared = ok
            if applies is not None:
                self.clears.setdefault(a.meta.id, []).append(z3.And(applies, cleared))
        # a quota is information, not a condition: a route with one clears like any other
        return z3.If(z3.Or(*c, *q) if c or q else z3.BoolVal(False), 0,
                     z3.If(z3.Or(*p) if p else z3.BoolVal(False), 1, 2))

    def ruleset(self, rs: RulesetSnapshot) -> tuple[Any, Any]:
        """(decides, outcome rank) of one ruleset."""
        if not rs.decides:
            return z3.BoolVal(False), z3.IntVal(0)
        widen = self.snap.widen_by.get(rs.version.id, _same)
        s = self.cond(rs.scope_cond, widen)
        for gate in rs.gates:  # false keeps the ruleset out; unknown lets it judge (fail closed)
            g = self.cond(gate.cond, self.snap.widen_by.get(gate.meta.ruleset, _same))
            s = T3(z3.And(s.t, g.t), z3.Or(s.f, g.f))
        o: Any = z3.IntVal(0)
        parts = self.parts.setdefault(rs.version.id, [])
        for control in rs.controls:
            w = self.cond(control.cond, widen)
            if control.classes:
                hit = z3.Or(*[self.cls[c] for c in control.classes if c in self.cls]) \
                    if any(c in self.cls for c in control.classes) else z3.BoolVal(False)
                maybe = z3.Or(*[self.unk[c] for c in control.classes if c in self.unk]) \
                    if any(c in self.unk for c in control.classes) else z3.BoolVal(False)
            else:
                hit, maybe = z3.BoolVal(True), z3.BoolVal(False)
            applies = z3.And(z3.Not(s.f), z3.Or(hit, maybe), z3.Not(w.f))
            r = z3.IntVal(2) if control.requires == "prohibited" else self.clear(rs, control.meta.id, applies)
            w_unknown = z3.And(z3.Not(w.t), z3.Not(w.f))
            part = _max(_max(z3.If(z3.And(hit, w.t), r, 0), z3.If(z3.And(hit, w_unknown, r >= 1), 1, 0)),
                        z3.If(z3.And(z3.Not(hit), maybe, z3.Not(w.f), r >= 1), 1, 0))
            parts.append((control.meta, part))
            o = _max(o, part)
        for flag in rs.flags:
            w = self.cond(flag.cond, widen)
            part = z3.If(w.t, 1, 0)
            parts.append((flag.meta, part))
            o = _max(o, part)
        if rs.parties:  # screening, as an opaque fact of each name a condition names (others resemble none)
            for key in self.u.names:
                if key == _OTHER:
                    continue
                hits = rs.party_index.search(self.u.name_text[key], thresholds=rs.screening, on=self.day)
                if not hits:
                    continue
                def named_as(roles: Iterable[str], key: str = key) -> Any:
                    return z3.Or(*[z3.And(self.tx.present(role), self.tx.var(f"{role}.name", z3.Int) ==
                                          self.u.names.index(key)) for role in roles])

                # a listed seller owes nothing unless the ruleset says so; a prohibition reaches every role
                named = named_as(ROLES if rs.screens_seller else [r for r in ROLES if r != "seller"])
                exact = [h for h in hits if h.exact]
                if not rs.screens_seller and any(h.entry.effect == "prohibited" for h in exact):
                    o = _max(o, z3.If(named_as(["seller"]), 2, 0))
                if not exact or all(h.entry.effect == "flag" for h in exact):
                    level: Any = z3.IntVal(1)
                elif all(h.entry.effect == "prohibited" for h in exact):
                    level = z3.IntVal(2)
                else:  # a licence requirement: what a licence held makes of it is left open to the solver
                    free = self.tx.var(f"screened:{rs.version.id}:{key}", z3.Int)
                    lic = self.tx.var(f"lic:{rs.version.jurisdiction}", z3.Bool)
                    level = z3.If(z3.And(lic, free >= 0, free <= 2), free, 2)
                o = _max(o, z3.If(named, level, 0))
        return z3.Not(s.f), o

    def outcome(self) -> tuple[Any, dict[str, Any]]:
        """(overall rank, {ruleset id: (decides, rank)})."""
        self.classes()
        if not any(rs.decides for rs in self.snap.rulesets):
            return z3.IntVal(1), {}
        top: Any = z3.IntVal(0)
        per: dict[str, Any] = {}
        for rs in self.snap.rulesets:
            d, o = self.ruleset(rs)
            per[rs.version.id] = (d, o)
            top = _max(top, z3.If(d, o, 0))
        return top, per


# ----------------------------------------------------------------- universes and models


def _walk_tests(cond: Cond | None) -> Iterable[Test]:
    if cond is None:
        return
    stack: list[Any] = [cond]
    while stack:
        node = stack.pop()
        if isinstance(node, Test):
            yield node
        elif isinstance(node, (All, AnyOf)):
            stack.extend(node.parts)
        elif isinstance(node, Not):
            stack.append(node.part)


def _conds(snap: Snapshot) -> Iterable[Cond | None]:
    for c in snap.classifications:
        yield c.cond
        yield c.unless
    for rs in snap.rulesets:
        yield rs.scope_cond
        for gate in rs.gates:
            yield gate.cond
        rules: tuple[Any, ...] = (*rs.controls, *rs.authorizations, *rs.flags)
        for x in rules:
            yield x.cond


def _universe(engine: Engine, snaps: list[Snapshot], extra: list[Cond | None]) -> Universe:
    import pycountry

    countries: set[str] = {c.alpha_2 for c in pycountry.countries}
    strings: dict[str, set[str]] = {f: set() for f in ("end_use", "id", "destination_region",
                                                       *(f"item.{s}" for s in _ITEM_STRINGS))}
    regions: set[str] = set()
    names: dict[str, str] = {}
    evidence: set[str] = set()
    literals: set[str] = set()
    items: dict[str, Mapping[str, Any]] = {}
    jurisdictions: set[str] = {"US"}
    for snap in snaps:
        for g in snap.groups.values():
            countries |= set(g)
        evidence |= set(snap.evidence)
        for k, p in snap.items.items():
            items.setdefault(k, p)
            for f in _ITEM_STRINGS:
                if p.get(f) is not None:
                    strings[f"item.{f}"].add(str(p[f]))
        for rs in snap.rulesets:
            if len(rs.version.jurisdiction) == 2:  # licences are numbered by country (INTL rulesets issue none)
                jurisdictions.add(rs.version.jurisdiction)
            for a in rs.authorizations:
                evidence |= set(a.evidence)
        for cond in [*_conds(snap), *extra]:
            for t in _walk_tests(cond):
                vals = t.value if isinstance(t.value, tuple) else (t.value,)
                if t.field in strings:
                    strings[t.field] |= {str(v) for v in vals}
                elif t.field.endswith(".name") and t.op in ("eq", "ne", "in", "not_in"):
                    for v in vals:
                        names.setdefault(name_keys(v)[0], v)
                elif t.field == "evidence" and t.op != "exists":
                    evidence |= {str(v) for v in vals}
                elif t.field == "licences" and t.op != "exists":
                    literals |= {str(v) for v in vals}
                elif t.field == "parties.region" and t.op != "exists":
                    regions |= {str(v) for v in vals}
    # Countries that no condition can tell apart (never named, in the same groups on every date) are one
    # choice: the solver picks among kinds of country, not among 250 codes.
    literal: set[str] = {"US"}
    for snap in snaps:
        literal |= set(snap.equivalents) | set(snap.equivalents.values())
        for cond in [*_conds(snap), *extra]:
            for t in _walk_tests(cond):
                if FIELDS.get(t.field) in (FieldType.COUNTRY, FieldType.COUNTRY_SET):
                    vals = t.value if isinstance(t.value, tuple) else (t.value,)
                    literal |= {str(v) for v in vals if str(v) not in snap.groups}
    named_regions = regions | strings["destination_region"]
    literal |= {r.split("-")[0] for r in named_regions}
    strings["destination_region"] |= regions
    classes: dict[frozenset[tuple[int, str]], str] = {}
    for code in sorted(countries - literal):
        sig = frozenset((k, g) for k, snap in enumerate(snaps) for g, members in snap.groups.items() if code in members)
        classes.setdefault(sig, code)
    countries = (countries & literal) | set(classes.values())
    from .transaction import END_USES

    strings["end_use"] |= set(END_USES)
    strings["item.kind"] |= {"ic", "computer", "hbm", "material"}
    other_region: dict[str, str] = {}
    for sub in sorted(pycountry.subdivisions, key=lambda x: x.code):
        if sub.country_code in countries and sub.code not in named_regions:
            other_region.setdefault(sub.country_code, sub.code)
    return Universe(
        countries=sorted(countries), strings={k: [*sorted(v), _OTHER] for k, v in strings.items()},
        names=[*sorted(names), _OTHER], name_text=names, evidence=sorted(evidence),
        jurisdictions=sorted(jurisdictions), licence_literals=sorted(literals), items=sorted(items),
        item_params=items, regions=sorted(regions), other_region=other_region)


def _licence_for(j: str) -> str:
    return "D9000001" if j == "US" else f"{j}:P9000001"


def _transaction(m: z3.ModelRef, tx: Tx, tag: str) -> dict[str, Any]:
    """The concrete transaction of a model."""
    u = tx.u

    def val(x: Any) -> Any:
        return m.eval(x, model_completion=True)

    def b(name: str) -> bool:
        x = tx.lookup(name)
        return x is not None and z3.is_true(val(x))

    def i(name: str) -> int:
        x = tx.lookup(name)
        return val(x).as_long() if x is not None else 0

    def has(name: str) -> bool:
        return tx.lookup(name) is not None

    def country(name: str) -> str:
        return u.countries[i(name)]

    out: dict[str, Any] = {"id": f"{tag}", "date": dt.date.fromordinal(i("date")).isoformat()}
    sel = i("item") if has("item") else len(u.items)
    if sel < len(u.items):
        out["item"] = u.items[sel]
    else:
        item: dict[str, Any] = {}
        for f in _NUMBERS:
            if b(f"item.{f}?") and has(f"item.{f}"):
                item[f] = float(val(tx.lookup(f"item.{f}")).as_fraction())
        if b("item.datacenter?") and has("item.datacenter"):
            item["datacenter"] = b("item.datacenter")
        for f in _ITEM_STRINGS:
            if b(f"item.{f}?") and has(f"item.{f}"):
                s = u.strings[f"item.{f}"][i(f"item.{f}")]
                item[f] = s if s != _OTHER else ("ic" if f == "kind" else f"prover-{f}")
        out["item"] = item
    origin: dict[str, Any] = {}
    if b("item.fab_country?") and has("item.fab_country"):
        origin["fab_country"] = country("item.fab_country")
    if b("item.us_tools?") and has("item.us_tools"):
        origin["us_tools"] = b("item.us_tools")
    if b("item.us_content?") and has("item.us_content"):
        origin["us_content"] = float(val(tx.lookup("item.us_content")).as_fraction())
    if origin:
        out["origin"] = origin
    if has("quantity"):
        out["quantity"] = i("quantity")
    out["ship_from"] = country("ship_from") if has("ship_from") else "US"
    out["destination"] = country("destination")
    if b("destination_region?") and has("destination_region"):
        r = u.strings["destination_region"][i("destination_region")]
        out["destination_region"] = r if r != _OTHER else u.other_region[out["destination"]]
    transit = [c for c in u.countries if b(f"tr:{c}")]
    if transit:
        out["transit"] = transit
    inter = [{"name": f"Prover Intermediate {k + 1} Ltd", "region": r}
             for k, r in enumerate(r for r in u.regions if b(f"reg:{r}"))]
    if inter:
        out["intermediate_consignees"] = inter
    for role in ROLES:
        if not b(role + "!"):
            continue
        party: dict[str, Any] = {}
        key = u.names[i(f"{role}.name")] if has(f"{role}.name") else _OTHER
        party["name"] = u.name_text.get(key, f"Prover {role.replace('_', ' ').title()} Ltd")
        if b(f"{role}.country?"):
            party["country"] = country(f"{role}.country")
        if b(f"{role}.headquarters?"):
            party["headquarters"] = country(f"{role}.headquarters")
        if b(f"{role}.owner?"):
            party["owners"] = [{"name": f"Prover {role.replace('_', ' ').title()} Parent Ltd", "share": 0.6,
                                "country": country(f"{role}.owner")}]
        out[role] = party
    if b("end_use?"):
        s = u.strings["end_use"][i("end_use")]
        if s != _OTHER:
            out["end_use"] = s
    ev = [e for e in u.evidence if b(f"ev:{e}")]
    if ev:
        out["evidence"] = ev
    lic = [w for w in u.licence_literals if b(f"lit:{w}")]
    lic += [_licence_for(j) for j in u.jurisdictions if b(f"lic:{j}") and not any(
        _jurisdiction(x) == j for x in lic)]
    if lic:
        out["licences"] = lic
    return out


def _jurisdiction(lic: str) -> str:
    from .licences import jurisdiction_of

    return jurisdiction_of(lic)[0]


def _well_formed(tx: Tx) -> list[Any]:
    """What every transaction the model can become obeys: a licence literal counts for its jurisdiction,
    an absent party has no figures, a date in range."""
    out: list[Any] = []
    u = tx.u
    for w in u.licence_literals:
        j = _jurisdiction(w)
        out.append(z3.Implies(tx.var(f"lit:{w}", z3.Bool), tx.var(f"lic:{j}", z3.Bool)))
    other = u.strings["end_use"].index(_OTHER)
    if tx.lookup("end_use") is not None:  # the vocabulary is closed: a declared end use is one of it
        out.append(z3.Implies(tx.given("end_use"), tx.var("end_use", z3.Int) != other))
    if tx.lookup("id") is not None:  # the counterexample's id is a name no rule tests
        out += [tx.given("id"), tx.var("id", z3.Int) == u.strings["id"].index(_OTHER)]
    if tx.lookup("destination_region") is not None:
        given, reg, dest = tx.given("destination_region"), tx.var("destination_region", z3.Int), \
            tx.country("destination")
        for k, r in enumerate(u.strings["destination_region"]):
            if r == _OTHER:
                where = [u.countries.index(c) for c in u.other_region if c in u.countries]
            else:
                where = [u.countries.index(r.split("-")[0])] if r.split("-")[0] in u.countries else []
            out.append(z3.Implies(z3.And(given, reg == k), z3.Or(*[dest == w for w in where])))
    kinds = [u.strings["item.kind"].index(k) for k in ("ic", "computer", "hbm", "material")]
    out.append(z3.Implies(tx.given("item.kind"), z3.Or(*[tx.var("item.kind", z3.Int) == k for k in kinds])))
    return out


# ----------------------------------------------------------------- properties


def _states(engine: Engine, start: dt.date, end: dt.date, listings: Iterable[dt.date] = ()) \
        -> list[tuple[dt.date, dt.date]]:
    """The date ranges on which nothing changes: date-states, split again where a named party is listed."""
    dates = sorted({d for d in [*engine.compiler.state_dates, *listings] if start < d <= end})
    bounds = [start, *dates]
    return [(a, (bounds[k + 1] - dt.timedelta(days=1)) if k + 1 < len(bounds) else end)
            for k, a in enumerate(bounds)]


def _in_scope(tr: _Translator, spec: _Spec) -> Any:
    if spec.prop.for_all is None:
        return z3.BoolVal(True)
    cond, problems, _ = parse_condition(spec.prop.for_all, ())
    if problems:
        raise Untranslatable("; ".join(str(p) for p in problems))
    return tr.cond(cond, tr.snap.widen_by.get(spec.ruleset, tr.snap.widen)).t


def _violation(spec: _Spec, rank: Any, tr: _Translator) -> Any:
    """The expectation's negation (None: nothing to check here)."""
    exp = spec.prop.expect
    if exp is None:
        return None
    bad: list[Any] = []
    o = exp.outcome
    allowed: set[str] | None = None
    if isinstance(o, str):
        allowed = {o}
    elif o is not None:
        if o.in_ is not None:
            allowed = set(o.in_)
        if o.not_ is not None:
            allowed = (allowed or set(_OUTCOMES)) - set(o.not_)
    if allowed is not None:
        bad.append(z3.And(*[rank != _OUTCOMES.index(x) for x in allowed]))
    for c in exp.classifications:
        bad.append(z3.Not(tr.cls[c]) if c in tr.cls else z3.BoolVal(True))
    if exp.reasons:
        raise Untranslatable("`expect.reasons` (which reasons a verdict cites)")
    for a in exp.not_cleared_by:
        bad.append(z3.Or(*tr.clears[a]) if tr.clears.get(a) else z3.BoolVal(False))
    return z3.Or(*bad) if bad else None


def _confirm(engine: Engine, spec: _Spec, tx: dict[str, Any], day: dt.date, related: dict[str, Any] | None,
             pinned: Engine | None) -> tuple[bool, Verdict, dict[str, Any] | None, str]:
    """Whether the native engine agrees the transaction breaks the property."""
    v = engine.judge(tx, as_of=day)
    problem = _expectation(spec.prop, v)
    if problem:
        return True, v, None, problem
    prop = spec.prop
    if related is not None and prop.monotone:
        v2 = engine.judge(related, as_of=day)
        if v2.outcome.rank < v.outcome.rank:
            return True, v, {"transaction": related, "verdict": v2.to_dict()}, \
                f"raising {prop.monotone} relaxed the outcome from {v.outcome.value} to {v2.outcome.value}"
    if related is not None and prop.members_no_stricter:
        v2 = engine.judge(related, as_of=day)
        if v2.outcome.rank > v.outcome.rank:
            return True, v, {"transaction": related, "verdict": v2.to_dict()}, \
                (f"moving the destination into {prop.members_no_stricter} ({related['destination']}) made the "
                 f"outcome stricter: {v.outcome.value} -> {v2.outcome.value}")
    if pinned is not None:
        vp = pinned.judge(tx, as_of=day)
        if v.outcome.rank < vp.outcome.rank:
            return True, v, {"ruleset_version": prop.no_weaker_than, "verdict": vp.to_dict()}, \
                f"the verdict ({v.outcome.value}) is weaker than under {prop.no_weaker_than} ({vp.outcome.value})"
    return False, v, None, ""


class _Prover:
    """One universe and one symbolic transaction for every property of an engine; each snapshot's formulas
    are built once and shared by every property carried on it."""

    def __init__(self, engine: Engine, specs: list[_Spec], timeout_ms: int) -> None:
        self.engine, self.timeout_ms = engine, timeout_ms
        self.pinned: dict[str, Engine] = {}
        snaps: list[Snapshot] = []
        extra: list[Cond | None] = []
        for spec in specs:
            states = _states(engine, spec.start, spec.end)
            snaps += [engine.snapshot(a) for a, _ in states]
            if spec.prop.for_all is not None:
                extra.append(parse_condition(spec.prop.for_all, ())[0])
            if spec.prop.no_weaker_than:
                pinned = self._pinned(spec.prop.no_weaker_than)
                snaps += [pinned.snapshot(a) for a, _ in states]
        self.u = _universe(engine, list({id(s): s for s in snaps}.values()), extra)
        self.tx = Tx("x", self.u)
        # the dates on which a name some condition names is listed or delisted: screening changes there
        self.listings: set[dt.date] = set()
        for v in engine.catalog:
            for party in v.model.parties:
                keys = {name_keys(n)[0] for n in (*party.names, *party.aliases)}
                if keys & set(self.u.names):
                    self.listings.add(party.listed)
        self.cache: dict[tuple[int, str, dt.date | None], tuple[_Translator, Any]] = {}
        self.decided: set[tuple[Any, ...]] = set()
        """Formulas (by z3's hash-consed ids) already found unsatisfiable on an undated range: a later
        date-state whose rules read the same for this property needs no second check."""

    def _pinned(self, ref: str) -> Engine:
        found = self.pinned.get(ref)
        if found is None:
            from .engine import Engine as _Engine

            found = self.pinned[ref] = _Engine(self.engine.catalog.pinned(ref))
        return found

    def translated(self, snap: Snapshot, tx: Tx, day: dt.date) -> tuple[_Translator, Any]:
        listed = any(rs.parties for rs in snap.rulesets) and len(self.u.names) > 1
        key = (id(snap), tx.tag + ",".join(sorted(tx.v)) if tx.parent is not None else tx.tag,
               day if listed else None)
        found = self.cache.get(key)
        if found is None:
            tr = _Translator(snap, tx, day)
            rank, _ = tr.outcome()
            found = self.cache[key] = (tr, rank)
        return found

    def prove(self, spec: _Spec) -> ProofResult:
        """Decide one property on every date-state it is carried on."""
        started = time.perf_counter()
        engine, prop, u, tx = self.engine, spec.prop, self.u, self.tx
        pinned = self._pinned(prop.no_weaker_than) if prop.no_weaker_than else None
        states = _states(engine, spec.start, spec.end, self.listings)
        try:
            for a, b in states:
                snap = engine.snapshot(a)
                tr, rank = self.translated(snap, tx, a)
                scope = _in_scope(tr, spec)
                goals: list[tuple[Any, Tx | None]] = []
                bad = _violation(spec, rank, tr)
                if bad is not None:
                    goals.append((bad, None))
                if prop.monotone:
                    f = prop.monotone
                    if not f.startswith("item.") or f[5:] not in _NUMBERS:
                        raise Untranslatable(f"`monotone: {f}`")
                    other = tx.copy("y", **{f: z3.Real(f"y.{f}")})
                    _, rank2 = self.translated(snap, other, a)
                    goals.append((z3.And(tx.item_sel() == len(u.items), tx.given(f), other.v[f] > tx.num(f),
                                         rank2 < rank), other))
                if prop.members_no_stricter:
                    members = engine.members(prop.members_no_stricter, on=a)
                    if members:
                        other = tx.copy("y", destination=z3.Int("y.destination"))
                        tr2, rank2 = self.translated(snap, other, a)
                        goals.append((z3.And(tr2._in(other.v["destination"], members), rank2 > rank), other))
                if pinned is not None:
                    _, rank2 = self.translated(pinned.snapshot(a), tx, a)
                    goals.append((rank < rank2, None))
                for goal, second in goals:
                    dated = tr.dated or any(t.dated for t, _ in self.cache.values() if t.tx is not tx)
                    key = (scope.get_id(), goal.get_id()) + ((a, b) if dated else ())
                    if key in self.decided:
                        continue
                    found = self._solve(spec, a, b, scope, goal, second, pinned, started, len(states))
                    if found is not None:
                        return found
                    self.decided.add(key)
        except Untranslatable as exc:
            sampled = check_property(engine, spec, max_examples=300)
            took = time.perf_counter() - started
            return ProofResult(prop.id, spec.ruleset, spec.source, "sampled", len(states), took,
                               sampled.message, f"not translated: {exc}; sampled {sampled.examples} examples instead",
                               sampled.counterexample, None, sampled.verdict.to_dict() if sampled.verdict else None,
                               dict(sampled.related) if sampled.related else None, sampled.passed)
        return ProofResult(prop.id, spec.ruleset, spec.source, "proved", len(states),
                           time.perf_counter() - started, note=_NOTE)

    def _solve(self, spec: _Spec, a: dt.date, b: dt.date, scope: Any, goal: Any, other: Tx | None,
               pinned: Engine | None, started: float, n_states: int) -> ProofResult | None:
        tx = self.tx
        # simplifying and eliminating the fact equalities first makes each check several times faster
        solver = z3.Then("simplify", "propagate-values", "solve-eqs", "smt").solver()
        solver.set("timeout", self.timeout_ms)
        solver.add(scope, goal, *_item_constraints(tx), *_well_formed(tx))
        solver.add(tx.var("date", z3.Int) >= a.toordinal(), tx.var("date", z3.Int) <= b.toordinal())
        if other is not None:
            solver.add(*_domain(other))
        solver.add(*_domain(tx))
        answer = solver.check()
        if answer == z3.unknown:
            raise Untranslatable(f"the solver gave up on {a.isoformat()} ({solver.reason_unknown()})")
        if answer == z3.unsat:
            return None
        model = solver.model()
        prop = spec.prop
        concrete = _transaction(model, tx, f"{prop.id}-counterexample")
        related = None
        if other is not None:
            related = _transaction(model, other, f"{prop.id}-related")
            related["date"] = concrete["date"]
        day = dt.date.fromisoformat(concrete["date"])
        try:
            agrees, verdict, rel, message = _confirm(self.engine, spec, concrete, day, related, pinned)
        except ValueError as exc:  # TransactionInvalid: the model is not a transaction the engine takes
            raise Untranslatable(f"a model on {a.isoformat()} is not a valid transaction: {exc}") from None
        if agrees:
            return ProofResult(prop.id, spec.ruleset, spec.source, "refuted", n_states,
                               time.perf_counter() - started, message, _NOTE, concrete, day.isoformat(),
                               verdict.to_dict(), rel)
        raise Untranslatable(f"a model on {a.isoformat()} that the engine does not confirm "
                             f"({json.dumps(concrete, ensure_ascii=False)})")


_NOTE = "parties assumed unlisted and plainly named; items from the catalogue or given by figures"


def prove_properties(engine: Engine, *, only: Callable[[str, str], bool] | None = None,
                     timeout_ms: int = 60_000, jobs: int = 1) -> list[ProofResult]:
    """Decide every property of *engine*'s rulesets (or those *only* selects).

    With *jobs* above 1, the properties are shared among that many processes (each loads the rulesets from
    the engine's directory once); results come back in the same order either way.
    """
    specs = [spec for spec in _specs(engine) if only is None or only(spec.ruleset, spec.prop.id)]
    if jobs <= 1 or len(specs) < 2:
        prover = _Prover(engine, specs, timeout_ms)
        return [prover.prove(spec) for spec in specs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    keys = [(s.ruleset, s.prop.id) for s in specs]
    # longest first, each to the least loaded process: a property costs about one solve per date range,
    # twice for a relation (two transactions, or two versions)
    cost = {(s.ruleset, s.prop.id): len(_states(engine, s.start, s.end)) *
            (1 + bool(s.prop.monotone) + bool(s.prop.members_no_stricter) + bool(s.prop.no_weaker_than))
            for s in specs}
    shares: list[list[tuple[str, str]]] = [[] for _ in range(jobs)]
    loads = [0] * jobs
    for key in sorted(keys, key=lambda k: -cost[k]):
        k = loads.index(min(loads))
        shares[k].append(key)
        loads[k] += cost[key]
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds z3 and threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        parts = list(pool.map(_prove_share, [(str(engine.catalog.root), share, timeout_ms) for share in shares]))
    found = {(r.ruleset, r.property): r for part in parts for r in part}
    return [found[k] for k in keys]


def _prove_share(args: tuple[str, list[tuple[str, str]], int]) -> list[ProofResult]:
    """One process's share of the properties."""
    from . import load

    root, keys, timeout_ms = args
    wanted = set(keys)
    return prove_properties(load(root), only=lambda r, p: (r, p) in wanted, timeout_ms=timeout_ms)


def __dir__() -> list[str]:
    return list(__all__)


# ----------------------------------------------------------------- analyses (validate --deep)


def deep_findings(engine: Engine, *, timeout_ms: int = 10_000) -> list[Any]:
    """Warnings Cedar's analyser gives for its policies, for these rules, decided with z3 on every date-state:
    classifications, controls and flags that no transaction can make apply, and authorizations that can
    never clear anything. Each names the file:line where the rule is written."""
    from .diagnostics import Diagnostic, Severity
    from .source import Span

    states = engine.compiler.state_dates
    snaps = [engine.snapshot(d) for d in states]
    prover = _Prover.__new__(_Prover)
    prover.engine, prover.timeout_ms, prover.pinned = engine, timeout_ms, {}
    prover.u = _universe(engine, snaps, [])
    prover.tx = Tx("x", prover.u)
    prover.cache, prover.decided, prover.listings = {}, set(), set()
    tx = prover.tx
    seen: dict[tuple[str, str, str, str], tuple[str, bool]] = {}  # (ruleset, version, kind, id) -> (source, ever)

    def sat(*goals: Any) -> bool:
        solver = z3.Then("simplify", "propagate-values", "solve-eqs", "smt").solver()
        solver.set("timeout", timeout_ms)
        solver.add(*goals, *_item_constraints(tx), *_well_formed(tx), *_domain(tx))
        return bool(solver.check() != z3.unsat)  # unknown counts as reachable: a warning must be certain

    for k, snap in enumerate(snaps):
        start = states[k]
        end = states[k + 1] - dt.timedelta(days=1) if k + 1 < len(states) else dt.date(2200, 12, 31)
        tr, _ = prover.translated(snap, tx, start)
        dated = [tx.var("date", z3.Int) >= start.toordinal(), tx.var("date", z3.Int) <= end.toordinal()]

        def check(meta: Any, kind: str, goal: Any, dated: list[Any] = dated) -> None:
            key = (meta.ruleset, meta.version, kind, meta.id)
            source, ever = seen.get(key, (meta.source, False))
            if not ever:
                ever = sat(goal, *dated)
            seen[key] = (source, ever)

        for c in snap.classifications:
            check(c.meta, "classification", tr.classified(c).t)
        for rs in snap.rulesets:
            if not rs.decides:
                continue
            widen = snap.widen_by.get(rs.version.id, _same)
            decides = z3.Not(tr.cond(rs.scope_cond, widen).f)
            for control in rs.controls:
                w = tr.cond(control.cond, widen)
                if control.classes:
                    cls = [tr.cls[c] for c in control.classes if c in tr.cls]
                    hit = z3.Or(*cls) if cls else z3.BoolVal(False)
                else:
                    hit = z3.BoolVal(True)
                check(control.meta, "control", z3.And(decides, hit, w.t))
            for flag in rs.flags:
                check(flag.meta, "flag", z3.And(decides, tr.cond(flag.cond, widen).t))
            for a in rs.authorizations:
                clears = tr.clears.get(a.meta.id)
                check(a.meta, "authorization", z3.Or(*clears) if clears else z3.BoolVal(False))
            parts = tr.parts.get(rs.version.id, [])
            flags = {f.meta.id for f in rs.flags}
            for i, (meta, part) in enumerate(parts):
                if meta.id in flags:  # flags overlap by design: each names its own red flag for the record
                    continue
                others: Any = z3.IntVal(0)
                for j, (_, q) in enumerate(parts):
                    if j != i:
                        others = _max(others, q)
                # does the control ever raise the ruleset's outcome above what the other rules give?
                check(meta, "shadow:control", z3.And(decides, part > others))
    out: list[Any] = []
    for (ruleset, version, kind, rule), (source, ever) in sorted(seen.items()):
        if ever:
            continue
        if kind.startswith("shadow:") and not seen.get((ruleset, version, kind[7:], rule), ("", False))[1]:
            continue  # a rule that never applies is reported as such, not also as shadowed
        file, _, rest = source.rpartition(":")
        file, _, line = file.rpartition(":")
        span = Span(file, int(line), int(rest), int(line), int(rest)) if line.isdigit() and rest.isdigit() else None
        if kind.startswith("shadow:"):
            out.append(Diagnostic("shadowed-rule", f"{kind[7:]} `{rule}` of {ruleset}@{version} never changes an "
                                  "outcome: whenever it applies, other rules of its ruleset decide at least as "
                                  "strictly (decided by z3)", span, severity=Severity.WARNING))
            continue
        what = "can never clear a control that applies" if kind == "authorization" else \
            "can never apply: no transaction, with every fact given, meets its condition on any date it is in force"
        out.append(Diagnostic("never-fires", f"{kind} `{rule}` of {ruleset}@{version} {what} (decided by z3)",
                              span, severity=Severity.WARNING))
    return out


# ----------------------------------------------------------------- exact change impact (diff --exact)


@dataclass(frozen=True)
class Region:
    """Transactions whose outcome differs between two rule sets, described as constraints, with a witness."""

    constraints: tuple[str, ...]
    old: str
    new: str
    witness: Mapping[str, Any]
    chips: tuple[str, ...]
    """Catalogue chips that, put in the witness, flip the same way."""

    def to_dict(self) -> dict[str, Any]:
        return {"when": " and ".join(self.constraints), "old": self.old, "new": self.new,
                "witness": dict(self.witness), "catalogue_chips": len(self.chips), "chips": list(self.chips)}


def exact_diff(old: Engine, new: Engine, day: dt.date, *, max_regions: int = 20,
               timeout_ms: int = 30_000) -> tuple[list[Region], bool]:
    """The regions of transactions (on *day*) whose outcome under *new* differs from under *old*: each found by
    z3, confirmed by both engines, widened along the item's figures (between the rules' thresholds), the
    catalogue item and the destination, then excluded so the next region is a different one. Returns the
    regions and whether they are all of them (False: *max_regions* were found and more may exist)."""
    snaps = [old.snapshot(day), new.snapshot(day)]
    prover = _Prover.__new__(_Prover)
    prover.engine, prover.timeout_ms, prover.pinned = old, timeout_ms, {}
    prover.u = _universe(old, snaps, [])
    prover.tx = Tx("x", prover.u)
    prover.cache, prover.decided, prover.listings = {}, set(), set()
    u, tx = prover.u, prover.tx
    _, r_old = prover.translated(snaps[0], tx, day)
    _, r_new = prover.translated(snaps[1], tx, day)
    base = [*_item_constraints(tx), *_well_formed(tx), tx.var("date", z3.Int) == day.toordinal()]
    thresholds: dict[str, list[float]] = {}
    for s in snaps:
        for f, values in s.thresholds.items():
            thresholds.setdefault(f, []).extend(values)
    regions: list[Region] = []
    blocked: list[Any] = []

    def solver(*extra: Any) -> Any:
        s = z3.Then("simplify", "propagate-values", "solve-eqs", "smt").solver()
        s.set("timeout", timeout_ms)
        s.add(*base, *blocked, *extra, *_domain(tx))
        return s

    plain = [tx.country("ship_from") == u.countries.index("US"), z3.Not(tx.given("end_use")),
             *[z3.Not(tx.present(r)) for r in ROLES],
             *[z3.Not(tx.var(f"ev:{e}", z3.Bool)) for e in u.evidence],
             *[z3.Not(tx.var(f"lic:{j}", z3.Bool)) for j in u.jurisdictions],
             z3.Not(tx.given("destination_region")), *[z3.Not(tx.var(f"reg:{r}", z3.Bool)) for r in u.regions],
             *[z3.Not(tx.var(f"tr:{c}", z3.Bool)) for c in u.countries if tx.lookup(f"tr:{c}") is not None]]
    while len(regions) < max_regions:
        s = solver(r_old != r_new)
        if s.check() != z3.sat:
            return regions, True
        # the plainest witness: shipped from the US, no parties, end use, evidence or licences unless needed
        opt = z3.Optimize()
        opt.set("timeout", timeout_ms)
        opt.add(*base, *blocked, r_old != r_new, *_domain(tx))
        for p in plain:
            opt.add_soft(p)
        m = opt.model() if opt.check() == z3.sat else s.model()
        o_val, n_val = m.eval(r_old, model_completion=True).as_long(), m.eval(r_new, model_completion=True).as_long()
        same = z3.And(r_old == o_val, r_new == n_val)
        witness = _transaction(m, tx, f"flip-{len(regions) + 1}")
        v_old, v_new = old.judge(witness, as_of=day), new.judge(witness, as_of=day)
        if (v_old.outcome.rank, v_new.outcome.rank) != (o_val, n_val):
            raise Untranslatable(f"a flip the engines do not confirm: {json.dumps(witness)}")
        # hold every fact at the witness, then free one dimension at a time
        fixed: dict[str, Any] = {}
        for name in sorted(tx.v):
            var = tx.v[name]
            if var.sort() in (z3.IntSort(), z3.RealSort(), z3.BoolSort()):
                fixed[name] = var == m.eval(var, model_completion=True)
        constraints: list[str] = []
        region: list[Any] = []

        def uniform(free: list[str], domain: Any, fixed: dict[str, Any] = fixed, same: Any = same) -> bool:
            others = [c for k, c in fixed.items() if k not in free]
            return bool(solver(*others, domain, z3.Not(same)).check() == z3.unsat)

        sel = m.eval(tx.item_sel(), model_completion=True).as_long()
        if sel == len(u.items):
            for f in _NUMBERS:
                name = f"item.{f}"
                if name not in tx.v or not z3.is_true(m.eval(tx.given(name), model_completion=True)):
                    continue
                value = float(m.eval(tx.v[name], model_completion=True).as_fraction())
                cuts = sorted(set(thresholds.get(name, [])))
                lo = max([c for c in cuts if c <= value], default=0.0)
                above = [c for c in cuts if c > value]
                hi = min(above) if above else None
                var = tx.v[name]
                dom = z3.And(var >= lo, var < hi) if hi is not None else var >= lo
                if uniform([name], dom):
                    constraints.append(f"{f} in [{lo:g}, {hi:g})" if hi is not None else f"{f} >= {lo:g}")
                    region.append(dom)
                else:
                    constraints.append(f"{f} = {value:g}")
                    region.append(var == z3.RealVal(str(value)))
            region.append(tx.item_sel() == len(u.items))
        else:
            items = [k for k in range(len(u.items))
                     if k == sel or uniform(["item"], tx.item_sel() == k)]
            constraints.append("item in {" + ", ".join(u.items[k] for k in items) + "}")
            region.append(z3.Or(*[tx.item_sel() == k for k in items]))
        widened = [f"item.{f}" for f in _NUMBERS if any(c.startswith(f.split(" ")[0] + " ") for c in constraints)]
        free: list[str] = ["item", *(k for k in fixed if k.startswith("item.") and k.rstrip("?") in widened)]
        for field_name in ("destination", "ship_from"):
            var = tx.country(field_name)
            here = m.eval(var, model_completion=True).as_long()
            codes = [k for k in range(len(u.countries)) if k == here or uniform([*free, field_name], var == k)]
            free.append(field_name)
            if len(codes) == len(u.countries):
                continue
            shown = sorted({c for k in codes for c in _class_members(u, snaps, u.countries[k])})
            everyone = sorted({c for k in range(len(u.countries)) for c in _class_members(u, snaps, u.countries[k])})
            rest_codes = sorted(set(everyone) - set(shown))
            constraints.append(f"{field_name} in {{{', '.join(shown)}}}" if len(shown) <= len(rest_codes)
                               else f"{field_name} not in {{{', '.join(rest_codes)}}}")
            region.append(z3.Or(*[var == k for k in codes]))
        # the remaining facts: dropped where the flip does not depend on them, else held as in the witness
        groups: dict[str, list[str]] = {}
        for k in fixed:
            if k in free or k == "date":
                continue
            head = k.split(":")[0] if ":" in k else (k.rstrip("!?") if k.startswith("item.")
                                                      else k.split(".")[0].rstrip("!?"))
            groups.setdefault(head, []).append(k)
        held: list[Any] = []
        absent: list[str] = []
        for head, names in sorted(groups.items()):
            if uniform([*free, *names], z3.BoolVal(True)):
                free += names
                continue
            held += [fixed[n] for n in names]
            text = _describe(head, witness)
            if text.startswith("no item."):
                absent.append(text[8:])
            else:
                constraints.append(text)
        if absent:
            constraints.append("no item." + ("{" + ", ".join(absent) + "}" if len(absent) > 1 else absent[0]))
        region += held
        blocked.append(z3.Not(z3.And(*region)))
        chips = tuple(sorted(i for i in u.items if _flips_alike(old, new, witness, i, day, (o_val, n_val))))
        regions.append(Region(tuple(constraints), _OUTCOMES[o_val], _OUTCOMES[n_val], witness, chips))
    return regions, False


def _describe(head: str, witness: Mapping[str, Any]) -> str:
    """A held group of facts, as the witness has it."""
    if head in ROLES:
        party = witness.get(head)
        return f"no {head.replace('_', ' ')}" if party is None else \
            f"{head} " + json.dumps({k: v for k, v in party.items() if k != "name"}, ensure_ascii=False)
    if head == "end_use":
        return f"end_use = {witness['end_use']}" if "end_use" in witness else "no end use declared"
    if head == "ev":
        return f"evidence = {witness['evidence']}" if witness.get("evidence") else "no evidence"
    if head in ("lic", "lit"):
        return f"licences = {witness['licences']}" if witness.get("licences") else "no licences"
    if head.startswith("item."):
        item = witness.get("item")
        value = item.get(head[5:]) if isinstance(item, Mapping) else None
        return f"{head} = {json.dumps(value)}" if value is not None else f"no {head}"
    return f"{head} as in the witness"


def _class_members(u: Universe, snaps: list[Snapshot], code: str) -> list[str]:
    """The ISO codes a representative country stands for (those in the same groups on every snapshot)."""
    import pycountry

    sig = frozenset((k, g) for k, s in enumerate(snaps) for g, members in s.groups.items() if code in members)
    out = []
    for c in pycountry.countries:
        other = c.alpha_2
        if other == code or (other not in u.countries and
                             frozenset((k, g) for k, s in enumerate(snaps) for g, members in s.groups.items()
                                       if other in members) == sig):
            out.append(other)
    return out


def _flips_alike(old: Engine, new: Engine, witness: Mapping[str, Any], item: str, day: dt.date,
                 ranks: tuple[int, int]) -> bool:
    tx = {**witness, "item": item}
    return (old.judge(tx, as_of=day).outcome.rank, new.judge(tx, as_of=day).outcome.rank) == ranks
