"""The native engine: Snapshot x Transaction -> Verdict.

Judging, per ruleset in force on the evaluation date (the transaction's date
unless ``as_of`` is given):

1. resolve the item (catalogue id or parameters) and classify it, over the
   classifications of every ruleset in force;
2. screen the buyer, end user, consignee and seller against the listed parties;
3. collect every control that applies;
4. for each, find the authorizations that cover it: one whose conditions,
   evidence and licence are all shown clears it; one whose evidence is missing
   or that declares a quota yields an action and ``flagged``; with none, the
   control blocks;
5. raise red flags.

The strictest outcome wins within a ruleset, within a jurisdiction and
overall. The engine fails closed: a fact that a classification or control
needs and the transaction does not give makes the verdict ``flagged`` with the
fact named (never ``permitted``), and an unknown catalogue id is flagged the
same way. Red flags are raised on facts shown only. An absent end user or
consignee is the buyer.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from .catalog import Catalog, RulesetVersion, load_catalog
from .compiler import (
    ITEM_FIELDS,
    CAuthorization,
    CClassification,
    CControl,
    Compiler,
    CParty,
    CQuota,
    Meta,
    RulesetSnapshot,
    Snapshot,
)
from .conditions import explain, fields_of, missing_fields
from .diagnostics import did_you_mean
from .errors import RulesetInvalid
from .transaction import Party, Transaction, parse_date, parse_transaction
from .verdict import Action, Outcome, Reason, RulesetUsed, Verdict

__all__ = ["Engine", "ScreenHit", "facts_of", "load"]

_ROLES = ("buyer", "end_user", "consignee", "seller")
_ROLE_KEYS = tuple((r, f"{r}.name", f"{r}.country", f"{r}.headquarters") for r in _ROLES)
_ITEM_KEYS = tuple((n, f"item.{n}") for n in ITEM_FIELDS)
_NO_ITEM = {key: None for _n, key in _ITEM_KEYS}
_REVIEW_LENIENCY = {
    "presumption_of_approval": 0, "case_by_case": 1, "none": 2, "presumption_of_denial": 3, "policy_of_denial": 4,
}


def facts_of(tx: Transaction, item: Mapping[str, Any] | None) -> dict[str, Any]:
    """The flat fact mapping conditions read (dotted field -> value; None when not given)."""
    f: dict[str, Any] = {
        "id": tx.id,
        "date": tx.date,
        "quantity": tx.quantity,
        "ship_from": tx.ship_from,
        "destination": tx.destination,
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
    mem, io = f["item.memory_bandwidth"], f["item.io_bandwidth"]
    f["item.total_bandwidth"] = mem + io if mem is not None and io is not None else None
    hqs: set[str] = set()
    countries: set[str] = set()
    buyer: Party | None = tx.buyer
    for role, k_name, k_country, k_hq in _ROLE_KEYS:
        p: Party | None = getattr(tx, role)
        if p is None and role in ("end_user", "consignee"):
            p = buyer  # absent, the buyer is also the end user and the consignee
        if p is None:
            f[k_name] = f[k_country] = f[k_hq] = None
            continue
        hq = p.headquarters or p.country
        f[k_name] = p.name
        f[k_country] = p.country
        f[k_hq] = hq
        if role == "seller":
            continue
        if p.country:
            countries.add(p.country)
        if hq:
            hqs.add(hq)
        hqs.update(_majority_parents(p.owners))
    # Unknown (None), not empty, when no receiving party says where it is.
    f["parties.headquarters"] = frozenset(hqs) if hqs else None
    f["parties.country"] = frozenset(countries) if countries else None
    return f


def _spec_params(item: Any) -> dict[str, Any]:
    return {k: getattr(item, k) for k in ITEM_FIELDS}


def _majority_parents(owners: Iterable[Any]) -> set[str]:
    """Countries of owners holding more than half, up the chain: the ultimate parent's headquarters."""
    out: set[str] = set()
    for o in owners:
        if o.share > 0.5:
            if o.country:
                out.add(o.country)
            out |= _majority_parents(o.owners)
    return out


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


QuotaHook = Callable[[str, CQuota, Mapping[str, Any]], QuotaCount]
"""``(quota name, quota, facts) -> count``: how a ledger decides a quota route."""


