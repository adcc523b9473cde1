"""The examples directory: realistic transactions and the procurement check script."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from exportrules.cli import ExitCode

from .conftest import ROOT, Run

EXAMPLES = ROOT / "examples"

# Expected outcomes follow the facts each example is drawn from (see the corpus cases for sources).
EXPECTED = {
    "h100-to-germany.json": ("permitted", {"US": "permitted"}),
    "h200-to-china-jan-2026-conditions.json": ("blocked", {"US": "blocked", "CN": "flagged"}),
    "h100-transhipment-malaysia.json": ("blocked", {"MY": "blocked", "US": "permitted"}),
    "ascend-910c-malaysia-datacentre.json": ("flagged", {"US": "flagged"}),
    "g42-uae-under-licence.json": ("permitted", {"US": "permitted"}),  # the caps are notices, not conditions
    "h200-malaysia-chinese-parent.json": ("blocked", {"US": "blocked"}),
    "smic-affiliate-2025.json": ("blocked", {"US": "blocked"}),
    "rtx-4090-vietnam-aca.json": ("permitted", {"US": "permitted"}),
}


def test_every_example_is_listed() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in EXAMPLES.glob("*.json"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_verdict(cli: Callable[..., Run], name: str) -> None:
    run = cli("judge", str(EXAMPLES / name), "--format", "json")
    outcome, jurisdictions = EXPECTED[name]
    verdict = run.json()
    assert verdict["outcome"] == outcome
    for j, o in jurisdictions.items():
        assert verdict["jurisdictions"][j] == o
    assert run.code == {"permitted": 0, "flagged": ExitCode.FLAGGED, "blocked": ExitCode.BLOCKED}[outcome]


def test_text_output_has_one_line_per_jurisdiction_then_overall(cli: Callable[..., Run]) -> None:
    run = cli("judge", str(EXAMPLES / "h200-to-china-jan-2026-conditions.json"), "--format", "text")
    lines = [line.strip() for line in run.out.splitlines()]
    cn, us, overall = lines.index("CN     flagged"), lines.index("US     blocked"), lines.index("overall blocked")
    assert cn < us < overall
    assert lines[overall + 1].startswith("coverage under the loaded rulesets as of 2026-")


def test_json_lines_example(cli: Callable[..., Run]) -> None:
    run = cli("judge", str(EXAMPLES / "orders.jsonl"), "--format", "json")
    out = {v["transaction_id"]: v["outcome"] for v in map(json.loads, run.out.splitlines())}
    assert out == {"jl-1": "permitted", "jl-2": "permitted", "jl-3": "blocked", "jl-4": "flagged"}
    assert run.code == ExitCode.BLOCKED


def _procurement_module() -> object:
    spec = importlib.util.spec_from_file_location("procurement_check", EXAMPLES / "procurement_check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_procurement_check_exits_non_zero_when_an_order_is_blocked(capsys: pytest.CaptureFixture[str]) -> None:
    module = _procurement_module()
    assert module.main([str(EXAMPLES / "purchase_orders.csv")]) == ExitCode.BLOCKED  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert "PO-1005" in out and "blocked" in out and "MY:blocked" in out


def test_procurement_check_passes_a_clean_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = (EXAMPLES / "purchase_orders.csv").read_text(encoding="utf-8").splitlines()
    clean = tmp_path / "ok.csv"
    clean.write_text("\n".join([rows[0], rows[1], rows[3]]) + "\n", encoding="utf-8")
    assert _procurement_module().main([str(clean)]) == ExitCode.OK  # type: ignore[attr-defined]
    upper = tmp_path / "upper.csv"  # capitalised headers, as a spreadsheet exports them
    upper.write_text("\n".join([rows[0].upper().replace("_", " "), rows[1], rows[3]]) + "\n", encoding="utf-8")
    assert _procurement_module().main([str(upper)]) == ExitCode.OK  # type: ignore[attr-defined]
    flagged = tmp_path / "flagged.csv"
    flagged.write_text("\n".join([rows[0], rows[4]]) + "\n", encoding="utf-8")
    assert _procurement_module().main([str(flagged)]) == ExitCode.FLAGGED  # type: ignore[attr-defined]
    bad = tmp_path / "bad.csv"
    bad.write_text(rows[0] + "\nPO-9,2026-03-01,nvidia-h100-sxm,1,US,XX,Acme,DE,,,,\n", encoding="utf-8")
    assert _procurement_module().main([str(bad)]) == ExitCode.INVALID  # type: ignore[attr-defined]
    assert "invalid" in capsys.readouterr().out
