"""Stateful checks across transactions: quotas, licences and red-flag patterns, in a durable ledger.

The stateless judge reports a declared quota (the US-UAE partnership's 500,000 chips a
year, the G42 and Humain approvals) as information on the verdict its licence clears: those
caps are political commitments, not legal conditions. A :class:`Monitor` made with
``quotas=True`` (``exportrules record --quotas``) counts them as the user's own policy (a cap
stated in a chip's equivalents in compute counts TPP, not units). A monitor always depletes
register licences, and raises the red flags no single order shows (orders split under a
threshold, a buyer's cumulative volume, one end user behind several resellers): it judges the
transaction, reads what the ledger already counts, and records the order when it may ship, all inside
one SQLite write transaction.

* **Identities, not strings.** A quota keyed on a party name counts against the canonical
  identity of every receiving party (buyer, end user, consignee): the normalised name key,
  so ``G42``, ``g42`` and ``G42 Ltd.`` are one party, and a reseller shipping to G42 counts
  against G42's quota as well as its own.
* **One order, one content.** A transaction id is recorded once with the hash of its content.
  The same id with the same content is a retry (judged as before, recorded nothing new); with
  different content it is a **conflict**, refused with both versions shown.
* **Reservations.** ``reserve`` counts an order that is judged before it ships; ``commit``
  makes it a shipment, ``release`` gives the units back.
* **Concurrent writers** are serialised by ``BEGIN IMMEDIATE`` (processes) and a lock (threads
  sharing one ``Monitor``): sums are read under the write lock, so the last units cannot be
  taken twice. A caller that gets an error has recorded nothing.
* **Crashes** lose nothing committed and leave nothing half-written: WAL mode, full
  synchronisation, one transaction per order.
* **I/O failures** (locked past the timeout, read-only, not a ledger, disk full) raise
  :class:`~exportrules.errors.LedgerError`; ``Ledger.open_readonly`` never writes a file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compiler import CQuota
from .diagnostics import Diagnostic
from .engine import Engine
from .errors import LedgerError, TransactionInvalid
from .licences import jurisdiction_of
from .model import Pattern, entry_window
from .screening import name_keys
from .transaction import Transaction, read_transaction
from .verdict import Action, Outcome, Reason, Verdict

__all__ = ["Ledger", "Monitor", "MonitorResult", "QuotaUse"]

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    tx_id        TEXT PRIMARY KEY,
    content_sha  TEXT NOT NULL,   -- sha256 of the transaction's canonical JSON
    content      TEXT NOT NULL,   -- the transaction's canonical JSON
    status       TEXT NOT NULL CHECK (status IN ('recorded', 'reserved')),
    ship_date    TEXT NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    buyer_key    TEXT NOT NULL,   -- canonical identity of the buyer
    end_user_key TEXT NOT NULL,   -- canonical identity of the end user (the buyer when none is named)
    classes      TEXT NOT NULL,   -- the item's classes, joined by ' '
    recorded_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_end_user ON orders (end_user_key, ship_date);
CREATE INDEX IF NOT EXISTS orders_by_buyer ON orders (buyer_key, ship_date);
CREATE TABLE IF NOT EXISTS shipments (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_id        TEXT NOT NULL,
    quota        TEXT NOT NULL,   -- '<ruleset>#<rule>', 'licence:<jurisdiction>:<number>', or ''
    quota_key    TEXT NOT NULL,   -- the values of the quota's key fields, joined by '|'
    period       TEXT NOT NULL,   -- the calendar year, or 'total'
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    ship_date    TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    UNIQUE (tx_id, quota, quota_key)
);
CREATE INDEX IF NOT EXISTS shipments_by_quota ON shipments (quota, quota_key, period);
"""


@dataclass(frozen=True, slots=True)
class QuotaUse:
    """How much of one quota (for one key) a shipment would use."""

    quota: str
    """``<ruleset>#<authorization id>``, or ``licence:<jurisdiction>:<number>``."""
    key: str
    period: str
    limit: int
    used: int
    """Already counted in the ledger before this shipment."""
    quantity: int
    missing: str | None = None
    """What the shipment cannot be counted without (then it does not fit)."""

    @property
    def fits(self) -> bool:
        """True when the shipment fits in what is left (never when it cannot be counted)."""
        return self.missing is None and self.used + self.quantity <= self.limit

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"quota": self.quota, "key": self.key, "period": self.period, "limit": self.limit,
                "used": self.used, "quantity": self.quantity, "fits": self.fits, "missing": self.missing}


