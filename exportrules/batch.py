"""Batches: a file of orders in (CSV, JSON Lines, Parquet, Arrow IPC), a file of verdicts out.

Input is read in chunks (about 100,000 rows), each judged with :func:`exportrules.table.judge_table`,
so memory stays flat however long the file. Output has one row per judged transaction: its reference,
date, item, destination and buyer, then the verdict columns. Rows that cannot be read or judged go to a
rejects file with their row (or line) and the field at fault; the rest are judged.

``resume=True`` continues an interrupted run: the output so far is kept (a CSV or JSON Lines file
trimmed to its last whole line; for Parquet, the finished parts in ``OUT.parts/``), the ids it holds
are skipped, and new rows are appended.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .table import ROLES, TableInvalid, canonical_columns, flatten, judge_table

if TYPE_CHECKING:
    import polars as pl

    from .engine import Engine

__all__ = ["FORMATS", "OUTPUT_COLUMNS", "BatchSummary", "format_of", "read_chunks", "run_batch"]

FORMATS = ("csv", "jsonl", "parquet", "arrow")
_SUFFIX = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
           ".parquet": "parquet", ".pq": "parquet", ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow"}
OUTPUT_COLUMNS = ("id", "date", "item", "destination", "buyer", "outcome", "jurisdictions", "classifications",
                  "rules", "actions", "rulesets", "reasons")
"""The columns of a batch's output, in order."""
_TX_KEYS = frozenset({"id", "date", "item", "quantity", "ship_from", "destination", "destination_region", "transit",
                      *ROLES, "intermediate_consignees", "end_use", "evidence", "licences", "origin"})
_PARTY_KEYS = frozenset({"name", "country", "region", "headquarters", "owners"})
CHUNK = 100_000


def format_of(path: str | Path, given: str | None = None) -> str:
    """The format of *path*: *given*, or read from its extension.

    Raises:
        TableInvalid: neither names one of :data:`FORMATS`.
    """
    if given is not None:
        if given not in FORMATS:
            raise TableInvalid(f"unknown format `{given}`; expected one of {', '.join(FORMATS)}")
        return given
    fmt = _SUFFIX.get(Path(str(path)).suffix.lower())
    if fmt is None:
        raise TableInvalid(f"cannot tell the format of `{path}` from its extension; give --in-format/--out-format "
                           f"({', '.join(FORMATS)})")
    return fmt


@dataclass
class BatchSummary:
    """What a batch did."""

    rows: int = 0
    judged: int = 0
    skipped: int = 0
    rejected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_destination: dict[str, Counter[str]] = field(default_factory=dict)
    rules: Counter[str] = field(default_factory=Counter)

    def add(self, out: pl.DataFrame) -> None:
        """Count one judged chunk (aggregated by polars: a chunk's rows never pass through Python one by one)."""
        import polars as pl

        for dest, outcome, n in out.group_by("destination", "outcome").len().iter_rows():
            self.outcomes[outcome] += n
            self.by_destination.setdefault(dest or "?", Counter())[outcome] += n
        if "rules" in out.columns:
            deciding = out.filter((pl.col("outcome") != "permitted") & (pl.col("rules") != "")) \
                .select(pl.col("rules").str.split(";").explode()).get_column("rules").value_counts()
            for rule, n in deciding.iter_rows():
                self.rules[rule] += n

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"rows": self.rows, "judged": self.judged, "skipped": self.skipped, "rejected": self.rejected,
                "outcomes": dict(self.outcomes),
                "by_destination": {d: dict(c) for d, c in sorted(self.by_destination.items())},
                "rules": dict(self.rules.most_common())}

    def text(self) -> str:
        """A few lines a person reads."""
        lines = [f"{self.rows:,} rows: {self.judged:,} judged, {self.rejected:,} rejected"
                 + (f", {self.skipped:,} skipped (already in the output)" if self.skipped else "")]
        lines.append("  " + ", ".join(f"{o} {self.outcomes.get(o, 0):,}" for o in ("permitted", "flagged", "blocked")))
        worst = sorted(self.by_destination.items(),
                       key=lambda kv: (-kv[1].get("blocked", 0), -kv[1].get("flagged", 0), kv[0]))[:8]
        if worst:
            lines.append("  by destination: " + "; ".join(
                f"{d} " + "/".join(str(c.get(o, 0)) for o in ("permitted", "flagged", "blocked")) for d, c in worst)
                + "  (permitted/flagged/blocked)")
        if self.rules:
            lines.append("  deciding rules: " + ", ".join(f"{r} {n:,}" for r, n in self.rules.most_common(8)))
        return "\n".join(lines)


