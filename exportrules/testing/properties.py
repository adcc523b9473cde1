"""Checking the ``properties:`` of rulesets with Hypothesis.

A property names a scope (``for_all``: a condition over transactions), an
expectation (``expect``: allowed outcomes, required classes or reasons) and,
optionally, a relation:

* ``monotone: item.tpp`` - raising the field never relaxes the outcome;
* ``no_weaker_than: <ruleset>@<version>`` - inside the scope, the verdict is at
  least as strict as under that earlier version of the ruleset;
* ``members_no_stricter: <group>`` - moving the destination into the group never
  makes the outcome stricter.

A property holds over the dates its ruleset carries it (from the first version
that has it until a later version drops it). Generation is directed by the scope
(its destinations, classes, names and dates are drawn directly) and then filtered
by it, so few examples are thrown away. Runs are derandomised unless a seed is
given, so CI is stable. A failure carries the shrunk counterexample as
transaction JSON that ``exportrules judge`` reproduces.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, assume, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from ..catalog import RulesetVersion
from ..conditions import All, Cond, Test, compile_condition, parse_condition
from ..engine import Engine
from ..model import Property
from ..verdict import Outcome, Verdict
from . import strategies as ers

__all__ = ["PropertyResult", "check_properties", "iter_properties", "rule_sources"]


@dataclass(frozen=True, slots=True)
class PropertyResult:
    """The outcome of checking one property."""

    property: str
    ruleset: str
    source: str
    passed: bool
    examples: int
    message: str = ""
    counterexample: Mapping[str, Any] | None = None
    verdict: Verdict | None = None
    related: Mapping[str, Any] | None = field(default=None)
    """The second transaction or ruleset version of a relation, when that is what failed."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        out: dict[str, Any] = {"property": self.property, "ruleset": self.ruleset, "source": self.source,
                               "passed": self.passed, "examples": self.examples}
        if not self.passed:
            out["message"] = self.message
            out["counterexample"] = self.counterexample
            out["verdict"] = self.verdict.to_dict() if self.verdict else None
            if self.related is not None:
                out["related"] = self.related
        return out


@dataclass(frozen=True, slots=True)
class _Spec:
    ruleset: str
    prop: Property
    start: dt.date
    end: dt.date
    source: str
    scope: Any = None
    """The ruleset's own ``scope:`` (the transactions it judges), which generation draws from too."""


def iter_properties(engine: Engine) -> Iterator[tuple[str, Property, dt.date, dt.date, str]]:
    """Every property with its ruleset, the window of dates it holds for, and where it is written."""
    for spec in _specs(engine):
        yield spec.ruleset, spec.prop, spec.start, spec.end, spec.source


def _specs(engine: Engine) -> list[_Spec]:
    out: list[_Spec] = []
    for rid, versions in engine.catalog.versions.items():
        seen: dict[str, list[RulesetVersion]] = {}
        for v in versions:
            for p in v.model.properties:
                seen.setdefault(p.id, []).append(v)
        for pid, holding in seen.items():
            last = holding[-1]
            later = [v for v in versions if v.version > last.version]
            end = later[0].effective - dt.timedelta(days=1) if later else ers.LATEST
            prop = next(p for p in last.model.properties if p.id == pid)
            origin = last.origin("properties", pid)
            out.append(_Spec(rid, prop, max(holding[0].effective, ers.EARLIEST), end,
                             origin.where() if origin else last.file, last.model.scope))
    return sorted(out, key=lambda s: (s.ruleset, s.prop.id))


def _rank(v: Verdict) -> int:
    return v.outcome.rank


def _tests(cond: Cond | None) -> list[Test]:
    """The tests that must all hold: the top-level conjunction of a condition."""
    if isinstance(cond, Test):
        return [cond]
    if isinstance(cond, All):
        return [t for p in cond.parts for t in _tests(p)]
    return []


