"""The question asked: a transaction, as the JSON contract of DESIGN §5.

``Transaction`` is a frozen pydantic model used at the boundary only; the
engine works on the flat fact mapping that :func:`facts_of` derives from it.
Errors name the field (``buyer.country``) and never leak pydantic's names.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from dateutil import parser as date_parser
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .conditions import is_country_code, is_subdivision_code, iso_codes
from .diagnostics import Diagnostic
from .errors import TransactionInvalid
from .model import ItemFigures
from .screening import normalize_name

__all__ = [
    "END_USES", "ItemOrigin", "ItemSpec", "Owner", "Party", "Transaction", "parse_date", "parse_transaction",
    "read_transaction",
]

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


_YEAR = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2200, 12, 31)
"""Dates outside this range are refused (they are typing slips, not export dates)."""


def parse_date(value: Any) -> dt.date:
    """A calendar date from a date, an ISO string, or an unambiguous long form.

    ``2026-03-01``, ``1 March 2026`` and ``March 1, 2026`` are accepted. Refused: a form
    whose day and month could be swapped (``03/04/2026``), a two-digit year (``24-06-01``),
    a bare year or a month without a day (``2026``, ``March 2026``), digits of other scripts,
    and dates before 1900 or after 2200.

    Raises:
        ValueError: when the text is not a full, unambiguous date.
    """
    if isinstance(value, dt.datetime):
        return _in_range(value.date())
    if isinstance(value, dt.date):
        return _in_range(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a date such as 2026-03-01")
    text = value.strip()
    if _ISO_DATE.match(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"`{text}` is not a calendar date") from None
        return _in_range(day)
    if not text.isascii():
        raise ValueError(f"`{text}` is not a date; write YYYY-MM-DD with ASCII digits")
    if text[:4].isdigit() and text[4:5] == "-":  # ISO 8601 with a time part: year first, unambiguous
        try:
            return _in_range(dt.datetime.fromisoformat(text).date())
        except ValueError:
            pass
    if len(_YEAR.findall(text)) != 1:
        raise ValueError(f"`{text}` has no four-digit year; write YYYY-MM-DD")
    try:
        # Read it twice with different defaults: a part the text does not give comes out different.
        a = date_parser.parse(text, dayfirst=False, default=dt.datetime(1, 1, 1))
        b = date_parser.parse(text, dayfirst=False, default=dt.datetime(2, 2, 2))
        day_first = date_parser.parse(text, dayfirst=True, default=dt.datetime(1, 1, 1))
    except (ValueError, OverflowError):
        raise ValueError(f"`{text}` is not a date; write YYYY-MM-DD") from None
    if (a.year, a.month, a.day) != (b.year, b.month, b.day):
        raise ValueError(f"`{text}` is not a full date (year, month and day); write YYYY-MM-DD")
    if a != day_first:
        raise ValueError(f"`{text}` is ambiguous (day and month could be swapped); write YYYY-MM-DD")
    return _in_range(a.date())


def _in_range(day: dt.date) -> dt.date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"{day.isoformat()} is outside {EARLIEST_DATE.isoformat()}..{LATEST_DATE.isoformat()}")
    return day


def _code(valid: Callable[[str], bool], what: str) -> Callable[[Any], Any]:
    """A validator that upper-cases a code and refuses one that *valid* rejects, naming *what* it should be."""
    def check(value: Any) -> Any:
        if isinstance(value, str):
            code = value.strip().upper()
            if not valid(code):
                raise ValueError(f"`{value}` is not {what}")
            return code
        return value

    return check


_country = _code(is_country_code, "an ISO 3166-1 alpha-2 country code")
_region = _code(is_subdivision_code, "an ISO 3166-2 subdivision code (e.g. `UA-43`, Crimea)")


END_USES: dict[str, str] = {
    "datacenter": "general datacenter or cloud computing",
    "commercial": "other commercial use",
    "consumer": "consumer products (gaming PCs, workstations)",
    "research": "civil research and education",
    "military": "a military end use or end user (15 CFR 744.21)",
    "military_intelligence": "a military-intelligence end use or end user (15 CFR 744.22)",
    "supercomputer": "the development, production or use of a supercomputer (15 CFR 744.23(a)(1))",
    "advanced_node_fabrication": "developing or producing advanced-node ICs (15 CFR 744.23(a)(2))",
    "semiconductor_manufacturing_equipment": "developing or producing semiconductor manufacturing equipment "
                                             "(15 CFR 744.23(a)(4))",
    "nuclear": "a nuclear end use (15 CFR 744.2)",
    "missile": "rocket systems or unmanned air vehicles (15 CFR 744.3)",
    "chemical_biological_weapons": "chemical or biological weapons (15 CFR 744.4)",
    "technical_analysis": "technical analysis of the item (BIS Ascend guidance)",
    "destructive_testing": "destructive testing of the item (BIS Ascend guidance)",
    "state_funded_datacenter": "a new state-funded datacenter in China (China's guidance of 2025-11)",
    "critical_information_infrastructure": "a critical-information-infrastructure operator in China (CAC, 2023)",
}
"""The accepted `end_use` values and what each means (a closed vocabulary)."""


def _end_use(value: Any) -> Any:
    if isinstance(value, str) and value not in END_USES:
        from .diagnostics import did_you_mean

        hint = did_you_mean(value.strip().casefold().replace(" ", "_").replace("-", "_"), END_USES)
        raise ValueError(f"`{value}` is not an accepted end use; accepted: {', '.join(END_USES)}"
                         + (f"; {hint}" if hint else ""))
    return value


Country = Annotated[str, BeforeValidator(_country)]
Region = Annotated[str, BeforeValidator(_region)]
EndUse = Annotated[str, BeforeValidator(_end_use), WithJsonSchema({"enum": list(END_USES), "type": "string"})]
DateField = Annotated[dt.date, BeforeValidator(parse_date)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _region_in_country(data: Any, country_key: str, region_key: str) -> Any:
    """Read a subdivision given as the country (`UA-43`) as country + region; a region must lie in the
    country given beside it."""
    if not isinstance(data, dict):
        return data
    country, region = data.get(country_key), data.get(region_key)
    if isinstance(country, str) and "-" in country and is_subdivision_code(country.strip().upper()):
        if region is not None and str(region).strip().upper() != country.strip().upper():
            raise ValueError(f"`{country_key}` `{country}` and `{region_key}` `{region}` disagree")
        code = country.strip().upper()
        return {**data, country_key: code.split("-")[0], region_key: code}
    if isinstance(region, str) and is_subdivision_code(region.strip().upper()):
        code = region.strip().upper()
        if country is None:
            return {**data, country_key: code.split("-")[0]}
        if isinstance(country, str) and country.strip().upper() != code.split("-")[0]:
            raise ValueError(f"`{region_key}` `{region}` is not in `{country_key}` `{country}`")
    return data


class Owner(_Model):
    """An owner of a party, with its share and, recursively, its own owners."""

    name: str = Field(min_length=1)
    """Owner's name."""
    share: float = Field(gt=0, le=1)
    """Fraction owned, in (0, 1]."""
    country: Country | None = None
    """Owner's country."""
    owners: tuple[Owner, ...] = ()
    """The owner's own owners."""


