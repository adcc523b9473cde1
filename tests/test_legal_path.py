"""The legal path around the 3A090 table: regions, transit, intermediate consignees, which roles a listing
reaches, whether the EAR applies at all (a gate), and deals that are information rather than conditions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import exportrules
from exportrules import Outcome, TransactionInvalid, parse_transaction
from exportrules.table import judge_table
from exportrules.transaction import read_transaction

from .conftest import Run

H20 = {"date": "2024-06-01", "item": "nvidia-h20", "quantity": 8, "destination": "UA", "end_use": "datacenter",
       "buyer": {"name": "Dnipro Compute LLC", "country": "UA"}}
CN_CHIP = {"date": "2025-06-01", "item": {"name": "CN accelerator", "vendor": "Example Chips Co", "tpp": 3000,
                                          "performance_density": 3, "datacenter": True, "memory_bandwidth": 1000,
                                          "io_bandwidth": 400},
           "ship_from": "CN", "destination": "CN", "end_use": "datacenter",
           "buyer": {"name": "Huawei Technologies Co., Ltd.", "country": "CN"}}
MADE_IN_CHINA = {"fab_country": "CN", "us_tools": False, "us_content": 0}


def rules(v: exportrules.Verdict, kind: str | None = None) -> set[str]:
    return {r.rule for r in v.reasons if kind is None or r.kind == kind}


# ------------------------------------------------------------------ regions (15 CFR 746.6)


@pytest.mark.parametrize(("tx", "field", "text"), [
    ({"destination": "DE", "destination_region": "UA-43"}, "destination_region", "is not in `destination` `DE`"),
    ({"destination_region": "UA-99"}, "destination_region", "not an ISO 3166-2 subdivision"),
    ({"destination": "UA-43", "destination_region": "UA-40"}, "destination", "disagree"),
    ({"buyer": {"name": "A", "country": "DE", "region": "UA-43"}}, "buyer.region", "is not in `country` `DE`"),
    ({"transit": ["XX"]}, "transit.0", "not an ISO 3166-1"),
    ({"origin": {"us_content": 1.5}}, "origin.us_content", "less than or equal to 1"),
    ({"intermediate_consignees": [{"country": "DE"}]}, "intermediate_consignees.0.name", "is required"),
])
def test_bad_regions_transit_and_origin_name_the_field(tx: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(TransactionInvalid) as exc:
        parse_transaction({**H20, **tx})
    found = {d.path: d.message for d in exc.value.diagnostics}
    assert field in found and text in found[field], found


def test_a_subdivision_as_destination_is_its_country_and_region() -> None:
    tx = parse_transaction({**H20, "destination": "ua-43", "end_user": {"name": "Yalta DC", "region": "UA-40"}})
    assert (tx.destination, tx.destination_region) == ("UA", "UA-43")
    assert tx.end_user is not None and (tx.end_user.country, tx.end_user.region) == ("UA", "UA-40")
    # the fast reader leaves anything beyond the plain case to validation, and both agree
    plain = dict(H20)
    assert read_transaction(plain) == parse_transaction(plain)
    assert read_transaction({**plain, "transit": ["MY"]}) == parse_transaction({**plain, "transit": ["MY"]})


def test_crimea_is_blocked_kyiv_is_not_and_a_bare_ukraine_is_flagged(engine: exportrules.Engine) -> None:
    crimea = engine.judge({**H20, "destination": "UA-43"})
    assert crimea.outcome is Outcome.BLOCKED and "embargo-crimea" in rules(crimea, "control")
    assert engine.judge({**H20, "destination": "UA-30"}).outcome is Outcome.PERMITTED
    bare = engine.judge(H20)
    assert bare.outcome is Outcome.FLAGGED
    assert any(r.rule == "embargo-crimea" and "destination_region" in r.message for r in bare.reasons)
    # a party in Crimea brings a Kyiv shipment under 746.6 too, intermediate consignees included
    via = engine.judge({**H20, "destination": "UA-30",
                        "intermediate_consignees": [{"name": "Black Sea Forwarding LLC", "region": "UA-40"}]})
    assert via.outcome is Outcome.BLOCKED and "embargo-crimea" in rules(via)


# ------------------------------------------------------------------ roles (744.11, 748.5)


def test_a_listed_seller_owes_nothing_a_listed_intermediate_consignee_does(engine: exportrules.Engine) -> None:
    de = {**H20, "destination": "DE", "buyer": {"name": "Example GmbH", "country": "DE"}}
    huawei = {"name": "Huawei Technologies Co., Ltd.", "country": "CN"}
    assert engine.judge({**de, "seller": huawei}).outcome is Outcome.PERMITTED
    second = engine.judge({**de, "intermediate_consignees": [{"name": "Rotterdam Forwarding BV"}, huawei]})
    assert second.outcome is Outcome.BLOCKED
    assert any("intermediate_consignees[1]" in " ".join(r.facts) for r in second.reasons if r.rule == "huawei")
    # a denial order reaches every role: a denied seller is barred
    denied = engine.judge({**de, "seller": {"name": "KAL TEK LABS", "country": "US"}})
    assert denied.outcome is Outcome.BLOCKED and "denied-kal-tek-labs" in rules(denied)


def test_china_s_unreliable_entity_list_reaches_the_seller(engine: exportrules.Engine) -> None:
    sensor = {"name": "sensor", "kind": "ic", "tpp": 0, "performance_density": 0, "datacenter": False,
              "memory_bandwidth": 1, "io_bandwidth": 1}
    v = engine.judge({"date": "2025-04-20", "item": sensor, "destination": "CN",
                      "seller": {"name": "Skydio Inc", "country": "US"}})
    assert v.jurisdictions["CN"] is Outcome.FLAGGED and "uel-skydio" in rules(v)


# ------------------------------------------------------------------ transit


def test_transit_through_malaysia_needs_its_permit_and_transit_is_in_the_coverage(engine: exportrules.Engine) -> None:
    sg = {"date": "2025-08-01", "item": "nvidia-h100-sxm", "destination": "SG", "end_use": "datacenter",
          "buyer": {"name": "SG Cloud Pte Ltd", "country": "SG"}}
    assert engine.judge(sg).outcome is Outcome.PERMITTED
    via_my = engine.judge({**sg, "transit": ["MY"]})
    assert via_my.outcome is Outcome.BLOCKED and via_my.jurisdictions["MY"] is Outcome.BLOCKED
    via_th = engine.judge({**sg, "transit": ["TH"]})
    assert via_th.outcome is Outcome.PERMITTED
    assert via_th.coverage is not None and "TH" in via_th.coverage.not_covered
    assert "TH" in via_th.to_dict()["coverage"]["statement"]


def test_tables_and_json_lines_carry_transit_regions_and_intermediate_consignees(engine: exportrules.Engine,
                                                                                   cli: Callable[..., Run],
                                                                                   tmp_path: Path) -> None:
    base = {"date": "2025-08-01", "item": "nvidia-h100-sxm", "destination": "SG", "end_use": "datacenter",
            "buyer.name": "SG Cloud Pte Ltd", "buyer.country": "SG"}
    rows = [{**base, "transit": "MY"}, {**base, "transit": None},
            {**base, "destination": "UA", "buyer.country": "UA", "destination_region": "UA-43"},
            {**base, "intermediate_consignees": json.dumps([{"name": "Huawei Technologies Co., Ltd."}])}]
    out = judge_table(engine, pl.DataFrame(rows), explain=False)
    # rows that differ only in the new columns are never folded together
    assert out["outcome"].to_list() == ["blocked", "permitted", "blocked", "blocked"]
    lines = tmp_path / "in.jsonl"
    lines.write_text(json.dumps({"id": "t", "date": "2025-08-01", "item": "nvidia-h100-sxm", "destination": "SG",
                                 "transit": ["MY"], "buyer": {"name": "SG Cloud Pte Ltd", "country": "SG",
                                                              "region": "SG-01"}}) + "\n")
    cli("batch", str(lines), "-o", str(tmp_path / "out.jsonl"))
    judged = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert judged[0]["outcome"] == "blocked"


# ------------------------------------------------------------------ whether the EAR applies


def test_a_chinese_chip_inside_china_is_outside_the_ear(engine: exportrules.Engine) -> None:
    outside = engine.judge({**CN_CHIP, "origin": MADE_IN_CHINA})
    assert outside.outcome is Outcome.PERMITTED and "US" not in outside.jurisdictions
    notice = next(r for r in outside.reasons if r.rule == "subject-to-the-ear")
    assert notice.effect is None and "not subject to the EAR" in notice.message
    assert "item.us_tools = false" in notice.facts
    # nothing said of how it was made: the EAR's rules judge (Huawei needs a licence) and the fact is named
    unknown = engine.judge(CN_CHIP)
    assert unknown.outcome is Outcome.BLOCKED and "huawei" in rules(unknown)
    said = next(r for r in unknown.reasons if r.rule == "subject-to-the-ear")
    assert "item.us_tools" in said.message and "judged as if" in said.message
    # made with US tools: a foreign direct product, within the EAR
    fdp = engine.judge({**CN_CHIP, "origin": {**MADE_IN_CHINA, "us_tools": True}})
    assert fdp.outcome is Outcome.BLOCKED and "subject-to-the-ear" not in rules(fdp)


def test_the_plan_and_the_interpreter_agree_on_the_gate(engine: exportrules.Engine) -> None:
    from exportrules.judging import judge_full

    for tx in (CN_CHIP, {**CN_CHIP, "ship_from": "US"}, {**CN_CHIP, "item": "huawei-ascend-910c"},
               {**CN_CHIP, "item": "nvidia-h20", "ship_from": "MY"}):
        t = parse_transaction(tx)
        snap = engine.compiler.snapshot(t.date)
        assert engine.outcome(tx) is judge_full(snap, t, t.date).outcome is engine.judge(tx).outcome


# ------------------------------------------------------------------ deals are information


def test_the_revenue_share_and_the_uae_caps_are_notices_not_conditions(engine: exportrules.Engine) -> None:
    h20 = engine.judge({"date": "2025-09-15", "item": "nvidia-h20", "destination": "CN", "end_use": "datacenter",
                        "buyer": {"name": "Example Cloud Co", "country": "CN"}, "licences": ["D6660001"]})
    assert h20.jurisdictions["US"] is Outcome.PERMITTED
    share = next(r for r in h20.reasons if r.kind == "notice" and r.rule == "h20-mi308-licence")
    assert "15 %" in share.message and share.effect is None
    assert not any(a.kind == "provide-evidence" for a in h20.actions)
    g42 = engine.judge({"date": "2025-12-01", "item": "nvidia-gb300", "quantity": 10**6, "destination": "AE",
                        "buyer": {"name": "G42", "country": "AE"}, "licences": ["D1234567"]})
    assert g42.outcome is Outcome.PERMITTED
    caps = {r.rule: r.message for r in g42.reasons if r.kind == "notice"}
    assert "GB300" in caps["g42-approval-2025-11"] or "nvidia-gb300" in caps["g42-approval-2025-11"]
    assert "500,000" in caps["uae-partnership-annual"]


# ------------------------------------------------------------------ the prover reads the new fields


def test_properties_over_regions_and_transit_are_proved_not_sampled(cli: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("""
ruleset: t/regions
jurisdiction: US
version: 2024-01-01
effective: 2024-01-01
citation: test
controls:
  - id: crimea
    when: {any: [{all: [{destination: UA}, {destination_region: {in: [UA-43]}}]}, {parties.region: {in: [UA-43]}}]}
    requires: licence
    citation: test
  - id: via-my
    when: {transit: {in: [MY]}}
    requires: licence
    citation: test
