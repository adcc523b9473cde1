"""Bad transactions: a clear error naming the field, never a permitted verdict."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from exportrules import Outcome, TransactionInvalid, parse_transaction
from exportrules.cli import ExitCode
from exportrules.transaction import parse_date

from .conftest import Run

GOOD: dict[str, Any] = {
    "date": "2024-06-01",
    "item": {"name": "H100-class", "tpp": 15832, "performance_density": 19.4, "datacenter": True},
    "destination": "DE",
    "buyer": {"name": "Acme GmbH", "country": "DE"},
}


def with_(**changes: Any) -> dict[str, Any]:
    tx = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if value is None:
            tx.pop(key, None)
        else:
            tx[key] = value
    return tx


BAD = [
    ("missing date", with_(date=None), "date", "is required"),
    ("unknown country", with_(destination="XX"), "destination", "not an ISO 3166-1"),
    ("negative quantity", with_(quantity=-5), "quantity", "greater than or equal to 1"),
    ("tpp not a number", with_(item={"name": "x", "tpp": "abc"}), "item.tpp", "valid number"),
    ("bad buyer country", with_(buyer={"name": "A", "country": "Germany"}), "buyer.country", "not an ISO"),
    ("ambiguous date", with_(date="03/04/2026"), "date", "ambiguous"),
    ("unknown key", with_(destinaton="DE"), "destinaton", "is not a known field of a transaction"),
    ("unknown item key", with_(item={"name": "x", "tdp": 5}), "item.tdp", "is not a known field"),
    ("empty item id", with_(item=""), "item", "at least 1 character"),
]


@pytest.mark.parametrize(("name", "tx", "field", "text"), BAD, ids=[b[0] for b in BAD])
def test_bad_transaction_names_the_field(name: str, tx: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(TransactionInvalid) as exc:
        parse_transaction(tx)
    fields = {d.path: d.message for d in exc.value.diagnostics}
    assert field in fields, fields
    assert text in fields[field]


@pytest.mark.parametrize(("name", "tx", "field", "text"), BAD, ids=[b[0] for b in BAD])
def test_bad_transaction_on_the_cli_exits_invalid(
    cli: Callable[..., Run], name: str, tx: dict[str, Any], field: str, text: str
) -> None:
    run = cli("judge", "-", "--format", "json", stdin=json.dumps(tx))
    assert run.code == ExitCode.INVALID
    payload = run.json()
    assert payload["error"] == "invalid-transaction"
    assert any(d["path"] == field for d in payload["diagnostics"])
    assert "permitted" not in run.out


def test_unknown_catalogue_id_is_flagged_not_permitted(engine: Any) -> None:
    v = engine.judge(with_(item="nvidia-h900"))
    assert v.outcome is Outcome.FLAGGED
    (reason,) = [r for r in v.reasons if r.rule == "unknown-item"]
    assert reason.source == "item"
    assert "did you mean `nvidia-h800`?" in reason.message


def test_json_lines_bad_line_in_the_middle(cli: Callable[..., Run]) -> None:
    lines = [
        json.dumps(with_(id="a")),
        "{not json",
        json.dumps(with_(id="c", destination="CN", buyer={"name": "B", "country": "CN"})),
        json.dumps(with_(id="d", quantity=0)),
    ]
    run = cli("judge", "-", "--format", "json", stdin="\n".join(lines) + "\n")
    assert run.code == ExitCode.INVALID
    out = run.lines()
    assert [o.get("transaction_id") or o.get("line") for o in out] == ["a", 2, "c", 4]
    assert out[0]["outcome"] == "permitted"
    assert out[2]["outcome"] == "blocked"
    assert out[1]["error"] == "invalid-transaction" and "not valid JSON" in out[1]["diagnostics"][0]["message"]
    assert out[3]["diagnostics"][0]["path"] == "quantity"
    assert "line 4" in out[3]["diagnostics"][0]["message"]


def test_json_lines_text_errors_name_the_line(cli: Callable[..., Run]) -> None:
    run = cli("judge", "-", stdin=json.dumps(with_()) + "\n" + json.dumps(with_(destination="XX")) + "\n")
    assert run.code == ExitCode.INVALID
    assert "line 2: `destination`" in run.err
    assert "Traceback" not in run.err


@pytest.mark.parametrize(("text", "want"), [
    ("2026-03-01", dt.date(2026, 3, 1)),
    ("1 March 2026", dt.date(2026, 3, 1)),
    ("March 1, 2026", dt.date(2026, 3, 1)),
    ("2026-03-01T10:00:00", dt.date(2026, 3, 1)),
    ("13/04/2026", dt.date(2026, 4, 13)),
])
def test_looser_dates_are_read_when_unambiguous(text: str, want: dt.date) -> None:
    assert parse_date(text) == want


@pytest.mark.parametrize("text", ["03/04/2026", "04.03.2026", "soon", "", "March 2"])
def test_ambiguous_or_bad_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_country_codes_are_normalised_to_upper_case() -> None:
    tx = parse_transaction(with_(destination="de"))
    assert tx.destination == "DE"


def test_usage_errors_exit_2_without_a_traceback(cli: Callable[..., Run]) -> None:
    for argv in (["bogus"], ["judge", "--format", "xml", "x.json"]):
        run = cli(*argv)
        assert run.code == ExitCode.USAGE
        assert "Traceback" not in run.err and "internal error" not in run.err


def test_an_evidence_name_no_rule_reads_is_pointed_out(engine: Any) -> None:
    v = engine.judge(with_(item="nvidia-rtx-4090", destination="CN", buyer={"name": "Shop", "country": "CN"},
                           evidence=["nac_notificaton"]))
    assert v.outcome is Outcome.FLAGGED  # the misspelt notification does not count
    (note,) = [r for r in v.reasons if r.rule == "unused-evidence"]
    assert note.effect is None and "did you mean `nac_notification`?" in note.message
