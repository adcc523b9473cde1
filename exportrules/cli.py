"""The command line, over the public API only.

Exit codes (also in the README):

====  ==========================================================
0     success; for ``judge``, every verdict is permitted
1     internal error (a bug: please report it)
2     usage error (unknown option, missing argument)
3     invalid input: a bad transaction or an invalid ruleset
4     flagged: at least one verdict needs an action, none blocked
5     blocked: at least one verdict is blocked
6     a ruleset property failed (``exportrules test``)
7     the ledger cannot be read or written (locked, read-only, corrupt, full)
====  ==========================================================
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from enum import Enum, IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from . import __version__
from .catalog import load_catalog
from .conditions import is_country_code
from .diagnostics import Diagnostic
from .engine import Engine, load
from .errors import ExportRulesError, LedgerError, RulesetInvalid, TransactionInvalid
from .model import Ruleset
from .render import diagnostics_json, render_diagnostics, render_verdict
from .transaction import Transaction, parse_date, read_transaction
from .verdict import Outcome

__all__ = ["ExitCode", "app", "main", "ruleset_json_schema"]


class ExitCode(IntEnum):
    """Process exit codes."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    INVALID = 3
    FLAGGED = 4
    BLOCKED = 5
    PROPERTY_FAILED = 6
    LEDGER = 7


class Format(str, Enum):
    """Output format."""

    text = "text"
    json = "json"


