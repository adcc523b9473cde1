"""Properties of the engine itself, searched by Hypothesis over generated transactions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exportrules
from exportrules import Outcome, Transaction, Verdict
from exportrules.loader import load_text
from exportrules.model import SECTIONS
from exportrules.testing import from_engine

ENGINE = exportrules.load()
TXS = from_engine(ENGINE)


@pytest.fixture(scope="module")
def reordered(tmp_path_factory: pytest.TempPathFactory) -> exportrules.Engine:
    import yaml

    root = tmp_path_factory.mktemp("reordered") / "rulesets"
    shutil.copytree(exportrules.bundled_rulesets_dir(), root)
    for path in root.rglob("*.yaml"):
        data = load_text(path.read_text(encoding="utf-8")).data
        for section in SECTIONS:
            if isinstance(data.get(section), list):
                data[section] = list(reversed(data[section]))
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return exportrules.load(root)


@given(TXS)
def test_same_input_same_json(tx: dict[str, Any]) -> None:
    assert ENGINE.judge(tx).to_json() == ENGINE.judge(json.loads(json.dumps(tx))).to_json()


@settings(max_examples=60)
@given(TXS)
def test_rule_order_in_files_does_not_change_verdicts(reordered: exportrules.Engine, tx: dict[str, Any]) -> None:
    a, b = ENGINE.judge(tx), reordered.judge(tx)
    assert (a.outcome, a.classifications, a.jurisdictions) == (b.outcome, b.classifications, b.jurisdictions)
    assert sorted(a.reason_ids()) == sorted(b.reason_ids())
    assert sorted((x.kind, x.detail) for x in a.actions) == sorted((x.kind, x.detail) for x in b.actions)


ITEM_FACTS = ["tpp", "performance_density", "datacenter", "memory_bandwidth", "io_bandwidth",
              "hbm_bandwidth_density", "vendor"]


@given(TXS, st.sampled_from(ITEM_FACTS))
def test_removing_a_fact_never_turns_a_verdict_permitted(tx: dict[str, Any], fact: str) -> None:
    full = ENGINE.judge(tx)
    item = tx["item"]
    if isinstance(item, str):
        catalogued = ENGINE.snapshot(tx["date"]).items.get(item)
        if catalogued is None:
            return
        item = {k: v for k, v in catalogued.items() if v is not None}
    reduced = {**tx, "item": {k: v for k, v in item.items() if k != fact}}
    if ENGINE.judge(reduced).outcome is Outcome.PERMITTED:
        assert ENGINE.judge({**tx, "item": item}).outcome is Outcome.PERMITTED, (fact, full.outcome)


@given(TXS, st.sampled_from(["nvidia-h900", "amd-mi999", "unknown-chip"]))
def test_an_unknown_catalogue_id_is_never_permitted(tx: dict[str, Any], item: str) -> None:
    assert ENGINE.judge({**tx, "item": item}).outcome is not Outcome.PERMITTED


@settings(max_examples=60)
@given(TXS)
def test_every_reason_really_matches_and_a_sole_blocker_decides(tx: dict[str, Any]) -> None:
    v = ENGINE.judge(tx)
    snap = ENGINE.snapshot(tx["date"])
    facts = ENGINE.facts(tx)
    controls = {(rs.version.id, c.meta.id): c for rs in snap.rulesets for c in rs.controls}
    for r in v.reasons:
        if r.kind == "control":
            control = controls[(r.ruleset, r.rule)]
            assert control.pred(facts) is True, r
            assert not control.classes or control.classes & set(v.classifications), r
        if r.kind == "classification":
            assert r.rule in v.classifications
    blockers = [r for r in v.reasons if r.effect is Outcome.BLOCKED]
    if v.outcome is Outcome.BLOCKED and len(blockers) == 1 and blockers[0].kind == "control":
        (b,) = blockers
        without = exportrules.Engine(ENGINE.catalog.without(b.ruleset, "controls", b.rule))
        assert without.judge(tx).outcome.rank < Outcome.BLOCKED.rank


@given(st.dates())
def test_exactly_one_version_of_each_ruleset_is_in_force(day: Any) -> None:
    for rid, versions in ENGINE.catalog.versions.items():
        chosen = ENGINE.catalog.in_force(rid, on=day)
        started = [v for v in versions if v.effective <= day]
        if not started:
            assert chosen is None
        else:
            assert chosen is max(started, key=lambda v: v.effective)
            assert sum(1 for v in versions if v.effective <= day and v.effective == chosen.effective) == 1


@given(TXS)
def test_transactions_and_verdicts_round_trip_through_json(tx: dict[str, Any]) -> None:
    parsed = exportrules.parse_transaction(tx)
    assert Transaction.model_validate_json(parsed.model_dump_json()) == parsed
    v = ENGINE.judge(parsed)
    again = Verdict.from_dict(json.loads(v.to_json()))
    assert again == v and again.to_json() == v.to_json()


@given(TXS)
def test_permitted_verdicts_owe_nothing_and_flagged_ones_owe_something(tx: dict[str, Any]) -> None:
    v = ENGINE.judge(tx)
    if v.outcome is Outcome.PERMITTED:
        assert not v.actions
    else:
        assert v.actions, v.reason_ids()
    assert v.outcome is Outcome.strictest(v.jurisdictions.values()) or (not v.jurisdictions and v.actions)


def test_strategies_module_checks_its_exports() -> None:
    import exportrules.testing as t

    assert set(t.__all__) == set(dir(t))
    assert Path(t.__file__).name == "__init__.py"
