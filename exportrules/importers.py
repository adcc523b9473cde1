"""Official restricted-party lists turned into dated rulesets.

Two layouts are read, as their publishers write them:

* the US **Consolidated Screening List** (Commerce, State and the Treasury): the
  bulk JSON (``{"results": [...]}``, one object a party, ``addresses`` as objects
  with a ``country`` code) or the bulk CSV (one row a party, ``alt_names`` and
  ``addresses`` joined by ``;``) — see https://www.trade.gov/consolidated-screening-list;
  a compact re-encoding of the bulk JSON (short keys explained by a ``fieldKey``
  table, repeated strings in ``tables``) is read as well;
* OFAC's **SDN list** in its legacy CSV files: ``sdn.csv`` (entries) with
  ``alt.csv`` (aliases) and ``add.csv`` (addresses) beside it when present.

Each party becomes a list entry with its names, aliases, country, the effect its
list has under the EAR (Entity List: a licence for every item subject to the EAR
unless the entry's requirement is narrower, then a review flag; Denied Persons:
prohibited; Unverified List and MEU List: a review flag; OFAC SDN: prohibited),
its review policy, its Federal Register notices and a **listing date**:

1. the list's own start date when it gives one;
2. otherwise the publication date of the entry's earliest Federal Register notice,
   where the notice carries its date or falls between two notices of known date on
   the same day; otherwise the earliest date it can have been published (the last
   known notice before it in the same volume, or 1 January of the volume's year),
   marked uncertain;
3. otherwise (no date, no notice) 1900-01-01: listed on every date up to the list's
   vintage, marked uncertain — an undated entry is screened on every date rather
   than on none.

An entry never carries a date later than the one its source supports, so an old
transaction is screened against everyone who may have been listed then. Removals
before the vintage are not in a current list: the ruleset says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from .listdata import read_parties
from .screening import name_keys

__all__ = [
    "FR_ANCHORS",
    "LISTS",
    "ImportReport",
    "ListImportError",
    "ListRecord",
    "import_lists",
    "read_csl",
    "read_sdn",
]

Format = Literal["csl", "ofac-sdn"]


class ListImportError(ValueError):
    """A list file that cannot be read: names the file and where in it."""


@dataclass(frozen=True, slots=True)
class ListRecord:
    """One party of a source list, as the source gives it."""

    source: str
    """List code: ``EL``, ``MEU``, ``DPL``, ``UVL``, ``SDN``, ``SSI`` …"""
    name: str
    where: str
    """Where in the file: ``line N`` or ``results[N]``."""
    aliases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    number: str | None = None
    kind: str | None = None
    programs: tuple[str, ...] = ()
    requirement: str | None = None
    policy: str | None = None
    notices: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    url: str | None = None
    remarks: str | None = None


@dataclass(frozen=True, slots=True)
class ListInfo:
    """What a list's entries do under the EAR and where that comes from."""

    id: str
    title: str
    effect: Literal["prohibited", "licence", "flag"]
    citation: str


LISTS: dict[str, ListInfo] = {
    "EL": ListInfo("entity-list", "Entity List", "licence",
                   "15 CFR 744.11 and Supplement No. 4 to part 744 (Entity List)"),
    "MEU": ListInfo("meu-list", "Military End-User List", "flag",
                    "15 CFR 744.21 and Supplement No. 7 to part 744 (licence for items in Supp. No. 2 to part 744)"),
    "DPL": ListInfo("denied-persons", "Denied Persons List", "prohibited",
                    "15 CFR 764.3 and part 766 (denial orders); BIS Denied Persons List"),
    "UVL": ListInfo("unverified-list", "Unverified List", "flag",
                    "15 CFR 744.15 and Supplement No. 6 to part 744 (no licence exception; a UVL statement first)"),
    "SDN": ListInfo("ofac-sdn", "Specially Designated Nationals and Blocked Persons (OFAC)", "prohibited",
                    "31 CFR chapter V (OFAC): property blocked, dealings by US persons prohibited"),
}
"""The lists whose effect is stated; any other CSL list (SSI, DTC, ISN, CMIC …) is imported with
``--lists all`` as a review flag."""

