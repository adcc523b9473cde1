"""Pictures: timeline and ledger charts, the batch report, and a verdict in a notebook."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import exportrules
from exportrules.monitor import Ledger, Monitor

from .conftest import ROOT, Run

SVG = "{http://www.w3.org/2000/svg}"
H200_CN = ROOT / "examples" / "h200-to-china-jan-2026-conditions.json"


def svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()  # well-formed SVG, or this raises
    assert root.tag == f"{SVG}svg"
    return " ".join(t.text or "" for t in root.iter(f"{SVG}text"))


def test_timeline_plot_labels_each_change_with_its_rule(cli: Callable[..., Run], tmp_path: Path,
                                                         engine: exportrules.Engine) -> None:
    out = tmp_path / "t.svg"
    run = cli("timeline", str(H200_CN), "--from", "2022-10-01", "--to", "2026-12-31", "--plot", str(out))
    assert run.code == 0, run.err
    text = svg_text(out)
    for label in ("permitted", "flagged", "blocked", "overall", "US", "CN"):
        assert label in text
    # 15 CFR 744.23 / 742.6(a)(6): China licensing from 2022-10-07 (87 FR 62186) is the first change.
    assert "2022-10-07: ac-china" in text
    # China's customs guidance of 2025-10-10 (cn-customs-crackdown) turns CN from permitted to flagged.
    assert "2025-10-10: cn-customs-crackdown" in text
    png = tmp_path / "t.png"
    assert cli("timeline", str(H200_CN), "--plot", str(png)).code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli("timeline", str(H200_CN), "--plot", str(tmp_path / "t.gif")).code == 3


def test_ledger_plot_shows_use_against_the_limit(cli: Callable[..., Run], tmp_path: Path,
                                                 engine: exportrules.Engine) -> None:
    path = tmp_path / "ledger.sqlite"
    monitor = Monitor(engine, Ledger(path), quotas=True)
    g42 = {"date": "2025-12-01", "item": "nvidia-gb300", "destination": "AE", "buyer": {"name": "G42", "country": "AE"},
           "licences": ["D1234567"], "evidence": ["kyc_reviewed"]}
    assert monitor.record({**g42, "id": "a", "quantity": 30000}).recorded
    monitor.ledger.close()
    out = tmp_path / "l.svg"
    run = cli("ledger", str(path), "--plot", str(out))
    assert run.code == 0, run.err
    text = svg_text(out)
    # The G42 approval: the compute of 35,000 GB300s in all (us-uae/ai-partnership, 2025-11), counted in TPP
    # (the catalogue's GB300: 60,000 TPP).
    assert "1,800,000,000 of 2,100,000,000 TPP (86%)" in text
    # The partnership's 500,000 a year for the UAE.
    assert "30,000 of 500,000 (6%)" in text


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}
        self._stack: list[str | None] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack.append(dict(attrs).get("id"))
        if tag == "script":
            raise AssertionError("the report must hold no scripts")

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for i in self._stack:
            if i:
                self.ids[i] = self.ids.get(i, "") + data


def test_report_from_orders_and_from_a_batch_output(cli: Callable[..., Run], tmp_path: Path) -> None:
    orders = ROOT / "examples" / "purchase_orders.csv"
    out = tmp_path / "r.html"
    assert cli("report", str(orders), "-o", str(out)).code == 0
    page = _Text()
    page.feed(out.read_text())
    blocked = page.ids["blocked-orders"]
    assert "PO-1002" in blocked and "PO-1005" in blocked
    assert "15 CFR 744.23(a)(3)" in blocked
    assert "PO-1004" in page.ids["flagged-orders"]
    text = out.read_text()
    assert "<svg" in text  # self-contained: charts inline, nothing fetched
    assert not any(f'{attr}="http' in text for attr in ("src", "href", ":href")) and "<link" not in text
    batch_out = tmp_path / "o.parquet"
    cli("batch", str(orders), "-o", str(batch_out))
    again = tmp_path / "r2.html"
    assert cli("report", str(batch_out), "-o", str(again)).code == 0
    other = _Text()
    other.feed(again.read_text())
    assert other.ids["blocked-orders"] == blocked
    assert cli("report", str(tmp_path / "none.csv")).code == 3


def test_verdict_html_for_notebooks(engine: exportrules.Engine) -> None:
    v = engine.judge({"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "CN",
                      "buyer": {"name": "A <b>Co</b>", "country": "CN"}})
    html = v._repr_html_()
    assert "blocked" in html and any(r.rule in html for r in v.reasons)
    assert "<b>Co</b>" not in html  # escaped
    page = _Text()
    page.feed(html)
    assert all(r.citation in "".join(page.text) for r in v.reasons if r.citation)
