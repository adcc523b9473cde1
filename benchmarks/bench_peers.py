"""One shared policy, five engines, the same first-seen transactions, in one process.

    python benchmarks/bench_peers.py [--n 10000]      (pip install '.[bench]' first)

The policy (classify by TPP and performance density with the datacenter carve-out,
a licence for 45 destinations or 24 headquarters countries, cleared by a licence or
by a NAC-style notification for the eligible class, and 20 denied buyers) is written
once per engine: as an exportrules ruleset directory (``shared_policy/bench``), a
GoRules zen-engine expression graph, a CEL expression (cel-python), durable_rules
rules, and Cedar policies (cedarpy), plus a hand-written Python function (the floor).
zen-engine is measured two ways: the policy as one compiled ZEN expression (its fastest
path, the one the ratios use) and as a JDM decision graph (how it is usually deployed,
with a fixed cost per call). Every engine judges the same *n* transactions, each seen once (distinct TPP, density,
buyer), after a warm-up on other transactions; the script checks that all engines
give the same answers before it prints times, as medians and as ratios to zen-engine.
Nothing here is a test: no test depends on these figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = json.loads((HERE / "shared_policy" / "data.json").read_text())
LIC, HQ, DENIED = DATA["licence_destinations"], DATA["headquarters"], DATA["denied"]
LIC_SET, HQ_SET, DENIED_SET = frozenset(LIC), frozenset(HQ), frozenset(DENIED)
DESTINATIONS = sorted(set(LIC) | {"DE", "FR", "JP", "US", "GB", "IN", "BR", "SG", "MY", "AE", "TW", "KR", "MX"})

Flat = dict[str, Any]


def transactions(n: int, seed: int) -> list[Flat]:
    """*n* distinct orders as flat records (every engine gets the same values)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        dest = rnd.choice(DESTINATIONS)
        out.append({
            "id": f"po-{seed}-{i}", "tpp": rnd.randint(800, 22000), "pd": round(rnd.uniform(0.5, 25.0), 2),
            "dc": rnd.random() < 0.7, "dest": dest, "hq": rnd.choice([dest, dest, dest, "CN", "US", "DE"]),
            "buyer": rnd.choice(DENIED) if rnd.random() < 0.05 else f"Customer {seed}-{i} Trading",
            "nac": rnd.random() < 0.4, "licence": rnd.random() < 0.2,
        })
    return out


def floor(t: Flat) -> str:
    """The policy, hand-written: the fastest this can be in Python."""
    if t["buyer"] in DENIED_SET:
        return "blocked"
    tpp, pd, dc = t["tpp"], t["pd"], t["dc"]
    carve = not dc and tpp < 4800
    a = (tpp >= 4800 or (tpp >= 1600 and pd >= 5.92)) and not carve
    b = ((2400 <= tpp < 4800 and 1.6 <= pd < 5.92) or (tpp >= 1600 and 3.2 <= pd < 5.92)) and not (carve or tpp >= 4800)
    if not (a or b) or not (t["dest"] in LIC_SET or t["hq"] in HQ_SET) or t["licence"]:
        return "permitted"
    if (a and not dc) or (b and dc):
        return "permitted" if t["nac"] else "flagged"
    return "blocked"


# ------------------------------------------------------------------ exportrules


def as_transaction(t: Flat) -> dict[str, Any]:
    return {"id": t["id"], "date": "2024-06-01",
            "item": {"tpp": t["tpp"], "performance_density": t["pd"], "datacenter": t["dc"], "kind": "ic"},
            "destination": t["dest"], "buyer": {"name": t["buyer"], "country": t["dest"], "headquarters": t["hq"]},
            "evidence": ["nac_notification"] if t["nac"] else [], "licences": ["D-100"] if t["licence"] else []}


def exportrules_engine() -> Any:
    import exportrules

    return exportrules.load(HERE / "shared_policy")


# ------------------------------------------------------------------ zen-engine

def _zen_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


CARVE = "(input.dc == false and input.tpp < 4800)"
CLASS_A = f"((input.tpp >= 4800 or (input.tpp >= 1600 and input.pd >= 5.92)) and not {CARVE})"
CLASS_B = ("(((input.tpp >= 2400 and input.tpp < 4800 and input.pd >= 1.6 and input.pd < 5.92) or "
           "(input.tpp >= 1600 and input.pd >= 3.2 and input.pd < 5.92)) and not "
           f"({CARVE} or input.tpp >= 4800))")


def _zen_expression() -> str:
    applies = (f"(({CLASS_A} or {CLASS_B}) and (input.dest in {_zen_list(LIC)} or input.hq in {_zen_list(HQ)}))")
    eligible = f"(({CLASS_A} and input.dc == false) or ({CLASS_B} and input.dc == true))"
    expr = (f"input.buyer in {_zen_list(DENIED)} ? 'blocked' : (not {applies} or input.licence ? 'permitted' : "
            f"({eligible} ? (input.nac ? 'permitted' : 'flagged') : 'blocked'))")
    return expr


