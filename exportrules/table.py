"""Judging tables: a polars or pandas DataFrame, or a pyarrow Table, in; the same kind out, verdict columns added.

Columns are matched to the transaction contract by name, case-insensitively (see :data:`FIELDS` and
``docs/batch.md``): ``date``, ``item``, ``quantity``, ``ship_from``, ``destination``, ``end_use``,
``evidence``, ``licences`` and ``transit`` (``;``-separated or a JSON list), ``destination_region``, a
party by role (``buyer`` or ``buyer.name``, ``buyer.country``, ``buyer.region``, ``buyer_headquarters``,
``buyer.owners`` as JSON), ``intermediate_consignees`` (a JSON list of parties), an item by its figures
(``item.tpp``, ``item.performance_density``, …), how it was made (``origin.fab_country``,
``origin.us_tools``, ``origin.us_content``) and a reference (``id``, or ``po``/``order_id``).
Other columns pass through untouched.

How a million rows are judged in about a second: rows are grouped, with polars, by everything that can
change their verdict, and each group is judged once by :meth:`Engine.judge` (the generated plan, with the
interpreter behind it), so every answer is the engine's own. A row's date counts only through the
date-state it falls in; a party name counts only when it could matter: each distinct name is screened
once against every list of the dates in the table, and a name that resembles no entry on any date (and
mixes no scripts) is interchangeable with any other such name. Rows whose names do resemble an entry,
whose parties have owners, or whose licences are checked against a dated register are grouped by their
exact values and their own date. Nothing is guessed: a row no group can speak for is judged alone, and
a malformed row gets an ``error`` naming its field and no outcome.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic, did_you_mean
from .errors import TransactionInvalid
from .screening import mixed_script_words, name_keys, search_undated
from .transaction import parse_date
from .verdict import Outcome, Verdict

if TYPE_CHECKING:
    import polars as pl

    from .engine import Engine

__all__ = [
    "FIELDS",
    "RESULT_COLUMNS",
    "ROLES",
    "TableInvalid",
    "canonical_columns",
    "flatten",
    "judge_table",
    "row_transaction",
    "ruleset_set_hash",
    "verdict_row",
]

ROLES = ("buyer", "end_user", "consignee", "seller")
_PARTY_FIELDS = ("name", "country", "region", "headquarters", "owners")
_ORIGIN_FIELDS = ("fab_country", "us_tools", "us_content")
_ITEM_FIELDS = ("kind", "material", "tpp", "performance_density", "datacenter", "memory_bandwidth", "io_bandwidth",
                "hbm_bandwidth_density", "eccn", "name", "vendor")
_NUMBERS = frozenset({"tpp", "performance_density", "memory_bandwidth", "io_bandwidth", "hbm_bandwidth_density"})

FIELDS: tuple[str, ...] = (
    "id", "date", "item", *(f"item.{f}" for f in _ITEM_FIELDS), "quantity", "ship_from", "destination",
    "destination_region", "transit", *(f"{r}.{f}" for r in ROLES for f in _PARTY_FIELDS), "intermediate_consignees",
    "end_use", "evidence", "licences", *(f"origin.{f}" for f in _ORIGIN_FIELDS),
)
"""Every column name the table reader understands (after folding case and aliases)."""

_ALIASES = {
    "po": "id", "po_number": "id", "order": "id", "order_id": "id", "purchase_order": "id", "transaction_id": "id",
    "reference": "id", "ref": "id", "qty": "quantity", "units": "quantity", "licenses": "licences",
    "license": "licences", "licence": "licences", "from": "ship_from", "origin": "ship_from", "to": "destination",
    "export_date": "date", "ship_date": "date", "chip": "item", "item_id": "item", "product": "item",
}

RESULT_COLUMNS = ("outcome", "jurisdictions", "classifications", "rules", "actions", "rulesets", "reasons", "error")
"""The columns :func:`judge_table` adds (``rules``, ``actions`` and ``reasons`` only when explaining)."""

_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_CLEAN = "\x00clean"


class TableInvalid(ValueError):
    """The table as a whole cannot be read (a required column is missing, two columns mean one field)."""


def _fold(header: str) -> str:
    """A header in canonical form: lower case, ``_`` for spaces and hyphens, ``buyer_country`` as ``buyer.country``."""
    h = re.sub(r"[\s\-]+", "_", header.strip().lower())
    h = _ALIASES.get(h, h)
    if h in ROLES:
        return f"{h}.name"
    for prefix in (*ROLES, "item", "origin"):
        if h.startswith(prefix + "_") and not h.startswith("item_id"):
            rest = h[len(prefix) + 1:]
            if (prefix == "item" and rest in _ITEM_FIELDS) or (prefix == "origin" and rest in _ORIGIN_FIELDS) \
                    or (prefix in ROLES and rest in _PARTY_FIELDS):
                return f"{prefix}.{rest}"
    return h


def canonical_columns(headers: Sequence[str], mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{field: header}`` for every header that names a transaction field.

    *mapping* gives headers the reader would not recognise (``{"Kunde": "buyer"}``); its targets are folded
    like headers. Headers that name no field are left out (they pass through a table untouched).

    Raises:
        TableInvalid: two headers name one field, a mapping names a header or field that does not exist,
            or a required field (``date``, ``item``, ``destination``) has no column.
    """
    mapping = dict(mapping or {})
    for src, target in mapping.items():
        if src not in headers:
            hint = did_you_mean(src, headers)
            raise TableInvalid(f"--map: no column `{src}`" + (f"; {hint}" if hint else ""))
        if _fold(target) not in FIELDS:
            hint = did_you_mean(_fold(target), FIELDS)
            raise TableInvalid(f"--map: `{target}` is not a transaction field" + (f"; {hint}" if hint else ""))
    out: dict[str, str] = {}
    for h in headers:
        field = _fold(mapping.get(h, h))
        if field not in FIELDS:
            continue
        if field in out:
            raise TableInvalid(f"columns `{out[field]}` and `{h}` both give `{field}`; keep one, or rename with --map")
        out[field] = h
    missing = [f for f in ("date", "destination") if f not in out]
    if "item" not in out and not any(f.startswith("item.") for f in out):
        missing.insert(1, "item")
    if missing:
        unknown = [h for h in headers if _fold(mapping.get(h, h)) not in FIELDS]
        hints = [did_you_mean(m, [_fold(u) for u in unknown]) for m in missing]
        detail = "; ".join(h for h in hints if h)
        raise TableInvalid(f"no column for {', '.join(f'`{m}`' for m in missing)}"
                           + (f" ({detail})" if detail else "") + "; name it, or map a header with --map")
    return out


