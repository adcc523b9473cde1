"""The answer: outcome, reasons, actions, and the rulesets that gave it.

Outcomes are ordered ``permitted < flagged < blocked`` and the strictest wins,
within a ruleset, across the rulesets of one jurisdiction, and overall:

* **blocked**: a control applies and nothing clears it, or a party or
  destination is prohibited;
* **flagged**: it may proceed only after a named action (a notification, a
  quota check, a review of a possible name match), or a red flag or a missing
  fact needs a person;
* **permitted**: no control applies, or each one is cleared with its
  conditions met.

Reasons are the rules that decided the verdict (Cedar's reason set), each
with its citation, the file:line where the rule is written, and the facts that
matched. The JSON form is deterministic: the same transaction against the
same ruleset hashes gives byte-identical output.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

__all__ = ["Action", "Coverage", "Outcome", "Reason", "RulesetUsed", "Verdict"]


class Outcome(str, Enum):
    """The three outcomes, ordered from least to most strict."""

    PERMITTED = "permitted"
    FLAGGED = "flagged"
    BLOCKED = "blocked"

    @property
    def rank(self) -> int:
        """0 for permitted, 1 for flagged, 2 for blocked."""
        return _RANK[self]

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def strictest(outcomes: Any) -> Outcome:
        """The strictest of *outcomes* (permitted for none)."""
        best = Outcome.PERMITTED
        for o in outcomes:
            if _RANK[o] > _RANK[best]:
                best = o
        return best


_RANK = {Outcome.PERMITTED: 0, Outcome.FLAGGED: 1, Outcome.BLOCKED: 2}


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that decided (or informed) the verdict."""

    rule: str
    """Rule id."""
    kind: str
    """`classification`, `control`, `authorization`, `review-policy`, `flag`, `party`, `missing-fact`, `input`,
    `notice` (information that changes nothing, e.g. a political arrangement around a licence)."""
    effect: Outcome | None
    """The outcome this rule pushes towards; None for information (classifications)."""
    ruleset: str
    version: str
    jurisdiction: str
    citation: str
    source: str
    """``file:line:col`` where the rule is written."""
    facts: tuple[str, ...] = ()
    """The facts that matched, e.g. ``item.tpp 15832 >= 4800``."""
    message: str = ""
    uncertain: bool = False
    """The rule rests on a single secondary source or an inference."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        out: dict[str, Any] = {
            "rule": self.rule,
            "kind": self.kind,
            "effect": self.effect.value if self.effect else None,
            "ruleset": self.ruleset,
            "version": self.version,
            "jurisdiction": self.jurisdiction,
            "citation": self.citation,
            "source": self.source,
            "facts": list(self.facts),
            "message": self.message,
        }
        if self.uncertain:
            out["uncertain"] = True
        return out


@dataclass(frozen=True, slots=True)
class Action:
    """Something still owed before the shipment may go."""

    kind: str
    """`obtain-licence`, `provide-evidence`, `review-match`, `provide-fact`, `review`."""
    detail: str
    rule: str
    ruleset: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"kind": self.kind, "detail": self.detail, "rule": self.rule, "ruleset": self.ruleset}


@dataclass(frozen=True, slots=True)
class RulesetUsed:
    """A ruleset version consulted, with its content hash."""

    id: str
    version: str
    jurisdiction: str
    sha256: str
    outcome: Outcome | None = None
    """This ruleset's own outcome (None for rulesets that only supply groups or items)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "id": self.id,
            "version": self.version,
            "jurisdiction": self.jurisdiction,
            "sha256": self.sha256,
            "outcome": self.outcome.value if self.outcome else None,
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """What a verdict speaks for: the jurisdictions whose rulesets judged, and those of the shipment's
    countries (where it ships from, passes through and goes) that no loaded ruleset covers. A `permitted`
    verdict is a clearance under the covered jurisdictions' rulesets only."""

    covered: tuple[str, ...]
    """Jurisdictions with a ruleset that judges shipments in force on the date."""
    not_covered: tuple[str, ...]
    """The shipment's countries whose own rules no loaded ruleset models."""

    def statement(self, as_of: dt.date) -> str:
        """One line a person reads."""
        line = (f"under the loaded rulesets as of {as_of.isoformat()} ({', '.join(self.covered) or 'none'})")
        if self.not_covered:
            line += f"; no ruleset covers {', '.join(self.not_covered)}: their own rules were not checked"
        return line

    def to_dict(self, as_of: dt.date) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"covered": list(self.covered), "not_covered": list(self.not_covered),
                "statement": self.statement(as_of)}


