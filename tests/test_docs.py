"""The documentation site builds with --strict, and the tutorial's files and commands work as it says."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, Run

TUTORIAL = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
FILES = {m.group(2): m.group(1) for m in re.finditer(r"```yaml\n(# file: (\S+)\n.*?)```", TUTORIAL, re.S)}


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                          "-d", str(tmp_path / "site")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    page = (tmp_path / "site" / "tutorial" / "index.html").read_text(encoding="utf-8")
    assert "a ruleset from scratch" in page and "no-3a090a-to-china-without-a-licence" in page


@pytest.fixture
def tutorial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert set(FILES) == {"my-rules/tutorial/china-chips/2023-11-17.yaml", "my-cases/china-chips.yaml"}
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_tutorial_works_as_written(tutorial: Path, cli: Callable[..., Run]) -> None:
    run = cli("validate", "my-rules")
    assert run.code == 0 and "no errors, no warnings" in run.out
    tx = ('{"date": "2024-06-01", "item": {"tpp": 15832, "performance_density": 19.4}, "destination": "CN", '
          '"buyer": {"name": "Example Co", "country": "CN"}}')
    judged = cli("judge", "-r", "my-rules", "-", "-f", "json", stdin=tx)
    assert judged.code == 5 and judged.json()["outcome"] == "blocked"
    assert "licence-for-china-and-macau" in {r["rule"] for r in judged.json()["reasons"]}
    assert "obtain-licence" in {a["kind"] for a in judged.json()["actions"]}
    with_licence = tx.replace('"destination"', '"licences": ["D1234567"], "destination"')
    licensed = cli("judge", "-r", "my-rules", "-", "-f", "json", stdin=with_licence)
    assert licensed.json()["outcome"] == "permitted"
    assert "unverified-licence" in {r["rule"] for r in licensed.json()["reasons"]}
    assert cli("judge", "-r", "my-rules", "-", stdin=tx.replace('"CN"', '"DE"')).code == 0
    test = cli("test", "my-rules")
    assert test.code == 0 and "ok   tutorial/china-chips::no-3a090a-to-china-without-a-licence" in test.out
    corpus = cli("corpus", "my-cases", "-r", "my-rules")
    assert corpus.code == 0 and re.search(r"4\s+cases, 4 passed, 0 failed", corpus.out)
    # The tutorial's claim: with China left out of the control, Hypothesis finds a chip for China now permitted.
    path = tutorial / "my-rules/tutorial/china-chips/2023-11-17.yaml"
    path.write_text(path.read_text().replace("{destination: {in: [CN, MO]}}", "{destination: {in: [MO]}}"))
    broken = cli("test", "my-rules")
    assert broken.code == 6 and "FAIL" in broken.out + broken.err


def test_the_tutorial_python_block_runs(tutorial: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = re.findall(r"```python\n(.*?)```", TUTORIAL, re.S)
    assert len(block) == 1
    exec(compile(block[0], "tutorial.md", "exec"), {"__name__": "tutorial"})
    assert "blocked" in capsys.readouterr().out
