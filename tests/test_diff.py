"""`exportrules diff`: rule changes between versions and the transactions that flip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import exportrules
from exportrules.diff import flips, rule_changes

from .conftest import ROOT, Run


def test_rule_changes_of_the_april_2024_amendment() -> None:
    catalog = exportrules.load().catalog
    changes = {(c.section, c.id): c for c in rule_changes(catalog.get("us-ear/advanced-computing@2023-11-17"),
                                                           catalog.get("us-ear/advanced-computing@2024-04-04"))}
    assert changes[("classifications", "4A090.b")].change == "added"
    assert changes[("authorizations", "aca")].change == "added"
    assert changes[("controls", "ac-d1-d4")].change == "changed"
    assert "classes" in changes[("controls", "ac-d1-d4")].fields
    # the no-notification D:1/D:4 branch of NAC becomes License Exception ACA (ear-beyond-advanced-computing.md §4)
    assert changes[("authorizations", "nac-d1-d4")].change == "removed"
    assert changes[("authorizations", "nac")].fields == ("citation", "note", "when")


def test_flips_between_versions(tmp_path: Path) -> None:
    catalog = exportrules.load().catalog
    old = exportrules.Engine(catalog.pinned("us-ear/advanced-computing@2023-11-17"))
    new = exportrules.Engine(catalog.pinned("us-ear/advanced-computing@2024-04-04"))
    rtx_vn = {"date": "2024-06-01", "item": "nvidia-rtx-4090", "destination": "VN",
              "buyer": {"name": "Hanoi Games JSC", "country": "VN"}}
    h100_de = {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "DE",
               "buyer": {"name": "Example GmbH", "country": "DE"}}
    server = {"date": "2024-06-01", "destination": "CN", "buyer": {"name": "Example Cloud Co", "country": "CN"},
              "item": {"kind": "computer", "name": "8-GPU server", "vendor": "Example Vendor", "tpp": 3000,
                       "performance_density": 4.0, "datacenter": True}}
    found = flips(old, new, [rtx_vn, h100_de, server])
    # 4A090.b (April 2024) catches a computer built on a 3A090.b-class IC; NAC's D:1/D:4 branch without a
    # notification simply became ACA, so the RTX 4090 to Vietnam does not flip
    assert [(f.transaction["item"]["name"], f.old.outcome.value, f.new.outcome.value) for f in found] == [
        ("8-GPU server", "permitted", "flagged")]


def test_diff_command(cli: Callable[..., Run]) -> None:
    run = cli("diff", "us-ear/advanced-computing@2025-05-13", "us-ear/advanced-computing@2026-01-15",
              "--transactions", str(ROOT / "examples" / "orders.jsonl"), "--format", "json")
    assert run.code == 0, run.err
    report = run.json()
    assert report["rule_changes"] == [{"section": "review_policies", "id": "jan-2026-case-by-case",
                                       "change": "added", "fields": []}]
    assert report["transactions"] == 4 and report["flips"] == []
    bad = cli("diff", "us-ear/advanced-computing@1999-01-01", "us-ear/advanced-computing@2026-01-15")
    assert bad.code == 3 and "no version `1999-01-01`" in bad.err


def test_diff_against_a_proposed_directory(cli: Callable[..., Run], tmp_path: Path) -> None:
    import shutil

    proposed = tmp_path / "rulesets"
    shutil.copytree(exportrules.bundled_rulesets_dir(), proposed)
    target = proposed / "us-ear/entity-list/2019-05-16.yaml"
    target.write_text(target.read_text(encoding="utf-8").replace(
        "  - {id: sophgo, names: [Sophgo], country: CN, listed: 2025-01-16, effect: licence,",
        "  - {id: sophgo, names: [Sophgo], country: CN, listed: 2025-01-16, effect: prohibited,"), encoding="utf-8")
    tx = tmp_path / "tx.json"
    tx.write_text('{"date": "2026-03-01", "item": "nvidia-h20", "destination": "SG", '
                  '"buyer": {"name": "Sophgo", "country": "SG"}, "licences": ["D1"]}', encoding="utf-8")
    run = cli("diff", "--against", str(proposed), "--transactions", str(tx), "--as-of", "2026-03-01",
              "--format", "json")
    report = run.json()
    assert report["rule_changes"] == [{"section": "parties", "id": "sophgo", "change": "changed",
                                       "fields": ["effect"]}]
    assert [(f["old"]["outcome"], f["new"]["outcome"]) for f in report["flips"]] == [("permitted", "blocked")]
