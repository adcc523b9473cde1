"""Nothing slips through: each way a hostile user or a load test got a wrong `permitted` now gives an
error, a conflict, or a flagged/blocked verdict with a reason."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import exportrules
from exportrules import Outcome, RulesetInvalid, TransactionInvalid
from exportrules.cli import ExitCode
from exportrules.errors import LedgerError
from exportrules.licences import LicenceRecord, LicenceRegister
from exportrules.monitor import Ledger, Monitor

from .conftest import ROOT, Run
from .test_monitor import CRASHER, GB300_TPP

G42 = {"date": "2025-12-01", "item": "nvidia-gb300", "destination": "AE", "buyer": {"name": "G42", "country": "AE"},
       "licences": ["D1234567"], "evidence": ["kyc_reviewed"]}
DE = {"date": "2024-06-01", "item": "nvidia-h20", "destination": "DE", "buyer": {"name": "Example GmbH",
                                                                                  "country": "DE"}}


# ------------------------------------------------------------------ the monitor cannot be gamed


def test_a_reused_id_with_other_content_is_a_conflict(tmp_path: Path, engine: exportrules.Engine) -> None:
    m = Monitor(engine, Ledger(tmp_path / "l.sqlite"), quotas=True)
    first = m.record({**G42, "id": "po-1", "quantity": 35000})
    assert first.recorded
    again = m.record({**G42, "id": "po-1", "quantity": 70000})
    assert not again.recorded and again.conflict is not None
    assert again.verdict.outcome is Outcome.BLOCKED and "ledger-conflict" in again.verdict.reason_ids()
    assert again.conflict["recorded"]["quantity"] == 35000 and again.conflict["submitted"]["quantity"] == 70000
    share = {t["quota"].split("#")[1]: t["quantity"] for t in m.ledger.totals()}["g42-approval-2025-11"]
    assert share == 35000 * GB300_TPP  # not 35,000 - 35,000 + 70,000, and never negative


def test_a_reused_id_is_a_conflict_on_the_command_line(cli: Callable[..., Run], tmp_path: Path) -> None:
    lines = [json.dumps({**G42, "id": "po-1", "quantity": q}) for q in (35000, 70000)]
    run = cli("record", "-", "--ledger", str(tmp_path / "l.sqlite"), "--quotas", "-f", "json",
              stdin="\n".join(lines) + "\n")
    assert run.code == ExitCode.INVALID
    second = run.lines()[1]
    assert second["recorded"] is False and second["conflict"]["submitted"]["quantity"] == 70000


@pytest.mark.parametrize("variant", [
    {"buyer": {"name": "G42 Ltd.", "country": "AE"}},
    {"buyer": {"name": "g42", "country": "AE"}},
    {"buyer": {"name": "G42", "country": "AE"}},
    {"buyer": {"name": "Desert Reseller LLC", "country": "AE"}, "end_user": {"name": "G42", "country": "AE"}},
])
def test_quota_keys_are_party_identities_not_strings(tmp_path: Path, engine: exportrules.Engine,
                                                     variant: dict[str, Any]) -> None:
    m = Monitor(engine, Ledger(tmp_path / "l.sqlite"), quotas=True)
    assert m.record({**G42, "id": "all-of-it", "quantity": 35000}).recorded
    more = m.record({**G42, **variant, "id": "one-more", "quantity": 1})
    assert not more.recorded and more.verdict.outcome is Outcome.BLOCKED
    assert any(r.rule == "g42-approval-2025-11" and r.effect is Outcome.BLOCKED for r in more.verdict.reasons)


def test_eight_threads_sharing_one_monitor_never_overshoot(tmp_path: Path, engine: exportrules.Engine) -> None:
    for rnd in range(3):
        m = Monitor(engine, Ledger(tmp_path / f"l{rnd}.sqlite"), quotas=True)
        errors: list[BaseException] = []
        recorded: list[str] = []
        lock = threading.Lock()

        def work(k: int, m: Monitor = m, errors: list[BaseException] = errors, recorded: list[str] = recorded,
                 lock: threading.Lock = lock) -> None:
            for i in range(12):
                try:
                    r = m.record({**G42, "id": f"t{k}-{i}", "quantity": 500})
                except BaseException as exc:  # reported below
                    errors.append(exc)
                    continue
                if r.recorded:
                    with lock:
                        recorded.append(f"t{k}-{i}")

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        share = {t["quota"].split("#")[1]: t for t in m.ledger.totals()}["g42-approval-2025-11"]
        # 96 attempts of 500 against 35,000 GB300-equivalents: 70 fit
        assert share["quantity"] == 35000 * GB300_TPP == 500 * GB300_TPP * len(recorded)
        assert {r for r in recorded if m.ledger.recorded(r)} == set(recorded)


def test_reservations_count_until_released(tmp_path: Path, engine: exportrules.Engine) -> None:
    m = Monitor(engine, Ledger(tmp_path / "l.sqlite"), quotas=True)
    held = m.reserve({**G42, "id": "r1", "quantity": 30000})
    assert held.recorded and m.ledger.status("r1") == "reserved"
    assert not m.record({**G42, "id": "r2", "quantity": 6000}).recorded  # the reservation counts
    assert m.release("r1") and m.ledger.status("r1") is None
    assert m.record({**G42, "id": "r2", "quantity": 6000}).recorded
    assert m.reserve({**G42, "id": "r3", "quantity": 1000}).recorded and m.commit("r3")
    assert m.ledger.status("r3") == "recorded" and not m.release("r3")


def test_a_split_order_is_flagged_with_the_orders_that_form_it(tmp_path: Path, engine: exportrules.Engine) -> None:
    m = Monitor(engine, Ledger(tmp_path / "l.sqlite"))
    base = {"date": "2026-03-02", "item": "nvidia-h100-sxm", "destination": "DE",
            "buyer": {"name": "Example GmbH", "country": "DE"}}
    assert m.record({**base, "id": "s1", "quantity": 600}).recorded
    second = m.record({**base, "id": "s2", "quantity": 600, "date": "2026-03-10"})
    assert second.verdict.outcome is Outcome.FLAGGED and not second.recorded
    (flag,) = [r for r in second.verdict.reasons if r.rule == "split-orders"]
    assert flag.facts == ("orders s1, s2",) and "Supplement No. 3" in flag.citation
    reviewed = m.record({**base, "id": "s2", "quantity": 600, "date": "2026-03-10", "evidence": ["kyc_reviewed"]})
    assert reviewed.recorded and reviewed.verdict.outcome is Outcome.PERMITTED


def test_one_end_user_behind_several_resellers_is_flagged(tmp_path: Path, engine: exportrules.Engine) -> None:
    m = Monitor(engine, Ledger(tmp_path / "l.sqlite"))
    for i, reseller in enumerate(["Nordwind Handel GmbH", "Ostsee Vertrieb GmbH", "Rheinland Distribution GmbH"]):
        r = m.record({**DE, "id": f"f{i}", "quantity": 10, "buyer": {"name": reseller, "country": "DE"},
                      "end_user": {"name": "Hidden Lab GmbH", "country": "DE"}})
        assert r.recorded is (i < 2)
    assert "reseller-fanout" in r.verdict.reason_ids()


# ------------------------------------------------------------------ licences are records


def test_placeholder_and_blank_licences_are_input_errors(engine: exportrules.Engine) -> None:
    for bad in ["", "N/A", "pending", "  ", "none"]:
        with pytest.raises(TransactionInvalid, match=r"licences\.0"):
            engine.judge({**DE, "destination": "CN", "licences": [bad]})
    with pytest.raises(TransactionInvalid, match="not a well-formed licence number of US"):
        engine.judge({**DE, "destination": "CN", "licences": ["applied for, see email"]})


def test_a_licence_of_a_jurisdiction_no_ruleset_covers_is_pointed_out(engine: exportrules.Engine) -> None:
    v = engine.judge({**DE, "item": "nvidia-h100-sxm", "destination": "CN", "licences": ["DE:BAFA-2024-1"]})
    assert v.outcome is Outcome.BLOCKED  # a German licence clears nothing under US rules
    (note,) = [r for r in v.reasons if r.rule == "unused-licence"]
    assert "DE:BAFA-2024-1" in note.message and note.effect is None


def test_a_licence_without_a_register_is_an_assertion_and_says_so(engine: exportrules.Engine) -> None:
    v = engine.judge({**DE, "item": "nvidia-h100-sxm", "destination": "CN", "licences": ["D7654321"]})
    assert v.outcome is Outcome.PERMITTED
    (note,) = [r for r in v.reasons if r.rule == "unverified-licence"]
    assert "D7654321" in note.message and "not checked" in note.message


def _register(**over: Any) -> LicenceRegister:
    record = {"number": "D7654321", "destinations": ["CN"], "items": ["nvidia-h100-sxm"], "quantity": 100,
              "valid_from": "2024-01-01", "valid_until": "2025-12-31", "conditions": ["no reexport"], **over}
    return LicenceRegister([LicenceRecord.model_validate(record)])


def test_a_registered_licence_clears_only_what_it_covers() -> None:
    engine = exportrules.load(licences=_register())
    tx = {**DE, "item": "nvidia-h100-sxm", "destination": "CN", "licences": ["D7654321"], "quantity": 10}
    ok = engine.judge(tx)
    assert ok.outcome is Outcome.PERMITTED and "licence-conditions" in ok.reason_ids()
    for change, why in [({"destination": "RU"}, "does not cover destination RU"),
                        ({"date": "2026-02-01"}, "not valid on 2026-02-01"),
                        ({"item": "nvidia-h200"}, "does not cover the item"),
                        ({"quantity": 101}, "has 100 of 100 units left"),
                        ({"licences": ["D0000001"]}, "not in the licence register")]:
        v = engine.judge({**tx, **change})
        assert v.outcome is not Outcome.PERMITTED, change
        assert any(why in r.message for r in v.reasons if r.kind == "input"), (change, v.reason_ids())


def test_strict_licences_clear_nothing_without_a_register() -> None:
    v = exportrules.load(strict_licences=True).judge({**DE, "item": "nvidia-h100-sxm", "destination": "CN",
                                                      "licences": ["D7654321"]})
    assert v.outcome is Outcome.BLOCKED and "licence-not-clearing" in v.reason_ids()


def test_the_monitor_depletes_a_registered_licence(tmp_path: Path) -> None:
    engine = exportrules.load(licences=_register())
    m = Monitor(engine, Ledger(tmp_path / "l.sqlite"))
    tx = {**DE, "item": "nvidia-h100-sxm", "destination": "CN", "licences": ["D7654321"]}
    assert m.record({**tx, "id": "l1", "quantity": 60}).recorded
    over = m.record({**tx, "id": "l2", "quantity": 50})
    assert not over.recorded and over.verdict.outcome is Outcome.BLOCKED
    assert any("has 40 of 100 units left" in r.message for r in over.verdict.reasons)
    assert m.record({**tx, "id": "l3", "quantity": 40}).recorded
    assert {t["quota"]: t["quantity"] for t in m.ledger.totals()}["licence:US:D7654321"] == 100


def test_licences_under_eight_threads_never_overshoot(tmp_path: Path) -> None:
    register = _register(quantity=1000, valid_until=None)
    engine = exportrules.load(licences=register)
    m = Monitor(engine, Ledger(tmp_path / "l.sqlite"))
    tx = {**DE, "item": "nvidia-h100-sxm", "destination": "CN", "licences": ["D7654321"],
          "evidence": ["kyc_reviewed"]}  # many small orders from one buyer: the split-order pattern was reviewed
    recorded: list[bool] = []

    def work(k: int) -> None:
        for i in range(10):
            recorded.append(m.record({**tx, "id": f"t{k}-{i}", "quantity": 30}).recorded)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(recorded) == 33  # 80 attempts of 30 against 1,000 units: 33 fit
    assert {t["quota"]: t["quantity"] for t in m.ledger.totals()}["licence:US:D7654321"] == 990
    register.add(LicenceRecord.model_validate({"number": "D7654321", "destinations": ["CN"], "quantity": 2000,
                                               "valid_from": "2024-01-01"}))
    assert m.record({**tx, "id": "after-amendment", "quantity": 30}).recorded


def _licence_writer(ledger: str, register: str, worker: int) -> None:
    m = Monitor(exportrules.load(licences=register), Ledger(ledger))
    for i in range(12):
        m.record({**DE, "item": "nvidia-h100-sxm", "destination": "CN", "licences": ["D7654321"],
                  "evidence": ["kyc_reviewed"], "id": f"p{worker}-{i}", "quantity": 25})


def test_four_processes_never_overshoot_a_licence(tmp_path: Path) -> None:
    import multiprocessing

    register = tmp_path / "register.yaml"
    register.write_text("- {number: D7654321, destinations: [CN], quantity: 1000, valid_from: 2024-01-01}\n", "utf-8")
    ledger = tmp_path / "l.sqlite"
    Ledger(ledger).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_licence_writer, args=(str(ledger), str(register), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    totals = {t["quota"]: t for t in Ledger(ledger).totals()}
    # 48 attempts of 25 against 1,000 units: exactly 40 fit, whatever the interleaving
    assert totals["licence:US:D7654321"]["quantity"] == 1000
    assert totals["licence:US:D7654321"]["shipments"] == 40


def test_a_full_ledger_is_a_ledger_error_and_records_nothing(tmp_path: Path, engine: exportrules.Engine) -> None:
    led = Ledger(tmp_path / "l.sqlite")
    m = Monitor(engine, led)
    pages = led._db.execute("PRAGMA page_count").fetchone()[0]
    led._db.execute(f"PRAGMA max_page_count={pages}")  # the disk is full from here on
    with pytest.raises(LedgerError, match="full"):
        for i in range(2000):
            m.record({**DE, "id": f"fill-{i}", "buyer": {"name": f"Buyer {i} " + "x" * 200, "country": "DE"}})
    failed = f"fill-{i}"
    led._db.execute("PRAGMA max_page_count=1073741823")
    assert not led.recorded(failed) and led.check() == "ok"


def test_a_placeholder_licence_on_one_line_does_not_stop_the_batch(cli: Callable[..., Run]) -> None:
    lines = [json.dumps({**DE, "id": "a", "licences": ["pending"]}), json.dumps({**DE, "id": "b"})]
    run = cli("judge", "-", "-f", "json", stdin="\n".join(lines) + "\n")
    assert run.code == ExitCode.INVALID
    out = run.lines()
    assert out[0]["line"] == 1 and "licences.0" in out[0]["diagnostics"][0]["message"]
    assert out[1]["transaction_id"] == "b"


def test_a_register_file_is_read_and_its_errors_named(tmp_path: Path) -> None:
    good = tmp_path / "reg.yaml"
    good.write_text("licences:\n  - {number: D1111111, destinations: [CN], valid_from: 2024-01-01}\n", "utf-8")
    assert len(exportrules.load(licences=good).licensing.register or ()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {number: D1, valid_from: someday}\n", "utf-8")
    with pytest.raises(TransactionInvalid, match="licence 1: `valid_from`"):
        exportrules.load(licences=bad)


# ------------------------------------------------------------------ inputs never pass malformed


@pytest.mark.parametrize("date", ["24-06-01", "2026", "March 2026", "٢٠٢٦-٠٣-٠١", "9999-12-31", "06/03/2026"])
def test_incomplete_or_ambiguous_dates_are_input_errors(engine: exportrules.Engine, date: str) -> None:
    with pytest.raises(TransactionInvalid, match="date"):
        engine.judge({**DE, "date": date})


def test_a_homoglyph_does_not_hide_a_listed_name(engine: exportrules.Engine) -> None:
    v = engine.judge({**DE, "destination": "CN", "buyer": {"name": "Huаwei Technologies Co., Ltd.",  # Cyrillic а
                                                           "country": "CN"}})
    assert v.outcome is Outcome.BLOCKED
    assert {"huawei", "mixed-script-name"} <= set(v.reason_ids())


def test_a_date_before_every_ruleset_is_flagged(engine: exportrules.Engine) -> None:
    v = engine.judge({**DE, "date": "2015-01-01", "destination": "CN"})
    assert v.outcome is Outcome.FLAGGED and v.reason_ids() == ["no-rules-in-force"]
    assert engine.outcome({**DE, "date": "2015-01-01"}) is Outcome.FLAGGED


def test_duplicate_json_keys_are_an_error_naming_the_key(cli: Callable[..., Run]) -> None:
    text = '{"date":"2024-06-01","item":"nvidia-h100-sxm","destination":"CN","destination":"DE"}'
    run = cli("judge", "-", "-f", "json", stdin=text)
    assert run.code == ExitCode.INVALID and "duplicate key `destination`" in run.out


def test_bad_json_lines_of_every_kind_are_reported_and_the_rest_judged(cli: Callable[..., Run]) -> None:
    good = json.dumps({**DE, "id": "ok-1"})
    lines = [good, '{"id": "big", "quantity": ' + "9" * 5000 + "}", "[" * 20000,
             json.dumps({**DE, "id": "ok-2", "buyer": {"name": "Line\u2028Sep GmbH", "country": "DE"}},
                        ensure_ascii=False)]
    run = cli("judge", "-", "-f", "json", stdin="\n".join(lines) + "\n")
    assert run.code == ExitCode.INVALID
    out = run.lines()
    assert [o.get("transaction_id") for o in out if "outcome" in o] == ["ok-1", "ok-2"]
    assert [o["line"] for o in out if "error" in o] == [2, 3]


def test_record_reports_a_line_without_an_id_and_records_the_rest(cli: Callable[..., Run], tmp_path: Path) -> None:
    lines = [json.dumps({**DE, "id": "a"}), json.dumps(DE), json.dumps({**DE, "id": "c"})]
    run = cli("record", "-", "--ledger", str(tmp_path / "l.sqlite"), stdin="\n".join(lines) + "\n")
    assert run.code == ExitCode.INVALID and "line 2" in run.err and "`id` is required" in run.err
    assert Ledger(tmp_path / "l.sqlite").recorded("c")


def test_cli_json_is_the_verdicts_own_json(cli: Callable[..., Run], engine: exportrules.Engine) -> None:
    tx = {**DE, "id": "po:100:fire:"}
    run = cli("judge", "-", "-f", "json", stdin=json.dumps(tx))
    assert run.out == engine.judge(tx).to_json() + "\n"
    assert '"po:100:fire:"' in run.out


def test_verdicts_are_the_same_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(json.dumps({**DE, "id": f"x{i}", "destination": d, "buyer": {"name": n, "country": d}})
                              for i, (d, n) in enumerate([("CN", "Hauwei Technologies"), ("MY", "Plain Sdn Bhd"),
                                                          ("RU", "Zhipu AI"), ("HK", "Example Ltd")])) + "\n")
    outs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "exportrules", "judge", str(path), "-f", "json"],
                              capture_output=True, text=True, env=env)
        outs.append(done.stdout)
    assert outs[0] and outs[0] == outs[1]


# ------------------------------------------------------------------ rulesets cannot trap the tool


HEADER = "ruleset: t/x\njurisdiction: US\nversion: 2024-01-01\neffective: 2024-01-01\ncitation: c\n"


def _rules(tmp_path: Path, body: str, name: str = "2024-01-01.yaml") -> Path:
    folder = tmp_path / "rules" / "t" / "x"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(HEADER + body, encoding="utf-8")
    return tmp_path / "rules"


def test_a_far_future_date_is_a_located_error_not_a_crash(tmp_path: Path) -> None:
    root = _rules(tmp_path, "controls:\n  - {id: c, when: {destination: CN}, requires: licence, citation: c, "
                            "until: 9999-12-31}\n")
    with pytest.raises(RulesetInvalid) as info:
        exportrules.load(root)
    (d,) = info.value.diagnostics
    assert d.code == "invalid-date" and d.span is not None and d.span.line == 7


def test_deep_nesting_is_a_located_error(tmp_path: Path) -> None:
    cond = "{destination: CN}"
    for _ in range(300):
        cond = "{not: " + cond + "}"
    root = _rules(tmp_path, f"controls:\n  - id: c\n    when: {cond}\n    requires: licence\n    citation: c\n")
    with pytest.raises(RulesetInvalid) as info:
        exportrules.load(root)
    assert [d.code for d in info.value.diagnostics] == ["nesting-limit"]
    assert info.value.diagnostics[0].span is not None and info.value.diagnostics[0].span.line == 8


def test_a_symlink_out_of_the_directory_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n", "utf-8")
    root = _rules(tmp_path, "")
    (root / "t" / "x" / "2024-02-01.yaml").symlink_to(secret)
    with pytest.raises(RulesetInvalid) as info:
        exportrules.load(root)
    assert [d.code for d in info.value.diagnostics] == ["outside-directory"]
    assert "hunter2" not in str(info.value)


def test_an_empty_file_is_named(tmp_path: Path) -> None:
    root = _rules(tmp_path, "")
    (root / "t" / "x" / "2024-03-01.yaml").write_text("", "utf-8")
    with pytest.raises(RulesetInvalid, match=r"t/x/2024-03-01\.yaml"):
        exportrules.load(root)


def test_a_schema_error_does_not_hide_a_condition_error(tmp_path: Path) -> None:
    root = _rules(tmp_path, "bogus_key: 1\ncontrols:\n  - {id: c, when: {destinaton: CN}, requires: licence, "
                            "citation: c}\n")
    with pytest.raises(RulesetInvalid) as info:
        exportrules.load(root)
    codes = {d.code for d in info.value.diagnostics}
    assert {"unknown-field", "invalid-condition"} <= codes


def test_a_version_file_in_the_wrong_place_is_pointed_out(tmp_path: Path) -> None:
    root = _rules(tmp_path, "", name="2024-05-05.yaml")
    warnings = exportrules.load_catalog(root)[1].warnings
    assert [w.code for w in warnings] == ["path-mismatch"]


# ------------------------------------------------------------------ the ledger fails loudly and safely


def test_a_file_that_is_not_a_ledger_is_a_ledger_error(tmp_path: Path, cli: Callable[..., Run],
                                                       engine: exportrules.Engine) -> None:
    path = tmp_path / "l.sqlite"
    path.write_bytes(b"this is not a ledger" * 100)
    with pytest.raises(LedgerError, match="cannot open it"):
        Monitor(engine, Ledger(path))
    run = cli("record", "-", "--ledger", str(path), stdin=json.dumps({**DE, "id": "third"}))
    assert run.code == ExitCode.LEDGER and "ledger-failure" in run.err
    assert path.read_bytes() == b"this is not a ledger" * 100


def test_a_ledger_opened_read_only_refuses_to_record(tmp_path: Path, engine: exportrules.Engine) -> None:
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    with pytest.raises(LedgerError, match="read-only"):
        Monitor(engine, Ledger.open_readonly(path)).record({**DE, "id": "second"})
    with pytest.raises(LedgerError, match="cannot open it"):
        Ledger.open_readonly(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()


def test_a_locked_ledger_times_out_as_a_ledger_error(tmp_path: Path, engine: exportrules.Engine) -> None:
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    m = Monitor(engine, Ledger(path, timeout=0.2))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(LedgerError, match="cannot write"):
            m.record({**DE, "id": "blocked-by-lock"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not Ledger(path).recorded("blocked-by-lock")


def test_the_ledger_command_never_changes_a_file(tmp_path: Path, cli: Callable[..., Run],
                                                 engine: exportrules.Engine) -> None:
    path = tmp_path / "l.sqlite"
    led = Ledger(path)
    Monitor(engine, led).record({**G42, "id": "one", "quantity": 10})
    led.close()
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    run = cli("ledger", str(path), "-f", "json")
    assert run.code == ExitCode.OK and run.json()["integrity"] == "ok"
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert after == before
    plain = tmp_path / "not-a-ledger.sqlite"
    plain.write_bytes(b"")
    assert cli("ledger", str(plain)).code in (ExitCode.LEDGER, ExitCode.INTERNAL)
    assert plain.read_bytes() == b""




def test_writers_killed_at_random_points_never_leave_half_an_order(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    rnd = random.Random(3)
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(path), str(round_ * 100000)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rnd.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    ledger = Ledger(path)
    assert ledger.check() == "ok"
    db = sqlite3.connect(path)
    orders = {r[0] for r in db.execute("SELECT tx_id FROM orders")}
    per_tx = db.execute("SELECT tx_id, COUNT(*), SUM(quantity) FROM shipments GROUP BY tx_id").fetchall()
    db.close()
    assert orders == {t for t, _, _ in per_tx}  # an order and its counts are written together or not at all
    # three quota rows (3 units, 3 units, 3 GB300s in TPP), never a part
    assert {(n, q) for _, n, q in per_tx} <= {(3, 3 + 3 + 3 * GB300_TPP)}


def test_sharing_one_engine_is_documented() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "**Threads.**" in text and "licence register" in text.lower()