# ----------------------------------------------------------------- rows <-> transactions

def _listed(text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        value = json.loads(text)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a JSON list of strings")
        return value
    return [p.strip() for p in text.split(";") if p.strip()]


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text  # the transaction reader names the field
    return value


def _quantity(text: str) -> Any:
    t = text.strip()
    if t.isdigit():
        return int(t)
    try:
        f = float(t)
    except ValueError:
        return t
    return int(f) if f.is_integer() else f


def row_transaction(row: Mapping[str, str | None]) -> dict[str, Any]:
    """One row (``{field: text}``, fields as in :data:`FIELDS`) in the transaction JSON contract.

    Raises:
        TransactionInvalid: a JSON column (owners, a JSON list) that is not valid, naming the field.
    """
    tx: dict[str, Any] = {}
    parties: dict[str, dict[str, Any]] = {}
    item: dict[str, Any] = {}
    for field, raw in row.items():
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        text = raw if isinstance(raw, str) else str(raw)
        try:
            if field in ("evidence", "licences", "transit"):
                tx[field] = _listed(text)
            elif field == "intermediate_consignees":
                tx[field] = json.loads(text)
            elif field.startswith("origin."):
                key = field[7:]
                origin = tx.setdefault("origin", {})
                if key == "us_content":
                    origin[key] = _number(text)
                elif key == "us_tools":
                    origin[key] = {"true": True, "false": False, "1": True, "0": False}.get(text.strip().lower(), text)
                else:
                    origin[key] = text
            elif field == "quantity":
                tx[field] = _quantity(text)
            elif field.startswith("item."):
                key = field[5:]
                if key in _NUMBERS:
                    item[key] = _number(text)
                elif key == "datacenter":
                    item[key] = {"true": True, "false": False, "1": True, "0": False}.get(text.strip().lower(), text)
                else:
                    item[key] = text
            elif "." in field:
                role, attr = field.split(".", 1)
                if attr == "owners":
                    parties.setdefault(role, {})[attr] = json.loads(text)
                else:
                    parties.setdefault(role, {})[attr] = text
            else:
                tx[field] = text
        except ValueError as exc:
            raise TransactionInvalid([Diagnostic("invalid-value", f"`{field}`: {exc}", path=field)]) from None
    if item:
        if "item" in tx:
            raise TransactionInvalid([Diagnostic("invalid-value", "`item`: give a catalogue id or item.* figures, "
                                                 "not both", path="item")])
        tx["item"] = item
    tx.update(parties)
    return tx


def flatten(transaction: Mapping[str, Any]) -> dict[str, str | None]:
    """A transaction (JSON contract) as one table row, the inverse of :func:`row_transaction`."""
    out: dict[str, str | None] = {}
    for key, value in transaction.items():
        if value is None:
            continue
        if key == "item" and isinstance(value, Mapping):
            for k, v in value.items():
                if v is not None:
                    out[f"item.{k}"] = json.dumps(v) if isinstance(v, bool) else str(v)
        elif key in ROLES and isinstance(value, Mapping):
            for k, v in value.items():
                if v is None:
                    continue
                out[f"{key}.{k}"] = json.dumps(v, ensure_ascii=False) if k == "owners" else str(v)
        elif key in ("evidence", "licences", "transit", "intermediate_consignees"):
            out[key] = json.dumps(list(value), ensure_ascii=False)
        elif key == "origin" and isinstance(value, Mapping):
            for k, v in value.items():
                if v is not None:
                    out[f"origin.{k}"] = json.dumps(v) if isinstance(v, bool) else str(v)
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        else:
            out[key] = str(value)
    return out


def ruleset_set_hash(verdict: Verdict) -> str:
    """One short hash for the set of ruleset versions (with their content hashes) a verdict rests on."""
    text = "\n".join(sorted(f"{r.id}@{r.version}:{r.sha256}" for r in verdict.rulesets))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def verdict_row(verdict: Verdict, *, explain: bool = True,
                reasons_for: frozenset[Outcome] = frozenset({Outcome.FLAGGED, Outcome.BLOCKED})) \
        -> dict[str, str | None]:
    """The verdict columns of one row (see :data:`RESULT_COLUMNS`)."""
    row: dict[str, str | None] = {
        "outcome": verdict.outcome.value,
        "jurisdictions": ";".join(f"{j}={o.value}" for j, o in sorted(verdict.jurisdictions.items())),
        "classifications": ";".join(verdict.classifications),
    }
    if explain:
        deciding = dict.fromkeys(r.rule for r in verdict.reasons if r.effect is verdict.outcome)
        row["rules"] = ";".join(deciding)
        row["actions"] = " | ".join(f"{a.kind}: {a.detail}" for a in verdict.actions)
    row["rulesets"] = ruleset_set_hash(verdict)
    if explain:
        row["reasons"] = json.dumps([
            {"rule": r.rule, "kind": r.kind, "effect": r.effect.value if r.effect else None,
             "jurisdiction": r.jurisdiction, "citation": r.citation, "source": r.source, "message": r.message}
            for r in verdict.reasons], ensure_ascii=False) if verdict.outcome in reasons_for else None
    row["error"] = None
    return row


def _error_row(exc: TransactionInvalid, explain: bool) -> dict[str, str | None]:
    row: dict[str, str | None] = dict.fromkeys(RESULT_COLUMNS if explain else
                                               ("outcome", "jurisdictions", "classifications", "rulesets", "error"))
    row["error"] = "; ".join(d.message for d in exc.diagnostics) or str(exc)
    return row


# ----------------------------------------------------------------- the table path


def _to_polars(data: Any) -> tuple[pl.DataFrame, Callable[[pl.DataFrame], Any]]:
    import polars as pl

    if isinstance(data, pl.DataFrame):
        return data, lambda df: df
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        return pl.from_pandas(data), lambda df: df.to_pandas()
    if mod == "pyarrow":
        frame = pl.from_arrow(data)
        if not isinstance(frame, pl.DataFrame):
            raise TypeError("expected a pyarrow Table, not a single array")
        return frame, lambda df: df.to_arrow()
    raise TypeError(f"judge_table takes a polars or pandas DataFrame or a pyarrow Table, not {type(data).__name__}")


def _as_text(df: pl.DataFrame, column: str) -> pl.Expr:
    import polars as pl

    dtype = df.schema[column]
    col = pl.col(column)
    if dtype == pl.String:
        return col
    if isinstance(dtype, pl.List):
        return col.cast(pl.List(pl.String)).list.join(";")
    if isinstance(dtype, pl.Struct):
        return col.struct.json_encode()
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d")
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("true")).when(col.not_()).then(pl.lit("false"))
    return col.cast(pl.String)


