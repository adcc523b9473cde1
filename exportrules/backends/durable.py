"""The durable_rules (Rete) backend: the same snapshots, matched by a Rete network.

Each compiled snapshot becomes two durable_rules rulesets, one for the
classifications and one for everything that reads the classes (controls,
review policies, authorizations, red flags, ruleset scopes). A transaction's
facts are asserted once per phase; the rules that fire say which conditions
hold. Verdict assembly (clearing, explanations, screening) is the interpreter's
(:mod:`exportrules.judging`), so the two backends differ only in how conditions
are matched, and a differential test over generated transactions compares them.
This module depends on the judging interface, never on the engine facade.

Conditions are three-valued (true, false, unknown for a missing fact). Rete
rules only fire, so each condition is compiled twice: a rule for "definitely
true" and one for "definitely false"; a condition for which neither fires is
unknown. All of durable_rules' process-global state is kept in here:

* rulesets are registered on a private ``Host`` whose timer threads are never
  started (they can steal an action that ``assert_fact`` has just queued), with
  names made unique by a counter, so nothing collides in the global registry;
* a catch-all rule makes "nothing matched" a normal answer instead of
  ``MessageNotHandledException``;
* every fact is retracted after its judgment, so one session serves every call
  and the live-session cap is never reached; a lock serialises calls, so a
  matcher may be shared by threads (they take turns);
* :meth:`DurableMatcher.close` (or dropping the matcher) deletes its rulesets
  from the C engine, which otherwise keeps them for the life of the process.

Cost: every judgment asserts and retracts two facts through the Rete network
and then assembles the verdict in Python; `python benchmarks/bench_judge.py`
prints its time per call beside the native engine's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ..compiler import RulesetSnapshot, Snapshot
from ..conditions import FIELDS, All, AnyOf, Cond, FieldType, Not, Test, country_members
from ..diagnostics import Diagnostic
from ..errors import BackendUnavailable
from ..judging import Judgment, Licensing, QuotaHook, judge_full
from ..screening import name_keys

__all__ = ["DurableMatcher"]

try:  # a dependency, but one that fails to import on Python 3.13 (an unreleased upstream fix)
    import durable.engine as _dengine
    import durable.lang as _dlang
    import durable_rules_engine as _native
except ImportError:  # pragma: no cover - exercised only where the extra is missing
    _dengine = None
    _dlang = None
    _native = None

_NAMES = itertools.count()
_SETS = {FieldType.STR_SET, FieldType.COUNTRY_SET}
_LOCK = threading.RLock()


def _attr(fieldname: str) -> str:
    return fieldname.replace(".", "__")


def encode(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts as a durable_rules fact: flat names, dates as ordinals, presence markers, name keys."""
    out: dict[str, Any] = {"kind": "tx"}
    for fieldname, ftype in FIELDS.items():
        v = facts.get(fieldname)
        if v is None:
            continue
        a = _attr(fieldname)
        if ftype in _SETS:
            out[a] = sorted(v)
            out[f"{a}__n"] = len(v)
            if v:
                out[f"{a}__p"] = 1
            continue
        out[f"{a}__p"] = 1
        if isinstance(v, dt.date):
            out[a] = v.toordinal()
        else:
            out[a] = v
        if fieldname.endswith(".name"):
            out[f"{a}__key"] = name_keys(v)[0]
    return out


class _Const:
    def __init__(self, value: bool) -> None:
        self.value = value


_TRUE, _FALSE = _Const(True), _Const(False)
Expr = Any  # a durable_rules expression, or one of the constants above


def _fold(parts: list[Expr], absorbing: _Const, identity: _Const, join: Callable[[Expr, Expr], Expr]) -> Expr:
    """Join expressions, folding the constants: a false part makes AND false, a true part makes OR true."""
    if any(p is absorbing for p in parts):
        return absorbing
    parts = [p for p in parts if p is not identity]
    if not parts:
        return identity
    out = parts[0]
    for p in parts[1:]:
        out = join(out, p)
    return out


def _and(parts: list[Expr]) -> Expr:
    return _fold(parts, _FALSE, _TRUE, lambda a, b: a & b)


def _or(parts: list[Expr]) -> Expr:
    return _fold(parts, _TRUE, _FALSE, lambda a, b: a | b)