@contextmanager
def _failing(ledger: Ledger, what: str) -> Iterator[None]:
    """SQLite's errors as a LedgerError naming the ledger and what failed."""
    try:
        yield
    except sqlite3.Error as exc:
        raise LedgerError([Diagnostic("ledger-failure", f"ledger `{ledger.path}`: cannot {what}: {exc}")]) from exc


class Ledger:
    """A SQLite ledger of orders and what they count against (WAL mode, full sync, one transaction per order).

    Raises:
        LedgerError: when the file cannot be opened, created or upgraded.
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                if not self.path.is_file():
                    raise sqlite3.OperationalError("no such file")
                # A ledger closed cleanly has no write-ahead log: read it as immutable, which creates no
                # -wal/-shm files beside it. One in use has them already; read it through them.
                in_use = self.path.with_name(self.path.name + "-wal").exists()
                mode = "mode=ro" if in_use else "mode=ro&immutable=1"
                self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?{mode}", uri=True, timeout=timeout,
                                           isolation_level=None, check_same_thread=False)
                self._db.execute("PRAGMA query_only=ON")
                self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self._db.execute("PRAGMA synchronous=FULL")
            if self._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return  # set up already: opening takes no lock
            self._db.execute("PRAGMA journal_mode=WAL")
            with self.write() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                old = db.execute("SELECT 1 FROM sqlite_master WHERE name='shipments'").fetchone() is not None
                if old and version < SCHEMA_VERSION:
                    self._upgrade(db)
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise LedgerError([Diagnostic("ledger-failure", f"ledger `{self.path}`: cannot open it: {exc}")]) \
                from exc

    @classmethod
    def open_readonly(cls, path: str | Path) -> Ledger:
        """Open an existing ledger for reading only; the file is never created or changed."""
        return cls(path, readonly=True)

    @staticmethod
    def _upgrade(db: sqlite3.Connection) -> None:
        """A ledger of schema 1 (shipments only): keep its rows; its orders' contents are unknown."""
        db.execute("ALTER TABLE shipments RENAME TO shipments_v1")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT INTO shipments (tx_id, quota, quota_key, period, quantity, ship_date, recorded_at, "
                   "outcome) SELECT tx_id, quota, quota_key, period, quantity, ship_date, recorded_at, outcome "
                   "FROM shipments_v1")
        db.execute("INSERT OR IGNORE INTO orders SELECT tx_id, '', '', 'recorded', ship_date, MAX(quantity), '', '', "
                   "'', MIN(recorded_at) FROM shipments_v1 GROUP BY tx_id")
        db.execute("DROP TABLE shipments_v1")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with ``BEGIN IMMEDIATE`` (the write lock) and rolled back on error."""
        if self.readonly:
            raise LedgerError([Diagnostic("ledger-failure", f"ledger `{self.path}` is open read-only")])
        with _failing(self, "write to it"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def used(self, db: sqlite3.Connection, quota: str, key: str, period: str, *, besides: str = "") -> int:
        """Units already counted against a quota for a key and period (orders other than *besides*)."""
        row = db.execute("SELECT COALESCE(SUM(quantity), 0) FROM shipments WHERE quota=? AND quota_key=? "
                         "AND period=? AND tx_id != ?", (quota, key, period, besides)).fetchone()
        return int(row[0])

    def recorded(self, tx_id: str) -> bool:
        """Whether a transaction id is in the ledger (recorded or reserved)."""
        with _failing(self, "read it"):
            return self._db.execute("SELECT 1 FROM orders WHERE tx_id=?", (tx_id,)).fetchone() is not None

    def status(self, tx_id: str) -> str | None:
        """``recorded``, ``reserved``, or None when the id is not in the ledger."""
        with _failing(self, "read it"):
            row = self._db.execute("SELECT status FROM orders WHERE tx_id=?", (tx_id,)).fetchone()
        return None if row is None else str(row[0])

    def totals(self) -> list[dict[str, Any]]:
        """Units counted per quota (and licence), key and period."""
        with _failing(self, "read it"):
            rows = self._db.execute("SELECT quota, quota_key, period, SUM(quantity), COUNT(*) FROM shipments "
                                    "WHERE quota != '' GROUP BY quota, quota_key, period ORDER BY 1, 2, 3").fetchall()
        return [{"quota": q, "key": k, "period": p, "quantity": int(n), "shipments": int(c)} for q, k, p, n, c in rows]

    def check(self) -> str:
        """SQLite's integrity check (``ok`` when the file is sound)."""
        with _failing(self, "check it"):
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """A verdict after the ledger's checks, what the quotas looked like, and what happened to the order."""

    verdict: Verdict
    quotas: tuple[QuotaUse, ...]
    recorded: bool
    """True when this call wrote the order (recorded or reserved)."""
    conflict: Mapping[str, Any] | None = None
    """For an id already in the ledger with other content: ``{"id", "recorded", "submitted"}``."""
    status: str | None = None
    """The order's status in the ledger after the call (``recorded``, ``reserved`` or None)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        out: dict[str, Any] = {"verdict": self.verdict.to_dict(), "quotas": [q.to_dict() for q in self.quotas],
                               "recorded": self.recorded, "status": self.status}
        if self.conflict is not None:
            out["conflict"] = dict(self.conflict)
        return out


def canonical(tx: Transaction) -> str:
    """A transaction's canonical JSON (what its content hash is taken of)."""
    return json.dumps(tx.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def identity(name: str) -> str:
    """A party's canonical identity: its normalised name key (case, punctuation, legal forms and
    look-alike letters do not make another party)."""
    return name_keys(name)[0]


def _receiving(tx: Transaction) -> list[str]:
    ids = {identity(p.name) for p in (tx.buyer, tx.end_user or tx.buyer, tx.consignee or tx.buyer) if p is not None}
    return sorted(ids)


def _identities(tx: Transaction) -> tuple[str, str]:
    """(buyer, end user) identities; the end user is the buyer when none is named; "" when not given."""
    buyer = identity(tx.buyer.name) if tx.buyer is not None else ""
    end_user = identity(tx.end_user.name) if tx.end_user is not None else buyer
    return buyer, end_user


@dataclass
class _Pending:
    uses: dict[tuple[str, str], QuotaUse] = field(default_factory=dict)
    licences: set[str] = field(default_factory=set)


class Monitor:
    """Judges transactions with a ledger's counts, and records what may ship.

    One ``Monitor`` may be shared by threads (calls take turns); several processes may share one
    ledger file (SQLite's write lock serialises them).
    """

    def __init__(self, engine: Engine, ledger: Ledger, *, quotas: bool = False) -> None:
        """*quotas*: also count the rulesets' reported caps (the US-UAE partnership's 500,000 chips a year,
        the G42 and Humain approvals) and refuse what would exceed them. They are political commitments,
        not legal conditions of a licence, so counting them is a policy the user opts into; licences
        registered with a quantity are always counted."""
        self.engine = engine
        self.ledger = ledger
        self.quotas = quotas
        self._lock = threading.Lock()

    # ------------------------------------------------------------- public

    def record(self, transaction: Transaction | Mapping[str, Any]) -> MonitorResult:
        """Judge with the ledger's counts, and record the order as shipped if it is permitted.

        Raises:
            TransactionInvalid: for a malformed transaction or one without an id.
            LedgerError: when the ledger cannot be written; nothing was recorded.
        """
        return self._judge_and_write(transaction, "recorded")

    def reserve(self, transaction: Transaction | Mapping[str, Any]) -> MonitorResult:
        """Like :meth:`record`, but the order is held (it counts against quotas and licences) until
        :meth:`commit` or :meth:`release`."""
        return self._judge_and_write(transaction, "reserved")

    def commit(self, tx_id: str) -> bool:
        """Turn a reservation into a recorded shipment; False when *tx_id* is not reserved."""
        with self._lock, self.ledger.write() as db:
            cur = db.execute("UPDATE orders SET status='recorded' WHERE tx_id=? AND status='reserved'", (tx_id,))
            return cur.rowcount == 1

    def release(self, tx_id: str) -> bool:
        """Drop a reservation and give its units back; False when *tx_id* is not reserved."""
        with self._lock, self.ledger.write() as db:
            cur = db.execute("DELETE FROM orders WHERE tx_id=? AND status='reserved'", (tx_id,))
            if cur.rowcount != 1:
                return False
            db.execute("DELETE FROM shipments WHERE tx_id=?", (tx_id,))
            return True

    # ------------------------------------------------------------- internals

    def _judge_and_write(self, transaction: Transaction | Mapping[str, Any], status: str) -> MonitorResult:
        tx = read_transaction(transaction)
        if not tx.id:
            raise TransactionInvalid([Diagnostic("invalid-transaction", "`id` is required to record a shipment",
                                                 path="id")])
        content = canonical(tx)
        sha = hashlib.sha256(content.encode("utf-8")).hexdigest()
        with self._lock, self.ledger.write() as db:
            row = db.execute("SELECT content_sha, content, status FROM orders WHERE tx_id=?", (tx.id,)).fetchone()
            if row is not None and row[0] != sha:
                return self._conflict(tx, row[1], content, str(row[2]))
            seen = row is not None
            pending = _Pending()
            verdict = self._judge(db, tx, pending)
            write = verdict.outcome is Outcome.PERMITTED and not seen
            if write:
                self._write(db, tx, verdict, content, sha, status, pending)
            return MonitorResult(verdict, tuple(pending.uses[k] for k in sorted(pending.uses)), write,
                                 status=status if write else (str(row[2]) if seen else None))

    def _conflict(self, tx: Transaction, recorded: str, submitted: str, status: str) -> MonitorResult:
        verdict = self.engine.judge(tx)
        reason = Reason("ledger-conflict", "input", Outcome.BLOCKED, "", "", "", "", "id", (f"id {tx.id}",),
                        f"transaction `{tx.id}` is already in the ledger with other content; it is refused, not "
                        "re-judged as a retry")
        action = Action("review", "use a new id for a new order (or release the reservation first)",
                        "ledger-conflict", "")
        shown = Verdict(Outcome.BLOCKED, verdict.classifications, Verdict.sort_reasons([reason, *verdict.reasons]),
                        (action, *verdict.actions), verdict.rulesets, verdict.as_of, verdict.transaction_id,
                        verdict.jurisdictions, coverage=verdict.coverage)
        conflict = {"id": tx.id, "recorded": json.loads(recorded) if recorded else None,
                    "submitted": json.loads(submitted)}
        return MonitorResult(shown, (), False, conflict, status)

    def _judge(self, db: sqlite3.Connection, tx: Transaction, pending: _Pending) -> Verdict:
        ledger = self.ledger
        own = tx.id or ""

        def count(name: str, quota: CQuota, facts: Mapping[str, Any]) -> QuotaUse:
            period = str(tx.date.year) if quota.per == "calendar_year" else "total"
            tightest: QuotaUse | None = None
            limit, amount = quota.limit, quota.amount(tx.quantity, facts.get("item.tpp"))
            missing = "item.tpp" if amount is None else (
                f"the TPP of `{quota.equivalent}` in the catalogue" if limit is None else None)
            for key in self._keys(quota, facts, tx):
                use = QuotaUse(name, key, period, limit or 0, ledger.used(db, name, key, period, besides=own),
                               amount or 0, missing)
                pending.uses[(name, key)] = use
                if tightest is None or use.limit - use.used < tightest.limit - tightest.used:
                    tightest = use
            assert tightest is not None
            return tightest

        def licence_used(lic: str) -> int:
            j, number = jurisdiction_of(lic)
            return ledger.used(db, f"licence:{j}:{number}", "", "total", besides=own)

        with contextlib.ExitStack() as stack:
            if self.quotas:
                stack.enter_context(self.engine.counting_quotas(count))
            stack.enter_context(self.engine.counting_licences(licence_used, pending.licences.add))
            verdict = self.engine.judge(tx)
        return self._patterns(db, tx, verdict)

    @staticmethod
    def _keys(quota: CQuota, facts: Mapping[str, Any], tx: Transaction) -> list[str]:
        """The keys a shipment counts under: a party-name field stands for every receiving party's identity."""
        choices: list[list[str]] = []
        for f in quota.key:
            role, _, attr = f.partition(".")
            if attr == "name" and role in ("buyer", "end_user", "consignee"):
                choices.append(_receiving(tx) or ["None"])
            else:
                choices.append([str(facts.get(f))])
        return ["|".join(parts) for parts in itertools.product(*choices)]

    def _write(self, db: sqlite3.Connection, tx: Transaction, verdict: Verdict, content: str, sha: str, status: str,
               pending: _Pending) -> None:
        assert tx.id is not None
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        buyer, end_user = _identities(tx)
        db.execute("INSERT INTO orders (tx_id, content_sha, content, status, ship_date, quantity, buyer_key, "
                   "end_user_key, classes, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (tx.id, sha, content, status, tx.date.isoformat(), tx.quantity, buyer, end_user,
                    " ".join(verdict.classifications), now))
        rows = [(tx.id, u.quota, u.key, u.period, u.quantity, tx.date.isoformat(), now, "permitted")
                for u in pending.uses.values()]
        for lic in sorted(pending.licences):
            j, number = jurisdiction_of(lic)
            rows.append((tx.id, f"licence:{j}:{number}", "", "total", tx.quantity, tx.date.isoformat(), now,
                         "permitted"))
        if not rows:
            rows.append((tx.id, "", "", "", tx.quantity, tx.date.isoformat(), now, "permitted"))
        db.executemany("INSERT INTO shipments (tx_id, quota, quota_key, period, quantity, ship_date, recorded_at, "
                       "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    # ------------------------------------------------------------- patterns

    def _patterns(self, db: sqlite3.Connection, tx: Transaction, verdict: Verdict) -> Verdict:
        """Add the red flags the ledger shows for this order (the patterns of the rulesets in force)."""
        day = verdict.as_of
        found: list[tuple[Pattern, str, str, list[str]]] = []
        for v in self.engine.rulesets(on=day):
            for p in v.model.patterns:
                start, until = entry_window(p)
                if (start is not None and day < start) or (until is not None and day > until):
                    continue
                if p.classes and not set(p.classes) & set(verdict.classifications):
                    continue
                hit = self._pattern(db, p, tx, verdict)
                if hit is not None:
                    found.append((p, v.id, v.version.isoformat(), hit))
        if not found:
            return verdict
        reasons = list(verdict.reasons)
        actions = list(verdict.actions)
        flagged = False
        for p, rid, version, orders in found:
            origin = self.engine.catalog.get(f"{rid}@{version}").origin("patterns", p.id)
            shown = set(p.cleared_by) & set(tx.evidence)
            message = p.message or f"{p.kind} across orders in the ledger"
            if shown:
                message += f" (reviewed: {', '.join(sorted(shown))})"
            else:
                flagged = True
                detail = p.action or "review the orders together before shipping"
                if p.cleared_by:
                    detail += f"; then show `{p.cleared_by[0]}`"
                actions.append(Action("review", detail, p.id, rid))
            reasons.append(Reason(p.id, "flag", None if shown else Outcome.FLAGGED, rid, version, "", p.citation,
                                  origin.where() if origin else "", (f"orders {', '.join(orders)}",), message,
                                  bool(p.uncertain)))
        outcome = Outcome.strictest([verdict.outcome, Outcome.FLAGGED]) if flagged else verdict.outcome
        return Verdict(outcome, verdict.classifications, Verdict.sort_reasons(reasons), tuple(actions),
                       verdict.rulesets, verdict.as_of, verdict.transaction_id, verdict.jurisdictions,
                       coverage=verdict.coverage)

    def _pattern(self, db: sqlite3.Connection, p: Pattern, tx: Transaction, verdict: Verdict) -> list[str] | None:
        """The ids of the orders (this one last) that form pattern *p*, or None."""
        assert tx.id is not None
        since = (tx.date - dt.timedelta(days=p.window_days)).isoformat()
        until = tx.date.isoformat()
        buyer, end_user = _identities(tx)

        def rows(column: str, value: str) -> list[tuple[str, int, str, str]]:
            found = db.execute(f"SELECT tx_id, quantity, classes, buyer_key FROM orders WHERE {column}=? "
                               "AND ship_date BETWEEN ? AND ? AND tx_id != ? ORDER BY ship_date, tx_id",
                               (value, since, until, tx.id)).fetchall()
            watched = set(p.classes)
            return [r for r in found if not watched or watched & set(r[2].split())]

        if p.kind == "split-orders":
            assert p.threshold is not None
            if not end_user or tx.quantity >= p.threshold:
                return None
            small = [r for r in rows("end_user_key", end_user) if r[1] < p.threshold]
            total = tx.quantity + sum(r[1] for r in small)
            if len(small) + 1 >= p.orders and total >= p.threshold:
                return [r[0] for r in small] + [tx.id]
            return None
        if p.kind == "cumulative-volume":
            assert p.threshold is not None
            if not buyer or tx.quantity >= p.threshold:
                return None
            earlier = rows("buyer_key", buyer)
            before = sum(r[1] for r in earlier)
            if before < p.threshold <= before + tx.quantity:
                return [r[0] for r in earlier] + [tx.id]
            return None
        # reseller-fanout
        if not end_user or end_user == buyer:
            return None
        others = [r for r in rows("end_user_key", end_user) if r[3] and r[3] != end_user]
        resellers = {r[3] for r in others} | {buyer}
        if len(resellers) >= p.resellers:
            return [r[0] for r in others] + [tx.id]
        return None


def __dir__() -> list[str]:
    return list(__all__)
