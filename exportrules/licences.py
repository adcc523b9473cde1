"""Licences as records: a register of the licences an exporter holds, checked against each shipment.

Without a register, a licence number in a transaction is the user's assertion: it must be
well-formed for its jurisdiction (a ``licence_formats`` pattern of a ruleset in force), it
clears what a licence clears, and the verdict carries a notice naming the licence and saying
it was not verified. A blank, placeholder or malformed string is an input error.

With a register (``exportrules.load(licences="register.yaml")``) or ``strict_licences=True``,
a licence clears a control only if the register holds it and it covers the shipment: valid
on the date, for that destination, party, item or class and control, with quantity left
(what the monitor's ledger has already counted against it). Otherwise the verdict says why
not, and the control stays uncleared.

A register file is YAML or JSON: a list of records, or ``{licences: [...]}``::

    - number: D1234567
      jurisdiction: US
      licensee: Example Exporter Inc.
      destinations: [MY]
      parties: [Example Cloud Sdn Bhd]         # any receiving party (buyer, end user, consignee)
      items: [nvidia-h200]                     # or classes: [3A090.a]
      controls: [ac-d1-d4]                     # the controls it licenses (all, when absent)
      quantity: 8000
      valid_from: 2026-01-20
      valid_until: 2028-01-19
      conditions: [no reexport without BIS approval]
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError

from .diagnostics import Diagnostic
from .errors import TransactionInvalid
from .screening import name_keys

__all__ = ["PLACEHOLDERS", "LicenceRecord", "LicenceRegister", "check_licence_strings", "jurisdiction_of"]

PLACEHOLDERS = frozenset({"", "n/a", "na", "none", "nil", "null", "pending", "tbd", "tba", "applied", "unknown",
                          "-", "--", "?", "0", "x", "xxx", "todo", "licence", "license", "yes", "no"})
"""Strings that stand where a licence number would be, and are never one."""

_PREFIX = re.compile(r"^([A-Z]{2}):(.*)$")


def jurisdiction_of(licence: str) -> tuple[str, str]:
    """(jurisdiction, number): ``MY:STP-1`` is Malaysia's, an unprefixed number the US's."""
    m = _PREFIX.match(licence.strip())
    return (m.group(1), m.group(2)) if m else ("US", licence.strip())


def check_licence_strings(licences: Iterable[str], formats: Mapping[str, tuple[re.Pattern[str], ...]]) -> None:
    """Refuse blank and placeholder licence strings, and those that match no format of their jurisdiction.

    Raises:
        TransactionInvalid: naming each bad entry (`licences.N`).
    """
    problems: list[Diagnostic] = []
    for i, lic in enumerate(licences):
        where = f"licences.{i}"
        j, number = jurisdiction_of(lic)
        if number.strip().casefold() in PLACEHOLDERS:
            problems.append(Diagnostic("invalid-transaction", f"`{where}`: `{lic}` is not a licence number (leave "
                                       "`licences` empty when none is held)", path=where))
            continue
        patterns = formats.get(j)
        # Without a format for its jurisdiction (no ruleset of it in force), a licence clears nothing anyway.
        if patterns and not any(p.fullmatch(number) for p in patterns):
            shown = " or ".join(f"/{p.pattern}/" for p in patterns)
            problems.append(Diagnostic("invalid-transaction", f"`{where}`: `{lic}` is not a well-formed licence "
                                       f"number of {j} (expected {shown})", path=where))
    if problems:
        raise TransactionInvalid(problems)


class LicenceRecord(BaseModel):
    """One licence held."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    number: str = Field(min_length=1)
    """The licence number as issued (without the `XX:` prefix)."""
    jurisdiction: str = Field("US", pattern=r"^[A-Z]{2}$")
    """Who issued it."""
    licensee: str | None = None
    """Who holds it."""
    destinations: tuple[str, ...] = ()
    """Countries it allows shipments to (any, when empty)."""
    parties: tuple[str, ...] = ()
    """Names of the parties it names; one receiving party must be one of them (any, when empty)."""
    items: tuple[str, ...] = ()
    """Catalogue ids it covers."""
    classes: tuple[str, ...] = ()
    """Control classes it covers (3A090.a …); with `items`, either may match; any item when both are empty."""
    eccns: tuple[str, ...] = ()
    """ECCNs it covers, for the record (an item's declared ECCN must be one of them when both are given)."""
    controls: tuple[str, ...] = ()
    """Ids of the controls it licenses (any, when empty)."""
    quantity: PositiveInt | None = None
    """Units it allows in all; the monitor counts shipments against it."""
    value: float | None = Field(None, ge=0)
    """Value it allows in all, for the record (transactions carry no value, so it is not checked)."""
    valid_from: dt.date
    """First day it may be used."""
    valid_until: dt.date | None = None
    """Last day it may be used."""
    conditions: tuple[str, ...] = ()
    """Conditions the licence imposes, shown with the verdict."""

    def why_not(self, tx: Any, facts: Mapping[str, Any], control: str, day: dt.date, used: int) -> str | None:
        """None when the licence covers this shipment under *control*; otherwise the reason."""
        if day < self.valid_from or (self.valid_until is not None and day > self.valid_until):
            until = self.valid_until.isoformat() if self.valid_until else "open-ended"
            return f"not valid on {day.isoformat()} (valid {self.valid_from.isoformat()} to {until})"
        if self.destinations and tx.destination not in self.destinations:
            return f"does not cover destination {tx.destination} (only {', '.join(self.destinations)})"
        if self.parties:
            named = {name_keys(n)[0] for n in self.parties}
            receiving = [p for p in (tx.buyer, tx.end_user, tx.consignee) if p is not None]
            if not any(name_keys(p.name)[0] in named for p in receiving):
                return f"does not name the buyer, end user or consignee (it names {', '.join(self.parties)})"
        if self.items or self.classes:
            item_ok = isinstance(tx.item, str) and tx.item in self.items
            class_ok = bool(set(facts.get("item.class") or ()) & set(self.classes))
            if not (item_ok or class_ok):
                return "does not cover the item " + (f"`{tx.item}`" if isinstance(tx.item, str) else "given")
        eccn = facts.get("item.eccn")
        if self.eccns and eccn is not None and eccn not in self.eccns:
            return f"does not cover ECCN {eccn}"
        if self.controls and control not in self.controls:
            return f"is not a licence for `{control}`"
        if self.quantity is not None and used + tx.quantity > self.quantity:
            return f"has {max(0, self.quantity - used):,} of {self.quantity:,} units left, not {tx.quantity:,}"
        return None