def _shares_add_up(owners: tuple[Owner, ...], where: str) -> None:
    total = sum(o.share for o in owners)
    if total > 1 + 1e-9:
        raise ValueError(f"`{where}`: the owners' shares add up to {total:.0%}, more than the whole")
    for i, o in enumerate(owners):
        _shares_add_up(o.owners, f"{where}.{i}.owners")


class Party(_Model):
    """A buyer, end user, consignee, intermediate consignee or seller."""

    name: str = Field(min_length=1)
    """Legal name."""
    country: Country | None = None
    """Where the party is located (taken from `region` when only that is given)."""
    region: Region | None = None
    """The ISO 3166-2 subdivision the party is in, where a rule turns on it (e.g. `UA-43`, Crimea)."""
    headquarters: Country | None = None
    """Where the party (or its ultimate parent) is headquartered; taken as `country` when absent."""
    owners: tuple[Owner, ...] = ()
    """Who owns the party."""

    @model_validator(mode="after")
    def _no_cycles(self) -> Party:
        def walk(owners: tuple[Owner, ...], chain: tuple[str, ...], where: str) -> None:
            for i, o in enumerate(owners):
                key = normalize_name(o.name)
                if key in chain:
                    path = " -> ".join([*chain, key])
                    raise ValueError(f"ownership cycle at `{where}.{i}`: {path}")
                walk(o.owners, (*chain, key), f"{where}.{i}.owners")

        walk(self.owners, (normalize_name(self.name),), "owners")
        _shares_add_up(self.owners, "owners")
        return self

    @model_validator(mode="before")
    @classmethod
    def _country_of_region(cls, data: Any) -> Any:
        return _region_in_country(data, "country", "region")


