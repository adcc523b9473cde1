"""Structured conditions: parse, check, compile to closures, explain.

A condition is plain data (never a string to evaluate)::

    {all: [{item.tpp: {gte: 1600}}, {item.performance_density: {gte: 5.92}}]}
    {destination: {in: [D:1, D:4, D:5], not_in: [A:5, A:6]}}
    {item.datacenter: false}

Evaluation is three-valued (Kleene): a test on a fact the transaction does
not give is *unknown* (``None``), ``all`` is false if any part is false and
unknown if any is unknown, ``any`` is true if any part is true, ``not``
keeps unknown unknown. The engine turns an unknown that could make a verdict
stricter into a ``flagged`` verdict naming the missing fact: it fails closed.

Country-typed fields compare against sets: two-letter upper-case strings are
ISO codes and anything else names a group, resolved to its members on the
evaluation date when the condition is compiled. Party names (``buyer.name`` …) compare by
the same tokens as screening (case, punctuation, word order and legal forms ignored). Set-valued fields
(``evidence``, ``licences``, ``item.class``, ``parties.headquarters``) match
``in`` when any element is in the set.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .diagnostics import Diagnostic, did_you_mean
from .screening import name_keys
from .source import Path_, SourceMap

__all__ = [
    "FIELDS",
    "OPERATORS",
    "All",
    "AnyOf",
    "Cond",
    "FieldType",
    "Not",
    "Predicate",
    "Test",
    "compile_condition",
    "country_members",
    "explain",
    "fields_of",
    "iso_codes",
    "missing_fields",
    "parse_condition",
    "show_value",
]


class FieldType(Enum):
    """The type of a transaction field, which decides the operators it takes."""

    NUMBER = "number"
    BOOL = "bool"
    STR = "string"
    DATE = "date"
    COUNTRY = "country"
    STR_SET = "string-set"
    COUNTRY_SET = "country-set"


_PARTY_ROLES = ("buyer", "end_user", "consignee", "seller")

FIELDS: dict[str, FieldType] = {
    "id": FieldType.STR,
    "date": FieldType.DATE,
    "quantity": FieldType.NUMBER,
    "ship_from": FieldType.COUNTRY,
    "destination": FieldType.COUNTRY,
    "end_use": FieldType.STR,
    "evidence": FieldType.STR_SET,
    "licences": FieldType.STR_SET,
    "item.id": FieldType.STR,
    "item.name": FieldType.STR,
    "item.vendor": FieldType.STR,
    "item.kind": FieldType.STR,
    "item.material": FieldType.STR,
    "item.eccn": FieldType.STR,
    "item.tpp": FieldType.NUMBER,
    "item.performance_density": FieldType.NUMBER,
    "item.datacenter": FieldType.BOOL,
    "item.memory_bandwidth": FieldType.NUMBER,
    "item.io_bandwidth": FieldType.NUMBER,
    "item.hbm_bandwidth_density": FieldType.NUMBER,
    "item.total_bandwidth": FieldType.NUMBER,
    "item.fab_country": FieldType.COUNTRY,
    "item.us_tools": FieldType.BOOL,
    "item.us_content": FieldType.NUMBER,
    "item.class": FieldType.STR_SET,
    "parties.headquarters": FieldType.COUNTRY_SET,
    "parties.country": FieldType.COUNTRY_SET,
    "destination_region": FieldType.STR,
    "parties.region": FieldType.STR_SET,
    "transit": FieldType.COUNTRY_SET,
    **{f"{role}.name": FieldType.STR for role in _PARTY_ROLES},
    **{f"{role}.country": FieldType.COUNTRY for role in _PARTY_ROLES},
    **{f"{role}.headquarters": FieldType.COUNTRY for role in _PARTY_ROLES},
}
"""Every dotted field a condition may name, with its type."""

_ORDERED = {FieldType.NUMBER, FieldType.DATE}
_SETS = {FieldType.STR_SET, FieldType.COUNTRY_SET}
_COUNTRYISH = {FieldType.COUNTRY, FieldType.COUNTRY_SET}

OPERATORS: dict[str, str] = {
    "eq": "equals",
    "ne": "differs from",
    "in": "is one of (any element, for set fields)",
    "not_in": "is none of",
    "lt": "less than",
    "lte": "at most",
    "gt": "greater than",
    "gte": "at least",
    "between": "within [low, high] inclusive",
    "exists": "is given (true) or absent (false)",
    "contains": "set field contains the value",
}
"""Operators and what they mean."""

_SYMBOL = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "==", "ne": "!="}


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Test:
    """One comparison of a field against a value."""

    field: str
    op: str
    value: Any
    path: Path_ = ()


@dataclass(frozen=True, slots=True)
class All:
    """Every part holds."""

    parts: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The part does not hold."""

    part: Cond