# ----------------------------------------------------------------- reading


def _jsonl_rows(lines: list[tuple[int, str]], rejects: list[dict[str, Any]]) -> list[dict[str, str | None]]:
    from .cli import decode_json  # the strict decoder (duplicate keys, huge numbers, deep nesting)

    rows: list[dict[str, str | None]] = []
    for line, text in lines:
        try:
            data = decode_json(text)
        except ValueError as exc:
            rejects.append({"line": line, "field": None, "error": f"not valid JSON: {exc}"})
            continue
        if not isinstance(data, dict):
            rejects.append({"line": line, "field": None, "error": "expected a JSON object (one transaction)"})
            continue
        unknown = [k for k in data if k not in _TX_KEYS] + [
            f"{r}.{k}" for r in ROLES if isinstance(data.get(r), dict) for k in data[r] if k not in _PARTY_KEYS]
        if unknown:
            rejects.append({"line": line, "id": data.get("id"), "field": unknown[0],
                            "error": f"`{unknown[0]}` is not a transaction field"})
            continue
        row = flatten(data)
        row["__line"] = str(line)
        rows.append(row)
    return rows


def read_chunks(path: Path, fmt: str, rejects: list[dict[str, Any]], chunk: int = CHUNK) -> Iterator[pl.DataFrame]:
    """The file as DataFrames of about *chunk* rows each, every column text, with ``__line`` (the row or line
    number a reject names). JSON Lines lines that are not transactions go straight to *rejects*."""
    import polars as pl

    seen = 0
    if fmt == "jsonl":
        with path.open(encoding="utf-8", newline="") as fh:
            buf: list[tuple[int, str]] = []
            for n, text in enumerate(fh, 1):
                if text.strip():
                    buf.append((n, text))
                if len(buf) >= chunk:
                    yield _frame(_jsonl_rows(buf, rejects))
                    buf = []
            if buf:
                yield _frame(_jsonl_rows(buf, rejects))
        return
    import pyarrow as pa

    if fmt == "csv":
        import pyarrow.csv as pacsv

        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ","), [])
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter="\t" if path.suffix.lower() == ".tsv" else ",",
                                             newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                 strings_can_be_null=True, quoted_strings_can_be_null=False))
        for rb in reader:
            frame = pl.from_arrow(rb)
            assert isinstance(frame, pl.DataFrame)
            # the line of each row, counting the header as line 1 (exact unless a value spans lines)
            yield frame.with_columns(pl.int_range(seen + 2, seen + 2 + frame.height).cast(pl.String).alias("__line"))
            seen += frame.height
        return
    if fmt == "parquet":
        import pyarrow.parquet as pq

        batches: Iterator[pa.RecordBatch] = pq.ParquetFile(path).iter_batches(batch_size=chunk)
    else:
        import pyarrow.ipc as ipc

        try:
            reader = ipc.open_file(path)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        except pa.ArrowInvalid:
            batches = iter(ipc.open_stream(path))
    for rb in batches:
        frame = pl.from_arrow(rb)
        assert isinstance(frame, pl.DataFrame)
        yield frame.with_columns(pl.int_range(seen + 1, seen + 1 + frame.height).cast(pl.String).alias("__line"))
        seen += frame.height