BIS_LISTS = ("EL", "MEU", "DPL", "UVL")

FR_ANCHORS: dict[tuple[int, int], dt.date] = {
    # publication dates of Federal Register notices given in ../shared/domain (first page of each)
    (87, 12226): dt.date(2022, 3, 3),
    (87, 13048): dt.date(2022, 3, 8),
    (87, 62186): dt.date(2022, 10, 13),
    (88, 73458): dt.date(2023, 10, 25),
    (90, 4544): dt.date(2025, 1, 15),
    (90, 47201): dt.date(2025, 9, 30),
    (91, 43034): dt.date(2026, 7, 14),
}
"""Federal Register pages of known publication date (the fact sheets); notices that carry their own
date in the list add to these."""

UNDATED = dt.date(1900, 1, 1)

_CODE = re.compile(r"\(([A-Z][A-Z-]*)")
_FR = re.compile(r"(\d{2,3})\s*F\.?\s*R\.?\s*(\d[\d,]*)(?:[^\d/]{0,3}(\d{1,2})/(\d{1,2})/(\d{2,4}))?")


# ---------------------------------------------------------------- reading


def _code(source: str) -> str:
    """``Entity List (EL) - Bureau of Industry and Security`` → ``EL``; a bare code stays as it is."""
    m = _CODE.search(source)
    return m.group(1) if m else source.strip().upper()


def _date(value: Any, where: str, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ListImportError(f"{where}: `{what}` is not a date (YYYY-MM-DD): {text!r}") from None


def _texts(value: Any, sep: str = ";") -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    items = value if isinstance(value, list) else str(value).split(sep)
    return tuple(t for v in items if (t := str(v).strip()))


_COUNTRY_FIXES = {"UK": "GB"}
"""Codes lists write that ISO 3166-1 spells otherwise."""


def _countries(codes: Iterable[str]) -> tuple[str, ...]:
    """ISO 3166-1 alpha-2 codes of *codes*, in order, once each; a code ISO does not know is left out
    (the entry is then screened without a country: no boost, no penalty)."""
    from .conditions import is_country_code

    out = (_COUNTRY_FIXES.get(c.strip().upper(), c.strip().upper()) for c in codes)
    return tuple(dict.fromkeys(c for c in out if is_country_code(c)))


def _record(row: dict[str, Any], where: str, countries: Iterable[str]) -> ListRecord:
    name = str(row.get("name") or "").strip()
    if not name:
        raise ListImportError(f"{where}: `name` is empty")
    if not row.get("source"):
        raise ListImportError(f"{where}: `source` is empty (which list is this party on?)")
    return ListRecord(
        source=_code(str(row["source"])), name=name, where=where,
        aliases=tuple(a for a in _texts(row.get("alt_names")) if a != name),
        countries=_countries(countries),
        number=str(row["entity_number"]) if row.get("entity_number") not in (None, "") else None,
        kind=str(row["type"]) if row.get("type") else None,
        programs=_texts(row.get("programs")),
        requirement=str(row["license_requirement"]).strip() if row.get("license_requirement") else None,
        policy=str(row["license_policy"]).strip() if row.get("license_policy") else None,
        notices=str(row["federal_register_notice"]).strip() if row.get("federal_register_notice") else None,
        start=_date(row.get("start_date"), where, "start_date"),
        end=_date(row.get("end_date"), where, "end_date"),
        url=str(row["source_list_url"]) if row.get("source_list_url") else None,
        remarks=str(row["remarks"]).strip() if row.get("remarks") else None,
    )


_COMPACT = {"n": "name", "a": "alt_names", "s": "source", "t": "type", "c": "countries", "e": "entity_number",
            "lr": "license_requirement", "lp": "license_policy", "pg": "programs",
            "fr": "federal_register_notice", "u": "source_list_url", "sd": "start_date", "ed": "end_date"}
_COMPACT_TABLES = {"s": "sources", "lr": "licenceRequirements", "lp": "licencePolicies", "pg": "programmes",
                   "u": "urls"}


def read_csl(path: Path) -> tuple[list[ListRecord], dict[str, Any]]:
    """The parties of a Consolidated Screening List file (JSON or CSV, by content) and what the file says
    about itself (``vintage`` when it dates its own contents)."""
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="strict")
    if text.lstrip()[:1] in ("{", "["):
        return _read_csl_json(text, path)
    return _read_csl_csv(text, path), {}


