"""The facade: load rulesets, judge transactions, answer questions about the rules.

``Engine`` holds a catalog and its compiled date-states. Judging a transaction
takes the date-state in force on its date (compiled once, under a lock), runs the
state's generated decision function (:mod:`exportrules.plan`) and wraps the answer
in a :class:`~exportrules.Verdict` whose reasons are rendered by the interpreter
(:mod:`exportrules.judging`) only when read. A transaction the plan cannot decide
alone (a listed or resembling party, a listed owner, an unknown item) is judged by
the interpreter at once. With the durable backend, every judgment goes through its
matcher instead.

Thread safety: an ``Engine`` may be shared by any number of threads. Date-states
and plans are compiled under a lock and never change afterwards; the only shared
mutable state is a few bounded caches keyed on plain values (names, decisions),
whose entries are pure functions of their keys.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from .catalog import Catalog, RulesetVersion, load_catalog
from .compiler import Compiler, Snapshot
from .diagnostics import did_you_mean
from .errors import RulesetInvalid
from .judging import Judgment, Licensing, QuotaCount, QuotaHook, classify, facts_of, item_params, judge_full
from .licences import LicenceRegister, LicenceUse, check_licence_strings
from .plan import Decision, Plan, build_plan, coverage_of, covered_jurisdictions
from .transaction import Transaction, parse_date, read_transaction
from .verdict import Outcome, Verdict

__all__ = ["Engine", "Matcher", "QuotaCount", "QuotaHook", "ScreenHit", "facts_of", "load"]


class Matcher(Protocol):
    """A backend that answers conditions its own way (durable_rules); it judges in full, every time."""

    def judge(self, snap: Snapshot, tx: Transaction, day: dt.date, quota: QuotaHook | None,
              licensing: Licensing) -> Judgment:
        """Judge *tx* under *snap* on *day* (the backend serialises its own use)."""
        ...

    def close(self) -> None:
        """Release what the backend holds for this engine."""
        ...


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


class Engine:
    """Judges transactions against a catalog of rulesets.

    Build one with :func:`exportrules.load`; it compiles date-states lazily, once each, so it is
    cheap to keep, reuse and share between threads.
    """

    def __init__(self, catalog: Catalog, *, backend: Literal["native", "durable"] = "native",
                 matcher: Matcher | None = None, licences: LicenceRegister | None = None,
                 strict_licences: bool = False) -> None:
        self.catalog = catalog
        self.backend = backend
        self.compiler = Compiler(catalog)
        self.matcher = matcher
        self.licensing = Licensing(licences, strict_licences)
        """How licences named in transactions are taken (a register, strict, or assertions)."""
        self._local = threading.local()
        self._plans: dict[int, Plan] = {}
        self._lock = threading.Lock()

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
        day = parse_date(on)
        snap = self.compiler.snapshot(day)
        hits: list[ScreenHit] = []
        for rs in snap.rulesets:
            for c in rs.party_index.search(name, country=country, thresholds=rs.screening, on=day):
                e = c.entry
                hits.append(ScreenHit(
                    e.meta.id, rs.version.id, rs.version.version.isoformat(), e.list, c.name, e.names[0], c.score,
                    c.exact, e.effect, e.listed, e.country, e.meta.citation, e.meta.source,
                ))
        return sorted(hits, key=lambda h: (-h.score, h.ruleset, h.entry))

    def facts(self, transaction: Transaction | Mapping[str, Any], as_of: dt.date | str | None = None) \
            -> dict[str, Any]:
        """The facts conditions read for *transaction*, including ``item.class`` (for property scopes)."""
        tx = read_transaction(transaction)
        day = tx.date if as_of is None else parse_date(as_of)
        snap = self.compiler.snapshot(day)
        f = facts_of(tx, item_params(tx, snap))
        f["item.class"] = frozenset(c.meta.id for c in classify(snap, f)[0])
        return f

    @contextmanager
    def counting_quotas(self, hook: QuotaHook) -> Iterator[None]:
        """Within the block (in this thread), quota routes are decided by *hook* (what a ledger counts)
        instead of being reported as information; used by :class:`exportrules.monitor.Monitor` with
        ``quotas=True``."""
        previous = getattr(self._local, "quota", None)
        self._local.quota = hook
        try:
            yield
        finally:
            self._local.quota = previous

    @contextmanager
    def counting_licences(self, used: LicenceUse, on_use: Callable[[str], None] | None = None) -> Iterator[None]:
        """Within the block (in this thread), a register licence has *used(licence)* units already spent, and
        *on_use* hears of each one that clears a control."""
        previous = getattr(self._local, "licence_use", None)
        self._local.licence_use = (used, on_use)
        try:
            yield
        finally:
            self._local.licence_use = previous

    def snapshot(self, on: dt.date | str) -> Snapshot:
        """The compiled snapshot for a date."""
        return self.compiler.snapshot(parse_date(on))

    def plan(self, on: dt.date | str) -> Plan:
        """The generated decision function in force on a date (its ``source`` can be read)."""
        return self._plan(parse_date(on))

    # ------------------------------------------------------------- judging

    def judge(self, transaction: Transaction | Mapping[str, Any], as_of: dt.date | str | None = None) -> Verdict:
        """Judge one transaction.

        Args:
            transaction: a :class:`Transaction` or a dict in the JSON contract.
            as_of: evaluate the rules in force on this date instead of the transaction's date.

        Raises:
            TransactionInvalid: when the transaction is malformed (the diagnostics name the fields).
        """
        tx = read_transaction(transaction)
        return self._judge(tx, tx.date if as_of is None else parse_date(as_of))

    def judge_many(self, transactions: Iterable[Transaction | Mapping[str, Any]],
                   as_of: dt.date | str | None = None, *, explain: bool = True) -> Iterator[Verdict | Outcome]:
        """Judge each transaction in turn (lazily); with ``explain=False``, yield only the outcomes."""
        fixed = None if as_of is None else parse_date(as_of)
        for t in transactions:
            tx = read_transaction(t)
            day = tx.date if fixed is None else fixed
            yield self._judge(tx, day) if explain else self._outcome(tx, day)

    def outcome(self, transaction: Transaction | Mapping[str, Any], as_of: dt.date | str | None = None) -> Outcome:
        """Only the answer: the same outcome :meth:`judge` gives, without making a verdict."""
        tx = read_transaction(transaction)
        return self._outcome(tx, tx.date if as_of is None else parse_date(as_of))

    def timeline(self, transaction: Transaction | Mapping[str, Any], start: dt.date | str,
                 end: dt.date | str) -> list[tuple[dt.date, Verdict]]:
        """The verdict over ``[start, end]``: the first date, then every date on which a change of
        version, membership or listing changes the verdict (its outcome, classes, reasons or actions)."""
        tx = read_transaction(transaction)
        first, last = parse_date(start), parse_date(end)
        days = [first, *(d for d in self.compiler.change_dates if first < d <= last)]
        out: list[tuple[dt.date, Verdict]] = []
        for d in days:
            v = self._judge(tx, d)
            if not out or _signature(out[-1][1]) != _signature(v):
                out.append((d, v))
        return out

    # ------------------------------------------------------------- internals

    def _plan(self, day: dt.date) -> Plan:
        i = self.compiler.state_index(day)
        plan = self._plans.get(i)
        if plan is None:
            with self._lock:
                plan = self._plans.get(i)
                if plan is None:
                    plan = build_plan(self.compiler.snapshot(day))
                    self._plans[i] = plan
                    gc.freeze()  # compiled state lives as long as the engine: keep it out of every collection
        return plan

    def _licensing(self) -> Licensing:
        hooks = getattr(self._local, "licence_use", None)
        if hooks is None:
            return self.licensing
        return Licensing(self.licensing.register, self.licensing.strict, *hooks)

    def _full(self, tx: Transaction, day: dt.date, snap: Snapshot, quota: QuotaHook | None) -> Judgment:
        if self.matcher is not None:
            return self.matcher.judge(snap, tx, day, quota, self._licensing())
        return judge_full(snap, tx, day, quota=quota, licensing=self._licensing())

    def _fast(self, tx: Transaction) -> bool:
        """Whether the plan may decide: not under a ledger, not with checked licences in play."""
        if self.matcher is not None or getattr(self._local, "quota", None) is not None \
                or getattr(self._local, "licence_use", None) is not None:
            return False
        return not (tx.licences and self.licensing.checked)

    def _decided(self, tx: Transaction, day: dt.date) -> tuple[Plan | None, Decision | None]:
        """Check the licence strings, then let the plan decide when it may (None: the interpreter must)."""
        if tx.licences:
            check_licence_strings(tx.licences, self.compiler.snapshot(day).licence_formats)
        if not self._fast(tx):
            return None, None
        plan = self._plan(day)
        return plan, plan.decide(tx, day)

    def _judge(self, tx: Transaction, day: dt.date) -> Verdict:
        plan, decision = self._decided(tx, day)
        if plan is None or decision is None:
            return self._interpreted(tx, day, plan)
        shape = plan.shape(decision)
        snap = plan.snapshot

        def explain() -> tuple[Any, Any]:
            j = judge_full(snap, tx, day)
            if j.outcome is not shape.outcome:  # the differential tests keep this from happening
                raise RuntimeError(f"internal error: the plan decided {shape.outcome.value} but the "
                                   f"interpreter {j.outcome.value} for transaction {tx.id!r}")
            return j.reasons, j.actions

        return Verdict(shape.outcome, shape.classifications, None, None, shape.rulesets, day, tx.id,
                       dict(shape.jurisdictions), explain=explain,
                       coverage=plan.coverage(tx.ship_from, tx.destination, tx.transit))

    def _interpreted(self, tx: Transaction, day: dt.date, plan: Plan | None) -> Verdict:
        snap = plan.snapshot if plan is not None else self.compiler.snapshot(day)
        j = self._full(tx, day, snap, getattr(self._local, "quota", None))
        covered = plan.covered if plan is not None else covered_jurisdictions(snap)
        return Verdict(j.outcome, j.classifications, j.reasons, j.actions, j.rulesets, day, tx.id, j.jurisdictions,
                       coverage=coverage_of(covered, tx.ship_from, tx.destination, tx.transit))

    def _outcome(self, tx: Transaction, day: dt.date) -> Outcome:
        plan, decision = self._decided(tx, day)
        if plan is not None and decision is not None:
            return plan.shape(decision).outcome
        return self._interpreted(tx, day, plan).outcome

    def close(self) -> None:
        """Release what a backend holds (the durable backend's rulesets); the engine stays usable
        with the native matcher afterwards only if it had none."""
        if self.matcher is not None:
            self.matcher.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _signature(v: Verdict) -> tuple[Any, ...]:
    """What a reader of a timeline cares about: outcome, classes, deciding rules and actions owed."""
    return (v.outcome, v.classifications, tuple((r.rule, r.effect) for r in v.reasons),
            tuple(sorted(v.jurisdictions.items())), v.actions)


def load(path: str | Path | None = None, *, backend: Literal["native", "durable"] = "native",
         licences: str | Path | LicenceRegister | None = None, strict_licences: bool = False) -> Engine:
    """Load, validate and index the rulesets under *path* (the bundled ones when None).

    Args:
        path: a directory of rulesets.
        backend: ``native`` (generated plans) or ``durable`` (durable_rules, for cross-checking).
        licences: a licence register (a file, or a :class:`~exportrules.licences.LicenceRegister`);
            licences named in transactions then clear only what their records cover.
        strict_licences: without a register, licences clear nothing (rather than being taken as the
            user's assertion, with a notice).

    Raises:
        RulesetInvalid: with every error found, each at file:line:col.
        TransactionInvalid: for a licence register file that is not valid.
        BackendUnavailable: for ``backend="durable"`` when durable_rules is not installed.
    """
    catalog, result = load_catalog(Path(path) if path is not None else None)
    if catalog is None:
        raise RulesetInvalid(result.errors)
    register = licences if isinstance(licences, LicenceRegister) or licences is None \
        else LicenceRegister.load(licences)
    if backend == "durable":
        from .backends.durable import DurableMatcher  # optional, imported only when asked for

        return Engine(catalog, backend="durable", matcher=DurableMatcher(), licences=register,
                      strict_licences=strict_licences)
    if backend != "native":
        raise ValueError(f"unknown backend `{backend}`; expected `native` or `durable`")
    engine = Engine(catalog, licences=register, strict_licences=strict_licences)
    gc.freeze()  # the loaded catalog lives as long as the engine: keep it out of every collection
    return engine


def __dir__() -> list[str]:
    return list(__all__)
