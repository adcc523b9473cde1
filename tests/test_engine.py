"""Judging semantics of the native engine (DESIGN §4) on the bundled rulesets and small fixtures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import exportrules
from exportrules import Outcome

H100_CLASS = {"name": "H100-class", "tpp": 15832, "performance_density": 19.4, "datacenter": True}


def tx(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"date": "2024-06-01", "item": H100_CLASS, "destination": "CN",
                            "buyer": {"name": "Acme", "country": "CN"}}
    base.update(kw)
    return base


def test_h100_class_to_china_is_blocked_with_cited_reasons(engine: exportrules.Engine) -> None:
    v = engine.judge(tx())
    assert v.outcome is Outcome.BLOCKED
    assert v.classifications == ("3A090.a",)
    by_rule = {r.rule: r for r in v.reasons}
    cls = by_rule["3A090.a"]
    assert "item.tpp 15832 >= 4800" in cls.facts
    assert cls.source.startswith("rulesets/us-ear/advanced-computing/") and cls.source.count(":") == 2
    control = by_rule["ac-macau-d5"]
    assert control.effect is Outcome.BLOCKED
    assert "destination CN in D:5" in control.facts
    assert "742.6(a)(6)" in control.citation
    assert any(a.kind == "obtain-licence" and "presumption of denial" in a.detail for a in v.actions)


def test_same_item_to_germany_is_permitted(engine: exportrules.Engine) -> None:
    v = engine.judge(tx(destination="DE", buyer={"name": "Acme GmbH", "country": "DE"}))
    assert v.outcome is Outcome.PERMITTED
    assert v.classifications == ("3A090.a",)
    assert all(r.effect in (None, Outcome.PERMITTED) for r in v.reasons)


def test_chinese_headquartered_buyer_in_germany_needs_a_licence(engine: exportrules.Engine) -> None:
    v = engine.judge(tx(destination="DE", buyer={"name": "Acme GmbH", "country": "DE", "headquarters": "CN"}))
    assert v.outcome is Outcome.BLOCKED
    assert "ac-hq-macau-d5" in v.reason_ids()
    assert "parties.headquarters [CN] in D:5" in {f for r in v.reasons for f in r.facts}


def test_majority_parent_counts_as_headquarters(engine: exportrules.Engine) -> None:
    buyer = {"name": "Sub Sdn Bhd", "country": "MY",
             "owners": [{"name": "Parent", "share": 0.6, "country": "CN"}]}
    assert engine.judge(tx(destination="MY", buyer=buyer)).outcome is Outcome.BLOCKED
    buyer["owners"] = [{"name": "Parent", "share": 0.4, "country": "CN"}]
    assert engine.judge(tx(destination="MY", buyer=buyer)).outcome is Outcome.PERMITTED


def test_hong_kong_is_judged_as_china(engine: exportrules.Engine) -> None:
    v = engine.judge(tx(destination="HK", buyer={"name": "HK Ltd", "country": "HK"}))
    assert v.outcome is Outcome.BLOCKED
    assert "destination HK in D:5" in {f for r in v.reasons for f in r.facts}
    assert "HK" not in engine.members("D:5", on="2024-06-01")


def test_fail_closed_on_missing_datacenter_flag(engine: exportrules.Engine) -> None:
    # TPP 3000 and PD 4.0: 3A090.b if designed for datacenters, nothing if not (Note 2)
    item = {"name": "mystery", "tpp": 3000, "performance_density": 4.0}
    v = engine.judge(tx(item=item))
    assert v.outcome is Outcome.FLAGGED
    missing = [r for r in v.reasons if r.kind == "missing-fact"]
    assert missing and any("item.datacenter not given" in r.facts for r in missing)
    assert engine.judge(tx(item={**item, "datacenter": False})).outcome is Outcome.PERMITTED
    # a datacenter 3A090.b item may go to China under NAC once the notification is filed
    dc = engine.judge(tx(item={**item, "datacenter": True}))
    assert dc.outcome is Outcome.FLAGGED and dc.classifications == ("3A090.b",)
    assert [a.kind for a in dc.actions] == ["provide-evidence"]


def test_fail_closed_without_any_party(engine: exportrules.Engine) -> None:
    v = engine.judge({"date": "2024-06-01", "item": H100_CLASS, "destination": "DE"})
    assert v.outcome is Outcome.FLAGGED
    assert any(r.kind == "missing-fact" and "parties.headquarters not given" in r.facts for r in v.reasons)


def test_nac_needs_its_notification(engine: exportrules.Engine) -> None:
    # the notification is owed for D:5 (China) but not for D:1/D:4 Vietnam (ear-beyond-advanced-computing.md §4)
    vietnam = tx(item="nvidia-rtx-4090", destination="VN", buyer={"name": "Shop", "country": "VN"}, date="2023-12-01")
    assert engine.judge(vietnam).outcome is Outcome.PERMITTED
    rtx = tx(item="nvidia-rtx-4090", buyer={"name": "Shop", "country": "CN"}, date="2023-12-01")
    v = engine.judge(rtx)
    assert v.outcome is Outcome.FLAGGED
    assert [a.kind for a in v.actions] == ["provide-evidence"]
    assert "nac_notification" in v.actions[0].detail
    assert engine.judge({**rtx, "evidence": ["nac_notification"]}).outcome is Outcome.PERMITTED


def test_a_licence_clears_the_control(engine: exportrules.Engine) -> None:
    v = engine.judge(tx(licences=["D1234567"]))
    assert v.outcome is Outcome.PERMITTED
    assert "bis-licence" in v.reason_ids()


def test_verdict_json_is_byte_identical(engine: exportrules.Engine) -> None:
    first = engine.judge(tx(id="po-1")).to_json()
    again = exportrules.load().judge(tx(id="po-1")).to_json()
    assert first == again
    data = json.loads(first)
    assert list(data) == ["outcome", "classifications", "reasons", "actions", "rulesets", "jurisdictions", "coverage",
                          "as_of", "transaction_id"]
    assert all(len(r["sha256"]) == 64 for r in data["rulesets"])


def test_as_of_overrides_the_transaction_date(engine: exportrules.Engine) -> None:
    v = engine.judge(tx(date="2024-06-01"), as_of="2022-01-01")
    assert v.as_of == dt.date(2022, 1, 1)
    assert v.outcome is Outcome.PERMITTED  # no advanced-computing rule was in force
    assert not v.classifications


def test_members_follow_dated_changes(engine: exportrules.Engine) -> None:
    assert "KH" in engine.members("D:5", on="2026-02-02")
    assert "KH" not in engine.members("D:5", on="2026-02-03")
    assert "KH" in engine.members("D:1", on="2026-02-03")
    assert "AE" not in engine.members("A:5", on="2026-07-09")
    assert "AE" in engine.members("A:5", on=dt.date(2026, 7, 10))
    assert "AE" in engine.members("D:4", on="2026-07-09") and "AE" not in engine.members("D:4", on="2026-07-10")
    with pytest.raises(KeyError, match="did you mean `D:5`"):
        engine.members("D:55", on="2026-01-01")


def test_snapshots_are_cached_per_date_state() -> None:
    e = exportrules.load()
    start = dt.date(2024, 1, 1)
    txs = [tx(date=(start + dt.timedelta(days=i % 300)).isoformat()) for i in range(3000)]
    verdicts = list(e.judge_many(txs))
    assert len(verdicts) == 3000
    states = {e.compiler.state_index(start + dt.timedelta(days=i)) for i in range(300)}
    assert e.compiler.compiled == len(states)
    assert e.compiler.compiled < 10


def test_timeline_splits_where_the_verdict_changes(engine: exportrules.Engine) -> None:
    line = engine.timeline(tx(destination="KH", buyer={"name": "K", "country": "KH"}), "2023-01-01", "2026-12-31")
    dates = [d for d, _ in line]
    assert dates[0] == dt.date(2023, 1, 1)
    assert dt.date(2023, 11, 17) in dates
    outcomes = [v.outcome for _, v in line]
    assert outcomes[dates.index(dt.date(2023, 11, 17))] is Outcome.BLOCKED


def _write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


HEAD = "ruleset: t/a\njurisdiction: US\ncitation: test\n"


def test_amendments_replace_add_and_remove_by_id(tmp_path: Path) -> None:
    _write(tmp_path, "v1.yaml", HEAD + "version: 2024-01-01\neffective: 2024-01-01\ncontrols:\n"
           "  - {id: to-cn, when: {destination: CN}, requires: licence, citation: base}\n"
           "  - {id: to-ru, when: {destination: RU}, requires: prohibited, citation: base}\n")
    _write(tmp_path, "v2.yaml", HEAD + "version: 2024-06-01\neffective: 2024-06-01\namends: 2024-01-01\n"
           "remove: [to-ru]\ncontrols:\n"
           "  - {id: to-cn, when: {destination: CN}, requires: prohibited, citation: patched}\n"
           "  - {id: to-ir, when: {destination: IR}, requires: prohibited, citation: added}\n")
    e = exportrules.load(tmp_path)
    early = {"date": "2024-02-01", "item": {"tpp": 1}, "destination": "RU", "buyer": {"name": "x", "country": "RU"}}
    assert e.judge(early).outcome is Outcome.BLOCKED
    assert e.judge({**early, "date": "2024-07-01"}).outcome is Outcome.PERMITTED
    cn = e.judge({**early, "date": "2024-07-01", "destination": "CN"})
    assert cn.outcome is Outcome.BLOCKED and cn.reasons[0].citation == "patched"
    v1, v2 = e.catalog.versions["t/a"]
    assert v1.sha256 != v2.sha256
    assert [c.id for c in v2.model.controls] == ["to-cn", "to-ir"]
    assert v2.origin("controls", "to-cn").where().startswith("a/v2.yaml:") or "v2.yaml" in v2.origin(
        "controls", "to-cn").where()


def test_rule_order_in_a_file_does_not_change_verdicts(tmp_path: Path) -> None:
    import shutil

    import yaml

    from exportrules.loader import load_text
    from exportrules.model import SECTIONS

    src = Path(exportrules.bundled_rulesets_dir())
    shutil.copytree(src, tmp_path / "rulesets")
    for path in (tmp_path / "rulesets").rglob("*.yaml"):
        data = load_text(path.read_text(encoding="utf-8")).data  # the strict loader keeps NO a string
        for section in SECTIONS:
            if isinstance(data.get(section), list):
                data[section] = list(reversed(data[section]))
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
    reordered = exportrules.load(tmp_path / "rulesets")
    original = exportrules.load()
    cases = [tx(), tx(destination="DE", buyer={"name": "A", "country": "DE"}),
             tx(item="nvidia-rtx-4090", destination="VN", buyer={"name": "S", "country": "VN"}),
             tx(item="nvidia-h200", date="2026-02-01", evidence=["us_supply_certified"]),
             tx(item="nvidia-h20", date="2025-09-15", licences=["L1"])]
    for t in cases:
        a, b = original.judge(t), reordered.judge(t)
        assert (a.outcome, a.classifications, a.reason_ids()) == (b.outcome, b.classifications, b.reason_ids())
        assert [(x.kind, x.detail) for x in a.actions] == [(x.kind, x.detail) for x in b.actions]


def test_a800_timeline_cites_the_october_2023_rule(engine: exportrules.Engine) -> None:
    tx = {"date": "2023-06-01", "item": "nvidia-a800", "destination": "CN",
          "buyer": {"name": "Example", "country": "CN"}}
    assert engine.judge(tx).outcome is Outcome.PERMITTED
    later = engine.judge({**tx, "date": "2023-12-01"})
    assert later.outcome is Outcome.BLOCKED
    assert any("88 FR 73458" in r.citation for r in later.reasons if r.kind == "control")
    assert any("88 FR 73458" in r.citation for r in later.reasons if r.kind == "classification")


def test_no_pydantic_model_on_the_hot_path(engine: exportrules.Engine) -> None:
    from pydantic import BaseModel

    snap = engine.snapshot("2026-03-01")
    seen: set[int] = set()

    def walk(obj: Any, depth: int = 0) -> None:
        assert not isinstance(obj, BaseModel), type(obj)
        if depth > 4 or id(obj) in seen or isinstance(obj, (str, int, float, dt.date)):
            return
        seen.add(id(obj))
        if hasattr(obj, "values") and callable(obj.values):
            for v in obj.values():
                walk(v, depth + 1)
        elif isinstance(obj, (list, tuple, frozenset)):
            for v in obj:
                walk(v, depth + 1)
        elif hasattr(obj, "__slots__") and not isinstance(obj, type):
            for name in obj.__slots__:
                if name != "version":  # the ruleset version record is metadata, not read while judging
                    walk(getattr(obj, name), depth + 1)

    walk(snap.rulesets)
    walk(snap.items)
    walk(snap.classifications)


def test_timeline_command_lists_the_dates_the_verdict_changes(cli: Any) -> None:
    from .conftest import ROOT

    run = cli("timeline", str(ROOT / "examples" / "h200-to-china-jan-2026-conditions.json"), "--from", "2023-01-01",
              "--to", "2026-12-31", "--format", "json")
    rows = run.json()
    dates = [r["from"] for r in rows]
    assert dates[0] == "2023-01-01"
    assert {"2023-11-17", "2025-04-09", "2025-10-10", "2026-01-14", "2026-01-15"} <= set(dates)
    by_date = {r["from"]: r["verdict"] for r in rows}
    assert by_date["2023-11-17"]["outcome"] == "blocked"
    assert "case by case" in " ".join(a["detail"] for a in by_date["2026-01-15"]["actions"])
    assert len(dates) == len(set(dates))


def test_catalogue_items_are_known_before_the_catalogue_takes_effect(engine: exportrules.Engine) -> None:
    v = engine.judge({"date": "2018-01-01", "item": "nvidia-h100-sxm", "destination": "CN",
                      "buyer": {"name": "Example", "country": "CN"}})
    assert "unknown-item" not in v.reason_ids()
    # ... but no rule that judges shipments is in force that early: never a silent clearance
    assert v.outcome is Outcome.FLAGGED and v.reason_ids() == ["no-rules-in-force"]


def test_memoised_rulesets_still_see_every_fact_they_read(engine: exportrules.Engine) -> None:
    uae = {"date": "2025-08-01", "item": "nvidia-h100-sxm", "destination": "AE",
           "buyer": {"name": "Gulf Cloud LLC", "country": "AE"}, "licences": ["D1"]}
    small, large = engine.judge({**uae, "quantity": 10}), engine.judge({**uae, "quantity": 900000})
    # the partnership's cap is information: neither quantity changes the verdict, both are told of it
    for v in (small, large):
        assert v.outcome is Outcome.PERMITTED
        assert any(r.kind == "notice" and "500,000" in r.message for r in v.reasons)
    reseller = engine.judge({**uae, "destination": "CN", "buyer": {"name": "Reseller", "country": "CN"}})
    listed = engine.judge({**uae, "destination": "CN", "buyer": {"name": "Huawei Technologies", "country": "CN"}})
    assert "huawei" in listed.reason_ids() and "huawei" not in reseller.reason_ids()
    again = engine.judge({**uae, "destination": "CN", "buyer": {"name": "Reseller", "country": "CN"}})
    assert again.to_json() == reseller.to_json()


def test_the_derived_destination_set_matches_the_fact_sheet(engine: exportrules.Engine) -> None:
    # us-ear-advanced-computing.md §2.2: (D:1 ∪ D:4 ∪ D:5) − (A:5 ∪ A:6) on the eCFR of 2026-07-23 is 45 codes
    day = "2026-07-23"
    derived = (engine.members("D:1", on=day) | engine.members("D:4", on=day) | engine.members("D:5", on=day)) - (
        engine.members("A:5", on=day) | engine.members("A:6", on=day))
    listed = ("AF AM AZ BH BY CD CF CN CU EG ER GE HT IQ IR JO KG KH KP KW KZ LA LB LY MD MM MN MO NI OM PK QA RU "
              "SA SD SO SS SY TJ TM UZ VE VN YE ZW").split()
    assert sorted(derived) == sorted(listed)
    counts = {g: len(engine.members(g, on=day)) for g in ("A:5", "A:6", "D:1", "D:2", "D:3", "D:4", "D:5", "E:1",
                                                           "E:2")}
    assert counts == {"A:5": 38, "A:6": 8, "D:1": 24, "D:2": 10, "D:3": 36, "D:4": 21, "D:5": 22, "E:1": 3, "E:2": 1}