def _read_csl_json(text: str, path: Path) -> tuple[list[ListRecord], dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ListImportError(f"{path.name}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    meta: dict[str, Any] = {}
    if isinstance(data, dict) and "fieldKey" in data and "entries" in data:
        return _read_compact(data, path)
    rows = data.get("results") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ListImportError(f"{path.name}: expected a list of parties or an object with `results`")
    if isinstance(data, dict):
        for key in ("sourceGeneratedAt", "generated_at", "last_updated"):
            if isinstance(data.get(key), str):
                meta["vintage"] = data[key][:10]
    out = []
    for k, row in enumerate(rows):
        where = f"{path.name}: results[{k}]"
        if not isinstance(row, dict):
            raise ListImportError(f"{where}: expected an object")
        addresses = row.get("addresses") or []
        countries = [str(a.get("country") or "").strip().upper() for a in addresses if isinstance(a, dict)]
        out.append(_record(row, where, countries))
    return out, meta


def _read_compact(data: dict[str, Any], path: Path) -> tuple[list[ListRecord], dict[str, Any]]:
    tables = data.get("tables") or {}
    out = []
    for k, entry in enumerate(data["entries"]):
        where = f"{path.name}: entries[{k}]"
        row: dict[str, Any] = {}
        for short, value in entry.items():
            key = _COMPACT.get(short)
            if key is None:
                raise ListImportError(f"{where}: unknown key `{short}`")
            if short in _COMPACT_TABLES:
                try:
                    value = tables[_COMPACT_TABLES[short]][value]
                except (KeyError, IndexError, TypeError):
                    raise ListImportError(f"{where}: `{short}` indexes no entry of tables.{_COMPACT_TABLES[short]}") \
                        from None
            row[key] = value
        countries = [str(c).upper() for c in row.pop("countries", [])]
        out.append(_record(row, where, countries))
    meta = {"vintage": str(data["sourceGeneratedAt"])[:10]} if data.get("sourceGeneratedAt") else {}
    if isinstance(data.get("source"), dict) and data["source"].get("url"):
        meta["url"] = data["source"]["url"]
    return out, meta


_CSL_COLUMNS = ("source", "name")


def _read_csl_csv(text: str, path: Path) -> list[ListRecord]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in _CSL_COLUMNS if c not in header]
    if missing:
        raise ListImportError(f"{path.name}:1: not a Consolidated Screening List CSV: no column "
                           + ", ".join(f"`{c}`" for c in missing))
    reader.fieldnames = header
    out = []
    for row in reader:
        where = f"{path.name}:{reader.line_num}"
        if None in row:
            raise ListImportError(f"{where}: more cells than the header has columns")
        countries = []
        for address in _texts(row.get("addresses")):
            last = address.rsplit(",", 1)[-1].strip().upper()
            countries.append(last)
        out.append(_record(row, where, countries))
    return out


def read_sdn(path: Path) -> list[ListRecord]:
    """The entries of OFAC's ``sdn.csv`` (no header: ent_num, SDN_Name, SDN_Type, Program, Title,
    Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks), with the aliases of ``alt.csv``
    and the countries of ``add.csv`` when those files lie beside it."""
    rows = _sdn_rows(path, 12)
    aliases: dict[str, list[str]] = {}
    alt = path.with_name("alt.csv")
    if alt.exists():
        for _, cells in _sdn_rows(alt, 5):
            if cells[3]:
                aliases.setdefault(cells[0], []).append(cells[3])
    countries: dict[str, list[str]] = {}
    add = path.with_name("add.csv")
    if add.exists():
        for where, cells in _sdn_rows(add, 6):
            if cells[4]:
                code = _country_code(cells[4])
                if code is None:
                    raise ListImportError(f"{where}: `Country` {cells[4]!r} is not a country pycountry knows")
                countries.setdefault(cells[0], []).append(code)
    out = []
    for where, cells in rows:
        number, name, kind, program = cells[0], cells[1], cells[2], cells[3]
        if not name:
            raise ListImportError(f"{where}: `SDN_Name` is empty")
        out.append(ListRecord(
            source="SDN", name=name, where=where, aliases=tuple(aliases.get(number, ())),
            countries=_countries(countries.get(number, ())), number=number,
            kind=kind or "entity", programs=tuple(p for p in re.split(r"\]\s*\[|[\[\]]", program) if p.strip()),
            remarks=cells[11] or None,
        ))
    return out


def _sdn_rows(path: Path, width: int) -> list[tuple[str, list[str]]]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace").replace("\x1a", "")
    out = []
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not cells or not "".join(cells).strip():
            continue
        where = f"{path.name}:{number}"
        if len(cells) != width:
            raise ListImportError(f"{where}: {len(cells)} columns where OFAC's layout has {width}")
        out.append((where, ["" if c.strip() == "-0-" else c.strip() for c in cells]))
    return out


def _country_code(name: str) -> str | None:
    import pycountry

    try:
        return str(pycountry.countries.lookup(name).alpha_2)
    except LookupError:
        try:
            found = pycountry.countries.search_fuzzy(name)
        except LookupError:
            return None
        return str(found[0].alpha_2) if found else None


# ---------------------------------------------------------------- dating


@dataclass(frozen=True, slots=True)
class _Notice:
    volume: int
    page: int
    date: dt.date | None


def notices(text: str | None) -> list[_Notice]:
    """The Federal Register notices a list entry cites (``84 FR 22961, 85 FR 29852``), with the date
    written beside a notice (``65 FR 42664 7/11/00``) when there is one."""
    out = []
    for m in _FR.finditer(text or ""):
        volume, page = int(m.group(1)), int(m.group(2).replace(",", ""))
        date = None
        if m.group(3):
            month, day, year = int(m.group(3)), int(m.group(4)), int(m.group(5))
            year = year if year >= 100 else (1900 + year if year >= 50 else 2000 + year)
            try:
                date = dt.date(year, month, day)
            except ValueError:
                date = None
            if date is not None and date.year != volume + 1935:
                date = None  # a date that is not in the notice's volume year is not its date
        out.append(_Notice(volume, page, date))
    return out


class _FrCalendar:
    """Publication dates of Federal Register pages from a few known ones: pages run on through a volume
    (one volume a year, volume = year − 1935), so a page between two pages of one day is of that day,
    and any page is no earlier than the last known page before it."""

    def __init__(self, anchors: dict[tuple[int, int], dt.date]) -> None:
        self._by_volume: dict[int, list[tuple[int, dt.date]]] = {}
        for (volume, page), date in anchors.items():
            self._by_volume.setdefault(volume, []).append((page, date))
        for pages in self._by_volume.values():
            pages.sort()

    def date(self, volume: int, page: int) -> tuple[dt.date, bool]:
        """(the earliest date the page can have been published, whether that is its date)."""
        pages = self._by_volume.get(volume, [])
        before = [d for p, d in pages if p <= page]
        after = [d for p, d in pages if p >= page]
        if before and after and before[-1] == after[0]:
            return before[-1], True
        if before:
            return before[-1], False
        return dt.date(volume + 1935, 1, 1), False


# ---------------------------------------------------------------- entries


_POLICIES = (
    ("presumption of approval", "presumption_of_approval"),
    ("case-by-case", "case_by_case"),
    ("case by case", "case_by_case"),
    ("policy of denial", "policy_of_denial"),
    ("presumption of denial", "presumption_of_denial"),
)


def _policy(text: str | None) -> str:
    low = (text or "").lower()
    found = [(low.find(k), v) for k, v in _POLICIES if k in low]
    return min(found)[1] if found else "presumption_of_denial"


def _footnote(requirement: str | None) -> str | None:
    """The foreign-direct-product footnote an Entity List requirement marks: ``734.9(e)1`` (footnote 1,
    734.9(e)(1)), ``734.9(e)(2)`` or a trailing ``4`` (footnote 4), ``734.9(e)(3)`` or a trailing ``5``
    (footnote 5), ``734.9(g)`` (footnote 3)."""
    text = requirement or ""
    if re.search(r"734\.9\(e\)\s*1\b", text):
        return "FN1"
    if "734.9(e)(2)" in text.replace(" ", "") or re.search(r"EAR\.?\)?\s*4\.?\s*$", text):
        return "FN4"
    if "734.9(e)(3)" in text.replace(" ", "") or re.search(r"EAR\.?\)?\s*5\.?\s*$", text):
        return "FN5"
    if "734.9(g)" in text.replace(" ", ""):
        return "FN3"
    return None


_ALL_ITEMS = re.compile(r"^\s*(for\s+)?(all|any)\s+items?\s+subject\s+to\s+the\s+ear\b", re.I)


def _effect(info: ListInfo, record: ListRecord) -> tuple[str, str | None]:
    """(effect, why it differs from the list's) — an Entity List entry whose requirement does not reach
    every item subject to the EAR is flagged for review rather than judged by us."""
    if record.source != "EL" or record.requirement is None:
        return info.effect, None
    text = record.requirement
    if _ALL_ITEMS.match(text) and "when used in" not in text.lower() and "supplement no. 2 to part 744" \
            not in text.lower():
        return "licence", None
    return "flag", "the entry's licence requirement does not reach every item subject to the EAR: review it"


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:48].strip("-") or "party"