class _Translator:
    """Cond -> (definitely-true expression, definitely-false expression)."""

    def __init__(self, resolve: Callable[[str], frozenset[str]],
                 widen: Callable[[frozenset[str]], frozenset[str]]) -> None:
        self.resolve, self.widen = resolve, widen
        self.m = _dlang.m
        self.item = _dlang.item

    def both(self, cond: Cond) -> tuple[Expr, Expr]:
        if isinstance(cond, Not):
            t, f = self.both(cond.part)
            return f, t
        if isinstance(cond, All):
            pairs = [self.both(p) for p in cond.parts]
            return _and([t for t, _ in pairs]), _or([f for _, f in pairs])
        if isinstance(cond, AnyOf):
            pairs = [self.both(p) for p in cond.parts]
            return _or([t for t, _ in pairs]), _and([f for _, f in pairs])
        return self.test(cond)

    def test(self, t: Test) -> tuple[Expr, Expr]:
        m, ftype, a = self.m, FIELDS[t.field], _attr(t.field)
        field = getattr(m, a)
        present = +getattr(m, f"{a}__p")
        absent = -getattr(m, f"{a}__p")
        if t.op == "exists":
            return (present, absent) if t.value else (absent, present)
        values = t.value if isinstance(t.value, tuple) else (t.value,)
        positive = t.op in ("eq", "in", "contains")
        if ftype in (FieldType.COUNTRY, FieldType.COUNTRY_SET) and t.op in ("eq", "ne", "in", "not_in", "contains"):
            members = sorted(country_members(values, self.resolve, self.widen))
            if ftype is FieldType.COUNTRY:
                hit = _or([field == c for c in members]) if members else _FALSE
                miss = _and([present] + [field != c for c in members])
            else:
                hit = _or([field.anyItem(self.item == c) for c in members]) if members else _FALSE
                miss = _and([+field, _or([getattr(m, f"{a}__n") == 0,
                                           field.allItems(_and([self.item != c for c in members]))
                                           if members else _TRUE])])
            return (hit, miss) if positive else (miss, hit)
        if ftype is FieldType.STR_SET:
            hit = _or([field.anyItem(self.item == v) for v in values])
            miss = _and([+field, _or([getattr(m, f"{a}__n") == 0,
                                       field.allItems(_and([self.item != v for v in values]))])])
            return (hit, miss) if positive else (miss, hit)
        if t.field.endswith(".name") and t.op in ("eq", "ne", "in", "not_in"):
            key = getattr(m, f"{a}__key")
            keys = sorted({name_keys(v)[0] for v in values})
            hit = _or([key == k for k in keys])
            miss = _and([present] + [key != k for k in keys])
            return (hit, miss) if t.op in ("eq", "in") else (miss, hit)
        conv = _ordinal if ftype is FieldType.DATE else _same
        if t.op in ("in", "not_in"):
            hit = _or([field == conv(v) for v in values])
            miss = _and([present] + [field != conv(v) for v in values])
            return (hit, miss) if t.op == "in" else (miss, hit)
        if t.op == "between":
            lo, hi = conv(t.value[0]), conv(t.value[1])
            return _and([present, field >= lo, field <= hi]), _and([present, _or([field < lo, field > hi])])
        v = conv(t.value)
        compare = {
            "eq": (lambda: field == v, lambda: field != v), "ne": (lambda: field != v, lambda: field == v),
            "lt": (lambda: field < v, lambda: field >= v), "lte": (lambda: field <= v, lambda: field > v),
            "gt": (lambda: field > v, lambda: field <= v), "gte": (lambda: field >= v, lambda: field < v),
        }[t.op]
        return _and([present, compare[0]()]), _and([present, compare[1]()])


def _ordinal(v: Any) -> Any:
    return v.toordinal()


def _same(v: Any) -> Any:
    return v


class _QuietHost(_dengine.Host if _dengine else object):  # type: ignore[misc]
    """A durable_rules host that never starts its timer threads."""

    def _run(self) -> None:
        pass


class _Phase:
    """One durable ruleset: conditions keyed by name, and the truth values the last fact produced."""

    def __init__(self, host: Any, conds: Mapping[Any, tuple[_Translator, Cond | None]]) -> None:
        self.host = host
        self.results: dict[Any, bool] = {}
        self.name = f"exportrules:{next(_NAMES)}"
        m = _dlang.m
        with _dlang.ruleset(self.name):
            for key, (translator, cond) in conds.items():
                t, f = translator.both(cond) if cond is not None else (_TRUE, _FALSE)
                for value, expr in ((True, t), (False, f)):
                    if expr is _FALSE:
                        continue
                    whole = (m.kind == "tx") if expr is _TRUE else ((m.kind == "tx") & expr)
                    _dlang.when_all(whole)(self._recorder(key, value))
            _dlang.when_all(m.kind == "tx")(lambda c: None)
        definition = _dlang._rulesets.pop(self.name)
        full_name, body = definition.define()
        host.register_rulesets({full_name: body})

    def _recorder(self, key: Any, value: bool) -> Callable[[Any], None]:
        def record(_c: Any) -> None:
            self.results[key] = value

        return record

    def close(self) -> None:
        """Remove the ruleset from its host and delete it from the C engine."""
        ruleset = self.host._ruleset_directory.pop(self.name, None)
        if ruleset is not None:
            self.host._ruleset_list.remove(ruleset)
            _native.delete_ruleset(ruleset._handle)

    def run(self, fact: dict[str, Any]) -> dict[Any, bool]:
        self.results = {}
        self.host.assert_fact(self.name, fact)
        self.host.retract_fact(self.name, fact)
        return self.results


