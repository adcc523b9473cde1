"""Planning: a compiled snapshot becomes one generated Python function that decides.

The function reads the transaction's attributes into locals, classifies the item
into a bit mask, and walks every ruleset's controls, clearing authorizations and
red flags as straight-line code: groups are frozenset constants, thresholds are
literals, classes are bits, and each control carries only the authorizations that
can clear it. It returns the shape of the verdict (class bits and each ruleset's
outcome) and builds no reason, string or list.

Conditions keep their three-valued meaning: a test is ``0`` (false), ``1``
(unknown: the fact is not given) or ``3`` (true); ``all`` is bitwise and, ``any``
bitwise or, ``not`` a table lookup, which is Kleene's logic exactly. Where the
answer depends on more than the plan decides (a listed or resembling party, a
listed owner, an unknown catalogue id), the function returns ``None`` and the
interpreter (:mod:`exportrules.judging`) judges the transaction in full, so the
fail-closed behaviour is the interpreter's. The tests compare the two on the whole
corpus and on generated transactions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .compiler import CAuthorization, RulesetSnapshot, Snapshot
from .conditions import FIELDS, All, AnyOf, Cond, FieldType, Not, Test, country_members
from .judging import (
    ROLES,
    covered_share,
    has_mixed_script_names,
    licences_for,
    named_parties,
    party_regions,
    receiving_places,
    routes_for,
)
from .screening import name_keys
from .screening import search_undated as undated
from .verdict import Coverage, Outcome, RulesetUsed

__all__ = ["Decision", "Plan", "build_plan", "coverage_of", "covered_jurisdictions"]

Decision = tuple[int, tuple[int | None, ...]]
"""(class bits, each ruleset's outcome rank or None when it did not decide)."""

_NOT = (3, 1, 1, 0)
_RANKED = (Outcome.PERMITTED, Outcome.FLAGGED, Outcome.BLOCKED)
_NON_NULL = {"date", "quantity", "destination", "ship_from", "evidence", "licences", "transit", "parties.region"}
_TUPLES = {"evidence", "licences", "transit"}


@dataclass(frozen=True, slots=True)
class _Expr:
    """A condition as code: *three* gives 0 (false), 1 (unknown) or 3 (true); *two* is a plain boolean
    expression, right whenever every local in *nulls* is given (None: there is no such form)."""

    three: str
    two: str | None
    nulls: frozenset[str]


@dataclass(frozen=True, slots=True)
class Shape:
    """What a decision says, ready to put in a verdict."""

    outcome: Outcome
    classifications: tuple[str, ...]
    rulesets: tuple[RulesetUsed, ...]
    jurisdictions: Mapping[str, Outcome]


class Plan:
    """The generated decision function of one snapshot, and how its answers read.

    Immutable once built; safe to call from many threads.
    """

    def __init__(self, snap: Snapshot, decide: Callable[[Any, dt.date], Decision | None], source: str,
                 class_ids: tuple[str, ...], reads: frozenset[str] = frozenset(),
                 name_keys: frozenset[str] | None = frozenset()) -> None:
        self.snapshot = snap
        self.reads = reads
        """The transaction fields the generated function reads (``buyer.country``, ``date``, …)."""
        self.name_keys = name_keys
        """The (normalised) party names conditions compare with; None when a condition reads names otherwise."""
        self.decide = decide
        self.source = source
        """The generated Python source (for reading and debugging)."""
        self._class_ids = class_ids
        self._shapes: dict[Decision, Shape] = {}
        self.covered = covered_jurisdictions(snap)
        self._coverage: dict[tuple[str, str], Coverage] = {}

    def coverage(self, ship_from: str, destination: str, transit: tuple[str, ...] = ()) -> Coverage:
        """What a verdict under this plan speaks for, for a shipment between two countries (kept)."""
        if transit:
            return coverage_of(self.covered, ship_from, destination, transit)
        key = (ship_from, destination)
        found = self._coverage.get(key)
        if found is None:
            found = coverage_of(self.covered, ship_from, destination)
            if len(self._coverage) < 65536:
                self._coverage[key] = found
        return found

    def shape(self, decision: Decision) -> Shape:
        """The verdict shape of a decision (a few dozen distinct shapes per snapshot, kept)."""
        found = self._shapes.get(decision)
        if found is None:
            bits, ranks = decision
            classes = tuple(sorted(c for i, c in enumerate(self._class_ids) if bits >> i & 1))
            used: list[RulesetUsed] = []
            by_j: dict[str, int] = {}
            top = 0
            for rs, r in zip(self.snapshot.rulesets, ranks, strict=True):
                if r is None:
                    used.append(rs.used[None])
                    continue
                used.append(rs.used[_RANKED[r]])
                j = rs.version.jurisdiction
                by_j[j] = max(by_j.get(j, 0), r)
                top = max(top, r)
            found = Shape(_RANKED[top], classes, tuple(used), {j: _RANKED[r] for j, r in by_j.items()})
            if len(self._shapes) < 65536:  # bounded: shapes are few, but never grow without end
                self._shapes[decision] = found
        return found


class _Gen:
    """Source text and constants of one generated function."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.consts: dict[str, Any] = {}
        self._const_ids: dict[Any, str] = {}
        self.fields: set[str] = set()
        self.name_keys: set[str] = set()
        self.names_opaque = False
        self.class_ids = tuple(sorted({c.meta.id for c in snap.classifications}))
        self.bit = {c: 1 << i for i, c in enumerate(self.class_ids)}
        self.lines: list[str] = []
        self.gate_vars: dict[int, str] = {}
        """The local that holds each gate's value (by the gate's id), computed once per call."""

    def const(self, value: Any) -> str:
        key: tuple[str, Any] | None = (type(value).__name__, value)
        try:
            name = self._const_ids.get(key)
        except TypeError:  # unhashable: never shared
            name, key = None, None
        if name is None:
            name = f"K{len(self.consts)}"
            self.consts[name] = value
            if key is not None:
                self._const_ids[key] = name
        return name

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    # ------------------------------------------------------------- conditions

    def cond(self, cond: Cond | None, ruleset: str, *, classes: bool = True) -> _Expr:
        """A condition as code: three-valued, and two-valued for when its facts are all given."""
        if cond is None:
            return _Expr("3", "True", frozenset())
        if isinstance(cond, (All, AnyOf)):
            parts = [self.cond(p, ruleset, classes=classes) for p in cond.parts]
            bit, word = (" & ", " and ") if isinstance(cond, All) else (" | ", " or ")
            two = None if any(p.two is None for p in parts) else "(" + word.join(str(p.two) for p in parts) + ")"
            return _Expr("(" + bit.join(p.three for p in parts) + ")", two,
                         frozenset().union(*(p.nulls for p in parts)))
        if isinstance(cond, Not):
            inner = self.cond(cond.part, ruleset, classes=classes)
            return _Expr(f"NOT[{inner.three}]", None if inner.two is None else f"(not {inner.two})", inner.nulls)
        return self.test(cond, ruleset, classes)

    def test(self, t: Test, ruleset: str, classes: bool) -> _Expr:
        name, op, value = t.field, t.op, t.value
        ftype = FIELDS[name]
        if name.endswith(".name") and op not in ("eq", "ne", "in", "not_in", "exists"):
            self.names_opaque = True
        if name == "item.class":
            if not classes:  # classifications cannot see classes: the interpreter reads them as not given
                if op == "exists":
                    return _Expr("0", "False", frozenset()) if value else _Expr("3", "True", frozenset())
                return _Expr("1", None, frozenset())
            if op == "exists":
                return _Expr("(3 if CLS else 0)", "(CLS != 0)", frozenset()) if value \
                    else _Expr("(0 if CLS else 3)", "(CLS == 0)", frozenset())
            wanted = value if isinstance(value, tuple) else (value,)
            mask = 0
            for c in wanted:
                mask |= self.bit.get(c, 0)
            if op in ("eq", "in", "contains"):
                return _Expr(f"(3 if CLS & {mask} else 0)", f"(CLS & {mask} != 0)", frozenset())
            return _Expr(f"(0 if CLS & {mask} else 3)", f"(CLS & {mask} == 0)", frozenset())
        self.fields.add(name)
        v = _local(name)
        nullable = name not in _NON_NULL
        if op == "exists":
            if name in _TUPLES:
                present = f"len({v}) > 0"
            elif ftype in (FieldType.STR_SET, FieldType.COUNTRY_SET):
                present = f"({v} is not None and len({v}) > 0)"
            else:
                present = f"{v} is not None"
            if value:
                return _Expr(f"(3 if {present} else 0)", f"({present})", frozenset())
            return _Expr(f"(0 if {present} else 3)", f"(not ({present}))", frozenset())
        positive = op in ("eq", "in", "contains")
        if ftype in (FieldType.COUNTRY, FieldType.COUNTRY_SET) and op in ("eq", "ne", "in", "not_in", "contains"):
            values = value if isinstance(value, tuple) else (value,)
            members = country_members(values, self.snap.resolve, self.snap.widen_by.get(ruleset, _same))
            m = self.const(members)
            test = f"not {m}.isdisjoint({v})" if ftype is FieldType.COUNTRY_SET else f"{v} in {m}"
        elif ftype is FieldType.STR_SET:
            w = self.const(frozenset(value if isinstance(value, tuple) else (value,)))
            test = f"not {w}.isdisjoint({v})"
        elif name.endswith(".name") and op in ("eq", "ne", "in", "not_in"):
            keys = frozenset(name_keys(x)[0] for x in (value if isinstance(value, tuple) else (value,)))
            self.name_keys |= keys
            test = f"KEY({v})[0] in {self.const(keys)}"
        elif op in ("in", "not_in"):
            test = f"{v} in {self.const(frozenset(value))}"
        elif op == "between":
            test = f"{self.const(value[0])} <= {v} <= {self.const(value[1])}"
        else:
            positive = True
            test = f"{v} {_SYMBOL[op]} {self.const(value)}"
        hit, miss = ("3", "0") if positive else ("0", "3")
        three = f"({hit} if {test} else {miss})"
        two = f"({test})" if positive else f"(not ({test}))"
        if nullable:
            return _Expr(f"(1 if {v} is None else {three})", two, frozenset({v}))
        return _Expr(three, two, frozenset())

    def assign(self, depth: int, var: str, expr: _Expr) -> None:
        """``var = 0 | 1 | 3``: the two-valued form when every fact it reads is given, else the three-valued."""
        if expr.two is None:
            self.emit(depth, f"{var} = {expr.three}")
        elif not expr.nulls:
            self.emit(depth, f"{var} = 3 if {expr.two} else 0")
        else:
            self.emit(depth, "if " + " and ".join(f"{n} is not None" for n in sorted(expr.nulls)) + ":")
            self.emit(depth + 1, f"{var} = 3 if {expr.two} else 0")
            self.emit(depth, "else:")
            self.emit(depth + 1, f"{var} = {expr.three}")

    # ------------------------------------------------------------- body

    def build(self) -> str:
        snap = self.snap
        body: list[str] = []
        self.lines = body
        self.emit(1, "CLS = 0")
        self.emit(1, "UNK = 0")
        for c in snap.classifications:
            bit = self.bit[c.meta.id]
            self.assign(1, "r", self.cond(c.cond, c.meta.ruleset, classes=False))
            if c.unless is not None:
                self.emit(1, "if r:")
                self.assign(2, "u", self.cond(c.unless, c.meta.ruleset, classes=False))
                self.emit(2, "r = 0 if u == 3 else (1 if (u == 1 or r == 1) else r)")
            self.emit(1, f"if r == 3: CLS |= {bit}")
            self.emit(1, f"elif r == 1: UNK |= {bit}")
        self.emit(1, "UNK &= ~CLS")
        for rs in snap.rulesets:  # each gate once, whatever number of rulesets it gates
            for gate in rs.gates:
                if id(gate) not in self.gate_vars and rs.decides:
                    name = self.gate_vars[id(gate)] = f"G{len(self.gate_vars)}"
                    self.assign(1, name, self.cond(gate.cond, gate.meta.ruleset))
        outs = []
        for k, rs in enumerate(snap.rulesets):
            out = f"o{k}"
            outs.append(out)
            self.ruleset(k, rs, out)
        self.emit(1, f"return (CLS, ({', '.join(outs)}{',' if len(outs) == 1 else ''}))")

        head: list[str] = ["def decide(tx, day):"]
        if not any(rs.decides for rs in snap.rulesets):
            head.append("    return None  # no rules in force: the interpreter says so")
        head += ["    if MIXED(tx) or tx.origin is not None:", "        return None", "    item = tx.item",
                           "    if item.__class__ is str:",
                           "        it = ITEMS.get(item)",
                           "        if it is None:",
                           "            return None",
                           "    else:",
                           "        it = item.__dict__"]
        roles = sorted({f.split(".")[0] for f in self.fields if f.split(".")[0] in ROLES})
        if "buyer" not in roles and ({"end_user", "consignee"} & set(roles)):
            roles.insert(0, "buyer")
        for role in sorted(roles, key=ROLES.index):
            if role in ("end_user", "consignee"):
                head.append(f"    P_{role} = tx.{role} if tx.{role} is not None else P_buyer")
            else:
                head.append(f"    P_{role} = tx.{role}")
        if self.fields & {"parties.headquarters", "parties.country"}:
            head.append("    PH, PC = RECV(tx)")
        for name in sorted(self.fields):
            head.append(f"    {_local(name)} = {_loader(name)}")
        return "\n".join(head + body) + "\n"

    def ruleset(self, k: int, rs: RulesetSnapshot, out: str) -> None:
        if not rs.decides:
            self.emit(1, f"{out} = None")
            return
        self.assign(1, "s", self.cond(rs.scope_cond, rs.version.id))
        for gate in rs.gates:  # a gate that fails keeps the ruleset out; an unknown one lets it judge
            self.emit(1, f"s = s & {self.gate_vars[id(gate)]}")
        self.emit(1, "if s == 0:")
        self.emit(2, f"{out} = None")
        self.emit(1, "else:")
        self.emit(2, "o = 0")
        rid = rs.version.id
        for control in rs.controls:
            depth = 2
            if control.classes:
                mask = 0
                for c in control.classes:
                    mask |= self.bit.get(c, 0)
                self.emit(2, f"if CLS & {mask}:")
                depth = 3
            self.assign(depth, "w", self.cond(control.cond, rid))
            self.emit(depth, "if w:")
            if control.requires == "prohibited":
                self.emit(depth + 1, "r = 2")
            else:
                self.clear(depth + 1, routes_for(self.snap, rs, frozenset({control.meta.id})))
            # Applies: its outcome. May apply (a fact is missing): permitted only if cleared either way.
            self.emit(depth + 1, "if w == 3:")
            self.emit(depth + 2, "if r > o: o = r")
            self.emit(depth + 1, "elif r and o < 1:")
            self.emit(depth + 2, "o = 1")
            if control.classes:
                self.emit(2, f"elif UNK & {mask} and o < 1:")
                self.assign(3, "w", self.cond(control.cond, rid))
                self.emit(3, "if w:")
                if control.requires == "prohibited":
                    self.emit(4, "r = 2")
                else:
                    self.clear(4, routes_for(self.snap, rs, frozenset({control.meta.id})))
                self.emit(4, "if r:")
                self.emit(5, "o = 1")
        if rs.parties:
            screen = self.const(_screener(rs))
            self.emit(2, f"if {screen}(tx, day):")
            self.emit(3, "return None")
        for flag in rs.flags:
            self.emit(2, "if o < 1:")
            self.assign(3, "w", self.cond(flag.cond, rid))
            self.emit(3, "if w == 3:")
            self.emit(4, "o = 1")
        self.emit(2, f"{out} = o")

    def clear(self, depth: int, routes: list[tuple[RulesetSnapshot, CAuthorization]]) -> None:
        """Set ``r`` to the outcome of a control, were it to apply, given its routes (see judging.clear)."""
        if not routes:
            self.emit(depth, "r = 2")
            return
        self.emit(depth, "c = q = p = False")
        for owner, a in routes:
            self.assign(depth, "v", self.cond(a.cond, owner.version.id))
            test = "v == 3"
            if a.licence:
                test += f" and LICFOR(tx.licences, {owner.version.jurisdiction!r})"
            self.emit(depth, f"if {test}:")
            if a.evidence:
                have = " and ".join(f"{e!r} in EV" for e in a.evidence)
                self.fields.add("evidence")
                self.emit(depth + 1, f"if {have}:")
                self.emit(depth + 2, "q = True" if a.quota is not None else "c = True")
                self.emit(depth + 1, "else:")
                self.emit(depth + 2, "p = True")
            else:
                self.emit(depth + 1, "q = True" if a.quota is not None else "c = True")
        self.emit(depth, "r = 0 if (c or q) else (1 if p else 2)")  # a quota is information, not a condition


_SYMBOL = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "==", "ne": "!="}
_ATTRS = {"id": "tx.id", "date": "tx.date", "quantity": "tx.quantity", "ship_from": "tx.ship_from",
          "destination": "tx.destination", "end_use": "tx.end_use", "evidence": "tx.evidence",
          "licences": "tx.licences", "destination_region": "tx.destination_region", "transit": "tx.transit"}


def _local(name: str) -> str:
    if name == "evidence":
        return "EV"
    return "F_" + name.replace(".", "_")


def _loader(name: str) -> str:
    if name in _ATTRS:
        return _ATTRS[name]
    if name == "item.id":
        return "item if item.__class__ is str else None"
    if name == "item.total_bandwidth":
        return ("(it['memory_bandwidth'] + it['io_bandwidth'] if it['memory_bandwidth'] is not None "
                "and it['io_bandwidth'] is not None else None)")
    if name.startswith("item."):
        return f"it[{name[5:]!r}]"
    if name == "parties.headquarters":
        return "PH"
    if name == "parties.country":
        return "PC"
    if name == "parties.region":
        return "REGIONS(tx)"
    role, attr = name.split(".")
    if attr == "headquarters":
        return f"None if P_{role} is None else (P_{role}.headquarters or P_{role}.country)"
    return f"None if P_{role} is None else P_{role}.{attr}"


def covered_jurisdictions(snap: Snapshot) -> tuple[str, ...]:
    """The jurisdictions with a ruleset that judges shipments in *snap* (coalitions, `INTL`, are not one)."""
    return tuple(sorted({rs.version.jurisdiction for rs in snap.rulesets if rs.decides} - {"INTL"}))


def coverage_of(covered: tuple[str, ...], ship_from: str, destination: str, transit: tuple[str, ...] = ()) \
        -> Coverage:
    """The coverage statement for a shipment from *ship_from* to *destination* (through *transit*)."""
    return Coverage(covered, tuple(sorted({ship_from, destination, *transit} - set(covered))))


def _same(codes: frozenset[str]) -> frozenset[str]:
    return codes


def _screener(rs: RulesetSnapshot) -> Callable[[Any, dt.date], bool]:
    """Whether any party of *tx* hits (or resembles) an entry of *rs* listed on *day*, or is owned by one."""
    index, limits, ownership = rs.party_index, rs.screening, bool(rs.ownership)
    # owners count if any rule counts their list
    owner_lists = None if any(o.lists is None for o in rs.ownership) else \
        frozenset().union(*(o.lists or () for o in rs.ownership))
    dated = index.dated

    def hits(tx: Any, day: dt.date) -> bool:
        for p in named_parties(tx):
            if p is None:
                continue
            exact, fuzzy = undated(index, p.name, p.country, limits)
            if (exact or fuzzy) and (not dated or index.search(p.name, country=p.country, thresholds=limits,
                                                                 on=day)):
                return True
            if p.owners and ownership:
                owned: list[Any] = []
                covered_share(p.owners, rs, owned, day, owner_lists)
                if owned:
                    return True
        return False

    return hits


def build_plan(snap: Snapshot) -> Plan:
    """Generate, compile and wrap the decision function of *snap*."""
    gen = _Gen(snap)
    source = gen.build()
    namespace: dict[str, Any] = {
        **gen.consts, "NOT": _NOT, "ITEMS": snap.items, "KEY": name_keys,
        "RECV": receiving_places, "REGIONS": party_regions, "LICFOR": licences_for, "MIXED": has_mixed_script_names,
    }
    code = compile(source, f"<exportrules plan {snap.start}..{snap.end}>", "exec")
    exec(code, namespace)  # generated from validated, structured rules: no user text is ever code
    return Plan(snap, namespace["decide"], source, gen.class_ids, frozenset(gen.fields),
                None if gen.names_opaque else frozenset(gen.name_keys))


def __dir__() -> list[str]:
    return list(__all__)
