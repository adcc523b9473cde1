"""`exportrules serve`: the HTTP service, against the app and as a real uvicorn process."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import exportrules
from exportrules.serve import Service, create_app

from .conftest import ROOT, running_server

H100_CN = {"id": "t1", "date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "CN",
           "buyer": {"name": "Example Co", "country": "CN"}}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Service())) as c:
        yield c


def test_judge_one_and_many_as_the_library_does(client: TestClient, engine: exportrules.Engine) -> None:
    r = client.post("/v1/judge", json=H100_CN)
    assert r.status_code == 200
    assert r.json() == engine.judge(H100_CN).to_dict()
    many = client.post("/v1/judge", json=[H100_CN, {**H100_CN, "id": "t2", "destination": "DE"}]).json()
    assert [v["outcome"] for v in many] == ["blocked", engine.judge({**H100_CN, "destination": "DE"}).outcome.value]
    r = client.post("/v1/judge", params={"as_of": "2022-01-01"}, json=H100_CN)
    assert r.json()["as_of"] == "2022-01-01"


@pytest.mark.parametrize(("body", "field"), [
    ({**H100_CN, "destination": "Germany"}, "destination"),
    ({**H100_CN, "quantity": -1}, "quantity"),
    ({**H100_CN, "destinaton": "DE"}, "destinaton"),
    ({k: v for k, v in H100_CN.items() if k != "date"}, "date"),
    ({**H100_CN, "licences": ["TBD"]}, "licences"),
])
def test_a_bad_request_gets_422_naming_the_field(client: TestClient, body: dict[str, object], field: str) -> None:
    r = client.post("/v1/judge", json=body)
    assert r.status_code == 422, r.text
    assert "outcome" not in r.text
    assert any(field in (d.get("field") or "") or field in json.dumps(d.get("loc")) for d in r.json()["detail"])


def test_limits(engine: exportrules.Engine) -> None:
    with TestClient(create_app(Service(max_items=2, max_bytes=2000))) as c:
        assert c.post("/v1/judge", json=[H100_CN] * 3).status_code == 413
        assert c.post("/v1/judge", json=[{**H100_CN, "id": "x" * 3000}]).status_code == 413


def test_batch_streams_a_line_per_transaction(client: TestClient) -> None:
    body = "\n".join([json.dumps(H100_CN), "not json", json.dumps({**H100_CN, "destination": "XX"})])
    r = client.post("/v1/batch", content=body)
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines[0]["outcome"] == "blocked"
    assert lines[1]["line"] == 2 and "outcome" not in lines[1]
    assert lines[2]["line"] == 3 and lines[2]["errors"][0]["field"] == "destination"


def test_rulesets_members_timeline_health(client: TestClient, engine: exportrules.Engine) -> None:
    assert len(client.get("/v1/rulesets").json()) == len(list(engine.catalog))
    r = client.get("/v1/members/D:5", params={"on": "2024-06-01"}).json()
    assert r["members"] == sorted(engine.members("D:5", on="2024-06-01"))
    assert client.get("/v1/members/D:55", params={"on": "2024-06-01"}).status_code == 404
    assert client.get("/v1/members/D:5", params={"on": "June"}).status_code == 422
    line = client.post("/v1/timeline", json={"transaction": H100_CN, "from": "2022-01-01", "to": "2025-01-01"}).json()
    want = engine.timeline(H100_CN, "2022-01-01", "2025-01-01")
    assert [x["from"] for x in line] == [d.isoformat() for d, _ in want]
    assert client.get("/healthz").json()["status"] == "ok"
    schema = client.get("/openapi.json").json()
    assert "Transaction" in schema["components"]["schemas"]


def test_decisions_are_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="exportrules.decisions"):
        client.post("/v1/judge", json=H100_CN)
    entry = json.loads(caplog.records[-1].getMessage())
    assert entry["outcome"] == "blocked" and entry["id"] == "t1" and len(entry["transaction"]) == 16
    assert entry["rulesets"]


def test_a_real_server_judges_and_reloads_on_sighup(tmp_path: Path) -> None:
    rules = tmp_path / "rulesets"
    shutil.copytree(ROOT / "rulesets", rules)
    log = tmp_path / "decisions.jsonl"
    with running_server("-r", str(rules), "--decision-log", str(log), log=tmp_path / "server.err") as (base, proc):
        r = httpx.post(f"{base}/v1/judge", json=H100_CN, timeout=10)
        assert r.status_code == 200 and r.json()["outcome"] == "blocked"
        bad = httpx.post(f"{base}/v1/judge", json={**H100_CN, "quantity": "lots"}, timeout=10)
        assert bad.status_code == 422 and "quantity" in bad.text
        before = httpx.get(f"{base}/healthz", timeout=10).json()["set"]
        # A new version on disk; SIGHUP swaps it in.
        src = rules / "us-ear" / "embargoes" / "2019-05-16.yaml"
        text = src.read_text()
        head, sep, tail = text.partition("citation: ")
        src.write_text(head + sep + tail.replace("\n", " (amended)\n", 1))
        proc.send_signal(signal.SIGHUP)
        # The reload runs beside the server: the old set answers while the new one loads.
        deadline = time.monotonic() + 120
        while httpx.get(f"{base}/healthz", timeout=10).json()["set"] == before:
            if time.monotonic() > deadline:
                pytest.fail("SIGHUP did not reload the rulesets")
            time.sleep(0.1)
        assert httpx.post(f"{base}/v1/judge", json=H100_CN, timeout=10).json()["outcome"] == "blocked"
        assert json.loads(log.read_text().splitlines()[0])["outcome"] == "blocked"