Cond = Test | All | AnyOf | Not
"""A parsed condition."""


# --------------------------------------------------------------------------- parse


class _Parser:
    def __init__(self, source: SourceMap | None, known_groups: Callable[[str], bool] | None,
                 group_hint: Callable[[str], str | None] | None) -> None:
        self.source = source
        self.known_groups = known_groups
        self.group_hint = group_hint
        self.problems: list[Diagnostic] = []
        self.groups: set[str] = set()

    def fail(self, code: Any, message: str, path: Path_, help_text: str | None = None, key: bool = False) -> None:
        span = self.source.span_for(path, key=key) if self.source else None
        self.problems.append(
            Diagnostic(code, message, span, help=help_text, path=".".join(str(p) for p in path))
        )

    def parse(self, data: Any, path: Path_) -> Cond | None:
        if not isinstance(data, Mapping) or not data:
            self.fail("invalid-condition", "a condition must be a non-empty mapping", path)
            return None
        parts: list[Cond] = []
        for key, value in data.items():
            sub = (*path, key)
            if key in ("all", "any"):
                if not isinstance(value, list) or not value:
                    self.fail("invalid-condition", f"`{key}` takes a non-empty list of conditions", sub)
                    continue
                kids = [self.parse(v, (*sub, i)) for i, v in enumerate(value)]
                good = tuple(k for k in kids if k is not None)
                if len(good) == len(kids):
                    parts.append(All(good) if key == "all" else AnyOf(good))
                    if key == "all":
                        self.check_conjunction(good, sub)
            elif key == "not":
                kid = self.parse(value, sub)
                if kid is not None:
                    parts.append(Not(kid))
            elif key in FIELDS:
                parts.extend(self.field_tests(key, value, sub))
            else:
                self.fail(
                    "invalid-condition",
                    f"unknown field `{key}` in condition",
                    sub,
                    did_you_mean(key, [*FIELDS, "all", "any", "not"]),
                    key=True,
                )
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def field_tests(self, name: str, spec: Any, path: Path_) -> list[Cond]:
        ftype = FIELDS[name]
        if not isinstance(spec, Mapping):
            spec = {"eq": spec}
            path_of: Callable[[str], Path_] = lambda _op: path  # noqa: E731
        else:
            path_of = lambda op: (*path, op)  # noqa: E731
        tests: list[Cond] = []
        for op, value in spec.items():
            if op not in OPERATORS:
                self.fail("invalid-condition", f"unknown operator `{op}` on `{name}`", path_of(op),
                          did_you_mean(str(op), OPERATORS), key=True)
                continue
            checked = self.check_value(name, ftype, op, value, path_of(op))
            if checked is not _BAD:
                tests.append(Test(name, op, checked, path_of(op)))
        self.check_range(name, tests, path)
        return tests

    def check_value(self, name: str, ftype: FieldType, op: str, value: Any, path: Path_) -> Any:
        if op == "exists":
            if not isinstance(value, bool):
                self.fail("invalid-condition", f"`exists` on `{name}` takes true or false", path)
                return _BAD
            return value
        if op in ("lt", "lte", "gt", "gte", "between") and ftype not in _ORDERED:
            self.fail("invalid-condition", f"`{op}` needs a number or date field; `{name}` is a {ftype.value}", path)
            return _BAD
        if op == "contains" and ftype not in _SETS:
            self.fail("invalid-condition", f"`contains` needs a set field; `{name}` is a {ftype.value}", path)
            return _BAD
        if op == "between":
            if not (isinstance(value, list) and len(value) == 2):
                self.fail("invalid-condition", f"`between` on `{name}` takes [low, high]", path)
                return _BAD
            lo = self.scalar(name, ftype, value[0], (*path, 0))
            hi = self.scalar(name, ftype, value[1], (*path, 1))
            if lo is _BAD or hi is _BAD:
                return _BAD
            if lo > hi:
                self.fail("contradictory-threshold", f"`between` on `{name}`: {lo} is above {hi}", path)
                return _BAD
            return (lo, hi)
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                self.fail("invalid-condition", f"`{op}` on `{name}` takes a non-empty list", path)
                return _BAD
            items = [self.scalar(name, ftype, v, (*path, i), allow_group=True) for i, v in enumerate(value)]
            if any(i is _BAD for i in items):
                return _BAD
            return tuple(items)
        return self.scalar(name, ftype, value, path, allow_group=op in ("eq", "ne", "contains"))

    def scalar(self, name: str, ftype: FieldType, value: Any, path: Path_, allow_group: bool = False) -> Any:
        if ftype is FieldType.NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                self.fail("invalid-condition", f"`{name}` compares with numbers, not {value!r}", path)
                return _BAD
            return value
        if ftype is FieldType.BOOL:
            if not isinstance(value, bool):
                self.fail("invalid-condition", f"`{name}` compares with true or false, not {value!r}", path)
                return _BAD
            return value
        if ftype is FieldType.DATE:
            if not isinstance(value, dt.date):
                self.fail("invalid-date", f"`{name}` compares with dates (YYYY-MM-DD), not {value!r}", path)
                return _BAD
            return value
        if not isinstance(value, str) or not value:
            self.fail("invalid-condition", f"`{name}` compares with text, not {value!r}", path)
            return _BAD
        if name in REGION_FIELDS:
            if not is_subdivision_code(value):
                self.fail("invalid-region", f"`{value}` is not an ISO 3166-2 subdivision code (e.g. UA-43)", path)
                return _BAD
            return value
        if ftype in _COUNTRYISH:
            if _is_code(value):
                if not _is_iso(value):
                    self.fail("invalid-country", f"`{value}` is not an ISO 3166-1 alpha-2 code", path,
                              _country_hint(value))
                    return _BAD
                return value
            if not allow_group:
                self.fail("invalid-condition", f"`{name}` takes a country code here, not `{value}`", path)
                return _BAD
            if self.known_groups is not None and not self.known_groups(value):
                hint = self.group_hint(value) if self.group_hint is not None else None
                self.fail("unknown-group", f"unknown group `{value}`", path, hint)
                return _BAD
            self.groups.add(value)
            return value
        return value

    def check_conjunction(self, parts: tuple[Cond, ...], path: Path_) -> None:
        """Bounds on one field spread over the parts of an `all` must leave some value."""
        by_field: dict[str, list[Cond]] = {}
        stack = list(parts)
        while stack:
            node = stack.pop()
            if isinstance(node, Test):
                by_field.setdefault(node.field, []).append(node)
            elif isinstance(node, All):
                stack.extend(node.parts)
        for name, tests in by_field.items():
            if len({t.path for t in tests if isinstance(t, Test)}) > 1:
                self.check_range(name, tests, path)

    def check_range(self, name: str, tests: list[Cond], path: Path_) -> None:
        if FIELDS[name] not in _ORDERED:
            return
        lo, lo_incl, hi, hi_incl = _bounds(t for t in tests if isinstance(t, Test))
        if lo is None or hi is None:
            return
        if lo > hi or (lo == hi and not (lo_incl and hi_incl)):
            self.fail("contradictory-threshold", f"conditions on `{name}` cannot all hold (no value is "
                      f"{'>=' if lo_incl else '>'} {lo} and {'<=' if hi_incl else '<'} {hi})", path)


