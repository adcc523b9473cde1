"""`exportrules lists import`: official lists in their published layouts become dated rulesets that
validate and screen; the bundled Entity List at full scale; who counts as an owner under the
Affiliates rule."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import exportrules
from exportrules.importers import ListImportError, _FrCalendar, import_lists, notices

from .conftest import Run

FIXTURES = Path(__file__).parent / "fixtures" / "lists"
ROOT = Path(__file__).resolve().parents[1]
VINTAGE = dt.date(2026, 7, 31)


def _parties(folder: Path) -> list[dict[str, Any]]:
    (path,) = folder.rglob("parties-*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def csl_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("csl")
    import_lists(FIXTURES / "csl.csv", fmt="csl", out=out, vintage=VINTAGE)
    return out


FIGURES = {"kind": "ic", "tpp": 100, "eccn": "EAR99"}
"""An item given by its figures, for rulesets without the bundled catalogue."""


def _tx(name: str, *, date: str = "2025-06-01", country: str = "CN", item: Any = "nvidia-rtx-4090",
        **extra: Any) -> dict[str, Any]:
    return {"date": date, "item": item, "ship_from": "US", "destination": country,
            "buyer": {"name": name, "country": country}, **extra}


def test_csl_csv_and_json_layouts_give_the_same_entries(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    ra = import_lists(FIXTURES / "csl.csv", fmt="csl", out=a, vintage=VINTAGE)
    rb = import_lists(FIXTURES / "csl.json", fmt="csl", out=b, vintage=VINTAGE)
    assert _parties(a) == _parties(b)
    # the BIS lists by default; the SDN row is left out and counted
    assert ra.by_list == {"entity-list": 3, "meu-list": 1, "denied-persons": 1, "unverified-list": 1}
    assert ra.skipped_lists == {"SDN": 1} and rb.written == 6
    assert ra.vintage_from == "--vintage"
    # a CSV does not date itself: without --vintage the report says the date is today's, and why
    rc = import_lists(FIXTURES / "csl.csv", fmt="csl", out=tmp_path / "c")
    assert rc.vintage == dt.date.today() and rc.vintage_from.startswith("today")


def test_each_list_takes_its_effect_and_each_entry_its_date(csl_rules: Path) -> None:
    by_name = {p["names"][0]: p for p in _parties(csl_rules)}
    sugon = by_name["Sugon"]
    assert sugon["effect"] == "licence" and sugon["review_policy"] == "presumption_of_denial"
    assert "Dawning Information Industry" in sugon["aliases"] and sugon["country"] == "CN"
    assert sugon["footnote"] == "FN4" and "84 FR 29373" in sugon["citation"]
    # 84 FR 29373 carries no date in the list: the earliest it can be is 1 January of volume 84 (2019)
    assert sugon["listed"] == "2019-01-01" and sugon["uncertain"] is True
    # a notice the list dates itself (7/11/00) dates the entry exactly
    kal = by_name["KAL TEK LABS"]
    assert (kal["effect"], kal["list"], kal["listed"]) == ("prohibited", "denied-persons", "2000-07-11")
    assert "uncertain" not in kal
    # the list's own start date wins
    atlas = by_name["Atlas Sanatgaran"]
    assert (atlas["effect"], atlas["listed"], atlas["country"]) == ("flag", "2020-02-11", "AM")
    assert by_name["Academy of Aerospace Solid Propulsion Technology (AASPT)"]["effect"] == "flag"
    # an entry whose requirement reaches only some uses is a review flag, never a silent licence
    rosneft = by_name["Rosneft Trade Limited"]
    assert rosneft["effect"] == "flag" and "746.8(a)(4)" in rosneft["note"]
    assert by_name["Huawei Technologies Deutschland GmbH"]["footnote"] == "FN1"


def test_an_imported_ruleset_validates_and_judges(csl_rules: Path) -> None:
    engine = exportrules.load(csl_rules)
    assert engine.judge(_tx(item=FIGURES, name="Sugon")).outcome is exportrules.Outcome.BLOCKED
    # an alias, and a name in its own script spelt letter for letter
    assert engine.judge(_tx(item=FIGURES, name="Zhongke Shuguang")).outcome is exportrules.Outcome.BLOCKED
    assert engine.judge(_tx(item=FIGURES, name="Сугон")).outcome is exportrules.Outcome.BLOCKED
    # a licence clears an Entity List entry; nothing clears a denial order
    assert engine.judge(_tx(item=FIGURES, name="Sugon", licences=["D123456"])).outcome is exportrules.Outcome.PERMITTED
    denied = engine.judge(_tx(item=FIGURES, name="KAL TEK LABS", country="US", licences=["D123456"]))
    assert denied.outcome is exportrules.Outcome.BLOCKED
    # the day before the earliest listing no rule of the import is in force: flagged as such, not permitted
    before = engine.judge(_tx(item=FIGURES, name="KAL TEK LABS", country="US", date="2000-07-10"))
    assert before.outcome is exportrules.Outcome.FLAGGED and "denied-kal-tek-labs" not in before.reason_ids()
    # the Unverified List flags, before and after its start date
    assert engine.judge(_tx(item=FIGURES, name="Atlas Sanatgaran", country="AM")).outcome is exportrules.Outcome.FLAGGED
    assert engine.judge(_tx(item=FIGURES, name="Atlas Sanatgaran", country="AM", date="2020-02-10")).outcome is \
        exportrules.Outcome.PERMITTED
    assert engine.judge(_tx(item=FIGURES, name="Plain Trading Co")).outcome is exportrules.Outcome.PERMITTED


def test_ofac_sdn_layout_with_its_alias_and_address_files(tmp_path: Path) -> None:
    report = import_lists(FIXTURES / "sdn" / "sdn.csv", fmt="ofac-sdn", out=tmp_path, vintage=VINTAGE)
    assert report.by_list == {"ofac-sdn": 3}
    by_name = {p["names"][0]: p for p in _parties(tmp_path)}
    assert by_name["AEROCARIBBEAN AIRLINES"]["aliases"] == ["AERO-CARIBBEAN"]
    assert by_name["AEROCARIBBEAN AIRLINES"]["country"] == "CU"
    assert by_name["ANGLO-CARIBBEAN CO., LTD."]["country"] == "GB"  # "United Kingdom" in add.csv
    bank = by_name["BANCO NACIONAL DE CUBA"]
    assert "country" not in bank and "CH, ES" in bank["note"] and "BNC" in bank["note"]
    # the SDN list dates no entry: screened on every date, and said so
    assert bank["listed"] == "1900-01-01" and bank["uncertain"] is True
    engine = exportrules.load(tmp_path)
    verdict = engine.judge(_tx(item=FIGURES, name="National Bank of Cuba", country="ES", licences=["D123456"]))
    assert verdict.outcome is exportrules.Outcome.BLOCKED
    assert any("ofac-sdn" in " ".join(r.facts) for r in verdict.reasons)


@pytest.mark.parametrize(("name", "text", "where"), [
    ("no-source.csv", "name,addresses\nSugon,CN\n", "no-source.csv:1"),
    ("extra-cells.csv", "source,name\nEntity List (EL),Sugon,CN\n", "extra-cells.csv:2"),
    ("no-name.json", '{"results": [{"source": "Entity List (EL)", "name": " "}]}', "results[0]"),
    ("bad-date.json", '{"results": [{"source": "Entity List (EL)", "name": "X Co", "start_date": "soon"}]}',
     "start_date"),
    ("broken.json", '{"results": [', "broken.json:1"),
])
def test_a_bad_list_file_is_an_error_that_says_where(tmp_path: Path, name: str, text: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ListImportError, match=where.replace("[", r"\[").replace("]", r"\]")):
        import_lists(path, fmt="csl", out=tmp_path / "out", vintage=VINTAGE)


def test_sdn_rows_of_the_wrong_width_are_refused(tmp_path: Path) -> None:
    (tmp_path / "sdn.csv").write_text('36,"AEROCARIBBEAN AIRLINES","CUBA"\n', encoding="utf-8")
    with pytest.raises(ListImportError, match=r"sdn.csv:1: 3 columns"):
        import_lists(tmp_path / "sdn.csv", fmt="ofac-sdn", out=tmp_path / "out")


def test_cli_imports_and_reports_errors_with_exit_code_3(cli: Callable[..., Run], tmp_path: Path) -> None:
    run = cli("lists", "import", str(FIXTURES / "csl.json"), "--format", "csl", "-o", str(tmp_path),
              "--vintage", "2026-07-31", "--output-format", "json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["written"] == 6 and report["vintage"] == "2026-07-31"
    assert cli("validate", str(tmp_path)).code == 0
    screened = cli("screen", "KAL TEK LABS", "-r", str(tmp_path), "--on", "2024-01-01")
    assert screened.code == 5
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nSugon\n", encoding="utf-8")
    failed = cli("lists", "import", str(bad), "--format", "csl", "-o", str(tmp_path / "x"))
    assert failed.code == 3 and "bad.csv:1" in failed.err and "Traceback" not in failed.err


def test_federal_register_notices_are_dated_no_later_than_their_source_allows() -> None:
    found = notices("46 F.R. 46154 9/17/81 and 46 F.R. 19290 3/30/81; 84 FR 22961, 85 FR 29,852")
    assert [(n.volume, n.page, n.date) for n in found] == [
        (46, 46154, dt.date(1981, 9, 17)), (46, 19290, dt.date(1981, 3, 30)), (84, 22961, None), (85, 29852, None)]
    cal = _FrCalendar({(90, 4544): dt.date(2025, 1, 15), (90, 4700): dt.date(2025, 1, 15),
                       (90, 47201): dt.date(2025, 9, 30)})
    assert cal.date(90, 4617) == (dt.date(2025, 1, 15), True)  # between two pages of one day
    assert cal.date(90, 14046) == (dt.date(2025, 1, 15), False)  # no earlier than the last known page
    assert cal.date(90, 100) == (dt.date(2025, 1, 1), False)  # nothing known before it: the volume's year
    # a date written beside a notice but outside its volume's year is not taken as its date
    assert notices("65 FR 42664 7/11/99")[0].date is None


def test_skip_known_leaves_out_parties_a_ruleset_keeps(tmp_path: Path) -> None:
    kept = tmp_path / "kept.yaml"
    kept.write_text("parties:\n  - {id: sugon, names: [Dawning Information Industry Co.]}\n", encoding="utf-8")
    report = import_lists(FIXTURES / "csl.csv", fmt="csl", out=tmp_path / "a", vintage=VINTAGE, skip_known=[kept])
    assert report.skipped_known == ["Sugon"] and report.written == 6  # by an alias's name
    # its other names still screen, in an entry of their own
    trimmed = [p for p in _parties(tmp_path / "a") if "Zhongke Shuguang" in [*p["names"], *p.get("aliases", [])]]
    assert len(trimmed) == 1 and "Dawning Information Industry" not in trimmed[0].get("aliases", [])
    # the bundled Entity List ruleset (with its list file) holds every party of the fixture already
    report = import_lists(FIXTURES / "csl.csv", fmt="csl", out=tmp_path / "b.jsonl", vintage=VINTAGE,
                          parties_only=True, skip_known=[ROOT / "rulesets/us-ear/entity-list/2019-05-16.yaml"])
    assert len(report.skipped_known) == 6 and report.written < 6


# ------------------------------------------------------------------ the bundled lists


def test_the_bundled_entity_list_is_the_whole_list(engine: exportrules.Engine) -> None:
    snap = engine.snapshot(dt.date(2026, 8, 1))
    (rs,) = [r for r in snap.rulesets if r.version.id == "us-ear/entity-list"]
    entries = rs.party_index.entries(dt.date(2026, 8, 1))
    by_list: dict[str, int] = {}
    for e in entries:
        by_list[e.list] = by_list.get(e.list, 0) + 1
    # Consolidated Screening List of 2026-07-31: 3,420 Entity List entries (83 of them kept by hand
    # with their checked dates), 70 MEU, 1,596 Denied Persons, 222 Unverified
    assert by_list["entity-list"] >= 3400 and by_list["meu-list"] >= 70
    assert by_list["denied-persons"] == 1596 and by_list["unverified-list"] == 222
    huawei = [e for e in entries if any("huawei" in n.lower() for n in e.names)]
    assert len(huawei) >= 100
    # one index for every listing date: the list does not split the rules into more date-states
    bare = exportrules.load(tmp_rulesets_without_list())
    assert _date_states(bare) == _date_states(engine) < 200


def _date_states(engine: exportrules.Engine) -> int:
    """How many compiled date-states cover 2019–2026."""
    day, count = dt.date(2019, 1, 1), 0
    while day <= dt.date(2026, 12, 31):
        snap = engine.snapshot(day)
        count += 1
        if snap.end is None:
            break
        day = snap.end + dt.timedelta(days=1)
    return count


def tmp_rulesets_without_list() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="rules-"))
    shutil.copytree(ROOT / "rulesets", folder, dirs_exist_ok=True)
    path = folder / "us-ear/entity-list/2019-05-16.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("parties_from: [csl-2026-07-31.jsonl]", ""),
                    encoding="utf-8")
    (folder / "us-ear/entity-list/csl-2026-07-31.jsonl").unlink()
    return folder


def test_bundled_denied_and_unverified_parties_block_and_flag(engine: exportrules.Engine) -> None:
    denied = engine.judge(_tx("KAL TEK LABS", country="US", licences=["D123456"]))
    assert denied.outcome is exportrules.Outcome.BLOCKED
    assert any("denied-persons" in " ".join(r.facts) for r in denied.reasons)
    assert engine.judge(_tx("Atlas Sanatgaran", country="AM")).outcome is exportrules.Outcome.FLAGGED


def test_only_entity_and_meu_list_owners_pass_the_affiliates_rule_on(engine: exportrules.Engine) -> None:
    # 90 FR 47201 (ear-beyond-advanced-computing.md §5): Entity List and MEU List owners, not a denied person
    def owned_by(owner: str, country: str) -> exportrules.Verdict:
        return engine.judge({**_tx("Plain Fab GmbH", date="2025-10-15", country="DE"),
                             "buyer": {"name": "Plain Fab GmbH", "country": "DE",
                                       "owners": [{"name": owner, "share": 0.6, "country": country}]}})

    assert owned_by("Semiconductor Manufacturing International Corp.", "CN").outcome is exportrules.Outcome.BLOCKED
    assert owned_by("KAL TEK LABS", "US").outcome is exportrules.Outcome.PERMITTED


def test_screening_finds_a_listed_party_however_it_is_written(engine: exportrules.Engine) -> None:
    on = "2025-06-01"
    assert [(h.entry, h.level) for h in engine.screen("华为技术有限公司", on=on)][:1] == [("huawei", "block")]
    assert ("huawei", "review") in [(h.entry, h.level) for h in engine.screen("Hauwei", on=on)]
    assert ("huawei", "review") in [(h.entry, h.level)
                                    for h in engine.screen("Hauwei Technologies", country="DE", on=on)]
    # not every one-letter neighbour of a short name: "Nanya" is not "Nanda"
    assert engine.screen("Nanya Technology Corporation", on=on) == []
    # the generic words two names share do not make them one ("Inspur … Information Industry")
    assert engine.screen("Inspur Electronic Information Industry Co.", country="CN", on="2023-06-01") == []