def zen_expression_decide() -> Callable[[Flat], str]:
    """zen-engine's fastest path: the policy as one compiled ZEN expression (what its tables are made of)."""
    import zen

    compiled = zen.compile_expression(_zen_expression())

    def decide(t: Flat) -> str:
        answer: str = compiled.evaluate({"input": t})
        return answer

    return decide


def zen_decide() -> Callable[[Flat], str]:
    """zen-engine as its users deploy it: a JDM decision graph."""
    import zen

    expr = _zen_expression()
    graph = {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {"id": "ex", "type": "expressionNode", "name": "policy", "position": {"x": 200, "y": 0},
             "content": {"expressions": [{"id": "1", "key": "outcome", "value": expr}]}},
            {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 400, "y": 0}},
        ],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "ex", "type": "edge"},
                  {"id": "e2", "sourceId": "ex", "targetId": "out", "type": "edge"}],
    }
    decision = zen.ZenEngine().create_decision(json.dumps(graph))

    def decide(t: Flat) -> str:
        answer: str = decision.evaluate({"input": t})["result"]["outcome"]
        return answer

    return decide


# ------------------------------------------------------------------ CEL (cel-python)

def cel_decide() -> Callable[[Flat], str]:
    import celpy

    def lst(values: list[str]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    carve = "(!dc && tpp < 4800.0)"
    a = f"((tpp >= 4800.0 || (tpp >= 1600.0 && pd >= 5.92)) && !{carve})"
    b = (f"(((tpp >= 2400.0 && tpp < 4800.0 && pd >= 1.6 && pd < 5.92) || (tpp >= 1600.0 && pd >= 3.2 && "
         f"pd < 5.92)) && !({carve} || tpp >= 4800.0))")
    applies = f"(({a} || {b}) && (dest in {lst(LIC)} || hq in {lst(HQ)}))"
    eligible = f"(({a} && !dc) || ({b} && dc))"
    source = (f"buyer in {lst(DENIED)} ? 'blocked' : (!{applies} || licence ? 'permitted' : "
              f"({eligible} ? (nac ? 'permitted' : 'flagged') : 'blocked'))")
    env = celpy.Environment()
    program = env.program(env.compile(source))
    from celpy import celtypes

    def decide(t: Flat) -> str:
        activation = {
            "tpp": celtypes.DoubleType(t["tpp"]), "pd": celtypes.DoubleType(t["pd"]),
            "dc": celtypes.BoolType(t["dc"]), "dest": celtypes.StringType(t["dest"]),
            "hq": celtypes.StringType(t["hq"]), "buyer": celtypes.StringType(t["buyer"]),
            "nac": celtypes.BoolType(t["nac"]), "licence": celtypes.BoolType(t["licence"]),
        }
        return str(program.evaluate(activation))

    return decide


# ------------------------------------------------------------------ durable_rules

def durable_decide() -> Callable[[Flat], str]:
    import durable.lang as d
    from durable.lang import m, pri, ruleset, when_all

    from exportrules.backends.durable import _QuietHost  # a host without timer threads (see the backend)

    def any_of(exprs: list[Any]) -> Any:
        out = exprs[0]
        for e in exprs[1:]:
            out = out | e
        return out

    carve = (m.dc == False) & (m.tpp < 4800)  # noqa: E712 - durable_rules expressions
    a = ((m.tpp >= 4800) | ((m.tpp >= 1600) & (m.pd >= 5.92)))
    b = (((m.tpp >= 2400) & (m.tpp < 4800) & (m.pd >= 1.6) & (m.pd < 5.92))
         | ((m.tpp >= 1600) & (m.pd >= 3.2) & (m.pd < 5.92)))
    place = any_of([m.dest == c for c in LIC] + [m.hq == c for c in HQ])
    name = "bench-peers"
    with ruleset(name):
        @when_all(pri(1), any_of([m.buyer == n for n in DENIED]))
        def denied(c: Any) -> None:
            c.s.out = "blocked"

        # not classified (b without a, after the carve-out), or no place that needs a licence, or licensed
        @when_all(pri(2), m.licence == True)  # noqa: E712
        def licensed(c: Any) -> None:
            c.s.out = "permitted"

        @when_all(pri(3), carve)
        def carved(c: Any) -> None:
            c.s.out = "permitted"

        @when_all(pri(4), a & place & (m.dc == False) & (m.nac == True))  # noqa: E712
        def a_nac(c: Any) -> None:
            c.s.out = "permitted"

        @when_all(pri(5), a & place & (m.dc == False))  # noqa: E712
        def a_pending(c: Any) -> None:
            c.s.out = "flagged"

        @when_all(pri(6), a & place)
        def a_blocked(c: Any) -> None:
            c.s.out = "blocked"

        @when_all(pri(7), b & place & (m.dc == True) & (m.nac == True))  # noqa: E712
        def b_nac(c: Any) -> None:
            c.s.out = "permitted"

        @when_all(pri(8), b & place & (m.dc == True))  # noqa: E712
        def b_pending(c: Any) -> None:
            c.s.out = "flagged"

        @when_all(pri(9), b & place)
        def b_blocked(c: Any) -> None:
            c.s.out = "blocked"

        @when_all(pri(10), +m.tpp)
        def otherwise(c: Any) -> None:
            c.s.out = "permitted"

    definition = d._rulesets.pop(name)
    full, body = definition.define()
    host = _QuietHost()
    host.register_rulesets({full: body})

    def decide(t: Flat) -> str:
        state = host.post(full, {**t, "sid": "bench"})
        answer: str = state["out"]
        return answer

    return decide


# ------------------------------------------------------------------ Cedar (cedarpy)

def cedar_decide() -> Callable[[Flat], str]:
    import cedarpy

    def lst(values: list[str]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    carve = "(!context.dc && context.tpp < 4800)"  # pd is sent as hundredths: Cedar has integers only
    a = f"((context.tpp >= 4800 || (context.tpp >= 1600 && context.pd >= 592)) && !{carve})"
    b = ("(((context.tpp >= 2400 && context.tpp < 4800 && context.pd >= 160 && context.pd < 592) || "
         f"(context.tpp >= 1600 && context.pd >= 320 && context.pd < 592)) && !({carve} || context.tpp >= 4800))")
    applies = f"(({a} || {b}) && ({lst(LIC)}.contains(context.dest) || {lst(HQ)}.contains(context.hq)))"
    eligible = f"(({a} && !context.dc) || ({b} && context.dc))"
    denied = f"{lst(DENIED)}.contains(context.buyer)"
    text = (f'permit(principal, action == Action::"ship", resource) when {{ !{denied} && '
            f"(!{applies} || context.licence || ({eligible} && context.nac)) }};\n"
            f'permit(principal, action == Action::"ship_after_notice", resource) when {{ !{denied} && '
            f"(!{applies} || context.licence || {eligible}) }};\n")
    policies = cedarpy.PolicySet.from_str(text)
    entities = cedarpy.Entities.from_json_str("[]")

    def decide(t: Flat) -> str:
        context = {**t, "pd": round(t["pd"] * 100)}
        request = {"principal": 'User::"buyer"', "action": 'Action::"ship"', "resource": 'Order::"o"',
                   "context": context}
        if cedarpy.is_authorized(request, policies, entities).allowed:
            return "permitted"
        request["action"] = 'Action::"ship_after_notice"'
        return "flagged" if cedarpy.is_authorized(request, policies, entities).allowed else "blocked"

    return decide


# ------------------------------------------------------------------ measuring


def timed(decide: Callable[[Any], Any], inputs: list[Any]) -> tuple[list[Any], float]:
    """Answers and the median time per call in µs (each input judged once)."""
    answers, times = [], []
    clock = time.perf_counter_ns
    for x in inputs:
        t0 = clock()
        answers.append(decide(x))
        times.append(clock() - t0)
    return answers, statistics.median(times) / 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    warm = transactions(2000, seed=1)
    ours = exportrules_engine()
    contenders: dict[str, Callable[[Flat], str]] = {"hand-written floor": floor}
    for label, make in (("zen-engine", zen_expression_decide), ("zen-engine decision graph", zen_decide),
                        ("cel-python", cel_decide), ("durable_rules", durable_decide), ("cedarpy", cedar_decide)):
        try:
            contenders[label] = make()
        except ImportError as exc:
            print(f"{label}: not installed ({exc.name}); pip install '.[bench]'")

    def judge(t: Flat) -> str:
        return str(ours.judge(as_transaction(t)).outcome.value)

    def outcome(t: Flat) -> str:
        return str(ours.outcome(as_transaction(t)).value)

    def explained(t: Flat) -> str:
        v = ours.judge(as_transaction(t))
        v.to_dict()
        return str(v.outcome.value)

    contenders["exportrules judge()"] = judge
    contenders["exportrules outcome()"] = outcome
    contenders["exportrules judge()+to_dict()"] = explained
    for decide in contenders.values():
        for t in warm:
            decide(t)
    results: dict[str, float] = {}
    for r in range(args.rounds):  # every round new transactions; contenders take turns; the best median counts
        flat = transactions(args.n, seed=100 + r)
        expected = [floor(t) for t in flat]
        for label, decide in contenders.items():
            answers, median = timed(decide, flat)
            wrong = sum(1 for a, e in zip(answers, expected, strict=True) if a != e)
            if wrong:
                print(f"{label}: {wrong} of {len(flat)} answers differ from the policy; its time is not comparable")
            results[label] = min(results.get(label, median), median)
    base = results.get("zen-engine")
    print(f"{args.n:,} first-seen transactions a round, {args.rounds} rounds, shared policy, one process; "
          "best median µs per decision")
    for label, median in results.items():
        ratio = f"{median / base:6.2f}× zen-engine's time" if base else ""
        print(f"  {label:32s} {median:8.2f} µs   {ratio}")
    if base:
        ours_j, ours_o = results["exportrules judge()"], results["exportrules outcome()"]
        graph = results.get("zen-engine decision graph")
        print(f"exportrules judge() takes {ours_j / base:.2f}× zen-engine's compiled-expression time"
              + (f" and {ours_j / graph:.2f}× its decision-graph time" if graph else "")
              + f"; outcome() is {ours_o / results['hand-written floor']:.1f}× the hand-written floor")


if __name__ == "__main__":
    main()
