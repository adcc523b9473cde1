"""What a person sees: the batch report and the service's page, in a real (headless) Chromium.

`.ci/run` installs Debian's `chromium` and `chromium-driver` before the tests, and sets
EXPORTRULES_BROWSER_TESTS=required so that CI always runs these; on a machine without the browser
they are skipped with that reason (install the two packages to run them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE = Path(CHROMIUM).exists() and Path(DRIVER).exists()
if not HAVE and os.environ.get("EXPORTRULES_BROWSER_TESTS") == "required":
    raise RuntimeError("browser tests required, but chromium/chromedriver are not installed")
pytestmark = pytest.mark.skipif(not HAVE, reason="needs Debian's chromium and chromium-driver (CI installs them)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_the_report_shows_the_blocked_orders_with_citations(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from exportrules.cli import main

    out = tmp_path / "report.html"
    assert main(["report", str(ROOT / "examples" / "purchase_orders.csv"), "-o", str(out)]) == 0
    browser.get(out.as_uri())
    assert browser.title == "Export check: purchase_orders.csv"
    cards = browser.find_element(By.ID, "summary").text
    assert "3\npermitted" in cards and "1\nflagged" in cards and "2\nblocked" in cards
    blocked = browser.find_element(By.ID, "blocked-orders").text
    assert "PO-1002" in blocked and "PO-1005" in blocked and "PO-1001" not in blocked
    assert "15 CFR 744.23(a)(3)" in blocked  # the headquarters rule, cited
    assert "MY" in browser.find_element(By.ID, "by-destination").text
    charts = browser.find_elements(By.CSS_SELECTOR, ".charts svg")
    assert len(charts) == 2 and all(c.size["height"] > 50 for c in charts)
    assert console_errors(browser) == []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server("--decision-log", os.devnull, log=tmp_path_factory.mktemp("server") / "err.txt") as (base, _):
        yield base


def test_the_service_page_judges_what_a_person_types(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/")
    assert browser.title == "exportrules: judge a shipment"
    browser.find_element(By.ID, "judge").click()
    wait = WebDriverWait(browser, 30)
    wait.until(ec.text_to_be_present_in_element((By.ID, "outcome"), "blocked"))
    # The example: an H200 for a Malaysian buyer 60 % owned from China (15 CFR 744.23(a)(3)).
    reasons = browser.find_element(By.ID, "reasons").text
    assert "ac-hq-macau-d5" in reasons and "15 CFR 744.23(a)(3)" in reasons
    assert "obtain-licence" in browser.find_element(By.ID, "actions").text
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline svg"))
    assert "verdict" in browser.find_element(By.ID, "timeline").get_attribute("innerHTML") or \
        browser.find_element(By.CSS_SELECTOR, "#timeline svg").size["height"] > 100
    assert console_errors(browser) == []
    # A bad transaction: the field is named, and no outcome is shown.
    box = browser.find_element(By.ID, "tx")
    box.clear()
    box.send_keys('{"date": "2026-03-01", "item": "nvidia-h200", "destination": "Malaysia"}')
    browser.find_element(By.ID, "judge").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "outcome"), "not judged"))
    assert "destination" in browser.find_element(By.ID, "reasons").text
    assert all(o not in browser.find_element(By.ID, "outcome").text for o in ("permitted", "blocked", "flagged"))
    errors = [e for e in console_errors(browser) if "422" not in e]  # the 422 itself is logged by the browser
    assert errors == []