def _directed(engine: Engine, cond: Cond | None, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Transaction-field strategies drawn from what the scope requires."""
    k = ers._knowledge(engine)
    lo, hi = start, end
    out: dict[str, Any] = {}
    for t in _tests(cond):
        values = t.value if isinstance(t.value, tuple) else (t.value,)
        if t.field == "date":
            if t.op in ("gte", "gt"):
                lo = max(lo, t.value + dt.timedelta(days=1 if t.op == "gt" else 0))
            elif t.op in ("lte", "lt"):
                hi = min(hi, t.value - dt.timedelta(days=1 if t.op == "lt" else 0))
            elif t.op == "between":
                lo, hi = max(lo, t.value[0]), min(hi, t.value[1])
        elif t.field in ("destination", "ship_from") and t.op in ("eq", "in"):
            codes = sorted({c for v in values for c in ([v] if len(v) == 2 else k.groups.get(v, []))})
            if codes:
                out[t.field] = st.sampled_from(codes)
        elif t.field == "licences" and t.op == "exists" and t.value is False:
            out["licences"] = st.just([])
        elif t.field == "evidence" and t.op in ("not_in",):
            allowed = [e for e in k.evidence if e not in values]
            out["evidence"] = st.lists(st.sampled_from(allowed), unique=True) if allowed else st.just([])
        elif t.field == "item.id" and t.op in ("eq", "in"):
            out["item"] = st.sampled_from(sorted(values))
        elif t.field == "parties.headquarters" and t.op in ("eq", "in"):
            codes = sorted({c for v in values for c in ([v] if len(v) == 2 else k.groups.get(v, []))})
            if codes:
                out["buyer"] = st.fixed_dictionaries({"name": st.just("Generated Buyer Ltd"),
                                                      "headquarters": st.sampled_from(codes)},
                                                     optional={"country": ers.countries()})
        elif t.field.endswith(".name") and t.op in ("eq", "in"):
            role = t.field.split(".")[0]
            if role in ("buyer", "end_user", "consignee", "seller"):
                out[role] = st.fixed_dictionaries({"name": st.sampled_from(sorted(values))},
                                                  optional={"country": ers.countries()})
    if lo > hi:
        raise Unsatisfiable(f"the scope's dates ({lo} to {hi}) fall outside the window the property holds for")
    out["date"] = ers.dates(between=(lo, hi), engine=engine).map(dt.date.isoformat)
    return out


class _Scope:
    """The `for_all` condition, compiled per snapshot (group members depend on the date)."""

    def __init__(self, engine: Engine, data: Any, ruleset: str | None = None) -> None:
        self.engine = engine
        self.ruleset = ruleset
        self.cond: Cond | None = None
        if data is not None:
            self.cond, problems, _ = parse_condition(data, ())
            if problems:
                raise ValueError("; ".join(str(p) for p in problems))
        self._compiled: dict[int, Callable[[Mapping[str, Any]], bool | None]] = {}

    def holds(self, tx: Mapping[str, Any]) -> bool:
        if self.cond is None:
            return True
        day = dt.date.fromisoformat(tx["date"])
        snap = self.engine.snapshot(day)
        pred = self._compiled.get(id(snap))
        if pred is None:
            # the scope reads countries as its own ruleset's rules do (Hong Kong is China to the EAR, not to China)
            widen = snap.widen_by.get(self.ruleset, snap.widen) if self.ruleset else snap.widen
            pred = compile_condition(self.cond, resolve=snap.resolve, widen=widen)
            self._compiled[id(snap)] = pred
        return pred(self.engine.facts(tx)) is True


def _expectation(prop: Property, v: Verdict) -> str | None:
    exp = prop.expect
    if exp is None:
        return None
    outcome = exp.outcome
    if isinstance(outcome, str) and v.outcome.value != outcome:
        return f"outcome is {v.outcome.value}, expected {outcome}"
    if outcome is not None and not isinstance(outcome, str):
        if outcome.in_ is not None and v.outcome.value not in outcome.in_:
            return f"outcome is {v.outcome.value}, expected one of {outcome.in_}"
        if outcome.not_ is not None and v.outcome.value in outcome.not_:
            return f"outcome is {v.outcome.value}, which the property rules out"
    missing = [c for c in exp.classifications if c not in v.classifications]
    if missing:
        return f"classifications {list(v.classifications)} lack {missing}"
    cited = set(v.reason_ids())
    clearing = sorted({r.rule for r in v.reasons if r.kind == "authorization" and r.effect is Outcome.PERMITTED
                       and r.rule in exp.not_cleared_by})
    if clearing:
        return f"{', '.join(clearing)} cleared a control, which it must never do here"
    absent = [r for r in exp.reasons if r not in cited]
    if absent:
        return f"reasons do not cite {absent}"
    return None


def _as_params(engine: Engine, tx: dict[str, Any]) -> dict[str, Any]:
    """The transaction with a catalogue item replaced by its parameters (so they can be varied)."""
    if not isinstance(tx["item"], str):
        return tx
    item = engine.snapshot(tx["date"]).items.get(tx["item"])
    if item is None:
        return tx
    params = {k: v for k, v in item.items() if v is not None}
    return {**tx, "item": params}


def check_property(engine: Engine, spec: _Spec, *, max_examples: int = 100, seed_value: int | None = None,
                   fired: set[tuple[str, str]] | None = None) -> PropertyResult:
    """Search for a counterexample to one property."""
    prop = spec.prop
    scope = _Scope(engine, prop.for_all, spec.ruleset)
    try:
        # draw from the property's scope and, for the fields it leaves open, from its ruleset's own scope
        overrides = _directed(engine, scope.cond, spec.start, spec.end)
        if spec.scope is not None:
            ruleset_scope, _, _ = parse_condition(spec.scope, ())
            for k, v in _directed(engine, ruleset_scope, spec.start, spec.end).items():
                overrides.setdefault(k, v)
    except Unsatisfiable as exc:
        return PropertyResult(prop.id, spec.ruleset, spec.source, False, 0, f"vacuous: {exc}")
    txs = ers.transactions(engine=engine, **overrides)
    pinned = Engine(engine.catalog.pinned(prop.no_weaker_than)) if prop.no_weaker_than else None
    failure: dict[str, Any] = {}
    count = {"n": 0}

    @settings(max_examples=max_examples, derandomize=seed_value is None, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink), print_blob=False)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        tx = data.draw(txs, label="transaction")
        assume(scope.holds(tx))
        count["n"] += 1
        v = engine.judge(tx)
        if fired is not None:
            fired.update((r.ruleset, r.rule) for r in v.reasons if r.ruleset)
        problem = _expectation(prop, v)
        related: dict[str, Any] | None = None
        if problem is None and prop.monotone:
            fieldname = prop.monotone
            base = _as_params(engine, tx)
            key = fieldname.split(".", 1)[1] if fieldname.startswith("item.") else fieldname
            holder = base["item"] if fieldname.startswith("item.") else base
            current = holder.get(key)
            if isinstance(current, (int, float)) and isinstance(holder, dict):
                bigger = data.draw(st.sampled_from([t for t in ers._knowledge(engine).boosted(fieldname)
                                                    if t > current] or [current + 1])
                                   | st.floats(current, current * 4 + 10, allow_nan=False), label=f"raised {fieldname}")
                raised = json.loads(json.dumps(base))
                (raised["item"] if fieldname.startswith("item.") else raised)[key] = bigger
                v0, v2 = engine.judge(base), engine.judge(raised)
                if _rank(v2) < _rank(v0):
                    problem = (f"raising {fieldname} from {current} to {bigger} relaxed the outcome from "
                               f"{v0.outcome.value} to {v2.outcome.value}")
                    tx, v, related = base, v0, {"transaction": raised, "verdict": v2.to_dict()}
        if problem is None and pinned is not None:
            vp = pinned.judge(tx)
            if _rank(v) < _rank(vp):
                problem = (f"the verdict ({v.outcome.value}) is weaker than under {prop.no_weaker_than} "
                           f"({vp.outcome.value})")
                related = {"ruleset_version": prop.no_weaker_than, "verdict": vp.to_dict()}
        if problem is None and prop.members_no_stricter:
            members = sorted(engine.members(prop.members_no_stricter, on=tx["date"]))
            if members:
                moved = {**tx, "destination": data.draw(st.sampled_from(members), label="member")}
                vm = engine.judge(moved)
                if _rank(vm) > _rank(v):
                    problem = (f"moving the destination into {prop.members_no_stricter} ({moved['destination']}) "
                               f"made the outcome stricter: {v.outcome.value} -> {vm.outcome.value}")
                    related = {"transaction": moved, "verdict": vm.to_dict()}
        if problem is not None:
            failure.update(tx=tx, verdict=v, message=problem, related=related)
            raise AssertionError(problem)

    if seed_value is not None:
        run = seed(seed_value)(run)
    try:
        run()
    except AssertionError:
        return PropertyResult(prop.id, spec.ruleset, spec.source, False, count["n"], failure["message"],
                              failure["tx"], failure["verdict"], failure["related"])
    except Unsatisfiable:
        return PropertyResult(prop.id, spec.ruleset, spec.source, False, count["n"],
                              "vacuous: no generated transaction was in scope")
    if count["n"] == 0:
        return PropertyResult(prop.id, spec.ruleset, spec.source, False, 0,
                              "vacuous: no generated transaction was in scope")
    return PropertyResult(prop.id, spec.ruleset, spec.source, True, count["n"])


def check_properties(engine: Engine, *, max_examples: int = 100, seed: int | None = None,
                     only: Callable[[str, str], bool] | None = None,
                     on_progress: Callable[[int, int], None] | None = None,
                     fired: set[tuple[str, str]] | None = None) -> list[PropertyResult]:
    """Check every property of *engine*'s rulesets; one result each, failures with a counterexample.

    Args:
        engine: the rulesets to check.
        max_examples: examples per property (Hypothesis's budget).
        seed: a seed for a randomised run; without one the run is derandomised.
        only: ``(ruleset id, property id) -> bool`` to select properties.
        on_progress: called with (properties done, properties in all) after each one.
        fired: collects (ruleset id, rule id) of every rule a verdict cited (for ``--coverage``).
    """
    specs = [spec for spec in _specs(engine) if only is None or only(spec.ruleset, spec.prop.id)]
    out: list[PropertyResult] = []
    for spec in specs:
        out.append(check_property(engine, spec, max_examples=max_examples, seed_value=seed, fired=fired))
        if on_progress is not None:
            on_progress(len(out), len(specs))
    return out


def rule_sources(engine: Engine) -> dict[tuple[str, str], str]:
    """(ruleset id, rule id) -> file:line of every classification, control, authorization and flag."""
    out: dict[tuple[str, str], str] = {}
    for v in engine.catalog:
        for section in ("classifications", "controls", "authorizations", "flags"):
            for e in getattr(v.model, section):
                origin = v.origin(section, e.id)
                out.setdefault((v.id, e.id), origin.where() if origin else v.file)
    return out


def __dir__() -> list[str]:
    return list(__all__)
