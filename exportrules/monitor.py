"""Stateful checks across transactions: quotas counted in a durable ledger.

The stateless judge reports a declared quota (the US-UAE partnership's 500,000
chips a year, the G42 and Humain approvals) as a ``check-quota`` action. The
:class:`Monitor` performs that check: it judges the transaction, reads what the
ledger already counts for each quota (per its key and period), and records the
shipment when it fits, all inside one SQLite write transaction.

* **Concurrent writers** are serialised by ``BEGIN IMMEDIATE``: the sums are read
  under the write lock, so two processes cannot both take the last units.
* **Crashes** lose nothing committed and leave nothing half-written: the ledger
  runs in WAL mode with full synchronisation, and a record is one transaction.
* **Retries** are idempotent: a transaction id is recorded once per quota.

Every quota a shipment falls under must have room (a G42 shipment counts against
both the annual partnership total and the G42 share). A quota without room
blocks the shipment and names the quota, its use and its limit.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compiler import CQuota
from .diagnostics import Diagnostic
from .engine import Engine
from .errors import TransactionInvalid
from .transaction import Transaction, read_transaction
from .verdict import Outcome, Verdict

__all__ = ["Ledger", "Monitor", "MonitorResult", "QuotaUse"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shipments (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_id        TEXT NOT NULL,
    quota        TEXT NOT NULL,   -- '<ruleset>#<rule>', or '' for a shipment under no quota
    quota_key    TEXT NOT NULL,   -- the values of the quota's key fields, joined by '|'
    period       TEXT NOT NULL,   -- the calendar year, or 'total'
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    ship_date    TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    UNIQUE (tx_id, quota)
);
CREATE INDEX IF NOT EXISTS shipments_by_quota ON shipments (quota, quota_key, period);
"""


@dataclass(frozen=True, slots=True)
class QuotaUse:
    """How much of one quota a shipment would use."""

    quota: str
    """``<ruleset>#<authorization id>``."""
    key: str
    period: str
    limit: int
    used: int
    """Already counted in the ledger before this shipment."""
    quantity: int

    @property
    def fits(self) -> bool:
        """True when the shipment fits in what is left."""
        return self.used + self.quantity <= self.limit

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"quota": self.quota, "key": self.key, "period": self.period, "limit": self.limit,
                "used": self.used, "quantity": self.quantity, "fits": self.fits}


class Ledger:
    """A SQLite ledger of recorded shipments (WAL mode, full sync, one transaction per record)."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        with self.write() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with ``BEGIN IMMEDIATE`` (the write lock) and rolled back on error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    def used(self, db: sqlite3.Connection, quota: str, key: str, period: str) -> int:
        """Units already counted against a quota for a key and period."""
        row = db.execute("SELECT COALESCE(SUM(quantity), 0) FROM shipments WHERE quota=? AND quota_key=? AND period=?",
                         (quota, key, period)).fetchone()
        return int(row[0])

    def recorded(self, tx_id: str) -> bool:
        """Whether a transaction id is already in the ledger."""
        return self._db.execute("SELECT 1 FROM shipments WHERE tx_id=? LIMIT 1", (tx_id,)).fetchone() is not None

    def totals(self) -> list[dict[str, Any]]:
        """Units counted per quota, key and period."""
        rows = self._db.execute("SELECT quota, quota_key, period, SUM(quantity), COUNT(*) FROM shipments "
                                "WHERE quota != '' GROUP BY quota, quota_key, period ORDER BY 1, 2, 3").fetchall()
        return [{"quota": q, "key": k, "period": p, "quantity": int(n), "shipments": int(c)} for q, k, p, n, c in rows]

    def check(self) -> str:
        """SQLite's integrity check (``ok`` when the file is sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """A verdict after the quota check, what the quotas looked like, and whether it was recorded."""

    verdict: Verdict
    quotas: tuple[QuotaUse, ...]
    recorded: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"verdict": self.verdict.to_dict(), "quotas": [q.to_dict() for q in self.quotas],
                "recorded": self.recorded}


class Monitor:
    """Judges transactions, counts declared quotas in a ledger, and records what may ship."""

    def __init__(self, engine: Engine, ledger: Ledger) -> None:
        self.engine = engine
        self.ledger = ledger

    def record(self, transaction: Transaction | Mapping[str, Any]) -> MonitorResult:
        """Judge with the ledger's counts, and record the shipment if it is permitted.

        Every quota the shipment falls under must have room; the judgment and the
        insert happen in one write transaction. Recording needs a transaction ``id``;
        an id already in the ledger is not counted again (``recorded`` is then False).

        Raises:
            TransactionInvalid: for a malformed transaction or one without an id.
        """
        tx = read_transaction(transaction)
        if not tx.id:
            raise TransactionInvalid([Diagnostic("invalid-transaction", "`id` is required to record a shipment",
                                                 path="id")])
        with self.ledger.write() as db:
            seen = self.ledger.recorded(tx.id)
            uses: dict[str, QuotaUse] = {}

            def count(name: str, quota: CQuota, facts: Mapping[str, Any]) -> QuotaUse:
                key = "|".join(str(facts.get(f)) for f in quota.key)
                period = str(tx.date.year) if quota.per == "calendar_year" else "total"
                used = self.ledger.used(db, name, key, period)
                if seen:  # already counted: judge as it was judged then
                    used -= tx.quantity
                use = QuotaUse(name, key, period, quota.quantity, used, tx.quantity)
                uses[name] = use
                return use

            with self.engine.counting_quotas(count):
                verdict = self.engine.judge(tx)
            write = verdict.outcome is Outcome.PERMITTED and not seen
            if write:
                now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                rows = [(tx.id, u.quota, u.key, u.period, tx.quantity, tx.date.isoformat(), now, "permitted")
                        for u in uses.values()] or \
                    [(tx.id, "", "", "", tx.quantity, tx.date.isoformat(), now, "permitted")]
                db.executemany("INSERT INTO shipments (tx_id, quota, quota_key, period, quantity, ship_date, "
                               "recorded_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            return MonitorResult(verdict, tuple(uses[k] for k in sorted(uses)), write)


def __dir__() -> list[str]:
    return list(__all__)