properties:
  - id: crimea-blocked
    for_all: {destination: UA, destination_region: UA-43, licences: {exists: false}}
    expect: {outcome: blocked}
    citation: test
  - id: transit-blocked
    for_all: {transit: {in: [MY]}, licences: {exists: false}}
    expect: {outcome: blocked}
    citation: test
  - id: kyiv-never-blocked
    for_all: {destination: UA, destination_region: UA-30, transit: {exists: false}}
    expect: {outcome: {not: [blocked]}}
    citation: test
""", encoding="utf-8")
    run = cli("prove", str(tmp_path), "--format", "json")
    results = {r["property"]: r for r in run.json()["results"]}
    assert results["crimea-blocked"]["status"] == "proved"
    assert results["transit-blocked"]["status"] == "proved"
    # a party in Crimea can still block a Kyiv shipment: refuted with a witness the engine reproduces
    refuted = results["kyiv-never-blocked"]
    assert refuted["status"] == "refuted"
    witness = refuted["counterexample"]
    assert any(p.get("region") == "UA-43" for p in witness.get("intermediate_consignees", []))


def test_a_cap_in_compute_must_name_a_catalogue_item(tmp_path: Path) -> None:
    (tmp_path / "cap.yaml").write_text(
        "ruleset: t/cap\njurisdiction: US\nversion: 2024-01-01\neffective: 2024-01-01\ncitation: t\n"
        "controls:\n  - {id: c, when: {destination: AE}, requires: licence, citation: t}\n"
        "authorizations:\n"
        "  - {id: a, covers: [c], requires_licence: true,\n"
        "     quota: {quantity: 1, equivalent: nvidia-gb30}, citation: t}\n",
        encoding="utf-8")
    _, result = exportrules.load_catalog(tmp_path)
    assert [(d.code, d.span.line) for d in result.errors] == [("unknown-item", 10)]