class DurableMatcher:
    """Matches an engine's conditions with durable_rules: ``exportrules.load(backend="durable")``.

    It gives the same verdicts as the native engine, more slowly (no generated plan: every
    judgment goes through the Rete network).
    """

    def __init__(self) -> None:
        if _dengine is None:
            raise BackendUnavailable([Diagnostic(
                "invalid-value", "the durable backend needs an importable durable_rules (Python 3.11 or 3.12): "
                "pip install 'exportrules[durable]'")])
        self._host = _QuietHost()
        self._wired: dict[tuple[dt.date, dt.date | None], tuple[Snapshot, _Phase, _Phase]] = {}
        self._ids = itertools.count()
        self._state: dict[str, Any] = {}

    def judge(self, snap: Snapshot, tx: Any, day: dt.date, quota: QuotaHook | None,
              licensing: Licensing | None = None) -> Judgment:
        """Judge *tx* with conditions answered by the Rete network (one call at a time)."""
        with _LOCK:
            wired, first, second = self._wire(snap)
            self._state = {"facts": None, "phase1": None, "phase2": None, "first": first, "second": second}
            return judge_full(wired, tx, day, quota=quota, licensing=licensing)

    def close(self) -> None:
        """Delete this matcher's rulesets from the durable_rules engine."""
        with _LOCK:
            for _wired, first, second in self._wired.values():
                first.close()
                second.close()
            self._wired.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _lookup(self, phase: str, key: Any, facts: Mapping[str, Any]) -> bool | None:
        state = self._state
        if state["facts"] is not facts:
            state.update(facts=facts, phase1=None, phase2=None)
        if state[phase] is None:
            fact = encode(facts)
            fact.update(id=f"f{next(self._ids)}", sid="exportrules")
            state[phase] = (state["first"] if phase == "phase1" else state["second"]).run(fact)
        found: bool | None = state[phase].get(key)
        return found

    def _pred(self, phase: str, key: Any) -> Callable[[Mapping[str, Any]], bool | None]:
        def pred(f: Mapping[str, Any]) -> bool | None:
            return self._lookup(phase, key, f)

        return pred

    def _wire(self, snap: Snapshot) -> tuple[Snapshot, _Phase, _Phase]:
        found = self._wired.get((snap.start, snap.end))
        if found is not None:
            return found
        translators = {rid: _Translator(snap.resolve, widen) for rid, widen in snap.widen_by.items()}
        first: dict[Any, tuple[_Translator, Cond | None]] = {}
        classifications = []
        for i, c in enumerate(snap.classifications):
            tr = translators[c.meta.ruleset]
            first[("cls", i)] = (tr, c.cond)
            if c.unless is not None:
                first[("unless", i)] = (tr, c.unless)
            classifications.append(replace(
                c, pred=self._pred("phase1", ("cls", i)),
                unless_pred=self._pred("phase1", ("unless", i)) if c.unless is not None else None))
        second: dict[Any, tuple[_Translator, Cond | None]] = {}
        rulesets: list[RulesetSnapshot] = []
        for r, rs in enumerate(snap.rulesets):
            tr = translators[rs.version.id]
            second[("scope", r)] = (tr, rs.scope_cond)
            parts: dict[str, list[Any]] = {}
            for section in ("controls", "reviews", "authorizations", "flags"):
                parts[section] = []
                for i, rule in enumerate(getattr(rs, section)):
                    key = (section, r, i)
                    second[key] = (tr, rule.cond)
                    parts[section].append(replace(rule, pred=self._pred("phase2", key)))
            rulesets.append(replace(rs, scope=self._pred("phase2", ("scope", r)), controls=tuple(parts["controls"]),
                                    reviews=tuple(parts["reviews"]), authorizations=tuple(parts["authorizations"]),
                                    flags=tuple(parts["flags"])))
        external = {
            target: tuple((rulesets[snap.rulesets.index(owner)],
                           rulesets[snap.rulesets.index(owner)].authorizations[owner.authorizations.index(a)])
                          for owner, a in routes)
            for target, routes in snap.external.items()
        }
        wired = replace(snap, classifications=tuple(classifications), rulesets=tuple(rulesets), external=external)
        result = (wired, _Phase(self._host, first), _Phase(self._host, second))
        self._wired[(snap.start, snap.end)] = result
        return result


def __dir__() -> list[str]:
    return list(__all__)
