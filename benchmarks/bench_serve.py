"""Service throughput: requests per second to `exportrules serve` from 8 concurrent clients.

    python benchmarks/bench_serve.py                # 4,000 requests, one transaction each, 8 clients
    python benchmarks/bench_serve.py --per-request 100 --requests 400   # lists of 100

The server runs as a real uvicorn process (one worker) on loopback; clients are asyncio tasks over
httpx with keep-alive. Transactions are first-seen (distinct buyers and dates) from the bundled
rulesets' order generator.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time

import httpx

import exportrules
from exportrules.table import row_transaction
from exportrules.testing.orders import order_rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def drive(base: str, bodies: list[object], clients: int) -> tuple[float, int]:
    queue: asyncio.Queue[object] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    failures = 0

    async def client() -> None:
        nonlocal failures
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            while not queue.empty():
                body = queue.get_nowait()
                r = await c.post("/v1/judge", json=body)
                failures += r.status_code not in (200, 422)

    t = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - t, failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--per-request", type=int, default=1)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    engine = exportrules.load()
    txs = [row_transaction(r) for r in order_rows(engine, args.requests * args.per_request, seed=21, fresh_names=0.5)]
    bodies: list[object] = txs if args.per_request == 1 else \
        [txs[i:i + args.per_request] for i in range(0, len(txs), args.per_request)]
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "exportrules", "serve", "--port", str(port), "--decision-log",
                             os.devnull], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        asyncio.run(drive(base, bodies[: min(50, len(bodies))], args.clients))  # warm up: plans compiled
        took, failures = asyncio.run(drive(base, bodies, args.clients))
    finally:
        proc.terminate()
        proc.wait()
    print(f"{len(bodies):,} requests x {args.per_request} transactions, {args.clients} clients: "
          f"{len(bodies) / took:,.0f} requests/s, {len(txs) / took:,.0f} transactions/s ({failures} failures)")


if __name__ == "__main__":
    main()
