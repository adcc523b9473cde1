"""An HTTP service over the engine (the ``serve`` extra; this module imports FastAPI), run with uvicorn by
``exportrules serve``.

Endpoints (OpenAPI at ``/openapi.json``, generated from the transaction model):

* ``POST /v1/judge`` — one transaction, or a list of up to ``max_items``; verdicts in the JSON contract;
* ``POST /v1/batch`` — JSON Lines in, JSON Lines out (streamed), one verdict or error per line;
* ``GET /v1/rulesets`` — the ruleset versions loaded, with hashes;
* ``GET /v1/members/{group}?on=DATE`` — a group's members on a date;
* ``POST /v1/timeline`` — ``{"transaction": …, "from": …, "to": …}``: the verdict over time;
* ``GET /healthz`` — ready, with the ruleset set's hash.

A bad request gets a 422 whose ``detail`` names each field at fault (never a verdict); a body over
``max_bytes`` a 413. Each verdict is logged to the ``exportrules.decisions`` logger as one JSON line
(time, transaction hash, outcome, ruleset hashes). ``reload()`` (on SIGHUP, or when a ruleset file
changes, when ``watch`` is on) loads the rulesets anew and swaps the engine in one assignment, so a
request sees the old rulesets or the new ones, never a mix; a reload that fails keeps the old ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from .engine import Engine, load
from .errors import ExportRulesError, RulesetInvalid, TransactionInvalid
from .transaction import Transaction, parse_date, read_transaction

__all__ = ["Service", "create_app"]

DECISIONS = logging.getLogger("exportrules.decisions")


def _tx_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def _problems(exc: ExportRulesError) -> list[dict[str, Any]]:
    return [{"loc": [d.path] if d.path else [], "field": d.path or None, "code": d.code, "msg": d.message}
            for d in exc.diagnostics]


class Service:
    """The engine behind the app, swappable atomically."""

    def __init__(self, rulesets: Path | None = None, *, max_items: int = 10_000, max_bytes: int = 16 << 20) -> None:
        self.rulesets = rulesets
        self.max_items, self.max_bytes = max_items, max_bytes
        self.engine: Engine = load(rulesets)
        self._stamp = self._mtime()
        self._lock = threading.Lock()

    def _mtime(self) -> float:
        root = self.rulesets
        if root is None:
            return 0.0
        return max((p.stat().st_mtime for p in Path(root).rglob("*") if p.is_file()), default=0.0)

    def reload(self) -> bool:
        """Load the rulesets anew and swap them in; False (the old ones kept, the error logged) if invalid."""
        with self._lock:
            try:
                engine = load(self.rulesets)
            except RulesetInvalid as exc:
                logging.getLogger("exportrules.serve").error("reload refused, old rulesets kept: %s", exc)
                return False
            # Build the name index before the swap, so the first request on the new set does not pay for it.
            engine.screen("exportrules warm-up", on=dt.date.today())
            self.engine = engine  # one assignment: each request reads self.engine once
            self._stamp = self._mtime()
            return True

    def watch(self, every: float = 2.0) -> threading.Thread:
        """Reload whenever a file under the rulesets directory changes (polled every *every* seconds)."""
        def loop() -> None:
            while not stop.wait(every):
                if self._mtime() != self._stamp:
                    self.reload()

        stop = threading.Event()
        t = threading.Thread(target=loop, name="exportrules-watch", daemon=True)
        t.start()
        return t

    def set_hash(self) -> str:
        engine = self.engine
        text = "\n".join(sorted(f"{v.id}@{v.version.isoformat()}:{v.sha256}" for v in engine.catalog))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def judge_one(self, engine: Engine, data: Any, as_of: str | None) -> dict[str, Any]:
        verdict = engine.judge(data, as_of=as_of)
        out = verdict.to_dict()
        DECISIONS.info(json.dumps({
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "transaction": _tx_hash(data),
            "id": verdict.transaction_id, "outcome": verdict.outcome.value, "as_of": verdict.as_of.isoformat(),
            "rulesets": {r.id: r.sha256 for r in verdict.rulesets}}, ensure_ascii=False))
        return out


def create_app(service: Service | None = None, *, rulesets: Path | None = None) -> Any:
    """The FastAPI application."""
    svc = service if service is not None else Service(rulesets)
    app = FastAPI(title="exportrules", version=__import__("exportrules").__version__,
                  description="Judge AI-chip shipments against versioned export-control rulesets.")
    app.state.service = svc

    @app.middleware("http")
    async def limit_size(request: Request, call_next: Any) -> Any:
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > svc.max_bytes:
            return JSONResponse({"detail": [{"loc": ["body"], "msg": f"request body over {svc.max_bytes} bytes"}]},
                                status_code=413)
        return await call_next(request)

    @app.exception_handler(TransactionInvalid)
    async def invalid(_: Request, exc: TransactionInvalid) -> JSONResponse:
        return JSONResponse({"detail": _problems(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "field": ".".join(str(x) for x in e.get("loc", ())[1:]) or None,
                   "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:  # never a traceback to a client
        logging.getLogger("exportrules.serve").exception("internal error")
        return JSONResponse({"detail": [{"msg": f"internal error: {type(exc).__name__}"}]}, status_code=500)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        from importlib.resources import files

        return HTMLResponse((files("exportrules") / "templates" / "service.html").read_text(encoding="utf-8"))

    @app.post("/v1/timeline/plot", response_class=Response,
              responses={200: {"content": {"image/svg+xml": {}}, "description": "The timeline as an SVG chart."}})
    def timeline_plot(transaction: Transaction = Body(..., embed=True), start: str = Body("2022-10-01", alias="from"),
                      end: str = Body("2027-06-30", alias="to")) -> Response:
        from .plot import svg, timeline_figure

        try:
            last = parse_date(end)
            line = svc.engine.timeline(transaction, start, last)
        except ValueError as exc:
            return JSONResponse({"detail": [{"loc": ["body"], "msg": str(exc)}]}, status_code=422)
        title = f"{transaction.id + ': ' if transaction.id else ''}{transaction.destination}"
        return Response(svg(timeline_figure(line, last, title=title)), media_type="image/svg+xml")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "rulesets": len(list(svc.engine.catalog)), "set": svc.set_hash()}

    @app.post("/v1/judge")
    def judge(transaction: Transaction | list[Transaction] = Body(...),
              as_of: str | None = Query(None, description="Judge under the rules in force on this date.")) -> Any:
        engine = svc.engine
        if as_of is not None:
            try:
                parse_date(as_of)
            except ValueError as exc:
                return JSONResponse({"detail": [{"loc": ["query", "as_of"], "field": "as_of", "msg": str(exc)}]},
                                    status_code=422)
        if isinstance(transaction, list):
            if len(transaction) > svc.max_items:
                return JSONResponse({"detail": [{"loc": ["body"], "msg": f"more than {svc.max_items} transactions; "
                                                 "use /v1/batch"}]}, status_code=413)
            return [svc.judge_one(engine, t, as_of) for t in transaction]
        return svc.judge_one(engine, transaction, as_of)

    @app.post("/v1/batch")
    async def batch(request: Request, as_of: str | None = None) -> StreamingResponse:
        from .cli import decode_json

        engine = svc.engine
        body = (await request.body()).decode("utf-8", errors="replace")

        def lines() -> Iterator[str]:
            for n, line in enumerate(body.split("\n"), 1):
                if not line.strip():
                    continue
                try:
                    data = decode_json(line)
                    yield json.dumps(svc.judge_one(engine, read_transaction(data), as_of), ensure_ascii=False) + "\n"
                except TransactionInvalid as exc:
                    yield json.dumps({"line": n, "errors": _problems(exc)}, ensure_ascii=False) + "\n"
                except ValueError as exc:
                    yield json.dumps({"line": n, "errors": [{"field": None, "msg": str(exc)}]}) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/v1/rulesets")
    def rulesets_() -> list[dict[str, Any]]:
        return [{"id": v.id, "version": v.version.isoformat(), "jurisdiction": v.jurisdiction,
                 "sha256": v.sha256, "effective": v.effective.isoformat()} for v in svc.engine.catalog]

    @app.get("/v1/members/{group}")
    def members(group: str, on: str = Query(..., description="Date, YYYY-MM-DD.")) -> Any:
        try:
            found = svc.engine.members(group, on=on)
        except KeyError as exc:
            return JSONResponse({"detail": [{"loc": ["path", "group"], "field": "group", "msg": str(exc.args[0])}]},
                                status_code=404)
        except ValueError as exc:
            return JSONResponse({"detail": [{"loc": ["query", "on"], "field": "on", "msg": str(exc)}]},
                                status_code=422)
        return {"group": group, "on": on, "members": sorted(found)}

    @app.post("/v1/timeline")
    def timeline(transaction: Transaction = Body(..., embed=True), start: str = Body("2022-10-01", alias="from"),
                 end: str = Body("2027-06-30", alias="to")) -> Any:
        try:
            line = svc.engine.timeline(transaction, start, end)
        except ValueError as exc:
            return JSONResponse({"detail": [{"loc": ["body"], "msg": str(exc)}]}, status_code=422)
        return [{"from": d.isoformat(), "verdict": v.to_dict()} for d, v in line]

    return app


def install_sighup(service: Service) -> None:
    """Reload the rulesets on SIGHUP (POSIX), in a thread of its own: the handler runs on the thread that
    serves requests, and a reload of the full lists takes seconds, during which the old set keeps answering."""
    if hasattr(signal, "SIGHUP"):
        def handler(*_: object) -> None:
            threading.Thread(target=service.reload, name="exportrules-reload", daemon=True).start()

        signal.signal(signal.SIGHUP, handler)


def __dir__() -> list[str]:
    return list(__all__)