_BAD: Any = object()


def _bounds(tests: Iterable[Test]) -> tuple[Any, bool, Any, bool]:
    lo: Any = None
    hi: Any = None
    lo_incl = hi_incl = True
    for t in tests:
        pairs: list[tuple[str, Any]] = []
        if t.op == "between":
            pairs = [("gte", t.value[0]), ("lte", t.value[1])]
        elif t.op == "eq":
            pairs = [("gte", t.value), ("lte", t.value)]
        elif t.op in ("gt", "gte", "lt", "lte"):
            pairs = [(t.op, t.value)]
        for op, v in pairs:
            if op in ("gt", "gte") and (lo is None or v > lo or (v == lo and op == "gt")):
                lo, lo_incl = v, op == "gte"
            if op in ("lt", "lte") and (hi is None or v < hi or (v == hi and op == "lt")):
                hi, hi_incl = v, op == "lte"
    return lo, lo_incl, hi, hi_incl


def _is_code(value: str) -> bool:
    return len(value) == 2 and value.isascii() and value.isalpha() and value.isupper()


@functools.cache
def iso_codes() -> frozenset[str]:
    """Every assigned ISO 3166-1 alpha-2 code."""
    import pycountry  # deferred: importing exportrules does no work

    return frozenset(c.alpha_2 for c in pycountry.countries)


