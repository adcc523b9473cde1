"""The monitor: quotas counted in a SQLite ledger that survives crashes and concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import exportrules
from exportrules import Outcome, TransactionInvalid
from exportrules.cli import ExitCode
from exportrules.monitor import Ledger, Monitor

from .conftest import ROOT, Run

G42 = {"date": "2025-12-01", "item": "nvidia-gb300", "destination": "AE", "buyer": {"name": "G42", "country": "AE"},
       "licences": ["D1234567"], "evidence": ["kyc_reviewed"]}  # the volume patterns were reviewed
GB300_TPP = 60000  # the catalogue's GB300 (chips-parties-coalitions.md §1.2: 15,000 x 4)
APPROVAL = 35000 * GB300_TPP  # G42's approval: the compute of 35,000 GB300s (§3.6), counted in TPP


@pytest.fixture
def monitor(tmp_path: Path, engine: exportrules.Engine) -> Monitor:
    return Monitor(engine, Ledger(tmp_path / "ledger.sqlite"), quotas=True)


def test_quotas_are_counted_and_enforced(monitor: Monitor) -> None:
    # G42's approval of 2025-11-19 is 35,000 GB300-equivalents (chips-parties-coalitions.md §3.6)
    first = monitor.record({**G42, "id": "a", "quantity": 30000})
    assert first.recorded and first.verdict.outcome is Outcome.PERMITTED
    assert {q.quota.split("#")[1]: q.limit for q in first.quotas} == {
        "g42-approval-2025-11": APPROVAL, "uae-partnership-annual": 500000, "uae-partnership-g42-share": 100000}
    too_many = monitor.record({**G42, "id": "b", "quantity": 6000})
    assert not too_many.recorded and too_many.verdict.outcome is Outcome.BLOCKED
    assert any(r.rule == "g42-approval-2025-11" and r.effect is Outcome.BLOCKED for r in too_many.verdict.reasons)
    assert any("is used up" in a.detail for a in too_many.verdict.actions)
    exactly = monitor.record({**G42, "id": "c", "quantity": 5000})
    assert exactly.recorded and exactly.verdict.outcome is Outcome.PERMITTED
    totals = {t["quota"].split("#")[1]: t["quantity"] for t in monitor.ledger.totals()}
    assert totals == {"g42-approval-2025-11": APPROVAL, "uae-partnership-annual": 35000,
                      "uae-partnership-g42-share": 35000}


def test_a_cap_in_gb300_equivalents_counts_compute_not_units(monitor: Monitor) -> None:
    b300 = {**G42, "item": "nvidia-b300"}  # 52,500 TPP a unit in the catalogue: more units fit than GB300s
    first = monitor.record({**b300, "id": "b1", "quantity": 36000})  # > 35,000 units, < the cap in compute
    assert first.recorded and first.verdict.outcome is Outcome.PERMITTED
    approval = next(q for q in first.quotas if q.quota.endswith("#g42-approval-2025-11"))
    assert (approval.quantity, approval.limit) == (36000 * 52500, APPROVAL)
    left = (APPROVAL - 36000 * 52500) // 52500  # 4,000 more B300s fit, one more does not
    assert monitor.record({**b300, "id": "b2", "quantity": left + 1}).verdict.outcome is Outcome.BLOCKED
    assert monitor.record({**b300, "id": "b3", "quantity": left}).recorded


def test_quotas_are_counted_only_when_asked(tmp_path: Path, engine: exportrules.Engine) -> None:
    # the caps are political commitments, not law: a plain monitor counts licences, not caps
    plain = Monitor(engine, Ledger(tmp_path / "plain.sqlite"))
    r = plain.record({**G42, "id": "big", "quantity": 600000})
    assert r.recorded and r.verdict.outcome is Outcome.PERMITTED and r.quotas == ()
    assert any(x.kind == "notice" and x.rule == "g42-approval-2025-11" for x in r.verdict.reasons)


def test_the_annual_quota_restarts_each_calendar_year(monitor: Monitor) -> None:
    buyer = {"name": "Gulf Cloud LLC", "country": "AE"}
    assert monitor.record({**G42, "buyer": buyer, "id": "y1", "quantity": 499999}).recorded
    assert monitor.record({**G42, "buyer": buyer, "id": "y2", "quantity": 2}).verdict.outcome is Outcome.BLOCKED
    later = monitor.record({**G42, "buyer": buyer, "id": "y3", "quantity": 2, "date": "2026-01-05"})
    assert later.recorded and later.verdict.outcome is Outcome.PERMITTED


def test_recording_is_idempotent(monitor: Monitor) -> None:
    assert monitor.record({**G42, "id": "same", "quantity": 1000}).recorded
    again = monitor.record({**G42, "id": "same", "quantity": 1000})
    assert not again.recorded and again.verdict.outcome is Outcome.PERMITTED
    assert {t["quantity"] for t in monitor.ledger.totals()} == {1000, 1000 * GB300_TPP}  # once, not twice


def test_the_stateless_judge_reports_caps_as_information(engine: exportrules.Engine, monitor: Monitor) -> None:
    def notices(v: exportrules.Verdict) -> set[str]:
        return {r.rule for r in v.reasons if r.kind == "notice" and r.effect is None}

    huge = engine.judge({**G42, "quantity": 10**6})  # far over every cap: still permitted under the EAR
    assert huge.outcome is Outcome.PERMITTED and not any(a.kind == "check-quota" for a in huge.actions)
    assert notices(huge) == {"g42-approval-2025-11", "uae-partnership-annual", "uae-partnership-g42-share"}
    monitor.record({**G42, "id": "x", "quantity": 35000})
    after = engine.judge({**G42, "quantity": 10})
    assert after.outcome is Outcome.PERMITTED  # the monitor's counts are scoped to the monitor


def test_shipments_without_quotas_are_recorded_too(monitor: Monitor) -> None:
    r = monitor.record({"id": "de", "date": "2026-03-01", "item": "nvidia-h100-sxm", "destination": "DE",
                        "buyer": {"name": "Example GmbH", "country": "DE"}, "quantity": 64})
    assert r.recorded and r.quotas == ()
    assert monitor.ledger.recorded("de")
    blocked = monitor.record({"id": "cn", "date": "2026-03-01", "item": "nvidia-h100-sxm", "destination": "CN",
                              "buyer": {"name": "Example", "country": "CN"}})
    assert not blocked.recorded and not monitor.ledger.recorded("cn")


def test_an_id_is_needed_to_record(monitor: Monitor) -> None:
    with pytest.raises(TransactionInvalid, match="`id` is required"):
        monitor.record({**G42, "quantity": 1})


def _writer(path: str, worker: int, n: int) -> None:
    m = Monitor(exportrules.load(), Ledger(path), quotas=True)
    for i in range(n):
        m.record({**G42, "id": f"w{worker}-{i}", "quantity": 1000})


def test_concurrent_writers_never_overshoot_a_quota(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.sqlite")
    Ledger(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    ledger = Ledger(path)
    totals = {t["quota"].split("#")[1]: t for t in ledger.totals()}
    # 60 attempts of 1,000 against G42's 35,000: exactly 35 fit, whatever the interleaving
    assert totals["g42-approval-2025-11"]["quantity"] == APPROVAL
    assert totals["g42-approval-2025-11"]["shipments"] == 35
    assert ledger.check() == "ok"


CRASHER = """
import os, sys, exportrules
from exportrules.monitor import Ledger, Monitor
m = Monitor(exportrules.load(), Ledger(sys.argv[1]), quotas=True)
print("ready", flush=True)
i = int(sys.argv[2]) if len(sys.argv) > 2 else 0  # where this writer's ids start
while True:
    m.record({"id": f"k{i}", "date": "2025-12-01", "item": "nvidia-gb300", "destination": "AE",
              "buyer": {"name": "G42", "country": "AE"}, "licences": ["D1"], "quantity": 3,
              "evidence": ["kyc_reviewed"]})
    i += 1
