"""Shared fixtures: one engine over the bundled rulesets, and a CLI runner."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import exportrules
from exportrules.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def engine() -> exportrules.Engine:
    return exportrules.load()


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    def run(*argv: str, stdin: str | None = None) -> Run:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


from hypothesis import HealthCheck, settings  # noqa: E402

# A fixed, derandomised profile so CI is stable and quick; `--hypothesis-profile dev` searches harder.
settings.register_profile("ci", max_examples=40, derandomize=True, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile("ci")


@contextmanager
def running_server(*args: str, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`exportrules serve ARGS` as a real process on a free loopback port: (base URL, process), stopped after.
    Its stderr goes to *log*, which a failure to start quotes."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with log.open("w") as errors:
        proc = subprocess.Popen([sys.executable, "-m", "exportrules", "serve", "--port", str(port), *args],
                                stderr=errors, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180  # a slow CI machine loads the full lists in tens of seconds
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("the server did not start: " + log.read_text())
                    time.sleep(0.1)
            yield base, proc
        finally:
            proc.terminate()
            proc.wait(timeout=10)