def _is_iso(value: str) -> bool:
    return value in iso_codes()


def _country_hint(value: str) -> str | None:
    return did_you_mean(value.upper(), iso_codes()) if value.upper() != value else None


REGION_FIELDS = frozenset({"destination_region", "parties.region"})
"""The fields that hold ISO 3166-2 subdivision codes."""

@functools.cache
def subdivision_codes() -> frozenset[str]:
    """Every ISO 3166-2 subdivision code (pycountry's copy)."""
    import pycountry

    return frozenset(s.code for s in pycountry.subdivisions)


def is_subdivision_code(value: str) -> bool:
    """True for an ISO 3166-2 subdivision code such as ``UA-43`` (Crimea)."""
    return value in subdivision_codes()


def is_country_code(value: str) -> bool:
    """True for an assigned ISO 3166-1 alpha-2 code."""
    return _is_code(value) and _is_iso(value)


def parse_condition(
    data: Any,
    path: Path_,
    *,
    source: SourceMap | None = None,
    known_groups: Callable[[str], bool] | None = None,
    group_hint: Callable[[str], str | None] | None = None,
) -> tuple[Cond | None, list[Diagnostic], set[str]]:
    """Parse and type-check *data*; returns the condition, problems, and group ids named.

    Args:
        data: the condition as loaded from YAML.
        path: where it sits in its document (for spans).
        source: the document's source map.
        known_groups: whether a group id exists; without it, group names are not checked.
        group_hint: a "did you mean" for an unknown group.
    """
    parser = _Parser(source, known_groups, group_hint)
    cond = parser.parse(data, path)
    if parser.problems:
        return None, parser.problems, parser.groups
    return cond, [], parser.groups


def fields_of(cond: Cond) -> set[str]:
    """Every field a condition reads."""
    if isinstance(cond, Test):
        return {cond.field}
    if isinstance(cond, Not):
        return fields_of(cond.part)
    out: set[str] = set()
    for p in cond.parts:
        out |= fields_of(p)
    return out


# --------------------------------------------------------------------------- compile

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool | None]
"""A compiled condition: True, False, or None when a fact it needs is missing."""

Resolve = Callable[[str], frozenset[str]]