def _frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    import polars as pl

    cols = ["__line", *sorted({k for r in rows for k in r} - {"__line"})] if rows else ["__line", "date", "item",
                                                                                         "destination"]
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in cols}, schema=dict.fromkeys(cols, pl.String))


# ----------------------------------------------------------------- writing


class _Writer:
    """Appends judged chunks to OUT in its format; Parquet goes through finished parts, combined at the end."""

    def __init__(self, out: Path | None, fmt: str, resume: bool) -> None:
        self.out, self.fmt = out, fmt
        self.done: set[str] = set()
        self.parts = out.with_name(out.name + ".parts") if out is not None else None
        self.count = 0
        if out is None:
            return
        if fmt == "parquet":
            assert self.parts is not None
            if resume:
                found = sorted(self.parts.glob("part-*")) if self.parts.is_dir() else []
                self.done |= _ids_parquet([*found, *([out] if out.exists() else [])])
                self.count = len(found)
                if out.exists() and not self.count:  # a finished output: keep it as the first part
                    self.parts.mkdir(exist_ok=True)
                    out.replace(self.parts / "part-000000.parquet")
                    self.count = 1
            else:
                _clear(self.parts)
                if out.exists():
                    out.unlink()
            self.parts.mkdir(exist_ok=True)
            return
        if resume and out.exists():
            self.done |= _ids_text(out, fmt)
        elif out.exists():
            out.unlink()

    def write(self, frame: pl.DataFrame) -> None:
        import polars as pl

        if self.out is None:
            import sys

            sys.stdout.write(frame.write_ndjson() if frame.height else "")
            sys.stdout.flush()
            return
        if self.fmt == "parquet":
            assert self.parts is not None
            tmp = self.parts / f".part-{self.count:06d}.tmp"
            frame.write_ipc(tmp)  # Arrow IPC: no encoding now; the Parquet file is encoded once, at the end
            tmp.replace(self.parts / f"part-{self.count:06d}.arrow")  # a part exists whole or not at all
            self.count += 1
            return
        fresh = not self.out.exists() or self.out.stat().st_size == 0
        with self.out.open("a", encoding="utf-8", newline="") as fh:
            if self.fmt == "csv":
                fh.write(frame.write_csv(include_header=fresh))
            else:
                fh.write(frame.write_ndjson())
            fh.flush()
            os.fsync(fh.fileno())
        del pl

    def close(self) -> None:
        if self.out is None or self.fmt != "parquet":
            return
        import pyarrow.parquet as pq

        assert self.parts is not None
        import pyarrow.ipc as ipc

        parts = sorted(self.parts.glob("part-*"))
        tmp = self.out.with_name(self.out.name + ".tmp")
        writer = None
        try:
            for p in parts:
                if p.suffix == ".parquet":
                    table = pq.read_table(p)
                else:
                    with ipc.open_file(p) as reader:
                        table = reader.read_all()
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            if writer is None:
                import polars as pl

                pl.DataFrame(schema=dict.fromkeys(OUTPUT_COLUMNS, pl.String)).write_parquet(tmp)
        finally:
            if writer is not None:
                writer.close()
        tmp.replace(self.out)
        _clear(self.parts)


def _clear(parts: Path) -> None:
    if parts.is_dir():
        for p in parts.iterdir():
            p.unlink()
        parts.rmdir()


def _ids_parquet(files: list[Path]) -> set[str]:
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    out: set[str] = set()
    for f in files:
        if f.suffix == ".parquet":
            ids = pq.read_table(f, columns=["id"]).column("id").to_pylist()
        else:
            with ipc.open_file(f) as reader:
                ids = reader.read_all().column("id").to_pylist()
        out.update(str(v) for v in ids if v is not None)
    return out


