"""The generated plans decide as the interpreter does, from any thread, and transactions read fast read right."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exportrules
from exportrules import Outcome, TransactionInvalid, Verdict, parse_transaction
from exportrules.corpus import load_cases
from exportrules.judging import judge_full
from exportrules.plan import coverage_of, covered_jurisdictions
from exportrules.testing import from_engine, parties, transactions
from exportrules.transaction import _fast_transaction, read_transaction

from ..conftest import ROOT

ENGINE = exportrules.load()
CASES = [c for c in load_cases(ROOT / "tests" / "corpus") if "date" in c.transaction]  # (some ask about groups)


def _interpreted(engine: exportrules.Engine, tx: Any, as_of: str | None = None) -> Verdict:
    t = read_transaction(tx)
    day = t.date if as_of is None else dt.date.fromisoformat(as_of)
    snap = engine.snapshot(day)
    j = judge_full(snap, t, day)
    return Verdict(j.outcome, j.classifications, j.reasons, j.actions, j.rulesets, day, t.id, j.jurisdictions,
                   coverage=coverage_of(covered_jurisdictions(snap), t.ship_from, t.destination, t.transit))


def _decided_by_plan(engine: exportrules.Engine, tx: Any) -> bool:
    t = read_transaction(tx)
    return engine.plan(t.date).decide(t, t.date) is not None


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file.split('/', 1)[1]}:{c.line}" for c in CASES])
def test_plan_and_interpreter_agree_on_every_corpus_case(case: Any) -> None:
    got = ENGINE.judge(case.transaction, as_of=case.as_of)
    want = _interpreted(ENGINE, case.transaction, case.as_of)
    assert (got.outcome, got.classifications, got.rulesets, got.jurisdictions) == \
        (want.outcome, want.classifications, want.rulesets, want.jurisdictions)
    assert got.to_json() == want.to_json()
    assert ENGINE.outcome(case.transaction, as_of=case.as_of) is want.outcome


def test_the_plan_decides_most_corpus_cases_itself() -> None:
    # Without this, the agreement above could hold because every case fell back to the interpreter.
    decided = sum(_decided_by_plan(ENGINE, c.transaction) for c in CASES if c.as_of is None)
    assert decided >= 0.6 * sum(1 for c in CASES if c.as_of is None)


@settings(max_examples=400)
@given(from_engine(ENGINE))
def test_plan_and_interpreter_give_byte_identical_verdicts(tx: dict[str, Any]) -> None:
    got = ENGINE.judge(tx)
    assert not got.explained or not _decided_by_plan(ENGINE, tx)  # decided verdicts explain only when read
    assert got.to_json() == _interpreted(ENGINE, tx).to_json()
    assert ENGINE.outcome(tx) is got.outcome
    assert list(ENGINE.judge_many([tx], explain=False)) == [got.outcome]


# Made-up names keep most of these on the plan's own path (listed names go to the interpreter).
_UNLISTED = transactions(engine=ENGINE, buyer=parties(listed=False, engine=ENGINE),
                         end_user=parties(listed=False, engine=ENGINE))


@settings(max_examples=600)
@given(_UNLISTED)
def test_plan_decisions_match_the_interpreter_on_unlisted_parties(tx: dict[str, Any]) -> None:
    got = ENGINE.judge(tx)
    assert got.to_json() == _interpreted(ENGINE, tx).to_json()
    assert ENGINE.outcome(tx) is got.outcome


@settings(max_examples=100)
@given(from_engine(ENGINE), st.sampled_from(["2022-10-06", "2023-11-17", "2025-01-16", "2026-01-15", "2026-11-10"]))
def test_plan_and_interpreter_agree_as_of_another_date(tx: dict[str, Any], as_of: str) -> None:
    assert ENGINE.judge(tx, as_of=as_of).to_json() == _interpreted(ENGINE, tx, as_of).to_json()


def test_a_missing_fact_never_makes_the_plan_permit() -> None:
    # An item without figures: the classification cannot be decided, so the verdict names the fact.
    tx = {"date": "2024-06-01", "item": {"name": "mystery accelerator", "datacenter": True}, "destination": "CN",
          "buyer": {"name": "Plain Buyer", "country": "CN"}}
    v = ENGINE.judge(tx)
    assert v.outcome is Outcome.FLAGGED
    assert any(r.kind == "missing-fact" and "item.tpp not given" in r.facts for r in v.reasons)


def test_listed_parties_are_left_to_the_interpreter() -> None:
    tx = {"date": "2024-06-01", "item": "nvidia-h20", "destination": "CN",
          "buyer": {"name": "Huawei Technologies Co., Ltd.", "country": "CN"}}
    assert not _decided_by_plan(ENGINE, tx)
    v = ENGINE.judge(tx)
    assert v.explained and v.outcome is Outcome.BLOCKED and "huawei" in v.reason_ids()


def test_every_verdict_says_what_it_covers() -> None:
    v = ENGINE.judge({"date": "2024-06-01", "item": "nvidia-h20", "ship_from": "JP", "destination": "DE",
                      "buyer": {"name": "Plain Buyer", "country": "DE"}})
    assert v.coverage.not_covered == ("DE", "JP") and "US" in v.coverage.covered
    data = v.to_dict()["coverage"]
    assert data["statement"].startswith("under the loaded rulesets as of 2024-06-01")
    assert "no ruleset covers DE, JP" in data["statement"]
    assert Verdict.from_dict(v.to_dict()).to_json() == v.to_json()


def test_reading_a_verdict_renders_its_reasons_once() -> None:
    tx = {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "CN",
          "buyer": {"name": "Plain Buyer", "country": "CN"}}
    v = ENGINE.judge(tx)
    assert not v.explained
    first = v.reasons
    assert v.explained and v.reasons is first
    with pytest.raises(AttributeError):
        v.outcome = Outcome.PERMITTED  # type: ignore[misc]


def _traffic(n: int) -> list[dict[str, Any]]:
    chips = ["nvidia-h100-sxm", "nvidia-h200", "nvidia-h20", "nvidia-rtx-4090", "amd-mi325x", "nvidia-a800",
             "nvidia-b200", "nvidia-rtx-4090d", "nvidia-l40"]
    dests = ["CN", "DE", "MY", "AE", "VN", "SG", "HK", "MO", "SA", "KH", "RU", "US"]
    names = ["Plain Buyer", "Huawei Technologies Co., Ltd.", "Hauwei Technologies", "Example Cloud", "G42",
             "Sophgo Technologies Ltd."]
    out = []
    for i in range(n):
        dest = dests[i % len(dests)]
        out.append({"id": f"t{i}", "date": f"{2022 + i % 5}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "item": chips[i % len(chips)], "quantity": 1 + i % 9000, "destination": dest,
                    "buyer": {"name": f"{names[i % len(names)]} {i % 7 or ''}".strip(), "country": dest,
                              "headquarters": ["CN", dest, "US"][i % 3]},
                    "evidence": [[], ["nac_notification"], ["us_commercially_available"]][i % 3],
                    "licences": [[], ["D123"]][i % 2]})
    return out


def test_eight_threads_on_a_fresh_engine_agree_with_one() -> None:
    traffic = _traffic(3000)
    expected = [v.to_json() for v in exportrules.load().judge_many(traffic)]
    for _round in range(2):
        shared = exportrules.load()  # fresh: every date-state is compiled while the threads race
        results: dict[int, list[str]] = {}
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def work(k: int, shared: exportrules.Engine = shared, results: dict[int, list[str]] = results,
                 errors: list[BaseException] = errors, start: threading.Barrier = start) -> None:
            try:
                start.wait()
                order = traffic[k::8] + traffic[: k * 10]
                verdicts = [shared.judge(t) for t in order]
                outcomes = [shared.outcome(t) for t in order]
                assert outcomes == [v.outcome for v in verdicts]
                results[k] = [v.to_json() for v in verdicts]
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for k, got in results.items():
            order = list(range(len(traffic)))[k::8] + list(range(len(traffic)))[: k * 10]
            assert got == [expected[i] for i in order]
        assert shared.compiler.compiled == len({shared.compiler.state_index(read_transaction(t).date)
                                                for t in traffic})


# ------------------------------------------------------------------ reading transactions fast

_text = st.one_of(st.text(max_size=6), st.sampled_from(["CN", "cn", "DE ", "XX", "NO", "", "2024-06-01"]))
_values = st.one_of(st.none(), st.booleans(), st.integers(-2, 10**6), st.floats(allow_nan=False), _text,
                    st.lists(_text, max_size=3))


@st.composite
def _near_transactions(draw: st.DrawFn) -> dict[str, Any]:
    tx: dict[str, Any] = {"id": "x", "date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "CN",
                          "buyer": {"name": "Acme", "country": "CN"}, "evidence": [], "licences": []}
    for key in draw(st.lists(st.sampled_from([*tx, "quantity", "ship_from", "end_use", "seller", "bogus"]),
                             max_size=3)):
        if draw(st.booleans()):
            tx.pop(key, None)
        else:
            tx[key] = draw(_values)
    if draw(st.booleans()):
        tx["buyer"] = {"name": draw(_text), "country": draw(_text)}
    if draw(st.booleans()):  # an item given by its figures, sometimes with a bad one
        item: dict[str, Any] = {"tpp": draw(st.one_of(st.integers(0, 30000), st.floats(0, 30000))),
                                "datacenter": draw(st.booleans())}
        for key in draw(st.lists(st.sampled_from(["performance_density", "kind", "vendor", "memory_bandwidth",
                                                  "eccn", "bogus", "tpp"]), max_size=2)):
            item[key] = draw(st.one_of(_values, st.sampled_from(["ic", "hbm", "computer", "gpu"])))
        tx["item"] = item
    return tx


@settings(max_examples=600)
@given(_near_transactions())
def test_fast_reading_agrees_with_validation(tx: dict[str, Any]) -> None:
    fast = _fast_transaction(tx)
    try:
        validated = parse_transaction(tx)
    except TransactionInvalid:
        assert fast is None  # the fast path never accepts what validation refuses
        with pytest.raises(TransactionInvalid):
            read_transaction(tx)
        return
    if fast is not None:
        assert fast == validated
        assert fast.model_dump() == validated.model_dump()
    assert read_transaction(tx) == validated


def test_the_fast_path_takes_the_plain_common_case() -> None:
    tx = {"id": "po-1", "date": "2024-06-01", "item": "nvidia-h100-sxm", "quantity": 3, "destination": "DE",
          "buyer": {"name": "Acme GmbH", "country": "DE"}, "evidence": ["nac_notification"]}
    fast = _fast_transaction(tx)
    assert fast is not None and fast == parse_transaction(tx)