@dataclass
class ImportReport:
    """What an import read, wrote and left out."""

    records: int = 0
    written: int = 0
    by_list: dict[str, int] = field(default_factory=dict)
    skipped_lists: dict[str, int] = field(default_factory=dict)
    skipped_known: list[str] = field(default_factory=list)
    dated_by: dict[str, int] = field(default_factory=dict)
    vintage: dt.date | None = None
    vintage_from: str = "the file"
    """Where the vintage came from: `--vintage`, the file, or today (the file did not say)."""
    files: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "written": self.written, "by_list": self.by_list,
                "skipped_lists": self.skipped_lists, "skipped_known": len(self.skipped_known),
                "dated_by": self.dated_by, "vintage": self.vintage.isoformat() if self.vintage else None,
                "vintage_from": self.vintage_from,
                "files": [str(p) for p in self.files]}


def entries(records: Sequence[ListRecord], *, vintage: dt.date, source: str,
            anchors: dict[tuple[int, int], dt.date] | None = None,
            report: ImportReport | None = None) -> list[dict[str, Any]]:
    """List entries (the keys of a ruleset's ``parties``) for *records*, each dated as the module says."""
    report = report or ImportReport()
    known = dict(FR_ANCHORS)
    for r in records:  # notices the list dates itself
        for n in notices(r.notices):
            if n.date is not None:
                known.setdefault((n.volume, n.page), n.date)
    calendar = _FrCalendar({**known, **(anchors or {})})
    ids: dict[str, int] = {}
    out = []
    for r in records:
        info = LISTS.get(r.source) or ListInfo(_slug(r.source), r.source, "flag", f"US {r.source} list")
        effect, why = _effect(info, r)
        uncertain = False
        remarks: list[str] = []
        if r.start is not None:
            listed, how = r.start, "start date"
        else:
            cited = notices(r.notices)
            if cited:
                dates = [(n.date, True) if n.date else calendar.date(n.volume, n.page) for n in cited]
                listed, exact = min(dates)
                how = "notice date" if exact else "notice year or page bound"
                if not exact:
                    uncertain = True
                    remarks.append("listing date is the earliest its first Federal Register notice can have been "
                                   "published (the list does not date the entry)")
            else:
                listed, how, uncertain = UNDATED, "undated", True
                remarks.append(f"the list gives no date: treated as listed on every date up to {vintage}")
        if listed > vintage:
            listed = vintage
        report.dated_by[how] = report.dated_by.get(how, 0) + 1
        base = f"{info.id.split('-')[0]}-{r.number}" if r.number else f"{info.id.split('-')[0]}-{_slug(r.name)}"
        base = _slug(base)
        ids[base] = ids.get(base, 0) + 1
        pid = base if ids[base] == 1 else f"{base}-{ids[base]}"
        names = [r.name]
        aliases = [a for a in dict.fromkeys(r.aliases) if a not in names]
        cites = [info.citation]
        if r.notices:
            cites.append(r.notices)
        cites.append(f"{source}, vintage {vintage}")
        if why:
            remarks.append(why)
        if r.requirement:
            remarks.append(f"licence requirement: {r.requirement}")
        if r.policy:
            remarks.append(f"licence policy: {r.policy}")
        if len(r.countries) > 1:
            remarks.append("addresses in " + ", ".join(r.countries))
        if r.programs:
            remarks.append("programs: " + "; ".join(r.programs))
        if r.remarks:
            remarks.append(f"remarks: {r.remarks}")
        entry: dict[str, Any] = {"id": pid, "names": names}
        if aliases:
            entry["aliases"] = aliases
        if len(r.countries) == 1:
            entry["country"] = r.countries[0]
        entry["listed"] = listed.isoformat()
        if r.end is not None and r.end >= listed:
            entry["until"] = r.end.isoformat()
        entry["effect"] = effect
        entry["review_policy"] = _policy(r.policy) if effect == "licence" else (
            "policy_of_denial" if effect == "prohibited" else "none")
        entry["list"] = info.id
        if (fn := _footnote(r.requirement)) is not None and r.source == "EL":
            entry["footnote"] = fn
        entry["citation"] = "; ".join(cites)
        if uncertain:
            entry["uncertain"] = True
        if remarks:
            entry["note"] = "; ".join(remarks)
        out.append(entry)
    return out