"""


def test_a_killed_writer_leaves_a_consistent_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    ledger = Ledger(path)
    assert ledger.check() == "ok"
    db = sqlite3.connect(path)
    per_tx = db.execute("SELECT tx_id, COUNT(*), SUM(quantity) FROM shipments GROUP BY tx_id").fetchall()
    db.close()
    assert per_tx, "the writer recorded nothing before it was killed"
    # every recorded shipment has all three of its quota rows (G42 falls under three quotas), never a part of them:
    # 3 units against the two caps in units, 3 x the GB300's TPP against the approval in compute
    assert {(n, q) for _, n, q in per_tx} == {(3, 3 + 3 + 3 * GB300_TPP)}
    units = {t["quota"].split("#")[1]: t["quantity"] for t in ledger.totals()}["uae-partnership-annual"]
    assert units == 3 * len(per_tx)
    Monitor(exportrules.load(), ledger, quotas=True).record({**G42, "id": "after-crash", "quantity": 1})
    assert ledger.recorded("after-crash")


def test_record_and_ledger_commands(cli: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    lines = "\n".join(json.dumps({**G42, "id": f"c{i}", "quantity": q}) for i, q in enumerate([30000, 6000, 5000]))
    run = cli("record", "-", "--ledger", str(path), "--quotas", "--format", "json", stdin=lines + "\n")
    results: list[dict[str, Any]] = run.lines()
    assert [r["verdict"]["outcome"] for r in results] == ["permitted", "blocked", "permitted"]
    assert [r["recorded"] for r in results] == [True, False, True]
    assert run.code == ExitCode.BLOCKED
    shown = cli("ledger", str(path), "--format", "json").json()
    assert shown["integrity"] == "ok"
    assert {q["quota"].split("#")[1]: q["quantity"] for q in shown["quotas"]}["g42-approval-2025-11"] == APPROVAL
    assert cli("ledger", str(tmp_path / "missing.sqlite")).code == ExitCode.INVALID



def test_a_cap_in_compute_cannot_count_an_item_of_unknown_tpp(tmp_path: Path) -> None:
    # how much of a cap in GB300-equivalents an item of unknown TPP uses is unknown: the order is flagged for
    # that fact (never blocked as if the cap were used up, never permitted uncounted) and nothing is recorded
    rules = tmp_path / "rules"
    (rules / "catalog").mkdir(parents=True)
    shutil.copy(ROOT / "rulesets" / "catalog" / "chips" / "2019-05-16.yaml", rules / "catalog" / "chips.yaml")
    (rules / "cap.yaml").write_text("""
ruleset: t/cap
jurisdiction: US
version: 2024-01-01
effective: 2024-01-01
citation: test
controls:
  - {id: to-ae, when: {destination: AE}, requires: licence, citation: test}
authorizations:
  - {id: cap, covers: [to-ae], requires_licence: true, quota: {quantity: 10, equivalent: nvidia-gb300}, citation: test}
""", encoding="utf-8")
    m = Monitor(exportrules.load(rules), Ledger(tmp_path / "l.sqlite"), quotas=True)
    order = {"date": "2025-01-01", "destination": "AE", "licences": ["D1234567"], "quantity": 2}
    unknown = m.record({**order, "id": "no-tpp", "item": {"name": "accelerator", "datacenter": True}})
    assert not unknown.recorded and unknown.verdict.outcome is Outcome.FLAGGED
    assert any(a.kind == "provide-fact" and "item.tpp" in a.detail for a in unknown.verdict.actions)
    assert not any("is used up" in a.detail for a in unknown.verdict.actions)
    known = m.record({**order, "id": "gb300", "item": "nvidia-gb300"})  # 2 x 60,000 TPP of 10 x 60,000
    assert known.recorded and known.verdict.outcome is Outcome.PERMITTED
