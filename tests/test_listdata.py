"""Party lists kept as JSON Lines beside a ruleset: loaded, dated, located, and never a date-state each."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import exportrules
from exportrules import Outcome, RulesetInvalid

HEADER = ("ruleset: big/list\njurisdiction: US\nversion: 2000-01-01\neffective: 2000-01-01\ncitation: test\n"
          "parties_from: [parties.jsonl]\n")


def _write(root: Path, n: int, dates: int, extra: str = "") -> Path:
    folder = root / "big" / "list"
    folder.mkdir(parents=True)
    start = dt.date(2000, 1, 1)
    lines = [json.dumps({"id": f"p{i}", "names": [f"Listed Party {i} Holdings"], "country": "CN",
                         "listed": (start + dt.timedelta(days=i % dates)).isoformat(), "effect": "licence",
                         "citation": "test"}) for i in range(n)]
    (folder / "parties.jsonl").write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    (folder / "2000-01-01.yaml").write_text(HEADER, encoding="utf-8")
    return root


def _tx(name: str, day: str) -> dict[str, object]:
    return {"date": day, "item": {"tpp": 100, "datacenter": False}, "destination": "DE",
            "buyer": {"name": name, "country": "DE"}}


def test_listed_parties_from_a_data_file_take_effect_on_their_listing_dates(tmp_path: Path) -> None:
    engine = exportrules.load(_write(tmp_path, 3000, 1000))
    # p1500 is listed on 2000-01-01 + 500 days = 2001-05-15 (2000 is a leap year)
    before = engine.judge(_tx("Listed Party 1500 Holdings", "2001-05-14"))
    on = engine.judge(_tx("LISTED PARTY 1500 HOLDINGS LTD", "2001-05-15"))
    assert "p1500" not in before.reason_ids()
    assert on.outcome is Outcome.BLOCKED and "p1500" in on.reason_ids()
    assert next(r.source for r in on.reasons if r.rule == "p1500").endswith("parties.jsonl:1501:1")
    # 1,000 listing dates, one compiled date-state: listings live in the dated index
    assert engine.compiler.compiled == 1
    assert len(engine.compiler.change_dates) >= 1000
    # a timeline still sees the listing date
    dates = [d for d, _ in engine.timeline(_tx("Listed Party 1500 Holdings", "2001-01-01"), "2001-01-01",
                                           "2001-12-31")]
    assert dt.date(2001, 5, 15) in dates


def test_the_hash_follows_the_list_file(tmp_path: Path) -> None:
    first = exportrules.load(_write(tmp_path / "a", 10, 5)).rulesets()[0].sha256
    same = exportrules.load(_write(tmp_path / "b", 10, 5)).rulesets()[0].sha256
    other = exportrules.load(_write(tmp_path / "c", 11, 5)).rulesets()[0].sha256
    assert first == same != other


def test_a_bad_line_is_reported_at_its_line_naming_the_field(tmp_path: Path) -> None:
    root = _write(tmp_path, 5, 5, extra='{"id": "bad", "names": ["X"], "listed": "someday", "effect": "licence", '
                                        '"citation": "t"}\n')
    with pytest.raises(RulesetInvalid) as info:
        exportrules.load(root)
    text = str(info.value)
    assert "parties.jsonl:6" in text and "listed" in text


def test_a_list_file_outside_the_directory_is_refused(tmp_path: Path) -> None:
    root = _write(tmp_path / "rules", 2, 2)
    (tmp_path / "outside.jsonl").write_text("", encoding="utf-8")
    (root / "big" / "list" / "2000-01-01.yaml").write_text(HEADER.replace("parties.jsonl", "../../../outside.jsonl"),
                                                          encoding="utf-8")
    with pytest.raises(RulesetInvalid, match="outside the ruleset directory"):
        exportrules.load(root)
