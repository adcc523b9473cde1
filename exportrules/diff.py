"""What changed: rule changes between two ruleset versions, and the transactions that flip.

``rule_changes(old, new)`` compares two materialised versions entry by entry
(added, removed, changed, per section). ``flips(old, new, transactions)``
judges each transaction under two engines (two versions of the same rulesets,
or the bundled rulesets and a proposed directory) and keeps those whose outcome
differs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .catalog import RulesetVersion
from .engine import Engine
from .model import SECTIONS
from .transaction import Transaction, read_transaction
from .verdict import Verdict

__all__ = ["Flip", "Focus", "RuleChange", "changed_values", "flips", "rule_changes"]


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One entry added, removed or changed between two versions."""

    section: str
    id: str
    change: Literal["added", "removed", "changed"]
    fields: tuple[str, ...] = ()
    """For a change, the keys whose values differ."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"section": self.section, "id": self.id, "change": self.change, "fields": list(self.fields)}


@dataclass(frozen=True, slots=True)
class Flip:
    """A transaction whose outcome differs between two engines."""

    transaction: Mapping[str, Any]
    old: Verdict
    new: Verdict

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "transaction": dict(self.transaction),
            "old": {"outcome": self.old.outcome.value, "reasons": self.old.reason_ids()},
            "new": {"outcome": self.new.outcome.value, "reasons": self.new.reason_ids()},
        }


def rule_changes(old: RulesetVersion, new: RulesetVersion) -> list[RuleChange]:
    """Entries added, removed or changed from *old* to *new* (by section and id)."""
    out: list[RuleChange] = []
    for section in SECTIONS:
        before = {e.id: e.model_dump(mode="json", by_alias=True) for e in getattr(old.model, section)}
        after = {e.id: e.model_dump(mode="json", by_alias=True) for e in getattr(new.model, section)}
        for rid in sorted(after.keys() - before.keys()):
            out.append(RuleChange(section, rid, "added"))
        for rid in sorted(before.keys() - after.keys()):
            out.append(RuleChange(section, rid, "removed"))
        for rid in sorted(before.keys() & after.keys()):
            a, b = before[rid], after[rid]
            changed = tuple(sorted(k for k in a.keys() | b.keys()
                                   if json.dumps(a.get(k), sort_keys=True) != json.dumps(b.get(k), sort_keys=True)))
            if changed:
                out.append(RuleChange(section, rid, "changed", changed))
    return out


@dataclass
class Focus:
    """What the changed rules compare with: where generated transactions should look for flips."""

    day: dt.date
    numbers: dict[str, list[float]]
    countries: set[str]
    strings: dict[str, set[str]]
    evidence: set[str]


def changed_values(changes: list[RuleChange], old: Engine, new: Engine, day: dt.date,
                   old_ref: str | None = None, new_ref: str | None = None) -> Focus:
    """The thresholds, countries (groups resolved on *day* under either engine) and values named by the
    conditions of the entries that changed."""
    from .conditions import FIELDS, FieldType, Test, parse_condition

    focus = Focus(day, {}, set(), {}, set())
    wanted = {(c.section, c.id) for c in changes}
    versions = [old.catalog.get(old_ref) if old_ref else None, new.catalog.get(new_ref) if new_ref else None]
    if not any(versions):
        versions = [*old.rulesets(on=day), *new.rulesets(on=day)]
    for v in versions:
        if v is None:
            continue
        for section, rid in wanted:
            for entry in getattr(v.model, section, []):
                if entry.id != rid:
                    continue
                for key in ("when", "unless", "for_all"):
                    data = getattr(entry, key, None)
                    if data is None:
                        continue
                    cond, _, _ = parse_condition(data, ())
                    stack: list[Any] = [cond] if cond is not None else []
                    while stack:
                        node = stack.pop()
                        if isinstance(node, Test):
                            vals = node.value if isinstance(node.value, tuple) else (node.value,)
                            ftype = FIELDS.get(node.field)
                            if ftype is FieldType.NUMBER:
                                focus.numbers.setdefault(node.field, []).extend(
                                    float(x) for x in vals if isinstance(x, (int, float)))
                            elif ftype in (FieldType.COUNTRY, FieldType.COUNTRY_SET):
                                for x in vals:
                                    if len(str(x)) == 2 and str(x).isupper():
                                        focus.countries.add(str(x))
                                    else:
                                        for eng in (old, new):
                                            with contextlib.suppress(KeyError):
                                                focus.countries |= set(eng.members(str(x), on=day))
                            elif node.field == "evidence":
                                focus.evidence |= {str(x) for x in vals}
                            elif ftype is FieldType.STR:
                                focus.strings.setdefault(node.field, set()).update(str(x) for x in vals)
                        else:
                            stack.extend(getattr(node, "parts", ()))
                            if hasattr(node, "part"):
                                stack.append(node.part)
    return focus


def flips(old: Engine, new: Engine, transactions: Iterable[Transaction | Mapping[str, Any]], *,
          as_of: dt.date | None = None) -> list[Flip]:
    """The transactions whose outcome under *new* differs from under *old*."""
    out: list[Flip] = []
    for t in transactions:
        tx = read_transaction(t)
        a, b = old.judge(tx, as_of=as_of), new.judge(tx, as_of=as_of)
        if a.outcome is not b.outcome:
            shown = dict(t) if isinstance(t, Mapping) else json.loads(tx.model_dump_json(exclude_defaults=True))
            out.append(Flip(shown, a, b))
    return out


def __dir__() -> list[str]:
    return list(__all__)