app = typer.Typer(
    name="exportrules",
    help="Judge AI-chip shipments against versioned export-control rulesets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
_err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def _print_version(value: bool) -> None:
    if value:
        _out.print(f"exportrules {__version__}", markup=False)
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Judge AI-chip shipments against versioned export-control rulesets."""


def _json(text: str) -> None:
    """JSON goes straight to stdout (never through rich, which would read `:100:` as an emoji)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()

RulesetsOpt = Annotated[
    Path | None, typer.Option("--rulesets", "-r", help="Directory of rulesets (default: the bundled ones).")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def ruleset_json_schema() -> dict[str, Any]:
    """The JSON Schema of a ruleset file, generated from the models."""
    schema = Ruleset.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://exportrules.invalid/schema/ruleset-v1.json"
    return schema


def _fail_invalid(diags: tuple[Diagnostic, ...] | list[Diagnostic], fmt: Format) -> None:
    if fmt is Format.json:
        _json(diagnostics_json(diags))
    else:
        _err.print(render_diagnostics(diags), markup=False)
    raise typer.Exit(ExitCode.INVALID)


LicencesOpt = Annotated[
    Path | None, typer.Option("--licences", help="A licence register (YAML or JSON): licences clear only what their "
                              "records cover.")
]
StrictOpt = Annotated[bool, typer.Option("--strict-licences", help="Without a register, licences clear nothing.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Judge under the rules in force on this date.")]


def _load(rulesets: Path | None, fmt: Format, licences: Path | None = None, strict: bool = False) -> Engine:
    try:
        return load(rulesets, licences=licences, strict_licences=strict)
    except (RulesetInvalid, TransactionInvalid) as exc:
        _fail_invalid(exc.diagnostics, fmt)
        raise  # unreachable


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        _err.print(f"error[invalid-transaction]: cannot read `{source}`: {msg}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key `{key}` (a later value would silently win)")
        out[key] = value
    return out


def decode_json(text: str) -> Any:
    """Strict JSON: a duplicate key, an integer past Python's digit limit or nesting too deep is an error.

    Raises:
        ValueError: with a message fit to show (JSONDecodeError included).
    """
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # duplicate keys; integers with too many digits
        raise ValueError(f"not valid JSON: {exc}") from None


def _is_object(line: str) -> bool:
    try:
        return isinstance(decode_json(line), dict)
    except ValueError:
        return False


def _records(text: str) -> tuple[bool, list[tuple[int, Any, str | None]]]:
    """(single, [(line, decoded or None, error message or None)]).

    The input is one JSON object, one array of objects, or JSON Lines. Lines are split on
    newlines only (U+2028 and U+2029 may occur inside JSON strings), and a bad line of any
    kind is reported with its number while the others are read.
    """
    lines = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not lines:
        return False, [(1, None, "no transaction given (empty input)")]
    try:
        whole = decode_json(text)
    except ValueError as exc:
        whole, problem = None, str(exc)
    else:
        if isinstance(whole, list):
            return False, [(i + 1, x, None) for i, x in enumerate(whole)]
        return True, [(lines[0][0], whole, None)]
    if len(lines) == 1 or not _is_object(lines[0][1]):  # one document (perhaps over several lines), not valid
        return True, [(lines[0][0], None, problem)]
    out: list[tuple[int, Any, str | None]] = []
    for n, line in lines:
        try:
            out.append((n, decode_json(line), None))
        except ValueError as exc:
            out.append((n, None, f"line {n}: {exc}"))
    return False, out


class _Batch:
    """The transactions of a file or stdin, one object or JSON Lines. Iterating yields the valid ones
    and reports each bad one (naming its line and fields) in the chosen format; ``invalid`` says if any was bad."""

    def __init__(self, source: str, fmt: Format) -> None:
        self.single, self._records = _records(_read(source))
        self.fmt = fmt
        self.invalid = False
        self.line = 0
        """The line of the transaction last yielded."""

    def __iter__(self) -> Iterator[Transaction]:
        for line, data, problem in self._records:
            self.line = line
            diags: list[dict[str, Any]] = []
            if problem is not None:
                diags = [{"code": "invalid-transaction", "message": problem}]
            else:
                try:
                    tx = read_transaction(data, line=None if self.single else line)
                except TransactionInvalid as exc:
                    diags = [d.to_dict() for d in exc.diagnostics]
                else:
                    yield tx
                    continue
            self.invalid = True
            self.report(line, diags)

    def report(self, line: int, diags: list[dict[str, Any]]) -> None:
        """Report one bad transaction (its line and its problems) in the chosen format."""
        if self.fmt is Format.json:
            payload: dict[str, Any] = {"error": "invalid-transaction", "diagnostics": diags}
            if not self.single:
                payload["line"] = line
            _json(json.dumps(payload, indent=2 if self.single else None, ensure_ascii=False))
            return
        where = "" if self.single else f"line {line}: "
        for d in diags:
            msg = d["message"]
            prefix = "" if msg.startswith(f"line {line}") else where
            _err.print(f"error[{d['code']}]: {prefix}{msg}", markup=False)


_OUTCOME_CODE = {Outcome.PERMITTED: ExitCode.OK, Outcome.FLAGGED: ExitCode.FLAGGED, Outcome.BLOCKED: ExitCode.BLOCKED}


@app.command()
def judge(
    source: Annotated[str, typer.Argument(help="Transaction JSON file, JSON Lines file, or - for stdin.")] = "-",
    rulesets: RulesetsOpt = None,
    as_of: AsOfOpt = None,
    licences: LicencesOpt = None,
    strict_licences: StrictOpt = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """Judge one transaction (a JSON object) or many (JSON Lines); one verdict per transaction."""
    engine = _load(rulesets, fmt, licences, strict_licences)
    try:
        day = parse_date(as_of) if as_of is not None else None
    except ValueError as exc:
        _err.print(f"error[invalid-transaction]: `--as-of`: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    batch = _Batch(source, fmt)
    worst = Outcome.PERMITTED
    for tx in batch:
        try:
            verdict = engine.judge(tx, as_of=day)
        except TransactionInvalid as exc:  # e.g. a placeholder licence: reported with its line, the rest judged
            batch.invalid = True
            where = "" if batch.single else f"line {batch.line}: "
            batch.report(batch.line, [{**d.to_dict(), "message": where + d.message} for d in exc.diagnostics])
            continue
        worst = Outcome.strictest([worst, verdict.outcome])
        if fmt is Format.json:
            _json(verdict.to_json(indent=2 if batch.single else None))
        else:
            _out.print(render_verdict(verdict))
    raise typer.Exit(ExitCode.INVALID if batch.invalid else _OUTCOME_CODE[worst])


class FailOn(str, Enum):
    """Which outcomes make ``batch`` exit non-zero."""

    flagged = "flagged"
    blocked = "blocked"
    never = "never"


def _mapping(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        header, sep, target = item.partition("=")
        if not sep or not header or not target:
            _err.print(f"error[usage]: --map `{item}`: expected HEADER=FIELD, e.g. --map 'Kunde=buyer'", markup=False)
            raise typer.Exit(ExitCode.USAGE)
        out[header] = target
    return out


@app.command()
def batch(
    source: Annotated[Path, typer.Argument(help="Orders: CSV, JSON Lines, Parquet or Arrow IPC.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Verdicts: CSV, Parquet or JSON Lines "
                                             "(default: JSON Lines on stdout).")] = None,
    in_format: Annotated[str | None, typer.Option("--in-format", help="csv, jsonl, parquet or arrow "
                                                  "(default: from the extension).")] = None,
    out_format: Annotated[str | None, typer.Option("--out-format", help="csv, jsonl or parquet.")] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", help="HEADER=FIELD for a header the reader does "
                                                      "not recognise (repeatable).")] = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="Where rows that cannot be judged go "
                                                 "(default: OUT.rejects.jsonl).")] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 4/5 when any order is flagged/blocked.")]
    = FailOn.never,
    resume: Annotated[bool, typer.Option("--resume", help="Skip ids already in OUT and append.")] = False,
    explain: Annotated[bool, typer.Option("--explain/--no-explain", help="Deciding rules, actions and reasons "
                                          "(default) or only the answer.")] = True,
    ray: Annotated[bool, typer.Option("--ray", help="Run over a Parquet dataset with Ray Data (the `ray` "
                                      "extra); OUT is a directory of Parquet files.")] = False,
    rulesets: RulesetsOpt = None,
    as_of: AsOfOpt = None,
    licences: LicencesOpt = None,
    strict_licences: StrictOpt = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """Judge a file of orders into a file of verdicts, with a summary on stderr.

    Exit codes: 3 if any row was rejected; otherwise 5 if --fail-on flagged/blocked and any order is
    blocked, 4 if --fail-on flagged and any is flagged; otherwise 0.
    """
    from .table import TableInvalid

    engine = _load(rulesets, fmt, licences, strict_licences)
    if as_of is not None:
        try:
            parse_date(as_of)
        except ValueError as exc:
            _err.print(f"error[invalid-transaction]: `--as-of`: {exc}", markup=False)
            raise typer.Exit(ExitCode.INVALID) from None
    if not source.is_file():
        _err.print(f"error[invalid-input]: `{source}`: no such file", markup=False)
        raise typer.Exit(ExitCode.INVALID)
    try:
        if ray:
            from .ray import run_ray_batch

            summary = run_ray_batch(source, out, rulesets=rulesets, as_of=as_of, mapping=_mapping(mapping),
                                    explain=explain)
        else:
            summary = _run_batch_with_progress(engine, source, out, in_format, out_format, _mapping(mapping),
                                               rejects, resume, as_of, explain)
    except (TableInvalid, ImportError) as exc:
        _err.print(f"error[invalid-input]: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    if fmt is Format.json:
        _err.print(json.dumps(summary.to_dict(), ensure_ascii=False), markup=False)
    else:
        _err.print(summary.text(), markup=False)
    if summary.rejected:
        raise typer.Exit(ExitCode.INVALID)
    blocked, flagged = summary.outcomes.get("blocked", 0), summary.outcomes.get("flagged", 0)
    if fail_on is not FailOn.never and blocked:
        raise typer.Exit(ExitCode.BLOCKED)
    if fail_on is FailOn.flagged and flagged:
        raise typer.Exit(ExitCode.FLAGGED)
    raise typer.Exit(ExitCode.OK)


def _run_batch_with_progress(engine: Engine, source: Path, out: Path | None, in_format: str | None,
                             out_format: str | None, mapping: dict[str, str], rejects: Path | None, resume: bool,
                             as_of: str | None, explain: bool) -> Any:
    from .batch import run_batch

    if not _err.is_terminal:
        return run_batch(engine, source, out, in_format=in_format, out_format=out_format, mapping=mapping,
                         rejects=rejects, resume=resume, as_of=as_of, explain=explain)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    total = _row_count(source)
    with Progress(TextColumn("judging"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=_err, transient=True) as progress:
        task = progress.add_task("rows", total=total)
        return run_batch(engine, source, out, in_format=in_format, out_format=out_format, mapping=mapping,
                         rejects=rejects, resume=resume, as_of=as_of, explain=explain,
                         on_rows=lambda n: progress.advance(task, n))


def _row_count(source: Path) -> int | None:
    if source.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(source).metadata.num_rows)
    return None


@app.command()
def serve(
    rulesets: RulesetsOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    watch: Annotated[bool, typer.Option("--watch", help="Reload when a ruleset file changes.")] = False,
    decision_log: Annotated[Path | None, typer.Option("--decision-log", help="Append one JSON line per verdict "
                                                      "to this file (default: stderr).")] = None,
    max_items: Annotated[int, typer.Option("--max-items", help="Most transactions in one /v1/judge call.")] = 10_000,
    max_bytes: Annotated[int, typer.Option("--max-bytes", help="Largest request body.")] = 16 << 20,
) -> None:
    """Serve the engine over HTTP (the `serve` extra): /v1/judge, /v1/batch, /v1/rulesets, /v1/members,
    /v1/timeline, /healthz; rulesets reload on SIGHUP (and on change with --watch)."""
    import logging

    try:
        import uvicorn

        from .serve import DECISIONS, Service, create_app, install_sighup
    except ImportError as exc:
        _err.print(f"error[missing-extra]: {exc}; install with `pip install 'exportrules[serve]'`", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    try:
        service = Service(rulesets, max_items=max_items, max_bytes=max_bytes)
    except RulesetInvalid as exc:
        _fail_invalid(exc.diagnostics, Format.text)
    handler: logging.Handler = logging.FileHandler(decision_log, encoding="utf-8") if decision_log \
        else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    DECISIONS.addHandler(handler)
    DECISIONS.setLevel(logging.INFO)
    DECISIONS.propagate = False
    install_sighup(service)
    if watch and rulesets is not None:
        service.watch()
    uvicorn.run(create_app(service), host=host, port=port, log_level="warning")


@app.command()
def report(
    source: Annotated[Path, typer.Argument(help="A batch's output (with `outcome`), or orders to judge first.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    mapping: Annotated[list[str] | None, typer.Option("--map", help="HEADER=FIELD (repeatable).")] = None,
    rulesets: RulesetsOpt = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """A self-contained HTML page for a batch: summary, outcome by destination and chip, and the blocked and
    flagged orders with their reasons and citations (the `plot` extra)."""
    from .table import TableInvalid

    if not source.is_file():
        _err.print(f"error[invalid-input]: `{source}`: no such file", markup=False)
        raise typer.Exit(ExitCode.INVALID)
    try:
        from .report import render_report

        judged, rejected = _report_rows(source, _mapping(mapping), rulesets, as_of, fmt)
        out.write_text(render_report(judged, title=source.name, rejected=rejected), encoding="utf-8")
    except (TableInvalid, ImportError) as exc:
        _err.print(f"error[invalid-input]: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    _err.print(f"wrote {out} ({judged.height:,} orders)", markup=False)


def _report_rows(source: Path, mapping: dict[str, str], rulesets: Path | None, as_of: str | None,
                 fmt: Format) -> tuple[Any, int]:
    import polars as pl

    from .batch import OUTPUT_COLUMNS, format_of, read_chunks
    from .table import judge_table

    kind = format_of(source)
    if kind == "parquet":
        frame = pl.read_parquet(source)
    elif kind == "arrow":
        frame = pl.read_ipc(source)
    elif kind == "csv":
        frame = pl.read_csv(source, infer_schema=False)
    else:
        first = source.read_text(encoding="utf-8").lstrip().split("\n", 1)[0]
        frame = pl.read_ndjson(source) if '"outcome"' in first else pl.DataFrame()
    if "outcome" in frame.columns:
        return frame, 0
    rejects: list[dict[str, Any]] = []
    engine = _load(rulesets, fmt)
    parts = [judge_table(engine, chunk, as_of=as_of, mapping=mapping) for chunk in read_chunks(source, kind, rejects)]
    judged = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
    from .table import RESULT_COLUMNS, canonical_columns

    cols = canonical_columns([c for c in judged.columns if c not in RESULT_COLUMNS and c != "__line"], mapping)
    shaped = judged.select([
        (pl.col(cols[f]).cast(pl.String) if f in cols else pl.lit(None, dtype=pl.String)).alias(name)
        for f, name in (("id", "id"), ("date", "date"), ("item", "item"), ("destination", "destination"),
                        ("buyer.name", "buyer"))] + [pl.col(c) for c in OUTPUT_COLUMNS[5:]])
    errors = judged.get_column("error").is_not_null().sum()
    return shaped, int(errors) + len(rejects)


@app.command()
def validate(
    directory: Annotated[Path | None, typer.Argument(help="Directory of rulesets (default: the bundled ones).")] = None,
    deep: Annotated[bool, typer.Option("--deep", help="Also decide, with z3, which rules can never apply and "
                                       "which authorizations can never clear (the `prove` extra).")] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """Check every ruleset file: all errors and warnings at once."""
    if directory is not None and not directory.is_dir():
        _err.print(f"error[invalid-input]: `{directory}`: no such directory", markup=False)
        raise typer.Exit(ExitCode.INVALID)
    if directory is not None and not any(directory.rglob("*.yaml")) and not any(directory.rglob("*.yml")):
        _err.print(f"error[invalid-input]: `{directory}` holds no ruleset files (*.yaml)", markup=False)
        raise typer.Exit(ExitCode.INVALID)
    catalog, result = load_catalog(directory)
    found = list(result.all)
    if deep and catalog is not None:
        try:
            from .prove import deep_findings
        except ImportError as exc:
            _err.print(f"error[missing-extra]: {exc}; install with `pip install 'exportrules[prove]'`", markup=False)
            raise typer.Exit(ExitCode.INVALID) from None
        found += deep_findings(Engine(catalog))
    if fmt is Format.json:
        _json(diagnostics_json(found))
    elif found:
        (_err if result.errors else _out).print(render_diagnostics(found), markup=False)
    else:
        _out.print("no errors, no warnings", markup=False)
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.INVALID)


@app.command()
def timeline(
    source: Annotated[str, typer.Argument(help="Transaction JSON file, or - for stdin.")],
    start: Annotated[str, typer.Option("--from", help="First date.")] = "2022-10-01",
    end: Annotated[str, typer.Option("--to", help="Last date.")] = "2027-06-30",
    rulesets: RulesetsOpt = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also draw a step chart to FILE.svg or FILE.png "
                                              "(the `plot` extra).")] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """The verdict of one transaction over time: one row per date where it changes."""
    engine = _load(rulesets, fmt)
    try:
        data = decode_json(_read(source))
    except ValueError as exc:
        _err.print(f"error[invalid-transaction]: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    try:
        tx = read_transaction(data)
        line = engine.timeline(tx, parse_date(start), parse_date(end))
    except TransactionInvalid as exc:
        for d in exc.diagnostics:
            _err.print(f"error[{d.code}]: {d.message}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    except ValueError as exc:
        _err.print(f"error[invalid-value]: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    if plot is not None:
        _plot_timeline(line, parse_date(end), data, plot)
    if fmt is Format.json:
        _json(json.dumps([{"from": d.isoformat(), "verdict": v.to_dict()} for d, v in line], indent=2,
                              ensure_ascii=False))
        return
    for day, v in line:
        deciding = sorted({r.rule for r in v.reasons if r.effect is v.outcome and r.effect is not Outcome.PERMITTED})
        by_j = " ".join(f"{j}:{o.value}" for j, o in sorted(v.jurisdictions.items()))
        _out.print(f"{day.isoformat()}  {v.outcome.value:<9}  {by_j:<28}  {', '.join(deciding)}", markup=False)


def _plotting(path: Path) -> Any:
    """The plot module, for a chart to *path* (.svg or .png); a clear error without the `plot` extra."""
    if path.suffix.lower() not in (".svg", ".png"):
        _err.print(f"error[invalid-value]: `--plot {path}`: write .svg or .png", markup=False)
        raise typer.Exit(ExitCode.INVALID)
    try:
        from . import plot
    except ImportError as exc:
        _err.print(f"error[missing-extra]: {exc}; install with `pip install 'exportrules[plot]'`", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    return plot


def _plot_timeline(line: Any, end: dt.date, data: Any, path: Path) -> None:
    plot = _plotting(path)
    fields = data if isinstance(data, dict) else {}
    item, ref = fields.get("item"), fields.get("id")
    title = f"{str(ref) + ': ' if ref else ''}{item if isinstance(item, str) else 'item'} " \
            f"to {fields.get('destination')}"
    plot.save(plot.timeline_figure(line, end, title=title), path)


@app.command()
def diff(
    old: Annotated[str | None, typer.Argument(help="`ruleset@version` before (omit with --against).")] = None,
    new: Annotated[str | None, typer.Argument(help="`ruleset@version` after (omit with --against).")] = None,
    rulesets: RulesetsOpt = None,
    against: Annotated[Path | None, typer.Option("--against", help="A proposed rulesets directory to compare "
                                                  "with --rulesets (or the bundled ones).")] = None,
    transactions: Annotated[Path | None, typer.Option("--transactions", help="JSON or JSON Lines file of "
                                                       "transactions to judge both ways.")] = None,
    generate: Annotated[int, typer.Option("--generate", min=0, help="Also judge this many generated "
                                          "transactions (derandomised).")] = 0,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge under the rules in force on this date "
                                              "(default: the newer version's effective date).")] = None,
    exact: Annotated[bool, typer.Option("--exact", help="Compute the regions of transactions that flip, with z3 "
                                        "(the `prove` extra): constraints, a witness and the catalogue chips "
                                        "of each.")] = False,
    max_regions: Annotated[int, typer.Option("--max-regions", min=1, help="With --exact, stop after this many "
                                             "regions.")] = 20,
    fmt: FormatOpt = Format.text,
) -> None:
    """What changed: rule changes between two versions, and the transactions whose outcome flips."""
    from .diff import flips, rule_changes

    base = _load(rulesets, fmt)
    try:
        if against is not None:
            proposed = _load(against, fmt)
            day = parse_date(as_of) if as_of else dt.date.today()
            old_engine, new_engine = base, proposed
            olds = {v.id: v for v in base.rulesets(on=day)}
            news = {v.id: v for v in proposed.rulesets(on=day)}
            changes = [c for rid in sorted(olds.keys() & news.keys()) for c in rule_changes(olds[rid], news[rid])]
            label = f"{rulesets or 'bundled'} -> {against} on {day}"
        else:
            if old is None or new is None:
                raise ValueError("give two `ruleset@version` refs, or --against DIR")
            a, b = base.catalog.get(old), base.catalog.get(new)
            day = parse_date(as_of) if as_of else max(a.effective, b.effective)
            old_engine = Engine(base.catalog.pinned(old))
            new_engine = Engine(base.catalog.pinned(new))
            changes = rule_changes(a, b)
            label = f"{a.ref} -> {b.ref}, judged as of {day}"
        txs: list[Any] = []
        if transactions is not None:
            batch = _Batch(str(transactions), fmt)
            txs.extend(batch)
            if batch.invalid:
                raise typer.Exit(ExitCode.INVALID)
        if generate:
            from .diff import changed_values

            refs = (old, new) if against is None else (None, None)
            focus = changed_values(changes, old_engine, new_engine, day, *refs)
            txs.extend(_generated(old_engine, generate, focus))
        flipped = flips(old_engine, new_engine, txs, as_of=day)
        regions: list[Any] = []
        complete = True
        if exact:
            try:
                from .prove import Untranslatable, exact_diff
            except ImportError as exc:
                _err.print(f"error[missing-extra]: {exc}; install with `pip install 'exportrules[prove]'`",
                           markup=False)
                raise typer.Exit(ExitCode.INVALID) from None
            try:
                regions, complete = exact_diff(old_engine, new_engine, day, max_regions=max_regions)
            except Untranslatable as exc:
                _err.print(f"error[not-translated]: {exc}; use --generate to sample instead", markup=False)
                raise typer.Exit(ExitCode.INVALID) from None
    except (KeyError, ValueError) as exc:
        _err.print(f"error[invalid-value]: {str(exc).strip(chr(34) + chr(39))}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    if fmt is Format.json:
        payload: dict[str, Any] = {"compared": label, "rule_changes": [c.to_dict() for c in changes],
                                   "transactions": len(txs), "flips": [f.to_dict() for f in flipped]}
        if exact:
            payload["regions"] = [r.to_dict() for r in regions]
            payload["complete"] = complete
        _json(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    _out.print(f"{label}", markup=False)
    for c in changes:
        extra = f" ({', '.join(c.fields)})" if c.fields else ""
        _out.print(f"  {c.change:<8} {c.section}: {c.id}{extra}", markup=False)
    if txs or not exact:
        _out.print(f"{len(flipped)} of {len(txs)} transactions flip", markup=False)
    for f in flipped:
        _out.print(f"  {f.old.outcome.value} -> {f.new.outcome.value}: {json.dumps(f.transaction)}", markup=False)
    if exact:
        _out.print(f"{len(regions)} region{'s' if len(regions) != 1 else ''} of transactions flip"
                   + ("" if complete else f" (stopped at --max-regions {max_regions}; there may be more)"),
                   markup=False)
        for k, r in enumerate(regions, 1):
            _out.print(f"  {k}. {r.old} -> {r.new} when {' and '.join(r.constraints)}", markup=False)
            _out.print(f"     witness: {json.dumps(r.witness, ensure_ascii=False)}", markup=False)
            _out.print(f"     catalogue chips that flip the same way: {len(r.chips)}"
                       + (f" ({', '.join(r.chips[:8])}{', …' if len(r.chips) > 8 else ''})" if r.chips else ""),
                       markup=False)


def _generated(engine: Engine, n: int, focus: Any = None) -> list[dict[str, Any]]:
    """*n* derandomised transactions that exercise *engine*'s rulesets; with *focus* (from
    :func:`exportrules.diff.changed_values`), drawn mostly from the changed rules' own thresholds, countries and
    values, where flips are."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from .testing import from_engine

    out: list[dict[str, Any]] = []
    strategy = from_engine(engine)
    if focus is not None and (focus.numbers or focus.countries or focus.strings):
        strategy = st.one_of(_focused(focus), strategy)

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(tx: dict[str, Any]) -> None:
        out.append(tx)

    collect()
    return out[:n]


def _focused(focus: Any) -> Any:
    """Transactions built from the values the changed rules compare with (and their neighbours)."""
    from hypothesis import strategies as st

    def near(values: list[float]) -> Any:
        points = sorted({max(0.0, v + d) for v in values for d in (-1.0, -0.01, 0.0, 0.01, 1.0)})
        return st.sampled_from(points)

    item: dict[str, Any] = {f[5:]: near(v) for f, v in focus.numbers.items() if f.startswith("item.")}
    for f, values in focus.strings.items():
        if f in ("item.kind", "item.vendor", "item.material"):
            item[f[5:]] = st.sampled_from(sorted(values))
    optional_item = {"datacenter": st.booleans()}
    countries = sorted(focus.countries) or ["CN"]
    fields: dict[str, Any] = {
        "date": st.just(focus.day.isoformat()),
        "item": st.fixed_dictionaries(item, optional=optional_item) if item else st.just("nvidia-h100-sxm"),
        "destination": st.sampled_from(countries),
        "buyer": st.fixed_dictionaries({"name": st.just("Generated Buyer Ltd"),
                                         "country": st.sampled_from(countries)},
                                        optional={"headquarters": st.sampled_from(countries)}),
    }
    optional: dict[str, Any] = {}
    if "end_use" in focus.strings:
        optional["end_use"] = st.sampled_from(sorted(focus.strings["end_use"]))
    if focus.evidence:
        optional["evidence"] = st.lists(st.sampled_from(sorted(focus.evidence)), unique=True)
    return st.fixed_dictionaries(fields, optional=optional)


@app.command()
def record(
    source: Annotated[str, typer.Argument(help="Transaction JSON or JSON Lines file, or - for stdin.")],
    ledger: Annotated[Path, typer.Option("--ledger", help="The SQLite ledger file (created if missing).")],
    rulesets: RulesetsOpt = None,
    licences: LicencesOpt = None,
    strict_licences: StrictOpt = False,
    fmt: FormatOpt = Format.text,
    quotas: Annotated[bool, typer.Option(
        "--quotas", help="Also count the reported caps (US-UAE partnership, G42/Humain approvals) and refuse "
                         "what exceeds them: a policy of yours, not a legal condition.")] = False,
) -> None:
    """Judge shipments with licences, red-flag patterns and (with --quotas) reported caps counted in a ledger;
    record those that may ship."""
    from .monitor import Ledger, Monitor

    engine = _load(rulesets, fmt, licences, strict_licences)
    monitor = Monitor(engine, Ledger(ledger), quotas=quotas)
    batch = _Batch(source, fmt)
    worst = Outcome.PERMITTED
    conflicts = False
    for tx in batch:
        try:
            result = monitor.record(tx)
        except TransactionInvalid as exc:  # e.g. no id: report it with its line, go on with the rest
            batch.invalid = True
            where = "" if batch.single else f"line {batch.line}: "
            batch.report(batch.line, [{**d.to_dict(), "message": where + d.message} for d in exc.diagnostics])
            continue
        conflicts |= result.conflict is not None
        worst = Outcome.strictest([worst, result.verdict.outcome])
        if fmt is Format.json:
            _json(json.dumps(result.to_dict(), indent=2 if batch.single else None, ensure_ascii=False))
        else:
            v = result.verdict
            counted = "; ".join(f"{q.quota} {q.used + (q.quantity if result.recorded else 0):,}/{q.limit:,}"
                                for q in result.quotas)
            note = " (recorded)" if result.recorded else (" (conflict: this id was recorded with other content)"
                                                          if result.conflict else "")
            _out.print(f"{v.transaction_id}: {v.outcome.value}{note}{'  ' + counted if counted else ''}", markup=False)
    raise typer.Exit(ExitCode.INVALID if batch.invalid or conflicts else _OUTCOME_CODE[worst])


@app.command("ledger")
def show_ledger(
    path: Annotated[Path, typer.Argument(help="The SQLite ledger file.")],
    plot: Annotated[Path | None, typer.Option("--plot", help="Draw use against limits to FILE.svg or FILE.png "
                                              "(the `plot` extra).")] = None,
    rulesets: RulesetsOpt = None,
    licences: LicencesOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Units counted per quota, key and period, and the ledger's integrity check."""
    from .monitor import Ledger

    if not path.is_file():
        _err.print(f"error[invalid-value]: no ledger at `{path}`", markup=False)
        raise typer.Exit(ExitCode.INVALID)
    led = Ledger.open_readonly(path)  # never changes a file: no WAL switch, no schema, no upgrade
    totals, integrity = led.totals(), led.check()
    if plot is not None:
        _plot_ledger(totals, plot, rulesets, licences, fmt)
    if fmt is Format.json:
        _json(json.dumps({"integrity": integrity, "quotas": totals}, indent=2))
    else:
        for t in totals:
            _out.print(f"{t['quota']}  {t['key']}  {t['period']}  {t['quantity']:,} in {t['shipments']} shipments",
                       markup=False)
        _out.print(f"integrity: {integrity}", markup=False)
    raise typer.Exit(ExitCode.OK if integrity == "ok" else ExitCode.INTERNAL)


def _plot_ledger(totals: list[dict[str, Any]], path: Path, rulesets: Path | None, licences: Path | None,
                 fmt: Format) -> None:
    plot = _plotting(path)
    engine = _load(rulesets, fmt, licences)
    from .compiler import compiled_quota

    limits: dict[str, int] = {}
    units: dict[str, str] = {}
    items = {item.id: {"tpp": item.tpp} for v in engine.catalog for item in v.model.items}
    for v in engine.catalog:  # '<ruleset>#<rule>' -> the quota's limit per period, in what it counts
        for a in v.model.authorizations:
            quota = compiled_quota(a.quota, items)
            if quota is None or quota.limit is None:
                continue
            limits[f"{v.id}#{a.id}"] = quota.limit
            if quota.equivalent is not None:  # a cap in compute: counted in TPP
                units[f"{v.id}#{a.id}"] = "TPP"
    register = engine.licensing.register
    if register is not None:
        for rec in register.records.values():
            if rec.quantity is not None:
                limits[f"licence:{rec.jurisdiction}:{rec.number}"] = rec.quantity
    plot.save(plot.ledger_figure(totals, limits, units), path)


@app.command()
def schema(
    transaction: Annotated[bool, typer.Option("--transaction", help="The schema of transactions instead.")] = False,
    fmt: FormatOpt = Format.json,
) -> None:
    """Print the JSON Schema of ruleset files, or of transactions (JSON in either format)."""
    data = Transaction.model_json_schema() if transaction else ruleset_json_schema()
    _json(json.dumps(data, indent=2, ensure_ascii=False))


@app.command()
def chips(
    on: Annotated[str, typer.Option("--on", help="Classify under the rules in force on this date.")] = "2026-03-01",
    rulesets: RulesetsOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """List the chip catalogue: TPP, performance density and classification on a date."""
    engine = _load(rulesets, fmt)
    try:
        day = parse_date(on)
    except ValueError as exc:
        _err.print(f"error[invalid-value]: `--on`: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    snap = engine.snapshot(day)
    rows: list[dict[str, Any]] = []
    for item_id, params in sorted(snap.items.items()):
        facts = engine.facts({"date": day, "item": item_id, "destination": "US"})
        rows.append({"id": item_id, "name": params.get("name"), "vendor": params.get("vendor"),
                     "tpp": params.get("tpp"), "performance_density": params.get("performance_density"),
                     "classes": sorted(facts["item.class"])})
    if fmt is Format.json:
        _json(json.dumps({"on": day.isoformat(), "chips": rows}, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(title=f"chips on {day.isoformat()}")
    for col in ("id", "vendor", "TPP", "PD", "class"):
        table.add_column(col, justify="right" if col in ("TPP", "PD") else "left")
    for r in rows:
        table.add_row(r["id"], r["vendor"] or "", "" if r["tpp"] is None else f"{r['tpp']:,.0f}",
                      "" if r["performance_density"] is None else f"{r['performance_density']:.2f}",
                      ", ".join(r["classes"]) or "-")
    _out.print(table)


@app.command("rulesets")
def list_rulesets(
    rulesets: RulesetsOpt = None,
    on: Annotated[str | None, typer.Option("--on", help="Only the versions in force on this date.")] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """List ruleset versions with their effective dates and hashes."""
    engine = _load(rulesets, fmt)
    try:
        versions = engine.rulesets(on=on)
    except ValueError as exc:
        _err.print(f"error[invalid-value]: `--on`: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    rows = [
        {"id": v.id, "version": v.version.isoformat(), "effective": v.effective.isoformat(),
         "jurisdiction": v.jurisdiction, "citation": v.citation, "sha256": v.sha256, "file": v.file}
        for v in versions
    ]
    if fmt is Format.json:
        _json(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(box=None)
    for col in ("id", "version", "effective", "jurisdiction", "sha256"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        table.add_row(r["id"], r["version"], r["effective"], r["jurisdiction"], r["sha256"][:12])
    _out.print(table)


@app.command()
def screen(
    name: Annotated[str, typer.Argument(help="The party name to screen.")],
    country: Annotated[str | None, typer.Option("--country", help="The party's country (ISO alpha-2).")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Lists as of this date (default: today).")] = None,
    rulesets: RulesetsOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Screen a name against the restricted-party lists: candidates, scores, entries and dates.

    Exit code 5 for a blocking hit, 4 for a possible match to review, 0 for none.
    """
    import datetime as dt

    engine = _load(rulesets, fmt)
    try:
        day = parse_date(on) if on is not None else dt.date.today()
        code = country.strip().upper() if country else None
        if code is not None and not is_country_code(code):
            raise ValueError(f"`{country}` is not an ISO 3166-1 alpha-2 country code")
    except ValueError as exc:
        _err.print(f"error[invalid-value]: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    hits = engine.screen(name, country=code, on=day)
    if fmt is Format.json:
        _json(json.dumps({"name": name, "country": code, "on": day.isoformat(),
                               "candidates": [h.to_dict() for h in hits]}, indent=2, ensure_ascii=False))
    elif not hits:
        _out.print(f"no candidates for `{name}` on {day.isoformat()}", markup=False)
    else:
        from rich.table import Table

        table = Table(box=None)
        for col in ("score", "level", "entry", "listed name", "list", "listed", "country"):
            table.add_column(col, no_wrap=col != "listed name")
        for h in hits:
            table.add_row(f"{h.score:g}", h.level, h.entry, h.listed_name, h.list, h.listed.isoformat(),
                          h.country or "")
        _out.print(table)
    if any(h.level == "block" for h in hits):
        raise typer.Exit(ExitCode.BLOCKED)
    raise typer.Exit(ExitCode.FLAGGED if hits else ExitCode.OK)


@app.command("screen-eval")
def screen_eval(
    path: Annotated[Path, typer.Argument(help="Labelled names (YAML: date, cases[name, expect, country]).")] =
        Path("tests/screening/eval.yaml"),
    rulesets: RulesetsOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Precision and recall of name screening at the block and review levels."""
    from .corpus import screening_metrics

    engine = _load(rulesets, fmt)
    report = screening_metrics(engine, path)
    if fmt is Format.json:
        _json(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for level in ("block", "review"):
            m = report[level]
            _out.print(f"{level:>6}: precision {m['precision']:.3f}  recall {m['recall']:.3f}  "
                       f"(tp {m['tp']}, fp {m['fp']}, fn {m['fn']})", markup=False)
        _out.print(f"non-matches: {report['non_matches']}, blocked {report['non_matches_blocked']}, "
                   f"flagged for review {report['non_matches_flagged']} "
                   f"({report['non_match_review_rate']:.1%})", markup=False)
        for miss in report["missed"][:20]:
            _out.print(f"  missed: {miss}", markup=False)


lists_app = typer.Typer(name="lists", help="Restricted-party lists: import the official ones as rulesets.",
                        no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
app.add_typer(lists_app)


class ListFormat(str, Enum):
    """Layouts `lists import` reads."""

    csl = "csl"
    ofac_sdn = "ofac-sdn"


@lists_app.command("import")
def lists_import(
    path: Annotated[Path, typer.Argument(help="The list file: the CSL's JSON or CSV, or OFAC's sdn.csv.")],
    fmt: Annotated[ListFormat, typer.Option("--format", help="csl (Consolidated Screening List) or ofac-sdn.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the ruleset into "
                                      "(with --parties-only: the JSON Lines file).")] = Path("rulesets"),
    ruleset: Annotated[str | None, typer.Option("--ruleset", help="Ruleset id to write (default: "
                                                "us-ear/consolidated-screening-list or us-ofac/sdn).")] = None,
    lists: Annotated[str | None, typer.Option("--lists", help="Comma-separated list codes to keep "
                                              "(EL,MEU,DPL,UVL by default for the CSL; `all`).")] = None,
    vintage: Annotated[str | None, typer.Option("--vintage", help="Publication date of the list "
                                                "(default: from the file, else today).")] = None,
    skip_known: Annotated[list[Path] | None, typer.Option("--skip-known", help="A ruleset file whose parties "
                                                          "are kept already; same-name entries are left out.")] = None,
    parties_only: Annotated[bool, typer.Option("--parties-only", help="Write only the JSON Lines list file, "
                                               "for a ruleset's `parties_from`.")] = False,
    fmt_out: Annotated[Format, typer.Option("--output-format", help="How to report the import.")] = Format.text,
) -> None:
    """Turn an official restricted-party list into a dated ruleset that validates and screens.

    Each party's listing date comes from the list (its start date), else from its earliest Federal
    Register notice (marked uncertain unless the date is known), else it is screened on every date.
    """
    from .importers import ListImportError, import_lists

    try:
        when = parse_date(vintage) if vintage else None
        report = import_lists(path, fmt=fmt.value, out=out, ruleset=ruleset,
                              lists=[c.strip() for c in lists.split(",") if c.strip()] if lists else None,
                              vintage=when, skip_known=skip_known or [], parties_only=parties_only)
    except (ListImportError, ValueError, OSError, UnicodeDecodeError) as exc:
        _err.print(f"error[invalid-list]: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    if fmt_out is Format.json:
        _json(json.dumps(report.as_dict(), indent=2))
        return
    _out.print(f"imported {report.written} of {report.records} parties (vintage {report.vintage}, from "
               f"{report.vintage_from})", markup=False)
    for name, count in sorted(report.by_list.items()):
        _out.print(f"  {name}: {count}", markup=False)
    if report.skipped_lists:
        others = ", ".join(f"{k} {v}" for k, v in sorted(report.skipped_lists.items()))
        _out.print(f"  left out (other lists): {others}", markup=False)
    if report.skipped_known:
        _out.print(f"  left out (kept already): {len(report.skipped_known)}", markup=False)
    _out.print("  dated by: " + ", ".join(f"{k} {v}" for k, v in sorted(report.dated_by.items())), markup=False)
    for f in report.files:
        _out.print(f"  wrote {f}", markup=False)


@app.command("test")
def test_properties(
    directory: Annotated[Path | None, typer.Argument(help="Directory of rulesets (default: the bundled ones).")] = None,
    max_examples: Annotated[int, typer.Option("--max-examples", min=1, help="Examples per property.")] = 100,
    seed: Annotated[int | None, typer.Option("--seed", help="Randomise with this seed (default: derandomised).")]
        = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Only properties whose `ruleset::id` "
                                                    "contains this text (repeatable).")] = None,
    coverage: Annotated[bool, typer.Option("--coverage", help="Also list which rules (file:line) some verdict "
                                           "of the run cited, and which none did.")] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """Check every ruleset property with Hypothesis; print the shrunk counterexample of each failure."""
    from .testing import check_properties
    from .testing.properties import rule_sources

    fired: set[tuple[str, str]] | None = set() if coverage else None
    engine = _load(directory, fmt)

    def chosen(ruleset_id: str, prop_id: str) -> bool:
        return not only or any(text in f"{ruleset_id}::{prop_id}" for text in only)

    if _err.is_terminal:  # a progress bar for a person; none when piped or in CI logs
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("checking properties"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=_err, transient=True) as progress:
            task = progress.add_task("properties", total=None)
            results = check_properties(engine, max_examples=max_examples, seed=seed, only=chosen, fired=fired,
                                       on_progress=lambda done, total: progress.update(task, completed=done,
                                                                                       total=total))
    else:
        results = check_properties(engine, max_examples=max_examples, seed=seed, only=chosen, fired=fired)
    _some_properties(results, only, directory)
    failed = [r for r in results if not r.passed]
    covered: dict[str, Any] = {}
    if fired is not None:
        sources = rule_sources(engine)
        covered = {"fired": sorted(f"{r}::{k}" for r, k in sources if (r, k) in fired),
                   "never": [{"rule": f"{r}::{k}", "source": sources[(r, k)]}
                             for r, k in sorted(sources) if (r, k) not in fired]}
        covered["percent"] = round(100 * len(covered["fired"]) / max(1, len(sources)), 1)
    if fmt is Format.json:
        _json(json.dumps({"properties": len(results), "failed": len(failed),
                          "results": [r.to_dict() for r in results], **({"coverage": covered} if covered else {})},
                         indent=2, ensure_ascii=False))
    else:
        for r in results:
            mark = "ok  " if r.passed else "FAIL"
            _out.print(f"{mark} {r.ruleset}::{r.property}  ({r.examples} examples in scope)  {r.source}",
                       markup=False)
        for r in failed:
            _out.print("", markup=False)
            _out.print(f"property `{r.property}` of `{r.ruleset}` failed: {r.message}", markup=False)
            if r.counterexample is not None:
                where = f" -r {directory}" if directory is not None else ""
                _out.print(f"counterexample (reproduce with `exportrules judge{where} -`):", markup=False)
                _json(json.dumps(r.counterexample, ensure_ascii=False))
            if r.verdict is not None:
                _out.print(render_verdict(r.verdict))
            if r.related is not None:
                _out.print(f"related: {json.dumps(r.related.get('transaction') or r.related.get('ruleset_version'))}",
                           markup=False)
        _out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed", markup=False)
        if covered:
            _out.print(f"coverage: {len(covered['fired'])} rules cited by some verdict ({covered['percent']}%); "
                       f"never cited:", markup=False)
            for n in covered["never"]:
                _out.print(f"  {n['source']}  {n['rule']}", markup=False)
    raise typer.Exit(ExitCode.PROPERTY_FAILED if failed else ExitCode.OK)


def _some_properties(results: list[Any], only: list[str] | None, directory: Path | None) -> None:
    """No property checked is an input error, never a pass."""
    if results:
        return
    if only:
        _err.print(f"error[invalid-input]: --only {' '.join(only)}: no property matches", markup=False)
    else:
        _err.print(f"error[invalid-input]: no ruleset property in `{directory or 'the bundled rulesets'}`",
                   markup=False)
    raise typer.Exit(ExitCode.INVALID)


@app.command()
def prove(
    directory: Annotated[Path | None, typer.Argument(help="Directory of rulesets (default: the bundled ones).")] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Only properties whose `ruleset::id` "
                                                    "contains this text (repeatable).")] = None,
    timeout: Annotated[int, typer.Option("--timeout", min=1, help="Seconds the solver may spend on one "
                                         "question before the property is sampled instead.")] = 60,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Processes to share the properties among "
                                      "(0, the default: one per CPU).")] = 0,
    fmt: FormatOpt = Format.text,
) -> None:
    """Decide every ruleset property exactly with an SMT solver (z3): proved for every transaction in scope on
    every date it is carried, or refuted with a counterexample the engine confirms (the `prove` extra)."""
    import time

    try:
        from .prove import prove_properties
    except ImportError as exc:
        _err.print(f"error[missing-extra]: {exc}; install with `pip install 'exportrules[prove]'`", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    engine = _load(directory, fmt)

    def chosen(ruleset_id: str, prop_id: str) -> bool:
        return not only or any(text in f"{ruleset_id}::{prop_id}" for text in only)

    started = time.perf_counter()
    results = prove_properties(engine, only=chosen, timeout_ms=timeout * 1000, jobs=jobs or os.cpu_count() or 1)
    _some_properties(results, only, directory)
    took = time.perf_counter() - started
    failed = [r for r in results if not r.passed]
    counts = {s: sum(r.status == s for r in results) for s in ("proved", "refuted", "sampled")}
    where = f" -r {directory}" if directory is not None else ""
    if fmt is Format.json:
        _json(json.dumps({"properties": len(results), **counts, "failed": len(failed), "seconds": round(took, 1),
                          "results": [{**r.to_dict(), **({"reproduce": _reproduce(r, where)}
                                                         if r.counterexample is not None else {})}
                                      for r in results]}, indent=2, ensure_ascii=False))
    else:
        for r in results:
            mark = {"proved": "proved ", "refuted": "REFUTED"}.get(r.status, "sampled" if r.passed else "FAIL   ")
            _out.print(f"{mark} {r.ruleset}::{r.property}  ({r.states} date ranges, {r.seconds:.1f} s)  {r.source}",
                       markup=False)
            if r.status == "sampled":
                _out.print(f"        {r.note}", markup=False)
        for r in failed:
            _out.print("", markup=False)
            _out.print(f"property `{r.property}` of `{r.ruleset}` is {'refuted' if r.status == 'refuted' else 'broken'}"
                       f": {r.message}", markup=False)
            if r.counterexample is not None:
                _out.print("counterexample:", markup=False)
                _json(json.dumps(r.counterexample, ensure_ascii=False))
                _out.print(f"reproduce: {_reproduce(r, where)}", markup=False)
            if r.related is not None:
                _out.print(f"related: {json.dumps(r.related.get('transaction') or r.related.get('ruleset_version'))}",
                           markup=False)
        _out.print(f"{counts['proved']} proved, {counts['refuted']} refuted, {counts['sampled']} sampled "
                   f"({len(failed)} failed) in {took:.1f} s; assumed: parties unlisted but for the names conditions "
                   "name, plain names, items from the catalogue or given by figures", markup=False)
    raise typer.Exit(ExitCode.PROPERTY_FAILED if failed else ExitCode.OK)


def _reproduce(r: Any, where: str) -> str:
    as_of = f" --as-of {r.as_of}" if r.as_of else ""
    text = json.dumps(r.counterexample, ensure_ascii=False).replace("'", "'\\''")
    return f"echo '{text}' | exportrules judge{where}{as_of} -"


@app.command()
def corpus(
    directory: Annotated[Path, typer.Argument(help="Directory of golden-case YAML files.")] = Path("tests/corpus"),
    rulesets: RulesetsOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Run golden cases; print the count by ruleset and every failure."""
    from .corpus import check_case, load_cases, summarize

    engine = _load(rulesets, fmt)
    if not directory.is_dir():
        _err.print(f"error[invalid-input]: `{directory}`: no such directory", markup=False)
        raise typer.Exit(ExitCode.INVALID)
    try:
        cases = load_cases(directory)
    except ValueError as exc:
        _err.print(f"error[invalid-value]: {exc}", markup=False)
        raise typer.Exit(ExitCode.INVALID) from None
    if not cases:  # nothing checked is not a pass
        _err.print(f"error[invalid-input]: no golden cases under `{directory}`", markup=False)
        raise typer.Exit(ExitCode.INVALID)
    failures = [(c, p) for c in cases if (p := check_case(c, engine))]
    counts = summarize(cases)
    if fmt is Format.json:
        _json(json.dumps({
            "cases": len(cases), "by_ruleset": counts, "failed": len(failures),
            "failures": [{"note": c.note, "file": c.file, "line": c.line, "problems": p} for c, p in failures],
        }, indent=2, ensure_ascii=False))
    else:
        for ruleset_id, n in counts.items():
            _out.print(f"{n:5d}  {ruleset_id}", markup=False)
        _out.print(f"{len(cases):5d}  cases, {len(cases) - len(failures)} passed, {len(failures)} failed", markup=False)
        for c, problems in failures:
            _err.print(f"FAIL {c.file}:{c.line}: {c.note}", markup=False)
            for problem in problems:
                _err.print(f"     {problem}", markup=False)
    raise typer.Exit(ExitCode.OK if not failures else ExitCode.PROPERTY_FAILED)


@app.command()
def version(fmt: FormatOpt = Format.text) -> None:
    """Print the exportrules version."""
    _json(json.dumps({"version": __version__}) if fmt is Format.json else __version__)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code instead of raising SystemExit."""
    try:
        rc = app(args=argv, standalone_mode=False)
        return int(rc or 0) if isinstance(rc, int) else ExitCode.OK
    except typer.Exit as exc:
        return int(exc.exit_code)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else ExitCode.USAGE
    except LedgerError as exc:
        _err.print(str(exc), markup=False)
        return ExitCode.LEDGER
    except ExportRulesError as exc:  # a public error that escaped a command: still user-facing
        _err.print(str(exc), markup=False)
        return ExitCode.INVALID
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        if _is_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]
            return ExitCode.USAGE
        if type(exc).__name__ == "Abort":
            return ExitCode.INTERNAL
        if os.environ.get("EXPORTRULES_DEBUG"):
            raise
        _err.print(f"internal error: {type(exc).__name__}: {exc} (set EXPORTRULES_DEBUG=1 for a traceback)",
                   markup=False)
        return ExitCode.INTERNAL


def _is_usage_error(exc: BaseException) -> bool:
    """Click's (or typer's vendored click's) errors about the command line itself."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__) and hasattr(exc, "show")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


def __dir__() -> list[str]:
    return list(__all__)