def country_members(values: Iterable[str], resolve: Resolve, widen: Callable[[frozenset[str]], frozenset[str]]) \
        -> frozenset[str]:
    """The countries a list of codes and group names stands for, with their equivalents."""
    out: set[str] = set()
    for v in values:
        out |= {v} if _is_code(v) else resolve(v)
    return widen(frozenset(out))


def compile_condition(
    cond: Cond | None,
    *,
    resolve: Resolve,
    widen: Callable[[frozenset[str]], frozenset[str]] = lambda s: s,
) -> Predicate:
    """Lower a parsed condition to a closure.

    Args:
        cond: the condition; None compiles to "always true".
        resolve: group id -> members on the evaluation date.
        widen: adds equivalent destinations (Hong Kong wherever China is).
    """
    if cond is None:
        return _always
    if isinstance(cond, All):
        preds = tuple(compile_condition(p, resolve=resolve, widen=widen) for p in cond.parts)
        return _all(preds)
    if isinstance(cond, AnyOf):
        preds = tuple(compile_condition(p, resolve=resolve, widen=widen) for p in cond.parts)
        return _any(preds)
    if isinstance(cond, Not):
        inner = compile_condition(cond.part, resolve=resolve, widen=widen)

        def negate(f: Facts) -> bool | None:
            r = inner(f)
            return None if r is None else not r

        return negate
    return _compile_test(cond, resolve, widen)


def _always(_f: Facts) -> bool | None:
    return True


def _all(preds: tuple[Predicate, ...]) -> Predicate:
    def run(f: Facts) -> bool | None:
        unknown = False
        for p in preds:
            r = p(f)
            if r is False:
                return False
            if r is None:
                unknown = True
        return None if unknown else True

    return run


def _any(preds: tuple[Predicate, ...]) -> Predicate:
    def run(f: Facts) -> bool | None:
        unknown = False
        for p in preds:
            r = p(f)
            if r is True:
                return True
            if r is None:
                unknown = True
        return None if unknown else False

    return run


def _compile_test(t: Test, resolve: Resolve, widen: Callable[[frozenset[str]], frozenset[str]]) -> Predicate:
    name, op, value = t.field, t.op, t.value
    ftype = FIELDS[name]
    if op == "exists":
        want = bool(value)

        def exists(f: Facts) -> bool | None:
            v = f.get(name)
            present = v is not None and not (isinstance(v, frozenset) and not v)
            return present is want

        return exists
    if ftype in _COUNTRYISH and op in ("eq", "ne", "in", "not_in", "contains"):
        values = value if isinstance(value, tuple) else (value,)
        members = country_members(values, resolve, widen)
        positive = op in ("eq", "in", "contains")
        if ftype is FieldType.COUNTRY_SET:
            def country_set(f: Facts) -> bool | None:
                v = f.get(name)
                if v is None:
                    return None
                hit = not members.isdisjoint(v)
                return hit if positive else not hit

            return country_set

        def country(f: Facts) -> bool | None:
            v = f.get(name)
            if v is None:
                return None
            return (v in members) is positive

        return country
    if ftype is FieldType.STR_SET:
        wanted = frozenset(value if isinstance(value, tuple) else (value,))
        positive = op in ("eq", "in", "contains")

        def str_set(f: Facts) -> bool | None:
            v = f.get(name)
            if v is None:
                return None
            hit = not wanted.isdisjoint(v)
            return hit if positive else not hit

        return str_set
    if name.endswith(".name") and op in ("eq", "ne", "in", "not_in"):
        names = frozenset(name_keys(v)[0] for v in (value if isinstance(value, tuple) else (value,)))
        positive = op in ("eq", "in")

        def party_name(f: Facts) -> bool | None:
            v = f.get(name)
            if v is None:
                return None
            return (name_keys(v)[0] in names) is positive

        return party_name
    if op in ("in", "not_in"):
        options = frozenset(value)
        positive = op == "in"

        def member(f: Facts) -> bool | None:
            v = f.get(name)
            if v is None:
                return None
            return (v in options) is positive

        return member
    if op == "between":
        lo, hi = value

        def between(f: Facts) -> bool | None:
            v = f.get(name)
            if v is None:
                return None
            return bool(lo <= v <= hi)

        return between
    compare = _COMPARE[op]

    def comparison(f: Facts) -> bool | None:
        v = f.get(name)
        if v is None:
            return None
        return bool(compare(v, value))

    return comparison


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