class ItemSpec(ItemFigures):
    """An item described by its parameters rather than a catalogue id."""

    name: str | None = None
    """Name, for the record."""
    vendor: str | None = None
    """Manufacturer."""


class ItemOrigin(_Model):
    """What decides whether the EAR reaches an item, where the transaction knows better than the catalogue
    (each field given overrides the catalogue's)."""

    fab_country: Country | None = None
    """Where the item was made; `US` makes it US-origin (15 CFR 734.3(a)(2))."""
    us_tools: bool | None = None
    """Made with US-origin technology, software or tools: a foreign direct product (15 CFR 734.9)."""
    us_content: float | None = Field(None, ge=0, le=1)
    """Share, by value, of controlled US-origin content in a foreign-made item (de minimis, 15 CFR 734.4)."""


class Transaction(_Model):
    """One shipment to judge."""

    id: str | None = None
    """Caller's reference, echoed in the verdict."""
    date: DateField
    """Date of the export (the evaluation date unless `as_of` is given)."""
    item: Annotated[str, Field(min_length=1)] | ItemSpec
    """A catalogue id, or the item's parameters."""
    quantity: int = Field(1, ge=1)
    """Units shipped."""
    ship_from: Country = "US"
    """Country the item is exported or reexported from."""
    destination: Country
    """Country of destination. A subdivision code (`UA-43`) is read as its country plus
    `destination_region`."""
    destination_region: Region | None = None
    """The ISO 3166-2 subdivision of destination, where a rule turns on it (the covered regions of
    Ukraine under 15 CFR 746.6: `UA-43` Crimea, `UA-40` Sevastopol, parts of `UA-14` and `UA-09`)."""
    transit: tuple[Country, ...] = ()
    """Countries the shipment passes through on its way (transhipment or transit), in order."""
    buyer: Party | None = None
    """The purchaser."""
    end_user: Party | None = None
    """The end user, when not the buyer."""
    consignee: Party | None = None
    """The ultimate consignee, when not the buyer."""
    intermediate_consignees: tuple[Party, ...] = ()
    """Intermediate consignees (forwarders, distributors holding the goods on the way): screened as
    parties to the transaction (15 CFR 748.5(d))."""
    seller: Party | None = None
    """The seller. Under the EAR a listed seller triggers no Entity List licence requirement; it is
    screened against lists that reach every role (Denied Persons, OFAC SDN) and against rulesets that
    name the seller (`screening.roles`, e.g. China's Unreliable Entity List)."""
    end_use: EndUse | None = None
    """Declared end use, one of a closed vocabulary (`exportrules.transaction.END_USES`), e.g. `datacenter`."""
    evidence: tuple[str, ...] = ()
    """Evidence names shown (see the README for the vocabulary)."""
    licences: tuple[str, ...] = ()
    """Licences held for this shipment."""
    origin: ItemOrigin | None = None
    """Where and how the item was made, overriding the catalogue (whether the EAR applies at all)."""

    @model_validator(mode="before")
    @classmethod
    def _destination_region(cls, data: Any) -> Any:
        return _region_in_country(data, "destination", "destination_region")

    @field_validator("quantity", mode="before")
    @classmethod
    def _no_float_quantity(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
            raise ValueError("quantity must be a whole number of units")
        return v


def parse_transaction(data: Any, *, line: int | None = None) -> Transaction:
    """Validate a decoded JSON object as a transaction.

    Raises:
        TransactionInvalid: with one diagnostic per bad field, naming it.
    """
    if isinstance(data, Transaction):
        return data
    where = f"line {line}: " if line is not None else ""
    if not isinstance(data, dict):
        raise TransactionInvalid(
            [Diagnostic("invalid-transaction", f"{where}a transaction must be a JSON object")]
        )
    try:
        return Transaction.model_validate(data)
    except ValidationError as exc:
        found: list[Diagnostic] = []
        seen: set[str] = set()
        for err in exc.errors():
            raw = list(err["loc"])
            if raw[:1] == ["item"] and len(raw) > 1 and isinstance(raw[1], str):
                # `item` is a union (catalogue id | parameters): report the branch the input was meant for
                meant = "ItemSpec" if isinstance(data.get("item"), dict) else "str"
                if (raw[1] == "ItemSpec") != (meant == "ItemSpec"):
                    continue
                raw = ["item", *raw[2:]]
            loc = [p for p in raw if not (isinstance(p, str) and "[" in p)]
            field = ".".join(str(p) for p in loc) or "(transaction)"
            if err["type"] == "value_error":
                # a check across fields names its field first (`destination_region` `UA-43` is not in …)
                text = str(err["ctx"].get("error", ""))
                named = re.match(r"^`([a-z_]+)`", text)
                if named and named.group(1) in Transaction.model_fields | Party.model_fields:
                    field = named.group(1) if field == "(transaction)" else f"{field}.{named.group(1)}"
            if field in seen:
                continue
            seen.add(field)
            kind = err["type"]
            if kind == "missing":
                msg = f"`{field}` is required"
            elif kind == "extra_forbidden":
                msg = f"`{field}` is not a known field" + (" of a transaction" if "." not in field else "")
            elif kind == "value_error":
                text = str(err["ctx"].get("error", err["msg"]))
                msg = text if text.startswith(f"`{field.rsplit('.', 1)[-1]}`") else f"`{field}`: {text}"
            else:
                msg = f"`{field}`: {err['msg'][0].lower()}{err['msg'][1:]} (got {err.get('input')!r})"
            found.append(Diagnostic("invalid-transaction", where + msg, path=field))
        raise TransactionInvalid(found) from None


def __dir__() -> list[str]:
    return list(__all__)


# --------------------------------------------------------------------------- fast reading

_TX_KEYS = frozenset({"id", "date", "item", "quantity", "ship_from", "destination", "buyer", "end_user", "consignee",
                      "seller", "end_use", "evidence", "licences"})
"""The keys the fast reader takes; a transaction with any other (regions, transit, intermediate
consignees) goes through validation."""
_PARTY_KEYS = frozenset({"name", "country", "headquarters", "owners"})
_ROLES = ("buyer", "end_user", "consignee", "seller")


_put = object.__setattr__


def _built(cls: type[BaseModel], values: dict[str, Any]) -> Any:
    """An instance of *cls* from values already checked to be what validation would give (what
    pydantic's ``model_construct`` does, without its per-field work)."""
    m = cls.__new__(cls)
    _put(m, "__dict__", values)
    _put(m, "__pydantic_fields_set__", set(values))
    _put(m, "__pydantic_extra__", None)
    _put(m, "__pydantic_private__", None)
    return m


def _strings(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if type(value) is not list and type(value) is not tuple:
        return None
    for v in value:
        if type(v) is not str:
            return None
    return tuple(value)


def _fast_party(value: Any, iso: frozenset[str]) -> Party | bool | None:
    """A party from the plain common case; False when validation must decide."""
    if value is None:
        return None
    if type(value) is not dict or not _PARTY_KEYS.issuperset(value):
        return False
    name, country, hq = value.get("name"), value.get("country"), value.get("headquarters")
    if type(name) is not str or not name or value.get("owners"):
        return False
    for code in (country, hq):
        if code is not None and (type(code) is not str or code not in iso):
            return False
    result: Party = _built(Party, {"name": name, "country": country, "region": None, "headquarters": hq,
                                   "owners": ()})
    return result


_ITEM_NUMBERS = ("tpp", "performance_density", "memory_bandwidth", "io_bandwidth", "hbm_bandwidth_density")
_ITEM_TEXTS = ("material", "eccn", "name", "vendor")
_ITEM_KEYS = frozenset({*_ITEM_NUMBERS, *_ITEM_TEXTS, "kind", "datacenter"})
_KINDS = frozenset({"ic", "computer", "hbm", "material"})


def _fast_item(value: dict[str, Any]) -> ItemSpec | None:
    """An item given by its figures, from the plain common case; None when validation must decide."""
    if not _ITEM_KEYS.issuperset(value):
        return None
    kind = value.get("kind", "ic")
    if type(kind) is not str or kind not in _KINDS:
        return None
    values: dict[str, Any] = {"kind": kind}
    for key in _ITEM_TEXTS:
        v = value.get(key)
        if v is not None and type(v) is not str:
            return None
        values[key] = v
    for key in _ITEM_NUMBERS:
        v = value.get(key)
        if v is not None:
            if (type(v) is not int and type(v) is not float) or not 0 <= v < math.inf:
                return None
            v = float(v)
        values[key] = v
    dc = value.get("datacenter")
    if dc is not None and type(dc) is not bool:
        return None
    values["datacenter"] = dc
    values.update(fab_country=None, us_tools=None, us_content=None)  # given: validation decides
    result: ItemSpec = _built(ItemSpec, values)
    return result


def read_transaction(data: Any, *, line: int | None = None) -> Transaction:
    """A transaction from a decoded JSON object, fast for the plain common case.

    A dict whose every field already has the exact form validation would give (an ISO date, a
    catalogue id, upper-case ISO codes, parties without owners, lists of strings) is built without
    running the validators; anything else — including every malformed input — goes through
    :func:`parse_transaction`, which gives the same model or the same errors. The tests check that
    both ways agree.

    Raises:
        TransactionInvalid: when the transaction is malformed (the diagnostics name the fields).
    """
    if isinstance(data, Transaction):
        return data
    fast = _fast_transaction(data) if type(data) is dict else None
    return fast if fast is not None else parse_transaction(data, line=line)


def _fast_transaction(data: dict[str, Any]) -> Transaction | None:
    if not _TX_KEYS.issuperset(data):
        return None
    date, item, dest = data.get("date"), data.get("item"), data.get("destination")
    if type(date) is not str or len(date) != 10 or not _ISO_DATE.match(date):
        return None
    if type(item) is dict:
        item = _fast_item(item)
        if item is None:
            return None
    elif type(item) is not str or not item:
        return None
    iso = iso_codes()
    ship_from = data.get("ship_from", "US")
    if type(dest) is not str or dest not in iso or type(ship_from) is not str or ship_from not in iso:
        return None
    quantity = data.get("quantity", 1)
    if type(quantity) is not int or quantity < 1:
        return None
    tx_id, end_use = data.get("id"), data.get("end_use")
    if tx_id is not None and type(tx_id) is not str:
        return None
    if end_use is not None and (type(end_use) is not str or end_use not in END_USES):
        return None
    evidence, licences = _strings(data.get("evidence", ())), _strings(data.get("licences", ()))
    if evidence is None or licences is None:
        return None
    values: dict[str, Any] = {"id": tx_id}
    try:
        values["date"] = day = dt.date.fromisoformat(date)
    except ValueError:
        return None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        return None
    values.update(item=item, quantity=quantity, ship_from=ship_from, destination=dest, destination_region=None,
                  transit=())
    for role in _ROLES:
        if role == "seller":
            values["intermediate_consignees"] = ()  # the fields' order, as validation gives it
        party = _fast_party(data.get(role), iso)
        if party is False:
            return None
        values[role] = party
    values.update(end_use=end_use, evidence=evidence, licences=licences, origin=None)
    result: Transaction = _built(Transaction, values)
    return result