@dataclass(frozen=True, slots=True)
class ScreenHit:
    """One candidate list entry for a screened name."""

    entry: str
    ruleset: str
    version: str
    list: str
    matched_name: str
    listed_name: str
    score: float
    exact: bool
    effect: str
    listed: dt.date
    country: str | None
    citation: str
    source: str

    @property
    def level(self) -> str:
        """``block`` for an exact hit on an entry that blocks, else ``review``."""
        return "block" if self.exact and self.effect != "flag" else "review"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "entry": self.entry, "ruleset": self.ruleset, "version": self.version, "list": self.list,
            "matched_name": self.matched_name, "listed_name": self.listed_name, "score": self.score,
            "exact": self.exact, "level": self.level, "effect": self.effect, "listed": self.listed.isoformat(),
            "country": self.country, "citation": self.citation, "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class _Judged:
    outcome: Outcome
    reasons: list[Reason]
    actions: list[Action]


def _reason(meta: Meta, kind: str, effect: Outcome | None, facts: Iterable[str] = (), message: str = "") -> Reason:
    return Reason(meta.id, kind, effect, meta.ruleset, meta.version, meta.jurisdiction, meta.citation, meta.source,
                  tuple(facts), message, meta.uncertain)


class Engine:
    """Judges transactions against a catalog of rulesets.

    Build one with :func:`exportrules.load`; it compiles snapshots lazily and
    caches them per date-state, so it is cheap to keep and reuse.
    """

    def __init__(self, catalog: Catalog, *, backend: Literal["native", "durable"] = "native") -> None:
        self.catalog = catalog
        self.backend = backend
        self.compiler = Compiler(catalog)
        self._used: dict[tuple[int, Outcome | None], RulesetUsed] = {}
        self._local = threading.local()
        self._rs_reads: dict[int, tuple[str, ...]] = {}
        self._rs_memo: dict[tuple[Any, ...], _Judged] = {}
        self._why: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self._reads: dict[int, tuple[str, ...]] = {}

    # ------------------------------------------------------------- queries

    def members(self, group: str, *, on: dt.date | str) -> frozenset[str]:
        """Members of *group* on *on*.

        Raises:
            KeyError: for an unknown group, naming the closest one.
        """
        day = parse_date(on)
        snap = self.compiler.snapshot(day)
        if group not in snap.groups:
            known = {g.id for v in self.catalog for g in v.model.groups}
            if group in known:
                return frozenset()  # declared, but its ruleset is not in force on that date
            hint = did_you_mean(group, known)
            raise KeyError(f"unknown group `{group}`" + (f"; {hint}" if hint else ""))
        return snap.groups[group]

    def rulesets(self, *, on: dt.date | str | None = None) -> list[RulesetVersion]:
        """Every ruleset version, or those in force on *on*."""
        if on is None:
            return list(self.catalog)
        return self.catalog.all_in_force(parse_date(on))

    def screen(self, name: str, *, country: str | None = None, on: dt.date | str) -> list[ScreenHit]:
        """Candidates for *name* on every restricted-party list in force on *on*, best first.

        Exact hits (after normalisation) come with score 100; fuzzy candidates at or
        above each ruleset's review score follow.
        """
        snap = self.compiler.snapshot(parse_date(on))
        hits: list[ScreenHit] = []
        for rs in snap.rulesets:
            for c in rs.party_index.search(name, country=country, thresholds=rs.screening):
                e = c.entry
                hits.append(ScreenHit(
                    e.meta.id, rs.version.id, rs.version.version.isoformat(), e.list, c.name, e.names[0], c.score,
                    c.exact, e.effect, e.listed, e.country, e.meta.citation, e.meta.source,
                ))
        return sorted(hits, key=lambda h: (-h.score, h.ruleset, h.entry))

    def facts(self, transaction: Transaction | Mapping[str, Any], as_of: dt.date | str | None = None) \
            -> dict[str, Any]:
        """The facts conditions read for *transaction*, including ``item.class`` (for property scopes)."""
        tx = transaction if isinstance(transaction, Transaction) else parse_transaction(transaction)
        day = tx.date if as_of is None else parse_date(as_of)
        snap = self.compiler.snapshot(day)
        params = snap.items.get(tx.item) if isinstance(tx.item, str) else _spec_params(tx.item)
        f = facts_of(tx, params)
        f["item.class"] = frozenset(c.meta.id for c in self._classify(snap, f)[0])
        return f

    @contextmanager
    def counting_quotas(self, hook: QuotaHook) -> Iterator[None]:
        """Within the block, quota routes are decided by *hook* (what a ledger counts) instead of being
        owed as ``check-quota`` actions; used by :class:`exportrules.monitor.Monitor`."""
        previous = getattr(self._local, "quota", None)
        self._local.quota = hook
        try:
            yield
        finally:
            self._local.quota = previous

    def snapshot(self, on: dt.date | str) -> Snapshot:
        """The compiled snapshot for a date."""
        return self.compiler.snapshot(parse_date(on))

    # ------------------------------------------------------------- judging

    def judge(self, transaction: Transaction | Mapping[str, Any], as_of: dt.date | str | None = None) -> Verdict:
        """Judge one transaction.

        Args:
            transaction: a :class:`Transaction` or a dict in the JSON contract.
            as_of: evaluate the rules in force on this date instead of the transaction's date.

        Raises:
            TransactionInvalid: when the transaction is malformed (the diagnostics name the fields).
        """
        tx = transaction if isinstance(transaction, Transaction) else parse_transaction(transaction)
        day = tx.date if as_of is None else parse_date(as_of)
        return self._judge(tx, day, self.compiler.snapshot(day))

    def judge_many(self, transactions: Iterable[Transaction | Mapping[str, Any]],
                   as_of: dt.date | str | None = None) -> Iterator[Verdict]:
        """Judge each transaction in turn (lazily)."""
        fixed = None if as_of is None else parse_date(as_of)
        snapshot = self.compiler.snapshot
        for t in transactions:
            tx = t if isinstance(t, Transaction) else parse_transaction(t)
            day = tx.date if fixed is None else fixed
            yield self._judge(tx, day, snapshot(day))

    def timeline(self, transaction: Transaction | Mapping[str, Any], start: dt.date | str,
                 end: dt.date | str) -> list[tuple[dt.date, Verdict]]:
        """The verdict over ``[start, end]``: the first date, then every date on which a change of
        version, membership or listing changes the verdict (its outcome, classes, reasons or actions)."""
        tx = transaction if isinstance(transaction, Transaction) else parse_transaction(transaction)
        first, last = parse_date(start), parse_date(end)
        days = [first, *(d for d in self.compiler.change_dates if first < d <= last)]
        out: list[tuple[dt.date, Verdict]] = []
        for d in days:
            v = self._judge(tx, d, self.compiler.snapshot(d))
            if not out or _signature(out[-1][1]) != _signature(v):
                out.append((d, v))
        return out

    # ------------------------------------------------------------- internals

    def _judge(self, tx: Transaction, day: dt.date, snap: Snapshot) -> Verdict:
        reasons: list[Reason] = []
        actions: list[Action] = []
        outcomes: list[Outcome] = []
        item_params: Mapping[str, Any] | None
        if isinstance(tx.item, str):
            item = snap.items.get(tx.item)
            if item is None:
                hint = did_you_mean(tx.item, snap.items)
                reasons.append(Reason(
                    "unknown-item", "input", Outcome.FLAGGED, "", "", "", "", "item", ("item " + tx.item,),
                    f"`item`: unknown catalogue id `{tx.item}`" + (f"; {hint}" if hint else ""),
                ))
                actions.append(Action("provide-fact", "give the item's parameters or a known catalogue id", "item", ""))
                outcomes.append(Outcome.FLAGGED)
                item_params = None
            else:
                item_params = item
        else:
            item_params = _spec_params(tx.item)
        facts = facts_of(tx, item_params)
        for name in tx.evidence:
            if name not in snap.evidence:
                hint = did_you_mean(name, snap.evidence)
                reasons.append(Reason("unused-evidence", "input", None, "", "", "", "", "evidence", (name,),
                                      f"no rule in force reads evidence `{name}`" + (f"; {hint}" if hint else "")))

        met, unknown_classes = self._classify(snap, facts)
        classes = {c.meta.id for c in met}
        reasons.extend(_reason(c.meta, "classification", None, self._explain(c.cond, facts, snap)) for c in met)
        facts["item.class"] = frozenset(classes)

        used: list[RulesetUsed] = []
        by_jurisdiction: dict[str, list[Outcome]] = {}
        for rs in snap.rulesets:
            if not rs.decides or rs.scope(facts) is False:
                used.append(self._ruleset_used(rs, None))
                continue
            judged = self._judge_ruleset_cached(rs, tx, facts, classes, unknown_classes, snap)
            reasons.extend(judged.reasons)
            actions.extend(judged.actions)
            outcomes.append(judged.outcome)
            by_jurisdiction.setdefault(rs.version.jurisdiction, []).append(judged.outcome)
            used.append(self._ruleset_used(rs, judged.outcome))
        outcome = Outcome.strictest(outcomes)
        unique_actions = sorted(set(actions), key=lambda a: (a.ruleset, a.rule, a.kind, a.detail))
        return Verdict(
            outcome, tuple(sorted(classes)), Verdict.sort_reasons(reasons), tuple(unique_actions), tuple(used), day,
            tx.id, {j: Outcome.strictest(os) for j, os in by_jurisdiction.items()},
        )

    @staticmethod
    def _classify(snap: Snapshot, facts: Mapping[str, Any]) -> tuple[list[CClassification], dict[str, list[str]]]:
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

    def _ruleset_used(self, rs: RulesetSnapshot, outcome: Outcome | None) -> RulesetUsed:
        key = (id(rs.version), outcome)
        used = self._used.get(key)
        if used is None:
            v = rs.version
            used = self._used[key] = RulesetUsed(v.id, v.version.isoformat(), v.jurisdiction, v.sha256, outcome)
        return used

    def _explain(self, cond: Any, facts: Mapping[str, Any], snap: Snapshot) -> tuple[str, ...]:
        """Explanations depend only on the facts a condition reads, so they are memoised on those."""
        if cond is None:
            return ()
        reads = self._reads.get(id(cond))
        if reads is None:
            reads = self._reads[id(cond)] = tuple(sorted(fields_of(cond)))
        key = (id(cond), id(snap), *(facts.get(f) for f in reads))
        found = self._why.get(key)
        if found is None:
            if len(self._why) > 100_000:
                self._why.clear()
            found = self._why[key] = tuple(explain(cond, facts, pred_of=snap.pred_of, resolve=snap.resolve,
                                                   widen=snap.widen))
        return found

    # A ruleset's judgment depends only on the facts its conditions read (and, for a ruleset with
    # parties, on the parties), so it is memoised on exactly those. Orders repeat their items,
    # destinations and buyers; the memo turns the repeats into one dictionary lookup.
    _memoise_rulesets = True

    def _ruleset_reads(self, snap: Snapshot, rs: RulesetSnapshot) -> tuple[str, ...]:
        key = id(rs)
        found = self._rs_reads.get(key)
        if found is None:
            conds: list[Any] = [rs.scope_cond]
            conds += [c.cond for c in rs.controls] + [r.cond for r in rs.reviews]
            conds += [a.cond for a in rs.authorizations] + [f.cond for f in rs.flags]
            prefix = f"{rs.version.id}#"
            conds += [a.cond for target, routes in snap.external.items() if target.startswith(prefix)
                      for _owner, a in routes]
            fields = {"item.class", "evidence", "licences", "quantity"}
            for c in conds:
                if c is not None:
                    fields |= fields_of(c)
            found = self._rs_reads[key] = tuple(sorted(fields))
        return found

    def _judge_ruleset_cached(self, rs: RulesetSnapshot, tx: Transaction, facts: dict[str, Any], classes: set[str],
                              unknown_classes: Mapping[str, list[str]], snap: Snapshot) -> _Judged:
        if not self._memoise_rulesets or getattr(self._local, "quota", None) is not None:
            return self._judge_ruleset(rs, tx, facts, classes, unknown_classes, snap)
        key = (id(rs), *(facts.get(f) for f in self._ruleset_reads(snap, rs)),
               tuple(sorted((c, tuple(v)) for c, v in unknown_classes.items())),
               (tx.buyer, tx.end_user, tx.consignee, tx.seller) if rs.parties else None)
        found = self._rs_memo.get(key)
        if found is None:
            if len(self._rs_memo) > 200_000:
                self._rs_memo.clear()
            found = self._rs_memo[key] = self._judge_ruleset(rs, tx, facts, classes, unknown_classes, snap)
        return found

    def _judge_ruleset(self, rs: RulesetSnapshot, tx: Transaction, facts: dict[str, Any], classes: set[str],
                       unknown_classes: Mapping[str, list[str]], snap: Snapshot) -> _Judged:
        reasons: list[Reason] = []
        actions: list[Action] = []
        outcomes: list[Outcome] = [Outcome.PERMITTED]
        ruleset_id = rs.version.id

        def why(cond: Any) -> list[str]:
            return list(self._explain(cond, facts, snap))

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
                reasons.append(_reason(control.meta, "missing-fact", Outcome.FLAGGED,
                                       [f"{m} not given" for m in missing],
                                       f"cannot tell whether `{control.meta.id}` applies without "
                                       f"{', '.join(missing) or 'more facts'}"))
                actions.append(Action("provide-fact", f"give {', '.join(missing) or 'the missing facts'}",
                                      control.meta.id, ruleset_id))
                outcomes.append(Outcome.FLAGGED)
                continue
            facts_shown = ([f"item.class {', '.join(hit)} in {', '.join(sorted(control.classes))}"] if hit else []) \
                + why(control.cond)
            outcomes.append(self._clear(snap, rs, control.meta, "control", frozenset({control.meta.id}),
                                        control.requires, self._review(rs, control, facts), control.message,
                                        facts_shown, facts, reasons, actions, why))

        self._screen(snap, rs, tx, facts, reasons, actions, outcomes, why)

        for flag in rs.flags:
            r = flag.pred(facts)
            if r is True:
                reasons.append(_reason(flag.meta, "flag", Outcome.FLAGGED, why(flag.cond), flag.message))
                actions.append(Action("review", flag.action, flag.meta.id, ruleset_id))
                outcomes.append(Outcome.FLAGGED)
            # A red flag is raised on facts shown; one whose facts are not given is not raised
            # (controls, by contrast, fail closed on missing facts).
        return _Judged(Outcome.strictest(outcomes), reasons, actions)

    @staticmethod
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

    def _clear(self, snap: Snapshot, rs: RulesetSnapshot, meta: Meta, kind: str, targets: frozenset[str], requires: str,
               review: tuple[str, Meta | None], message: str, shown: list[str], facts: Mapping[str, Any],
               reasons: list[Reason], actions: list[Action], why: Any) -> Outcome:
        """Decide one applying control, party hit or ownership hit against the authorizations that cover it.

        *targets* are the ids an authorization's ``covers`` may name to clear it.
        """
        ruleset_id = rs.version.id
        policy, policy_meta = review
        if requires == "prohibited":
            reasons.append(_reason(meta, kind, Outcome.BLOCKED, shown, message or "prohibited"))
            return Outcome.BLOCKED
        routes: list[tuple[RulesetSnapshot, CAuthorization]] = [
            (rs, a) for a in rs.authorizations if not a.covers.isdisjoint(targets)]
        for target in sorted(targets):
            routes.extend(snap.external.get(f"{ruleset_id}#{target}", ()))
        cleared: list[CAuthorization] = []
        pending: list[tuple[CAuthorization, list[str]]] = []
        for owner, a in routes:
            if a.pred(facts) is not True:
                continue
            if a.licence and not _licences_for(facts["licences"], owner.version.jurisdiction):
                continue
            missing = [e for e in a.evidence if e not in facts["evidence"]]
            (pending.append((a, missing)) if missing else cleared.append(a))
        quota_routes = [a for a in cleared if a.quota is not None]
        hook = getattr(self._local, "quota", None)
        if quota_routes and hook is not None:
            return self._count(hook, meta, kind, quota_routes, shown, message, facts, reasons, actions, why)
        if cleared and not quota_routes:
            a = min(cleared, key=lambda x: (x.meta.ruleset, x.meta.id))
            reasons.append(_reason(meta, kind, Outcome.PERMITTED, shown, message or "licence required"))
            reasons.append(_reason(a.meta, "authorization", Outcome.PERMITTED, why(a.cond), f"clears `{meta.id}`"))
            return Outcome.PERMITTED
        if quota_routes or pending:
            # INVARIANT: a shipment that falls under a quota arrangement is counted before it goes,
            # even when another route would clear it: quota routes make the verdict flagged.
            reasons.append(_reason(meta, kind, Outcome.FLAGGED, shown, message or "licence required"))
            for a in sorted(quota_routes, key=lambda x: (x.meta.ruleset, x.meta.id)):
                assert a.quota is not None
                reasons.append(_reason(a.meta, "authorization", Outcome.FLAGGED, why(a.cond),
                                       f"can clear `{meta.id}` within its quota"))
                key = f" per {', '.join(a.quota.key)}" if a.quota.key else ""
                actions.append(Action("check-quota", f"count {facts['quantity']} against the quota of "
                                      f"{a.quota.quantity:,} per {a.quota.per.replace('_', ' ')}{key}",
                                      a.meta.id, a.meta.ruleset))
            if quota_routes:
                return Outcome.FLAGGED
            for a, missing in sorted(pending, key=lambda p: (p[0].meta.ruleset, p[0].meta.id)):
                facts_a = why(a.cond) + [f"evidence lacks {m}" for m in missing]
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

    def _count(self, hook: QuotaHook, meta: Meta, kind: str, quota_routes: list[CAuthorization], shown: list[str],
               message: str, facts: Mapping[str, Any], reasons: list[Reason], actions: list[Action],
               why: Any) -> Outcome:
        """With a ledger attached: every quota the shipment falls under must have room (they are cumulative)."""
        uses = [(a, hook(f"{a.meta.ruleset}#{a.meta.id}", a.quota, facts))
                for a in sorted(quota_routes, key=lambda x: (x.meta.ruleset, x.meta.id)) if a.quota is not None]
        fits = all(u.fits for _, u in uses)
        outcome = Outcome.PERMITTED if fits else Outcome.BLOCKED
        reasons.append(_reason(meta, kind, outcome, shown, message or "licence required"))
        for a, u in uses:
            sign = "<=" if u.fits else ">"
            reasons.append(_reason(a.meta, "authorization", Outcome.PERMITTED if u.fits else Outcome.BLOCKED,
                                   [*why(a.cond), f"ledger {u.used:,} + {u.quantity:,} {sign} {u.limit:,} for "
                                    f"{u.key or 'all'} in {u.period}"],
                                   f"{'clears' if u.fits else 'cannot clear'} `{meta.id}`: quota "
                                   f"{'has room' if u.fits else 'used up'}"))
            if not u.fits:
                actions.append(Action("obtain-licence", f"the quota of {u.limit:,} for {u.key or 'all'} in {u.period} "
                                      "is used up: a further allocation or licence is needed", a.meta.id,
                                      a.meta.ruleset))
        return outcome

    def _screen(self, snap: Snapshot, rs: RulesetSnapshot, tx: Transaction, facts: Mapping[str, Any],
                reasons: list[Reason], actions: list[Action], outcomes: list[Outcome], why: Any) -> None:
        """Screen each party's name, and who owns it, against the ruleset's listed parties."""
        if not rs.parties:
            return
        index, limits = rs.party_index, rs.screening
        for role in _ROLES:
            party: Party | None = getattr(tx, role)
            if party is None:
                continue
            for hit in index.search(party.name, country=party.country, thresholds=limits):
                entry = hit.entry
                listed = f"`{hit.name}` ({entry.list}, listed {entry.listed.isoformat()})"
                if not hit.exact:
                    reasons.append(_reason(entry.meta, "party", Outcome.FLAGGED,
                                           [f"{role}.name `{party.name}` resembles {listed}, score {hit.score:g}"],
                                           f"possible match of {role} on the {entry.list}"))
                    actions.append(Action("review-match", f"review whether {role} `{party.name}` is `{hit.name}` "
                                          f"(score {hit.score:g})", entry.meta.id, rs.version.id))
                    outcomes.append(Outcome.FLAGGED)
                    continue
                shown = [f"{role}.name `{party.name}` matches {listed}"]
                outcomes.append(self._party_effect(snap, rs, entry.meta, entry.effect, entry.review_policy,
                                                   frozenset({entry.meta.id, "parties"}), role, party.name,
                                                   f"{role} is on the {entry.list}", shown, facts, reasons, actions,
                                                   why))
            if party.owners and rs.ownership:
                self._screen_owners(snap, rs, role, party, facts, reasons, actions, outcomes, why)

    def _party_effect(self, snap: Snapshot, rs: RulesetSnapshot, meta: Meta, effect: str, policy: str,
                      targets: frozenset[str], role: str, name: str, message: str, shown: list[str],
                      facts: Mapping[str, Any], reasons: list[Reason], actions: list[Action], why: Any) -> Outcome:
        if effect == "flag":
            reasons.append(_reason(meta, "party", Outcome.FLAGGED, shown, message))
            actions.append(Action("review", f"review {role} `{name}` against `{meta.id}`", meta.id, rs.version.id))
            return Outcome.FLAGGED
        requires = "prohibited" if effect == "prohibited" else "licence"
        return self._clear(snap, rs, meta, "party", targets, requires, (policy, None), message, shown, facts, reasons,
                           actions, why)

    def _screen_owners(self, snap: Snapshot, rs: RulesetSnapshot, role: str, party: Party, facts: Mapping[str, Any],
                       reasons: list[Reason], actions: list[Action], outcomes: list[Outcome], why: Any) -> None:
        owned: list[tuple[float, CParty, str]] = []
        share = _listed_share(party.owners, rs, 1.0, owned)
        if not owned:
            return
        for rule in rs.ownership:
            if share + 1e-9 < rule.threshold:
                continue
            names = ", ".join(f"{o} ({s:.0%})" for s, _, o in owned)
            shown = [f"{role} `{party.name}` is {share:.0%} owned by listed parties: {names}",
                     f"{share:.0%} >= {rule.threshold:.0%}"]
            if rule.effect == "flag":
                reasons.append(_reason(rule.meta, "party", Outcome.FLAGGED, shown,
                                       f"{role} is owned by listed parties (red flag)"))
                actions.append(Action("review", f"review {role} `{party.name}`'s ownership by listed parties",
                                      rule.meta.id, rs.version.id))
                outcomes.append(Outcome.FLAGGED)
                continue
            rank = {"flag": 0, "licence": 1, "prohibited": 2}
            strictest = max((entry for _, entry, _ in owned), key=lambda e: (rank[e.effect], e.meta.id))
            targets = frozenset({rule.meta.id, "parties", *(e.meta.id for _, e, _ in owned)})
            outcomes.append(self._party_effect(
                snap, rs, rule.meta, strictest.effect, strictest.review_policy, targets, role, party.name,
                f"{role} is {share:.0%} owned by listed parties and inherits `{strictest.meta.id}`", shown, facts,
                reasons, actions, why))


