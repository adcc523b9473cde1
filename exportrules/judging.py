"""The judging semantics, interpreted: Snapshot x Transaction x date -> Judgment, every reason told.

This is the reference reading of the rules and the renderer of explanations. The
fast path (:mod:`exportrules.plan`) decides the common case without building any
reason; whenever a verdict's reasons are read, or a transaction lacks a fact the
plan needs, this module judges it in full.

Per ruleset in force on the evaluation date:

1. resolve the item (catalogue id or parameters) and classify it, over the
   classifications of every ruleset in force;
2. screen the buyer, end user, consignee and seller against the listed parties
   in force on the date;
3. collect every control that applies;
4. for each, find the authorizations that cover it: one whose conditions,
   evidence and licence are all shown clears it; one whose evidence is missing
   or that declares a quota yields an action and ``flagged``; with none, the
   control blocks;
5. raise red flags.

The strictest outcome wins within a ruleset, within a jurisdiction and
overall. It fails closed: a fact that a classification or control needs and the
transaction does not give makes the verdict ``flagged`` with the fact named
(never ``permitted``), and an unknown catalogue id is flagged the same way. Red
flags are raised on facts shown only. An absent end user or consignee is the
buyer.

Nothing here keeps state between calls: every function is pure in its inputs, so
any number of threads may judge at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .compiler import (
    ITEM_FIELDS,
    CAuthorization,
    CClassification,
    CControl,
    CParty,
    CQuota,
    Meta,
    RulesetSnapshot,
    Snapshot,
)
from .conditions import explain, fields_of, missing_fields, show_value
from .diagnostics import did_you_mean
from .licences import LicenceRegister, LicenceUse, jurisdiction_of
from .screening import mixed_script_words
from .verdict import Action, Outcome, Reason, RulesetUsed, Verdict

__all__ = ["Judgment", "Licensing", "QuotaCount", "QuotaHook", "classify", "facts_of", "item_params", "judge_full"]

ROLES = ("buyer", "end_user", "consignee", "seller")
_ROLE_KEYS = tuple((r, f"{r}.name", f"{r}.country", f"{r}.headquarters") for r in ROLES)
_ITEM_KEYS = tuple((n, f"item.{n}") for n in ITEM_FIELDS)
_NO_ITEM = {key: None for _n, key in _ITEM_KEYS}
_REVIEW_LENIENCY = {
    "presumption_of_approval": 0, "case_by_case": 1, "none": 2, "presumption_of_denial": 3, "policy_of_denial": 4,
}


class QuotaCount(Protocol):
    """What a ledger says about one quota for one shipment."""

    @property
    def fits(self) -> bool: ...
    @property
    def used(self) -> int: ...
    @property
    def quantity(self) -> int: ...
    @property
    def limit(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def missing(self) -> str | None:
        """The fact the shipment cannot be counted without (e.g. the item's TPP for a cap in compute)."""


QuotaHook = Callable[[str, CQuota, Mapping[str, Any]], QuotaCount]
"""``(quota name, quota, facts) -> count``: how a ledger decides a quota route."""


@dataclass(frozen=True, slots=True)
class Licensing:
    """How licences named in transactions are taken: as assertions (no register, not strict), or
    checked against a register (records that must cover the shipment; strict without one)."""

    register: LicenceRegister | None = None
    strict: bool = False
    used: LicenceUse | None = None
    """Units a ledger has counted against a licence (the monitor sets it)."""
    on_use: Callable[[str], None] | None = None
    """Told of each register licence that clears a control (the monitor depletes it)."""

    @property
    def checked(self) -> bool:
        """True when licences must be records that cover the shipment."""
        return self.register is not None or self.strict


@dataclass(frozen=True, slots=True)
class Judgment:
    """Everything a verdict says, before it is wrapped."""

    outcome: Outcome
    classifications: tuple[str, ...]
    reasons: tuple[Reason, ...]
    actions: tuple[Action, ...]
    rulesets: tuple[RulesetUsed, ...]
    jurisdictions: dict[str, Outcome]


def item_params(tx: Any, snap: Snapshot) -> Mapping[str, Any] | None:
    """The item's parameters: the catalogue entry, or the transaction's own figures (None: unknown id)."""
    if isinstance(tx.item, str):
        return snap.items.get(tx.item)
    return {k: getattr(tx.item, k) for k in ITEM_FIELDS}


def facts_of(tx: Any, item: Mapping[str, Any] | None) -> dict[str, Any]:
    """The flat fact mapping conditions read (dotted field -> value; None when not given)."""
    f: dict[str, Any] = {
        "id": tx.id,
        "date": tx.date,
        "quantity": tx.quantity,
        "ship_from": tx.ship_from,
        "destination": tx.destination,
        "destination_region": tx.destination_region,
        "transit": frozenset(tx.transit),
        "end_use": tx.end_use,
        "evidence": frozenset(tx.evidence),
        "licences": frozenset(tx.licences),
        "item.id": tx.item if isinstance(tx.item, str) else None,
    }
    if item is None:
        f.update(_NO_ITEM)
    else:
        for name, key in _ITEM_KEYS:
            f[key] = item.get(name)
    origin = tx.origin
    if origin is not None:  # the transaction knows better than the catalogue
        for name in ("fab_country", "us_tools", "us_content"):
            value = getattr(origin, name)
            if value is not None:
                f[f"item.{name}"] = value
    mem, io = f["item.memory_bandwidth"], f["item.io_bandwidth"]
    f["item.total_bandwidth"] = mem + io if mem is not None and io is not None else None
    for role, k_name, k_country, k_hq in _ROLE_KEYS:
        p = party_in_role(tx, role)
        if p is None:
            f[k_name] = f[k_country] = f[k_hq] = None
        else:
            f[k_name], f[k_country], f[k_hq] = p.name, p.country, p.headquarters or p.country
    f["parties.headquarters"], f["parties.country"] = receiving_places(tx)
    f["parties.region"] = party_regions(tx)
    return f


def party_regions(tx: Any) -> frozenset[str]:
    """The subdivisions the receiving parties (intermediate consignees included) say they are in, with the
    destination's (empty when none is given: a rule that needs the region asks for `destination_region`)."""
    found = {p.region for p in (tx.buyer, tx.end_user, tx.consignee, *tx.intermediate_consignees)
             if p is not None and p.region is not None}
    if tx.destination_region is not None:
        found.add(tx.destination_region)
    return frozenset(found) if found else _NO_REGIONS


_NO_REGIONS: frozenset[str] = frozenset()


def party_in_role(tx: Any, role: str) -> Any:
    """The party acting in *role*; an absent end user or consignee is the buyer."""
    p = getattr(tx, role)
    if p is None and role in ("end_user", "consignee"):
        return tx.buyer
    return p


def receiving_places(tx: Any) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(headquarters, countries) of the receiving parties and their ultimate parents; None, not empty,
    when no receiving party says where it is."""
    buyer = tx.buyer
    if tx.end_user is None and tx.consignee is None and (buyer is None or not buyer.owners):  # the common case
        if buyer is None:
            return None, None
        hq = buyer.headquarters or buyer.country
        return (frozenset((hq,)) if hq else None), (frozenset((buyer.country,)) if buyer.country else None)
    hqs: set[str] = set()
    countries: set[str] = set()
    for role in ("buyer", "end_user", "consignee"):
        p = party_in_role(tx, role)
        if p is None:
            continue
        hq = p.headquarters or p.country
        if p.country:
            countries.add(p.country)
        if hq:
            hqs.add(hq)
        if p.owners:
            hqs.update(_majority_parents(p.owners))
    return (frozenset(hqs) if hqs else None), (frozenset(countries) if countries else None)


def named_parties(tx: Any) -> tuple[Any, ...]:
    """Every party slot of *tx* (None where a role is not named): the roles, then the intermediate consignees."""
    return (tx.buyer, tx.end_user, tx.consignee, tx.seller, *tx.intermediate_consignees)


def screened_parties(tx: Any) -> list[tuple[str, Any]]:
    """(role, party) of every party named in *tx*, intermediate consignees as
    ``intermediate_consignees[k]``."""
    out = [(role, p) for role in ROLES if (p := getattr(tx, role)) is not None]
    out += [(f"intermediate_consignees[{k}]", p) for k, p in enumerate(tx.intermediate_consignees)]
    return out


def party_names(tx: Any) -> list[tuple[str, str]]:
    """(role, name) of every party and owner named in *tx* (owners as ``buyer.owners``)."""
    out: list[tuple[str, str]] = []

    def walk(owners: Iterable[Any], where: str) -> None:
        for o in owners:
            out.append((where, o.name))
            walk(o.owners, where)

    for role, p in screened_parties(tx):
        out.append((role, p.name))
        walk(p.owners, f"{role}.owners")
    return out


def has_mixed_script_names(tx: Any) -> bool:
    """Whether any party or owner name mixes scripts within a word (cheap for ASCII names)."""
    plain = True
    for p in named_parties(tx):
        if p is not None and (p.owners or not p.name.isascii()):
            plain = False
            break
    return not plain and any(not name.isascii() and mixed_script_words(name) for _, name in party_names(tx))


def _majority_parents(owners: Iterable[Any]) -> set[str]:
    """Countries of owners holding more than half, up the chain: the ultimate parent's headquarters."""
    out: set[str] = set()
    for o in owners:
        if o.share > 0.5:
            if o.country:
                out.add(o.country)
            out |= _majority_parents(o.owners)
    return out


def classify(snap: Snapshot, facts: Mapping[str, Any]) -> tuple[list[CClassification], dict[str, list[str]]]:
    """The classifications the item meets, and those it may meet with the facts it lacks (-> those facts)."""
    met: list[CClassification] = []
    unknown: dict[str, list[str]] = {}
    for c in snap.classifications:
        r = c.pred(facts)
        if r is not False and c.unless_pred is not None:
            u = c.unless_pred(facts)
            r = False if u is True else (None if (u is None or r is None) else r)
        if r is True:
            met.append(c)
        elif r is None:
            lacking = missing_fields(c.cond, facts) + missing_fields(c.unless, facts)
            unknown.setdefault(c.meta.id, []).extend(lacking)
    return met, unknown


def _reason(meta: Meta, kind: str, effect: Outcome | None, facts: Iterable[str] = (), message: str = "") -> Reason:
    return Reason(meta.id, kind, effect, meta.ruleset, meta.version, meta.jurisdiction, meta.citation, meta.source,
                  tuple(facts), message, meta.uncertain)


def judge_full(snap: Snapshot, tx: Any, day: dt.date, *, quota: QuotaHook | None = None,
               licensing: Licensing | None = None) -> Judgment:
    """Judge *tx* under *snap* on *day*, with every reason and action.

    Args:
        snap: the snapshot in force on *day*.
        tx: a :class:`~exportrules.Transaction`.
        day: the evaluation date (list entries in force on it count).
        quota: how a ledger decides quota routes; without it, a quota is reported as a ``notice``.
        licensing: how licences are checked (assertions, when None).
    """
    return _Judge(snap, tx, day, quota, licensing or _ASSERTED).run()


_ASSERTED = Licensing()


class _Judge:
    """One judgment in progress (one per call; never shared)."""

    __slots__ = ("actions", "day", "facts", "licence_notes", "licensing", "outcomes", "quota", "reasons", "snap",
                 "tx", "unverified", "used_licences")

    def __init__(self, snap: Snapshot, tx: Any, day: dt.date, quota: QuotaHook | None, licensing: Licensing) -> None:
        self.snap, self.tx, self.day, self.quota, self.licensing = snap, tx, day, quota, licensing
        self.reasons: list[Reason] = []
        self.actions: list[Action] = []
        self.outcomes: list[Outcome] = []
        self.facts: dict[str, Any] = {}
        self.unverified: set[str] = set()
        self.used_licences: set[str] = set()
        self.licence_notes: dict[str, str] = {}

    def why(self, cond: Any) -> list[str]:
        """The facts that made *cond* hold, as text; memoised per snapshot on the facts it reads."""
        if cond is None:
            return []
        snap, facts = self.snap, self.facts
        key_id = id(cond)  # the snapshot owns cond, and the memo lives in the snapshot: never reused
        reads = snap.reads.get(key_id)
        if reads is None:
            reads = snap.reads[key_id] = tuple(sorted(fields_of(cond)))
        key = (key_id, *(facts.get(f) for f in reads))
        found = snap.explained.get(key)
        if found is None:
            if len(snap.explained) >= 20_000:
                snap.explained.clear()
            found = snap.explained[key] = tuple(explain(cond, facts, pred_of=snap.pred_of, resolve=snap.resolve,
                                                        widen=snap.widen))
        return list(found)

    def run(self) -> Judgment:
        snap, tx = self.snap, self.tx
        reasons, actions, outcomes = self.reasons, self.actions, self.outcomes
        params = item_params(tx, snap)
        if params is None:
            hint = did_you_mean(tx.item, snap.items)
            reasons.append(Reason(
                "unknown-item", "input", Outcome.FLAGGED, "", "", "", "", "item", ("item " + tx.item,),
                f"`item`: unknown catalogue id `{tx.item}`" + (f"; {hint}" if hint else ""),
            ))
            actions.append(Action("provide-fact", "give the item's parameters or a known catalogue id", "item", ""))
            outcomes.append(Outcome.FLAGGED)
        facts = self.facts = facts_of(tx, params)
        for name in tx.evidence:
            if name not in snap.evidence:
                hint = did_you_mean(name, snap.evidence)
                reasons.append(Reason("unused-evidence", "input", None, "", "", "", "", "evidence", (name,),
                                      f"no rule in force reads evidence `{name}`" + (f"; {hint}" if hint else "")))

        judged_by = {rs.version.jurisdiction for rs in snap.rulesets if rs.decides}
        for lic in tx.licences:
            if jurisdiction_of(lic)[0] not in judged_by:
                reasons.append(Reason("unused-licence", "input", None, "", "", jurisdiction_of(lic)[0], "",
                                      "licences", (lic,), f"no ruleset of {jurisdiction_of(lic)[0]} is in force on the "
                                      f"date judged: licence `{lic}` changed nothing in this verdict"))
        if tx.end_use is None and snap.end_uses:
            reasons.append(Reason("no-end-use", "input", None, "", "", "", "", "end_use", (),
                                  "no end use was declared: controls that turn on a known end use (military, "
                                  "supercomputer, advanced-node fabrication …) were read as not applying"))
        elif tx.end_use is not None and tx.end_use not in snap.end_uses:
            reasons.append(Reason("unused-end-use", "input", None, "", "", "", "", "end_use", (tx.end_use,),
                                  f"no rule in force on the date judged reads end use `{tx.end_use}`: it "
                                  "changed nothing in this verdict"))
        for role, name in party_names(tx):
            words = mixed_script_words(name)
            if words:
                reasons.append(Reason("mixed-script-name", "input", Outcome.FLAGGED, "", "", "", "", role,
                                      (f"{role} `{name}`",), f"`{role}` `{name}` mixes scripts within a word "
                                      f"({', '.join(words)}): a homoglyph can hide a listed name; it was screened "
                                      "with the look-alike letters read as Latin"))
                actions.append(Action("review", f"check the spelling of {role} `{name}` against the documents",
                                      "mixed-script-name", ""))
                outcomes.append(Outcome.FLAGGED)
        if not any(rs.decides for rs in snap.rulesets):
            reasons.append(Reason("no-rules-in-force", "input", Outcome.FLAGGED, "", "", "", "", "date",
                                  (), "no ruleset that judges shipments is in force on the date judged (the "
                                  "verdict's `as_of`): nothing here can clear this shipment"))
            actions.append(Action("provide-fact", "judge it under rules in force on its date, or load rulesets "
                                  "that cover that date", "no-rules-in-force", ""))
            outcomes.append(Outcome.FLAGGED)

        met, unknown_classes = classify(snap, facts)
        classes = {c.meta.id for c in met}
        reasons.extend(_reason(c.meta, "classification", None, self.why(c.cond)) for c in met)
        facts["item.class"] = frozenset(classes)

        used: list[RulesetUsed] = []
        by_jurisdiction: dict[str, list[Outcome]] = {}
        gated: dict[str, bool | None] = {}
        for rs in snap.rulesets:
            if not rs.decides or rs.scope(facts) is False or self.gated_out(rs, gated):
                used.append(rs.used[None])
                continue
            outcome = self.ruleset(rs, classes, unknown_classes)
            outcomes.append(outcome)
            by_jurisdiction.setdefault(rs.version.jurisdiction, []).append(outcome)
            used.append(rs.used[outcome])
        self.licence_reasons()
        unique_actions = sorted(set(actions), key=lambda a: (a.ruleset, a.rule, a.kind, a.detail))
        return Judgment(
            Outcome.strictest(outcomes), tuple(sorted(classes)), Verdict.sort_reasons(reasons), tuple(unique_actions),
            tuple(used), {j: Outcome.strictest(os) for j, os in by_jurisdiction.items()},
        )

    def gated_out(self, rs: RulesetSnapshot, seen: dict[str, bool | None]) -> bool:
        """Whether a gate keeps *rs* from the shipment; each gate's verdict is said once (in *seen*)."""
        out = False
        for g in rs.gates:
            key = f"{g.meta.ruleset}#{g.meta.id}"
            if key not in seen:
                holds = seen[key] = g.pred(self.facts)
                if holds is False:
                    read = [f"{f} = {show_value(self.facts.get(f))}"
                            for f in (sorted(fields_of(g.cond)) if g.cond is not None else [])]
                    self.reasons.append(_reason(g.meta, "notice", None, read,
                                                f"{g.message or 'these rules do not reach the shipment'}: "
                                                f"{', '.join(g.applies_to)} not applied"))
                elif holds is None:
                    missing = sorted(set(missing_fields(g.cond, self.facts)))
                    self.reasons.append(_reason(g.meta, "notice", None, [f"{m} not given" for m in missing],
                                                f"whether {', '.join(g.applies_to)} reach the shipment turns on "
                                                f"{', '.join(missing) or 'facts not given'}: judged as if they do"))
            if seen[key] is False:
                out = True
        return out

    def ruleset(self, rs: RulesetSnapshot, classes: set[str], unknown_classes: Mapping[str, list[str]]) -> Outcome:
        facts, reasons, actions = self.facts, self.reasons, self.actions
        outcomes: list[Outcome] = [Outcome.PERMITTED]
        ruleset_id = rs.version.id
        for control in rs.controls:
            if control.classes:
                hit = sorted(classes & control.classes)
                unknown = [] if hit else sorted(c for c in control.classes if c in unknown_classes)
                cls_state: bool | None = True if hit else (None if unknown else False)
            else:
                hit, unknown, cls_state = [], [], True
            if cls_state is False:
                continue
            when = control.pred(facts)
            if when is False:
                continue
            if cls_state is None or when is None:
                missing = sorted(set(missing_fields(control.cond, facts))
                                 | {f for c in unknown for f in unknown_classes[c]})
                if self.cleared_anyway(rs, control, missing):
                    outcomes.append(Outcome.PERMITTED)
                    continue
                reasons.append(_reason(control.meta, "missing-fact", Outcome.FLAGGED,
                                       [f"{m} not given" for m in missing],
                                       f"cannot tell whether `{control.meta.id}` applies without "
                                       f"{', '.join(missing) or 'more facts'}"))
                actions.append(Action("provide-fact", f"give {', '.join(missing) or 'the missing facts'}",
                                      control.meta.id, ruleset_id))
                outcomes.append(Outcome.FLAGGED)
                continue
            facts_shown = ([f"item.class {', '.join(hit)} in {', '.join(sorted(control.classes))}"] if hit else []) \
                + self.why(control.cond)
            outcomes.append(self.clear(rs, control.meta, "control", frozenset({control.meta.id}), control.requires,
                                       _review(rs, control, facts), control.message, facts_shown))

        self.screen(rs, outcomes)

        for flag in rs.flags:
            # A red flag is raised on facts shown; one whose facts are not given is not raised
            # (controls, by contrast, fail closed on missing facts).
            if flag.pred(facts) is True:
                reasons.append(_reason(flag.meta, "flag", Outcome.FLAGGED, self.why(flag.cond), flag.message))
                actions.append(Action("review", flag.action, flag.meta.id, ruleset_id))
                outcomes.append(Outcome.FLAGGED)
        return Outcome.strictest(outcomes)

    def clear(self, rs: RulesetSnapshot, meta: Meta, kind: str, targets: frozenset[str], requires: str,
              review: tuple[str, Meta | None], message: str, shown: list[str]) -> Outcome:
        """Decide one applying control, party hit or ownership hit against the authorizations that cover it.

        *targets* are the ids an authorization's ``covers`` may name to clear it.
        """
        facts, reasons, actions = self.facts, self.reasons, self.actions
        ruleset_id = rs.version.id
        policy, policy_meta = review
        if requires == "prohibited":
            reasons.append(_reason(meta, kind, Outcome.BLOCKED, shown, message or "prohibited"))
            return Outcome.BLOCKED
        routes = routes_for(self.snap, rs, targets)
        cleared: list[CAuthorization] = []
        pending: list[tuple[CAuthorization, list[str]]] = []
        for owner, a in routes:
            if a.pred(facts) is not True:
                continue
            if a.licence and not self.licence_clears(owner.version.jurisdiction, meta.id):
                continue
            missing = [e for e in a.evidence if e not in facts["evidence"]]
            (pending.append((a, missing)) if missing else cleared.append(a))
        quota_routes = [a for a in cleared if a.quota is not None]
        if quota_routes and self.quota is not None:
            return self.count(meta, kind, quota_routes, shown, message)
        if cleared:
            # A quota is a reported political cap, not a condition of the licence: the licence clears, and
            # the cap is information (the monitor counts it when the user opts in).
            a = min(cleared, key=lambda x: (x.quota is not None, x.meta.ruleset, x.meta.id))
            reasons.append(_reason(meta, kind, Outcome.PERMITTED, shown, message or "licence required"))
            reasons.append(_reason(a.meta, "authorization", Outcome.PERMITTED, self.why(a.cond),
                                   f"clears `{meta.id}`"))
            for n in sorted(cleared, key=lambda x: (x.meta.ruleset, x.meta.id)):
                if n.notice:
                    reasons.append(_reason(n.meta, "notice", None, [], n.notice))
                if n.quota is not None:
                    reasons.append(_reason(n.meta, "notice", None, self.why(n.cond),
                                           f"this shipment falls under the reported cap of {n.quota.describe()}: "
                                           "a political commitment, not a legal condition of the licence; "
                                           "`exportrules record --quotas` counts it"))
            return Outcome.PERMITTED
        if pending:
            reasons.append(_reason(meta, kind, Outcome.FLAGGED, shown, message or "licence required"))
            for a, missing in sorted(pending, key=lambda p: (p[0].meta.ruleset, p[0].meta.id)):
                facts_a = self.why(a.cond) + [f"evidence lacks {m}" for m in missing]
                reasons.append(_reason(a.meta, "authorization", Outcome.FLAGGED, facts_a,
                                       f"can clear `{meta.id}` once its conditions are shown"))
                for m in missing:
                    detail = f"show `{m}`" + (f": {a.action}" if a.action else "")
                    actions.append(Action("provide-evidence", detail, a.meta.id, a.meta.ruleset))
            return Outcome.FLAGGED
        reasons.append(_reason(meta, kind, Outcome.BLOCKED, shown, message or "licence required"))
        if policy_meta is not None:
            reasons.append(_reason(policy_meta, "review-policy", None, [], f"review policy for `{meta.id}`: "
                                   f"{policy.replace('_', ' ')}"))
        detail = "obtain a licence"
        if policy != "none":
            detail += f" (review policy: {policy.replace('_', ' ')})"
        actions.append(Action("obtain-licence", detail, meta.id, ruleset_id))
        return Outcome.BLOCKED

    def cleared_anyway(self, rs: RulesetSnapshot, control: CControl, missing: list[str]) -> bool:
        """Whether a control that may or may not apply (a fact is missing) is cleared if it does: then the
        missing fact changes nothing. Judged as if it applied; nothing is kept unless it clears. Not under a
        ledger, whose counting must not see a control that may not apply."""
        if control.requires == "prohibited" or self.quota is not None:
            return False
        kept = (len(self.reasons), len(self.actions), set(self.unverified), set(self.used_licences),
                dict(self.licence_notes))
        shown = [f"{m} not given" for m in missing] + ["cleared whether or not it applies"]
        result = self.clear(rs, control.meta, "missing-fact", frozenset({control.meta.id}), control.requires,
                            _review(rs, control, self.facts), control.message, shown)
        if result is Outcome.PERMITTED:
            return True
        del self.reasons[kept[0]:], self.actions[kept[1]:]
        self.unverified, self.used_licences, self.licence_notes = kept[2], kept[3], kept[4]
        return False

    def licence_clears(self, jurisdiction: str, control: str) -> bool:
        """Whether a licence of *jurisdiction* named in the transaction clears *control*."""
        held = [lic for lic in self.tx.licences if jurisdiction_of(lic)[0] == jurisdiction]
        if not held:
            return False
        lic_ctx = self.licensing
        if not lic_ctx.checked:
            self.unverified.update(held)
            return True
        for lic in held:
            record = lic_ctx.register.get(lic) if lic_ctx.register is not None else None
            if record is None:
                self.licence_notes[lic] = f"licence `{lic}` is not in the licence register, so it clears nothing"
                continue
            why = record.why_not(self.tx, self.facts, control, self.day, lic_ctx.used(lic) if lic_ctx.used else 0)
            if why is None:
                self.used_licences.add(lic)
                if lic_ctx.on_use is not None:
                    lic_ctx.on_use(lic)
                return True
            self.licence_notes[lic] = f"licence `{lic}` {why}, so it does not clear `{control}`"
        return False

    def licence_reasons(self) -> None:
        for lic in sorted(self.unverified):
            self.reasons.append(Reason(
                "unverified-licence", "input", None, "", "", jurisdiction_of(lic)[0], "", "licences", (lic,),
                f"licence `{lic}` was taken as the user's assertion: no licence register is loaded, so whether "
                "it covers this shipment was not checked"))
        for lic, note in sorted(self.licence_notes.items()):
            if lic not in self.used_licences:
                self.reasons.append(Reason("licence-not-clearing", "input", None, "", "", jurisdiction_of(lic)[0],
                                           "", "licences", (lic,), note))
        register = self.licensing.register
        for lic in sorted(self.used_licences):
            record = register.get(lic) if register is not None else None
            if record is not None and record.conditions:
                self.reasons.append(Reason("licence-conditions", "input", None, "", "", record.jurisdiction, "",
                                           "licences", (lic,), f"licence `{lic}` carries conditions: "
                                           + "; ".join(record.conditions)))

    def count(self, meta: Meta, kind: str, quota_routes: list[CAuthorization], shown: list[str],
              message: str) -> Outcome:
        """With a ledger attached: every quota the shipment falls under must have room (they are cumulative)."""
        assert self.quota is not None
        hook, reasons, actions = self.quota, self.reasons, self.actions
        uses = [(a, hook(f"{a.meta.ruleset}#{a.meta.id}", a.quota, self.facts))
                for a in sorted(quota_routes, key=lambda x: (x.meta.ruleset, x.meta.id)) if a.quota is not None]
        uncounted = [(a, u) for a, u in uses if u.missing is not None]
        if uncounted:  # a cap that cannot be counted is neither room nor none: a person must supply the fact
            reasons.append(_reason(meta, kind, Outcome.FLAGGED, shown, message or "licence required"))
            for a, u in uncounted:
                reasons.append(_reason(a.meta, "missing-fact", Outcome.FLAGGED, [f"{u.missing} not given"],
                                       f"cannot count this shipment against the cap of `{a.meta.id}` without "
                                       f"{u.missing}"))
                actions.append(Action("provide-fact", f"give {u.missing}", a.meta.id, a.meta.ruleset))
            return Outcome.FLAGGED
        fits = all(u.fits for _, u in uses)
        outcome = Outcome.PERMITTED if fits else Outcome.BLOCKED
        reasons.append(_reason(meta, kind, outcome, shown, message or "licence required"))
        for a, u in uses:
            sign = "<=" if u.fits else ">"
            reasons.append(_reason(a.meta, "authorization", Outcome.PERMITTED if u.fits else Outcome.BLOCKED,
                                   [*self.why(a.cond), f"ledger {u.used:,} + {u.quantity:,} {sign} {u.limit:,} for "
                                    f"{u.key or 'all'} in {u.period}"],
                                   f"{'clears' if u.fits else 'cannot clear'} `{meta.id}`: quota "
                                   f"{'has room' if u.fits else 'used up'}"))
            if not u.fits:
                actions.append(Action("obtain-licence", f"the quota of {u.limit:,} for {u.key or 'all'} in {u.period} "
                                      "is used up: a further allocation or licence is needed", a.meta.id,
                                      a.meta.ruleset))
        return outcome

    def screen(self, rs: RulesetSnapshot, outcomes: list[Outcome]) -> None:
        """Screen each party's name, and who owns it, against the ruleset's parties listed on the day."""
        if not rs.parties:
            return
        index, limits, tx = rs.party_index, rs.screening, self.tx
        for role, party in screened_parties(tx):
            # under the EAR a listed seller owes nothing; a prohibition reaches every role (see ScreeningSettings)
            only_bars = role == "seller" and not rs.screens_seller
            for hit in index.search(party.name, country=party.country, thresholds=limits, on=self.day):
                entry = hit.entry
                if only_bars and entry.effect != "prohibited":
                    continue
                listed = f"`{hit.name}` ({entry.list}, listed {entry.listed.isoformat()})"
                if not hit.exact:
                    seen = (f"{role}.name `{party.name}` contains the listed name {listed}" if hit.contained
                            else f"{role}.name `{party.name}` resembles {listed}, score {hit.score:g}")
                    self.reasons.append(_reason(entry.meta, "party", Outcome.FLAGGED, [seen],
                                                f"possible {'affiliate' if hit.contained else 'match'} of {role} on "
                                                f"the {entry.list}"))
                    self.actions.append(Action("review-match", f"review whether {role} `{party.name}` is "
                                               f"`{hit.name}` (score {hit.score:g})", entry.meta.id, rs.version.id))
                    outcomes.append(Outcome.FLAGGED)
                    continue
                shown = [f"{role}.name `{party.name}` matches {listed}"]
                outcomes.append(self.party_effect(rs, entry.meta, entry.effect, entry.review_policy,
                                                  frozenset({entry.meta.id, "parties"}), role, party.name,
                                                  f"{role} is on the {entry.list}", shown))
            if party.owners and rs.ownership and not only_bars:
                self.screen_owners(rs, role, party, outcomes)

    def party_effect(self, rs: RulesetSnapshot, meta: Meta, effect: str, policy: str, targets: frozenset[str],
                     role: str, name: str, message: str, shown: list[str]) -> Outcome:
        if effect == "flag":
            self.reasons.append(_reason(meta, "party", Outcome.FLAGGED, shown, message))
            self.actions.append(Action("review", f"review {role} `{name}` against `{meta.id}`", meta.id,
                                       rs.version.id))
            return Outcome.FLAGGED
        if effect == "prohibited":
            # nothing clears it: what is owed is to stop, once a person has confirmed the party is the one listed
            self.actions.append(Action("review-match", f"confirm whether {role} `{name}` is the listed party of "
                                       f"`{meta.id}`; if it is, the shipment may not go (no licence or exception "
                                       "clears it)", meta.id, rs.version.id))
        requires = "prohibited" if effect == "prohibited" else "licence"
        return self.clear(rs, meta, "party", targets, requires, (policy, None), message, shown)

    def screen_owners(self, rs: RulesetSnapshot, role: str, party: Any, outcomes: list[Outcome]) -> None:
        shares: dict[frozenset[str] | None, tuple[float, list[tuple[float, CParty, str]]]] = {}
        for rule in rs.ownership:
            if rule.lists not in shares:
                found: list[tuple[float, CParty, str]] = []
                shares[rule.lists] = (covered_share(party.owners, rs, found, self.day, rule.lists), found)
            share, owned = shares[rule.lists]
            if not owned or share + 1e-9 < rule.threshold:
                continue
            names = ", ".join(f"{o} ({s:.0%})" for s, _, o in owned)
            shown = [f"{role} `{party.name}` is {share:.0%} owned by listed parties: {names}",
                     f"{share:.0%} >= {rule.threshold:.0%}"]
            if rule.effect == "flag":
                self.reasons.append(_reason(rule.meta, "party", Outcome.FLAGGED, shown,
                                            f"{role} is owned by listed parties (red flag)"))
                self.actions.append(Action("review", f"review {role} `{party.name}`'s ownership by listed parties",
                                           rule.meta.id, rs.version.id))
                outcomes.append(Outcome.FLAGGED)
                continue
            # the strictest owner's restrictions govern: its effect, then its review policy, never the alphabet
            rank = {"flag": 0, "licence": 1, "prohibited": 2}
            strictest = max((entry for _, entry, _ in owned),
                            key=lambda e: (rank[e.effect], _REVIEW_LENIENCY[e.review_policy], e.meta.id))
            targets = frozenset({rule.meta.id, "parties", *(e.meta.id for _, e, _ in owned)})
            outcomes.append(self.party_effect(
                rs, rule.meta, strictest.effect, strictest.review_policy, targets, role, party.name,
                f"{role} is {share:.0%} owned by listed parties and inherits `{strictest.meta.id}`", shown))


def routes_for(snap: Snapshot, rs: RulesetSnapshot, targets: frozenset[str]) \
        -> list[tuple[RulesetSnapshot, CAuthorization]]:
    """Authorizations (with the ruleset that holds each) whose ``covers`` name one of *targets*."""
    routes: list[tuple[RulesetSnapshot, CAuthorization]] = [
        (rs, a) for a in rs.authorizations if not a.covers.isdisjoint(targets)]
    for target in sorted(targets):
        routes.extend(snap.external.get(f"{rs.version.id}#{target}", ()))
    return routes


def _review(rs: RulesetSnapshot, control: CControl, facts: Mapping[str, Any]) -> tuple[str, Meta | None]:
    policy, source = control.review_policy, None
    for r in rs.reviews:
        if control.meta.id not in r.applies_to or r.pred(facts) is not True:
            continue
        if not set(r.evidence) <= facts["evidence"]:
            continue
        if _REVIEW_LENIENCY[r.policy] < _REVIEW_LENIENCY[policy] or source is None:
            policy, source = r.policy, r.meta
    return policy, source


def licences_for(licences: Iterable[str], jurisdiction: str) -> bool:
    """Whether a licence counts for *jurisdiction*: ``MY:STP-1`` for MY; unprefixed licences for US."""
    return any(jurisdiction_of(lic)[0] == jurisdiction for lic in licences)


COVERING_SHARE = 0.5
"""An owner holding this much or more, alone or with other covered owners, covers what it owns (OFAC's 50 %
rule, as the Affiliates rule adopts it)."""


def covered_share(owners: Iterable[Any], rs: RulesetSnapshot, owned: list[tuple[float, CParty, str]],
                  day: dt.date, lists: frozenset[str] | None = None) -> float:
    """The share of a party held by covered owners, added up (at most 1).

    An owner is covered when it is listed on *day*, or when covered owners hold 50 % or more of it: the
    rule cascades down a chain of 50 % holdings, shares are never multiplied along it, and an owner that
    is not covered passes nothing on. Only entries of *lists* count (every list when None). *owned*
    collects (share, listed entry, how it is held).
    """
    total = 0.0
    for o in owners:
        hits = [h for h in rs.party_index.exact(o.name, on=day) if lists is None or h.entry.list in lists]
        if hits:
            total += o.share
            owned.append((o.share, hits[0].entry, o.name))
        elif o.owners:
            inner: list[tuple[float, CParty, str]] = []
            if covered_share(o.owners, rs, inner, day, lists) + 1e-9 >= COVERING_SHARE:
                total += o.share
                owned.extend((o.share, entry, f"{o.name} (held by {how})") for _, entry, how in inner)
    return min(total, 1.0)


def __dir__() -> list[str]:
    return list(__all__)
