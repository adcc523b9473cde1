"""Generated purchase-order tables: realistic mixes for differential tests and batch benchmarks.

Rows are flat (the column names of :mod:`exportrules.table`). Items come from the loaded catalogue
(and some by their figures), destinations from every group the rulesets name, dates from the rulesets'
own change points and the days around them, and party names from a pool of recurring buyers, the
restricted-party lists themselves (exact names and near misses) and, in the share asked for, names
never seen before.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = ["order_rows"]

_END_USES = (None, "datacenter", "consumer", "military", "supercomputer", "research", "commercial")
_EVIDENCE = ("", "", "", "nac_notification", "kyc_remote_access_controls",
             "us_commercially_available;us_units_stated;us_supply_certified")
_COUNTRIES = ("DE", "FR", "JP", "GB", "NL", "IN", "SG", "MY", "VN", "AE", "SA", "IL", "CN", "MO", "HK", "RU",
              "IR", "KP", "CU", "BY", "TH", "ID", "BR", "MX", "US", "KR", "TW", "PK", "KZ", "CY")


def order_rows(engine: Engine, n: int, *, seed: int = 1, fresh_names: float = 0.0,
               buyers: int = 200, profile: str = "mixed") -> Iterator[dict[str, str | None]]:
    """*n* purchase-order rows; a share *fresh_names* of them with a buyer name never used before.

    The remaining rows draw their buyer from *buyers* recurring names, a tenth of which are names on
    the loaded restricted-party lists or misspellings of them. ``profile="mixed"`` draws every field
    independently (for differential tests: as many distinct combinations as possible);
    ``profile="procurement"`` gives each buyer its own country, headquarters, end use, evidence and
    three items, and spreads the orders over 2026 with any quantity, as a real order book does.
    """
    if profile == "procurement":
        yield from _procurement(engine, n, seed=seed, fresh_names=fresh_names, buyers=buyers)
        return
    rnd = random.Random(seed)
    items = sorted({i.id for v in engine.catalog for i in v.model.items})
    listed = sorted({e.names[0] for v in engine.catalog for e in v.model.parties})
    changes = sorted(engine.compiler.change_dates)
    days = [d + dt.timedelta(days=k) for d in changes for k in (-1, 0, 1)
            if dt.date(2019, 1, 1) <= d + dt.timedelta(days=k) <= dt.date(2027, 12, 31)]
    pool: list[tuple[str, str]] = []
    for k in range(buyers):
        if listed and k % 10 == 0:
            name = rnd.choice(listed)
            if k % 20 == 0 and len(name) > 6:
                i = rnd.randrange(1, len(name) - 1)
                name = name[:i] + name[i + 1:]  # a near miss: one letter dropped
            pool.append((name, rnd.choice(_COUNTRIES)))
        else:
            pool.append((f"Buyer {k} Trading Co Ltd", rnd.choice(_COUNTRIES)))
    for k in range(n):
        dest = rnd.choice(_COUNTRIES)
        if rnd.random() < fresh_names:
            name, country = f"Neue Kunde {seed}-{k} GmbH", dest
        else:
            name, country = rnd.choice(pool)
        row: dict[str, str | None] = {
            "id": f"PO-{seed}-{k}",
            "date": rnd.choice(days).isoformat(),
            "quantity": str(rnd.choice((1, 8, 64, 500, 4000))),
            "ship_from": "US" if rnd.random() < 0.85 else rnd.choice(_COUNTRIES),
            "destination": dest,
            "buyer.name": name,
            "buyer.country": country,
            "buyer.headquarters": rnd.choice((None, None, None, "CN", "US", "MO")),
            "end_use": rnd.choice(_END_USES) if rnd.random() < 0.99 else "cloud",  # "cloud": not in the vocabulary
            "evidence": rnd.choice(_EVIDENCE) or None,
        }
        if rnd.random() < 0.9:
            row["item"] = rnd.choice(items)
        else:
            row["item.tpp"] = str(rnd.choice((1000, 2399, 2400, 4799, 4800, 5000, 16000)))
            row["item.performance_density"] = str(rnd.choice((0.5, 1.6, 3.2, 5.92, 6.0)))
            row["item.datacenter"] = rnd.choice(("true", "false"))
        if rnd.random() < 0.03:
            row["licences"] = rnd.choice(("D1234567", "TBD", "D7654321;D1111111"))
        if rnd.random() < 0.01:
            row["quantity"] = rnd.choice(("0", "many", "-3"))  # malformed: must be reported, never judged
        yield row


def _procurement(engine: Engine, n: int, *, seed: int, fresh_names: float,
                 buyers: int) -> Iterator[dict[str, str | None]]:
    rnd = random.Random(seed)
    items = sorted({i.id for v in engine.catalog for i in v.model.items})
    listed = sorted({e.names[0] for v in engine.catalog for e in v.model.parties})
    profiles: list[tuple[dict[str, str | None], list[str]]] = []
    for k in range(buyers):
        dest = rnd.choice(_COUNTRIES)
        name = rnd.choice(listed) if listed and k % 25 == 0 else f"Buyer {k} Trading Co Ltd"
        profiles.append(({"destination": dest, "buyer.name": name, "buyer.country": dest,
                          "buyer.headquarters": rnd.choice((None, None, None, "CN", "US")),
                          "end_use": rnd.choice(_END_USES), "evidence": rnd.choice(_EVIDENCE) or None},
                         rnd.sample(items, 3)))
    start = dt.date(2026, 1, 1)
    for k in range(n):
        p, chips = rnd.choice(profiles)
        row: dict[str, str | None] = {
            "id": f"PO-{seed}-{k}", "date": (start + dt.timedelta(days=rnd.randrange(365))).isoformat(),
            "item": rnd.choice(chips), "quantity": str(rnd.randrange(1, 5000)), "ship_from": "US", **p,
        }
        if rnd.random() < fresh_names:
            row["buyer.name"] = f"Neue Kunde {seed}-{k} GmbH"
        yield row


def __dir__() -> list[str]:
    return list(__all__)