_KIND_ORDER = {
    "input": 0, "missing-fact": 1, "classification": 2, "party": 3, "control": 4, "review-policy": 5,
    "authorization": 6, "flag": 7, "notice": 8,
}

Explainer = Callable[[], tuple[tuple[Reason, ...], tuple[Action, ...]]]
"""Renders a verdict's reasons and actions when they are first read."""


class Verdict:
    """The judgment of one transaction.

    The outcome, classifications, rulesets and per-jurisdiction outcomes are decided when the
    verdict is made; its reasons and actions are rendered the first time they are read
    (``verdict.reasons``, :meth:`to_dict`, :meth:`to_json`), so a caller that only needs the
    answer never pays for the explanation. Verdicts are immutable.
    """

    __slots__ = ("_actions", "_explain", "_reasons", "as_of", "classifications", "coverage", "jurisdictions",
                 "outcome", "rulesets", "transaction_id")

    outcome: Outcome
    classifications: tuple[str, ...]
    rulesets: tuple[RulesetUsed, ...]
    as_of: dt.date
    transaction_id: str | None
    jurisdictions: dict[str, Outcome]
    """Each jurisdiction's own outcome."""
    coverage: Coverage
    """What was consulted and which of the shipment's jurisdictions no loaded ruleset covers."""
    _reasons: tuple[Reason, ...] | None
    _actions: tuple[Action, ...] | None
    _explain: Explainer | None

    def __init__(self, outcome: Outcome, classifications: tuple[str, ...], reasons: tuple[Reason, ...] | None,
                 actions: tuple[Action, ...] | None, rulesets: tuple[RulesetUsed, ...], as_of: dt.date,
                 transaction_id: str | None, jurisdictions: dict[str, Outcome] | None = None,
                 *, explain: Explainer | None = None, coverage: Coverage | None = None) -> None:
        if (reasons is None or actions is None) and explain is None:
            raise ValueError("a verdict needs its reasons and actions, or an explainer that renders them")
        put = object.__setattr__
        put(self, "outcome", outcome)
        put(self, "classifications", classifications)
        put(self, "_reasons", reasons)
        put(self, "_actions", actions)
        put(self, "rulesets", rulesets)
        put(self, "as_of", as_of)
        put(self, "transaction_id", transaction_id)
        put(self, "jurisdictions", dict(jurisdictions) if jurisdictions else {})
        put(self, "_explain", explain)
        put(self, "coverage", coverage if coverage is not None else Coverage((), ()))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Verdict is immutable (cannot set `{name}`)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Verdict is immutable (cannot delete `{name}`)")

    def _rendered(self) -> tuple[tuple[Reason, ...], tuple[Action, ...]]:
        reasons, actions = self._reasons, self._actions
        if reasons is None or actions is None:
            assert self._explain is not None
            reasons, actions = self._explain()  # idempotent: two threads reading at once render equal values
            object.__setattr__(self, "_reasons", reasons)
            object.__setattr__(self, "_actions", actions)
        return reasons, actions

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """One reason per deciding rule, with citation, file:line and the facts that matched."""
        return self._rendered()[0]

    @property
    def actions(self) -> tuple[Action, ...]:
        """What is still owed before the shipment may go."""
        return self._rendered()[1]

    @property
    def explained(self) -> bool:
        """Whether the reasons have been rendered yet."""
        return self._reasons is not None

    @property
    def permitted(self) -> bool:
        """True when the outcome is permitted."""
        return self.outcome is Outcome.PERMITTED

    def reason_ids(self) -> list[str]:
        """Ids of the rules cited."""
        return [r.rule for r in self.reasons]

    def _key(self) -> tuple[Any, ...]:
        return (self.outcome, self.classifications, self.reasons, self.actions, self.rulesets, self.as_of,
                self.transaction_id, tuple(sorted(self.jurisdictions.items())), self.coverage)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.outcome, self.classifications, self.as_of, self.transaction_id))

    def __repr__(self) -> str:
        return (f"Verdict(outcome={self.outcome.value!r}, classifications={self.classifications!r}, "
                f"as_of={self.as_of.isoformat()!r}, transaction_id={self.transaction_id!r})")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, in the contract's key order."""
        return {
            "outcome": self.outcome.value,
            "classifications": list(self.classifications),
            "reasons": [r.to_dict() for r in self.reasons],
            "actions": [a.to_dict() for a in self.actions],
            "rulesets": [r.to_dict() for r in self.rulesets],
            "jurisdictions": {k: v.value for k, v in sorted(self.jurisdictions.items())},
            "coverage": self.coverage.to_dict(self.as_of),
            "as_of": self.as_of.isoformat(),
            "transaction_id": self.transaction_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Rebuild a verdict from :meth:`to_dict` output (for stored verdicts and round trips)."""
        def outcome(v: str | None) -> Outcome | None:
            return Outcome(v) if v is not None else None

        reasons = tuple(
            Reason(r["rule"], r["kind"], outcome(r["effect"]), r["ruleset"], r["version"], r["jurisdiction"],
                   r["citation"], r["source"], tuple(r["facts"]), r["message"], bool(r.get("uncertain", False)))
            for r in data["reasons"]
        )
        actions = tuple(Action(a["kind"], a["detail"], a["rule"], a["ruleset"]) for a in data["actions"])
        used = tuple(RulesetUsed(r["id"], r["version"], r["jurisdiction"], r["sha256"], outcome(r["outcome"]))
                     for r in data["rulesets"])
        cov = data.get("coverage") or {}
        return cls(Outcome(data["outcome"]), tuple(data["classifications"]), reasons, actions, used,
                   dt.date.fromisoformat(data["as_of"]), data["transaction_id"],
                   {k: Outcome(v) for k, v in data.get("jurisdictions", {}).items()},
                   coverage=Coverage(tuple(cov.get("covered", ())), tuple(cov.get("not_covered", ()))))

    def _repr_html_(self) -> str:
        """The verdict as a notebook shows it: outcome, per-jurisdiction outcomes, reasons with citations,
        actions owed."""
        from html import escape

        colour = {"permitted": "#1d6b2c", "flagged": "#8a6100", "blocked": "#a11"}[self.outcome.value]
        rows = "".join(
            f"<tr><td><code>{escape(r.rule)}</code></td><td>{escape(r.effect.value if r.effect else '')}</td>"
            f"<td>{escape(r.message)}</td><td><small>{escape(r.citation)}<br>{escape(r.source)}</small></td></tr>"
            for r in self.reasons)
        owed = "".join(f"<li>{escape(a.kind)}: {escape(a.detail)}</li>" for a in self.actions)
        by_j = ", ".join(f"{escape(j)}: {o.value}" for j, o in sorted(self.jurisdictions.items()))
        return (f"<div class='exportrules-verdict'><p><strong style='color:{colour}'>{self.outcome.value}</strong>"
                f" as of {self.as_of.isoformat()}" + (f" ({by_j})" if by_j else "")
                + (f"; classes {escape(', '.join(self.classifications))}" if self.classifications else "")
                + f"</p><p><small>{escape(self.coverage.statement(self.as_of))}</small></p>"
                + (f"<table><thead><tr><th>rule</th><th>effect</th><th>why</th><th>citation</th></tr></thead>"
                   f"<tbody>{rows}</tbody></table>" if rows else "")
                + (f"<p>Owed:</p><ul>{owed}</ul>" if owed else "") + "</div>")

    def to_json(self, *, indent: int | None = 2) -> str:
        """Deterministic JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @staticmethod
    def sort_reasons(reasons: list[Reason]) -> tuple[Reason, ...]:
        """Reasons in a canonical order that does not depend on rule order in files."""
        return tuple(sorted(reasons, key=lambda r: (r.ruleset, _KIND_ORDER.get(r.kind, 9), r.rule, r.facts)))


def __dir__() -> list[str]:
    return list(__all__)