def _licences_for(licences: frozenset[str], jurisdiction: str) -> bool:
    """Whether a licence counts for *jurisdiction*: ``MY:STP-1`` for MY; unprefixed licences for US."""
    for lic in licences:
        head, sep, _ = lic.partition(":")
        scoped = sep and len(head) == 2 and head.isalpha() and head.isupper()
        if (scoped and head == jurisdiction) or (not scoped and jurisdiction == "US"):
            return True
    return False


def _listed_share(owners: Iterable[Any], rs: RulesetSnapshot, factor: float,
                  owned: list[tuple[float, CParty, str]]) -> float:
    """Share held by listed parties: owners' shares summed, multiplied down the chain."""
    total = 0.0
    for o in owners:
        hits = rs.party_index.exact(o.name)
        if hits:
            total += o.share
            owned.extend((factor * o.share, h.entry, o.name) for h in hits[:1])
        elif o.owners:
            total += o.share * _listed_share(o.owners, rs, factor * o.share, owned)
    return min(total, 1.0)


def _signature(v: Verdict) -> tuple[Any, ...]:
    """What a reader of a timeline cares about: outcome, classes, deciding rules and actions owed."""
    return (v.outcome, v.classifications, tuple((r.rule, r.effect) for r in v.reasons),
            tuple(sorted(v.jurisdictions.items())), v.actions)


def load(path: str | Path | None = None, *, backend: Literal["native", "durable"] = "native") -> Engine:
    """Load, validate and index the rulesets under *path* (the bundled ones when None).

    Raises:
        RulesetInvalid: with every error found, each at file:line:col.
        BackendUnavailable: for ``backend="durable"`` when durable_rules is not installed.
    """
    catalog, result = load_catalog(Path(path) if path is not None else None)
    if catalog is None:
        raise RulesetInvalid(result.errors)
    if backend == "durable":
        from .backends.durable import DurableEngine  # optional extra, imported only when asked for

        durable: Engine = DurableEngine(catalog)
        return durable
    if backend != "native":
        raise ValueError(f"unknown backend `{backend}`; expected `native` or `durable`")
    return Engine(catalog)


def __dir__() -> list[str]:
    return list(__all__)