# ---------------------------------------------------------------- the ruleset


def _known_names(paths: Iterable[Path]) -> set[str]:
    """Name keys of the parties of ruleset files (and their list files) a user already keeps."""
    keys: set[str] = set()
    for path in paths:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ListImportError(f"{path}: cannot read it: {exc}") from None
        names = [n for p in data.get("parties") or [] for n in [*(p.get("names") or []), *(p.get("aliases") or [])]]
        for ref in data.get("parties_from") or []:  # list files, read as the loader reads them
            listed, _, _, _ = read_parties(ref, base=path.parent, root=path.parent, name=path.name)
            names += [n for p in listed for n in (*p.names, *p.aliases)]
        keys.update(name_keys(str(n))[0] for n in names)
    return keys


def import_lists(path: Path, *, fmt: Format, out: Path, ruleset: str | None = None,
                 lists: Sequence[str] | None = None, vintage: dt.date | None = None,
                 skip_known: Sequence[Path] = (), parties_only: bool = False) -> ImportReport:
    """Turn the list file *path* into a ruleset directory under *out* (``<ruleset>/<date>.yaml`` and its
    JSON Lines list file), or with *parties_only* into the one JSON Lines file *out*.

    Args:
        fmt: ``csl`` (Consolidated Screening List, JSON or CSV) or ``ofac-sdn`` (``sdn.csv``).
        ruleset: the ruleset id written (``us-ear/consolidated-screening-list`` / ``us-ofac/sdn``).
        lists: list codes to keep (``EL``, ``MEU``, ``DPL``, ``UVL`` by default for the CSL; ``all``).
        vintage: the date the list was published; from the file when it says, else today.
        skip_known: ruleset files whose parties are already kept: an entry's names that one of them has
            are left out (a curated entry with a checked date wins over an imported one); its other
            names (aliases the kept entry lacks) still screen, as an entry of their own.
    """
    if not path.exists():
        raise ListImportError(f"{path}: no such file")
    meta: dict[str, Any] = {}
    if fmt == "csl":
        records, meta = read_csl(path)
        keep = [c.upper() for c in lists] if lists else list(BIS_LISTS)
        default_id = "us-ear/consolidated-screening-list"
        source = "US Consolidated Screening List"
    elif fmt == "ofac-sdn":
        records = read_sdn(path)
        keep = [c.upper() for c in lists] if lists else ["SDN"]
        default_id = "us-ofac/sdn"
        source = "OFAC SDN list"
    else:  # pragma: no cover - the CLI offers only the two
        raise ListImportError(f"unknown format {fmt!r}")
    report = ImportReport(records=len(records))
    if vintage is not None:
        when, report.vintage_from = vintage, "--vintage"
    elif meta.get("vintage"):
        when = dt.date.fromisoformat(meta["vintage"])
    else:
        when, report.vintage_from = dt.date.today(), "today (the file does not say: pass --vintage)"
    report.vintage = when
    chosen = []
    for r in records:
        if "ALL" in keep or r.source in keep:
            chosen.append(r)
        else:
            report.skipped_lists[r.source] = report.skipped_lists.get(r.source, 0) + 1
    known = _known_names(skip_known)
    if known:
        fresh = []
        for r in chosen:
            names = (r.name, *r.aliases)
            left = [n for n in names if name_keys(n)[0] not in known]
            if len(left) == len(names):
                fresh.append(r)
                continue
            report.skipped_known.append(r.name)
            if left:  # the names the kept entry lacks (aliases) still screen, as an entry of their own
                fresh.append(replace(r, name=left[0], aliases=tuple(left[1:])))
        chosen = fresh
    parties = entries(chosen, vintage=when, source=source + (f" ({meta['url']})" if meta.get("url") else ""),
                      report=report)
    for p in parties:
        report.by_list[p["list"]] = report.by_list.get(p["list"], 0) + 1
    report.written = len(parties)
    lines = "".join(json.dumps(p, ensure_ascii=False, separators=(",", ":")) + "\n" for p in parties)
    if parties_only:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(lines, encoding="utf-8")
        report.files.append(out)
        return report
    rid = ruleset or default_id
    if not parties:
        raise ListImportError(f"{path}: no party of the lists {', '.join(keep)} to import")
    effective = min(dt.date.fromisoformat(p["listed"]) for p in parties)
    folder = out / rid
    folder.mkdir(parents=True, exist_ok=True)
    list_file = f"parties-{when.isoformat()}.jsonl"
    (folder / list_file).write_text(lines, encoding="utf-8")
    used = sorted({p["list"] for p in parties})
    infos = {i.id: i for i in LISTS.values()}
    doc: dict[str, Any] = {
        "ruleset": rid,
        "title": f"{source}, imported (vintage {when})",
        "jurisdiction": "US",
        "version": effective,
        "effective": effective,
        "citation": "; ".join(infos[i].citation if i in infos else f"US {i} list" for i in used),
        "note": (f"Imported by `exportrules lists import --format {fmt}` from {path.name} ({len(parties)} parties). "
                 "A current list: parties removed before its vintage are not in it, so dates before the "
                 "vintage see only the parties still listed then."),
        "lists": [{"id": i, "title": infos[i].title if i in infos else i,
                   "effect": infos[i].effect if i in infos else "flag",
                   "citation": infos[i].citation if i in infos else f"US {i} list",
                   "source": meta.get("url") or path.name, "vintage": when,
                   "entries": report.by_list[i]} for i in used],
        "licence_formats": [{
            "pattern": "(?i)(?=.*[0-9])[A-Z0-9][A-Z0-9./_-]{1,39}",
            "citation": "15 CFR 750.7 (BIS issues each licence with a licence number)", "uncertain": True,
            "note": "an identifier with at least one digit; blanks and placeholders are input errors"}],
        "screening": {"review_score": 85, "country_boost": 4, "country_penalty": 8},
        "parties_from": [list_file],
        "authorizations": [{
            "id": "licence-for-listed-party", "covers": ["parties"], "requires_licence": True,
            "citation": "15 CFR part 750 (a licence issued for the listed party)",
            "note": "a licence listed in the transaction clears a `licence` entry; a prohibited one stays blocked"}],
    }
    target = folder / f"{effective.isoformat()}.yaml"
    header = (f"# {source} as a dated ruleset: written by `exportrules lists import`; edit the list file, not\n"
              f"# this header, or import again. Vintage {when}.\n")
    target.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110),
                      encoding="utf-8")
    report.files += [target, folder / list_file]
    return report