def _ids_text(out: Path, fmt: str) -> set[str]:
    """The ids already written; a last line cut short by a crash is removed first."""
    with out.open("rb+") as fh:
        data = fh.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            fh.truncate(end)
            data = data[:end]
    text = data.decode("utf-8")
    if fmt == "csv":
        return {row["id"] for row in csv.DictReader(io.StringIO(text)) if row.get("id")}
    ids = set()
    for line in text.splitlines():
        if line.strip():
            v = json.loads(line).get("id")
            if v is not None:
                ids.add(str(v))
    return ids


# ----------------------------------------------------------------- the run


def run_batch(engine: Engine, source: Path, out: Path | None, *, in_format: str | None = None,
              out_format: str | None = None, mapping: Mapping[str, str] | None = None,
              rejects: Path | None = None, resume: bool = False, as_of: str | None = None,
              explain: bool = True, chunk: int = CHUNK,
              on_rows: Callable[[int], None] | None = None) -> BatchSummary:
    """Judge every row of *source* into *out* (JSON Lines on stdout when None).

    Raises:
        TableInvalid: the file as a whole cannot be read (format, a required column, ``--resume``
            without an id column).
    """
    import polars as pl

    fmt_in = format_of(source, in_format)
    fmt_out = format_of(out, out_format) if out is not None else "jsonl"
    if resume and out is None:
        raise TableInvalid("--resume needs an output file (-o)")
    writer = _Writer(out, fmt_out, resume)
    summary = BatchSummary()
    bad: list[dict[str, Any]] = []
    reject_path = rejects if rejects is not None else (
        out.with_name(out.name + ".rejects.jsonl") if out is not None else None)
    if reject_path is not None and reject_path.exists() and not resume:
        reject_path.unlink()
    line_word = "line" if fmt_in in ("jsonl", "csv") else "row"
    memo: dict[tuple[Any, ...], dict[str, str | None]] = {}  # answers by group, across chunks
    for frame in read_chunks(source, fmt_in, bad, chunk):
        summary.rows += frame.height
        cols = canonical_columns([c for c in frame.columns if c != "__line"], mapping)
        if resume:
            if "id" not in cols:
                raise TableInvalid("--resume needs an id column to know which rows are done")
            before = frame.height
            frame = frame.filter(~pl.col(cols["id"]).cast(pl.String).is_in(list(writer.done)))
            summary.skipped += before - frame.height
        judged = judge_table(engine, frame, as_of=as_of, mapping=mapping, explain=explain, memo=memo)
        failed = judged.filter(pl.col("error").is_not_null())
        for row in failed.iter_rows(named=True):
            ref = row[cols["id"]] if "id" in cols else None
            err = row["error"]
            fld = err.split("`")[1] if err.count("`") >= 2 else None
            bad.append({line_word: int(row["__line"]) if row.get("__line") else None, "id": ref, "field": fld,
                        "error": err} if "__line" in row else {"id": ref, "field": fld, "error": err})
        good = judged.filter(pl.col("error").is_null())
        shaped = good.select([
            (pl.col(cols[f]).cast(pl.String) if f in cols else pl.lit(None, dtype=pl.String)).alias(name)
            for f, name in (("id", "id"), ("date", "date"), ("item", "item"), ("destination", "destination"),
                            ("buyer.name", "buyer"))
        ] + [pl.col(c) if c in good.columns else pl.lit(None, dtype=pl.String).alias(c)
             for c in OUTPUT_COLUMNS[5:]])
        writer.write(shaped)
        summary.judged += shaped.height
        summary.add(shaped)
        if on_rows is not None:
            on_rows(frame.height)
    writer.close()
    # JSON Lines lines rejected while reading carry their own line numbers; table rows got theirs above.
    summary.rejected = len(bad)
    if reject_path is not None and bad:
        with reject_path.open("a", encoding="utf-8") as fh:
            for r in bad:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif bad:
        import sys

        for r in bad:
            sys.stderr.write(json.dumps(r, ensure_ascii=False) + "\n")
    return summary


def __dir__() -> list[str]:
    return list(__all__)