def judge_table(engine: Engine, data: Any, *, as_of: dt.date | str | None = None,
                mapping: Mapping[str, str] | None = None, explain: bool = True,
                reasons_for: Iterable[Outcome | str] = (Outcome.FLAGGED, Outcome.BLOCKED),
                on_progress: Callable[[int], None] | None = None,
                memo: dict[tuple[Any, ...], dict[str, str | None]] | None = None) -> Any:
    """Judge every row of *data*; return the same kind of table with the verdict columns added.

    Args:
        engine: the engine whose rulesets judge.
        data: a polars DataFrame, a pandas DataFrame or a pyarrow Table.
        as_of: judge every row under the rules in force on this date instead of its own date.
        mapping: ``{header: field}`` for headers the reader does not recognise.
        explain: add ``rules`` (deciding rule ids), ``actions`` and ``reasons``; without, only the answer.
        reasons_for: outcomes whose rows get their reasons (JSON, with citations) in ``reasons``.
        on_progress: called with the number of groups judged so far, now and then.
        memo: answers kept from earlier tables judged with the same engine and arguments (a batch's
            chunks), by group; pass the same dict each time.

    Returns:
        *data*'s kind, with ``outcome``, ``jurisdictions``, ``classifications``, ``rules``, ``actions``,
        ``rulesets`` (a hash of the ruleset versions), ``reasons`` and ``error``. A row with an
        ``error`` has no outcome: it was not judged.

    Raises:
        TableInvalid: the table as a whole cannot be read (see :func:`canonical_columns`), or it
            already has a column the verdict would add.
    """
    import polars as pl

    frame, back = _to_polars(data)
    clash = [c for c in RESULT_COLUMNS if c in frame.columns]
    if clash:
        raise TableInvalid(f"the table already has column(s) {', '.join(f'`{c}`' for c in clash)}, which the "
                           "verdict adds; rename or drop them")
    cols = canonical_columns(frame.columns, mapping)
    wanted = frozenset(Outcome(o) for o in reasons_for)
    fixed = None if as_of is None else parse_date(as_of)
    out_cols = RESULT_COLUMNS if explain else ("outcome", "jurisdictions", "classifications", "rulesets", "error")

    work = frame.select([_as_text(frame, h).alias(f) for f, h in cols.items()]).with_row_index("__row")
    if work.height == 0:
        empty = frame.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in out_cols])
        return back(empty)

    # Dates: ISO text within range is folded into its date-state; anything else keeps its own text.
    compiler = engine.compiler
    states = compiler.state_dates
    if fixed is None:
        date_ok = pl.col("date").is_not_null() & pl.col("date").str.contains(_ISO)
        day = pl.when(date_ok).then(pl.col("date").str.to_date("%Y-%m-%d", strict=False))
        work = work.with_columns(day.alias("__day"))
        work = work.with_columns(
            (pl.col("__day").is_not_null() & (pl.col("__day") >= dt.date(1900, 1, 1))
             & (pl.col("__day") <= dt.date(2200, 12, 31))).alias("__dated"))
        days = work.filter(pl.col("__dated")).get_column("__day").unique().to_list()
    else:
        days = [fixed]
    reps = sorted({states[compiler.state_index(d) - 1] if compiler.state_index(d) else d for d in days})
    plans = [engine.plan(d) for d in reps]
    reads = frozenset().union(*(p.reads for p in plans)) if plans else frozenset()
    date_free = not ({"date", "id"} & reads)
    tested: frozenset[str] | None = frozenset()
    for p in plans:
        tested = None if tested is None or p.name_keys is None else tested | p.name_keys

    # Names: each distinct (name, country) screened once against every list of those dates. A name that
    # resembles no entry (and mixes no scripts) leaves the date to count only through its date-state; one
    # that no condition compares with, either, is interchangeable with any other such name.
    indexes = {id(rs.party_index): (rs.party_index, rs.screening)
               for p in plans for rs in p.snapshot.rulesets if rs.parties}
    unlisted_cols: list[pl.Expr] = []
    key_names: dict[str, pl.Expr] = {}
    for role in ROLES:
        name, country = f"{role}.name", f"{role}.country"
        if name not in work.columns:
            continue
        has_country = country in work.columns
        pairs = work.select([pl.col(name), *([pl.col(country)] if has_country else [])]).unique().drop_nulls(name)
        unlisted: list[bool] = []
        plain: list[bool] = []
        for values in pairs.iter_rows():
            # a name the transaction reader refuses (blank, say) is never folded: its rows are judged one by one
            ok = _valid_name(values[0]) and _unlisted(values[0], values[1] if has_country else None,
                                                      indexes.values())
            unlisted.append(ok)
            plain.append(ok and tested is not None and name_keys(values[0])[0] not in tested)
        verdicts = pairs.with_columns(pl.Series(f"__unlisted_{role}", unlisted, dtype=pl.Boolean),
                                      pl.Series(f"__plain_{role}", plain, dtype=pl.Boolean))
        work = work.join(verdicts, on=[name, country] if has_country else [name], how="left", nulls_equal=True)
        flag = pl.col(f"__unlisted_{role}").fill_null(True)  # no name: no party to screen
        owners = f"{role}.owners"
        if owners in work.columns:
            flag = flag & (pl.col(owners).is_null() | pl.col(owners).str.strip_chars().is_in(["", "[]"]))
        unlisted_cols.append(flag)
        key_names[name] = pl.when(pl.col(f"__plain_{role}").fill_null(False)) \
            .then(pl.lit(_CLEAN)).otherwise(pl.col(name))
    row_clean = pl.lit(True)
    for flag in unlisted_cols:
        row_clean = row_clean & flag
    if engine.licensing.checked and "licences" in work.columns:
        row_clean = row_clean & (pl.col("licences").is_null() | (pl.col("licences").str.strip_chars() == ""))

    # The grouping key: every field but the reference; the date as its date-state and a valid quantity as
    # "valid" where that is exact (a group whose verdict turns out to depend on quantity is split below).
    if fixed is None:
        # A party that resembles a listed name (or is owned) is judged as of the latest listing change:
        # its date counts through the change points of every list, not day by day.
        listed_ok = pl.col("__dated") & pl.lit(date_free)
        if engine.licensing.checked and "licences" in work.columns:  # a register's licences have their own dates
            listed_ok = listed_ok & (pl.col("licences").is_null() | (pl.col("licences").str.strip_chars() == ""))
        datekey = pl.when(pl.col("__dated") & row_clean & pl.lit(date_free)) \
            .then(pl.lit("#") + _state_index_expr(states).cast(pl.String)) \
            .when(listed_ok).then(pl.lit("@") + _state_index_expr(compiler.change_dates).cast(pl.String)) \
            .otherwise(pl.col("date"))
    else:
        datekey = pl.lit("#fixed")
    keys = [datekey.alias("__datekey")]
    for f in cols:
        if f in ("id", "date"):
            continue
        if f in key_names:
            keys.append(key_names[f].alias(f"__k_{f}"))
        elif f == "quantity" and "quantity" not in reads:
            whole = pl.col(f).is_null() | pl.col(f).str.contains(r"^[1-9][0-9]{0,17}$")
            keys.append(pl.when(whole).then(pl.lit("#whole")).otherwise(pl.col(f)).alias(f"__k_{f}"))
        else:
            keys.append(pl.col(f).alias(f"__k_{f}"))
    if "id" in reads and "id" in work.columns:
        keys.append(pl.col("id").alias("__k_id"))
    keyed = work.select("__row", *keys)
    key_cols = [c for c in keyed.columns if c != "__row"]
    groups = keyed.group_by(key_cols, maintain_order=True).agg(pl.col("__row"))
    members: list[list[int]] = groups.get_column("__row").to_list()

    # Judge one row per group (a quantity a rule reads is part of the key; a reported cap is information
    # that names no quantity, so nothing else about a verdict turns on it).
    fields = list(cols)
    by_field = {f: work.get_column(f) for f in fields}
    results: list[dict[str, str | None]] = []
    target = pl.Series("__g", [0] * work.height, dtype=pl.UInt32)
    names = tuple(key_cols)  # part of every memo key: chunks of JSON Lines may have different columns
    keys_of = ((names, *k) for k in groups.select(key_cols).iter_rows()) if memo is not None else iter(())
    for g, rows in enumerate(members):
        first = rows[0]
        key = next(keys_of, None)
        kept = memo.get(key) if memo is not None and key is not None else None
        if kept is not None:
            results.append(kept)
            continue
        result = _judge_row(engine, {f: by_field[f][first] for f in fields}, fixed, explain, wanted)
        results.append(result)
        if memo is not None and key is not None and len(memo) < 1_000_000:
            memo[key] = result
        if on_progress is not None and g % 1024 == 1023:
            on_progress(g + 1)
    if on_progress is not None:
        on_progress(len(members))

    exploded = groups.select(pl.col("__row")).with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__g")) \
        .explode("__row")
    target = target.scatter(exploded.get_column("__row"), exploded.get_column("__g"))
    answers = pl.DataFrame({c: [r.get(c) for r in results] for c in out_cols},
                           schema=dict.fromkeys(out_cols, pl.String))
    return back(pl.concat([frame, answers[target]], how="horizontal"))