class LicenceRegister:
    """The licences an exporter holds, by jurisdiction and number."""

    def __init__(self, records: Iterable[LicenceRecord]) -> None:
        self.records: dict[tuple[str, str], LicenceRecord] = {}
        for r in records:
            self.records[(r.jurisdiction, r.number)] = r

    def add(self, record: LicenceRecord) -> None:
        """Add or replace a record (safe while other threads judge: the mapping is replaced, not changed)."""
        self.records = {**self.records, (record.jurisdiction, record.number): record}

    def get(self, licence: str) -> LicenceRecord | None:
        """The record for a licence string as a transaction gives it (``MY:…`` or a US number)."""
        return self.records.get(jurisdiction_of(licence))

    def __len__(self) -> int:
        return len(self.records)

    @classmethod
    def load(cls, path: str | Path) -> LicenceRegister:
        """Read a register file (YAML or JSON).

        Raises:
            TransactionInvalid: naming the record and field of every problem (as an input error).
        """
        import yaml

        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
            data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise TransactionInvalid([Diagnostic("invalid-value", f"licence register `{p}`: {exc}")]) from None
        if isinstance(data, dict):
            data = data.get("licences")
        if not isinstance(data, list):
            raise TransactionInvalid([Diagnostic("invalid-value", f"licence register `{p}`: expected a list of "
                                                 "licences (or `licences:` with one)")])
        records: list[LicenceRecord] = []
        problems: list[Diagnostic] = []
        for i, raw in enumerate(data):
            try:
                records.append(LicenceRecord.model_validate(raw))
            except ValidationError as exc:
                for err in exc.errors():
                    field = ".".join(str(x) for x in err["loc"])
                    problems.append(Diagnostic("invalid-value", f"licence register `{p}`, licence {i + 1}: "
                                               f"`{field}`: {err['msg']}", path=f"{i}.{field}"))
        if problems:
            raise TransactionInvalid(problems)
        return cls(records)


LicenceUse = Callable[[str], int]
"""Units already counted against a licence (by its string as the transaction gives it)."""


def __dir__() -> list[str]:
    return list(__all__)