# --------------------------------------------------------------------------- explain


def show_value(v: Any) -> str:
    """A fact's value as a verdict shows it (`(not given)` for a missing one)."""
    if v is None:
        return "(not given)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, frozenset):
        return "[" + ", ".join(sorted(str(x) for x in v)) + "]" if v else "[]"
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _describe(t: Test, f: Facts, resolve: Resolve, widen: Callable[[frozenset[str]], frozenset[str]]) -> str:
    v = f.get(t.field)
    shown = show_value(v)
    if t.op == "exists":
        return f"{t.field} {'is given' if t.value else 'is not given'}"
    if t.op in _SYMBOL and not isinstance(t.value, tuple):
        if FIELDS[t.field] in _COUNTRYISH and not _is_code(str(t.value)):
            verb = "in" if t.op == "eq" else "not in"
            return f"{t.field} {shown} {verb} {t.value}"
        if t.op == "eq" and v == t.value:
            return f"{t.field} = {shown}"
        return f"{t.field} {shown} {_SYMBOL[t.op]} {show_value(t.value)}"
    if t.op == "between":
        return f"{t.field} {shown} between {show_value(t.value[0])} and {show_value(t.value[1])}"
    if t.op == "contains":
        return f"{t.field} {shown} contains {t.value}"
    values = t.value if isinstance(t.value, tuple) else (t.value,)
    if t.op == "in" and FIELDS[t.field] in _COUNTRYISH and v is not None:
        probe = v if isinstance(v, frozenset) else frozenset({v})
        named = [x for x in values if not probe.isdisjoint(country_members((x,), resolve, widen))]
        return f"{t.field} {shown} in {', '.join(named) or ', '.join(values)}"
    verb = "in" if t.op == "in" else "not in"
    return f"{t.field} {shown} {verb} {', '.join(str(x) for x in values)}"


def explain(
    cond: Cond | None,
    facts: Facts,
    *,
    pred_of: Callable[[Cond], Predicate],
    resolve: Resolve,
    widen: Callable[[frozenset[str]], frozenset[str]] = lambda s: s,
) -> list[str]:
    """The facts that made *cond* hold, as short readable lines.

    Only called for rules that decided a verdict. *pred_of* gives the compiled
    predicate of any node (the compiler memoises them).
    """
    if cond is None:
        return []
    out: list[str] = []
    _explain(cond, facts, pred_of, resolve, widen, out, negated=False)
    return out


def _explain(cond: Cond, f: Facts, pred_of: Callable[[Cond], Predicate], resolve: Resolve,
             widen: Callable[[frozenset[str]], frozenset[str]], out: list[str], negated: bool) -> None:
    if isinstance(cond, Test):
        text = _describe(cond, f, resolve, widen)
        out.append(f"not ({text})" if negated else text)
        return
    if isinstance(cond, Not):
        _explain(cond.part, f, pred_of, resolve, widen, out, not negated)
        return
    # Under negation, `all` fails through one false part and `any` through all of them.
    want_every = isinstance(cond, All) != negated
    for part in cond.parts:
        if want_every:
            _explain(part, f, pred_of, resolve, widen, out, negated)
        elif pred_of(part)(f) is (not negated):
            _explain(part, f, pred_of, resolve, widen, out, negated)
            return


def missing_fields(cond: Cond | None, facts: Facts) -> list[str]:
    """Fields *cond* reads that the transaction does not give, sorted."""
    if cond is None:
        return []
    return sorted(
        name for name in fields_of(cond)
        if facts.get(name) is None
    )


def __dir__() -> list[str]:
    return list(__all__)