def _state_index_expr(states: Sequence[dt.date]) -> pl.Expr:
    import polars as pl

    bounds = pl.Series("states", list(states), dtype=pl.Date)
    return pl.col("__day").map_batches(lambda s: pl.Series(bounds.search_sorted(s, side="right")),
                                       return_dtype=pl.UInt32)


def _valid_name(name: str) -> bool:
    """Whether the transaction reader takes *name* as a party's name."""
    from pydantic import ValidationError

    from .transaction import Party

    try:
        Party.model_validate({"name": name})
    except ValidationError:
        return False
    return bool(name.strip())


def _unlisted(name: str, country: str | None, indexes: Iterable[tuple[Any, Any]]) -> bool:
    """Whether *name* resembles no entry of any index on any date and mixes no scripts."""
    if not name.isascii() and mixed_script_words(name):
        return False
    for index, limits in indexes:
        exact, fuzzy = search_undated(index, name, country, limits)
        if exact or fuzzy:
            return False
    return True


def _judge_row(engine: Engine, record: Mapping[str, str | None], fixed: dt.date | None, explain: bool,
               wanted: frozenset[Outcome]) -> dict[str, str | None]:
    """The verdict columns of one row."""
    try:
        tx = row_transaction(record)
        verdict = engine.judge(tx, as_of=fixed)
    except TransactionInvalid as exc:
        return _error_row(exc, explain)
    return verdict_row(verdict, explain=explain, reasons_for=wanted)


def __dir__() -> list[str]:
    return list(__all__)

