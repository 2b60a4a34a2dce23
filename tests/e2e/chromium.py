"""Load a local page in headless Chromium (selenium + Debian's chromedriver) and report on it.

The browser is the evidence: console messages (``browser`` log), the requests the page
made (``performance`` log, ``Network.requestWillBeSent``) and what the page itself says it
loaded (``document.fonts``). The request log serves to find external requests only: one CI
run's log lacked a stylesheet the page had applied, so what loaded is asked of the page.
A missing browser is a test failure with the install command, never a skip.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from journeyline.reports.browser import HEADLESS_FLAGS

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LOCAL_SCHEMES = ("file:", "data:", "about:", "chrome:", "blob:")
SETTLE_S = 20.0  # how long a page's own scripts may take to build what a test counts


@dataclass(frozen=True)
class PageLoad:
    """What a page did when it loaded."""

    title: str
    console_errors: list[str]
    requests: list[str]
    counts: dict[str, int]
    fonts: list[str]  # "family weight" of every font face the page loaded

    @property
    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]


def browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or CHROMIUM
    driver = shutil.which("chromedriver") or CHROMEDRIVER
    if not (Path(chromium).is_file() and Path(driver).is_file()):
        pytest.fail(
            "headless Chromium is needed for the report tests: "
            "apt-get install -y --no-install-recommends chromium chromium-driver "
            "(.ci/run does this)"
        )
    return chromium, driver


def _counts(driver: Any, selectors: dict[str, str]) -> dict[str, int]:
    return {
        name: int(driver.execute_script(f"return document.querySelectorAll({sel!r}).length"))
        for name, sel in selectors.items()
    }


def _settled_counts(driver: Any, selectors: dict[str, str]) -> dict[str, int]:
    """The counts once the page has built what they count. Data Docs builds its tables with
    its own scripts after the load event, and under load (parallel test workers) that can
    lag: poll until every selector matches and two polls agree, or ``SETTLE_S`` passes (then
    the caller's assertions see the counts as they are)."""
    deadline = time.monotonic() + SETTLE_S
    last: dict[str, int] | None = None
    while True:
        counts = _counts(driver, selectors)
        if (counts == last and all(counts.values())) or time.monotonic() > deadline:
            return counts
        last = counts
        time.sleep(0.2)


_LOADED_FONTS = """
const done = arguments[arguments.length - 1];
document.fonts.ready.then(() => done(
  Array.from(document.fonts).filter(f => f.status === 'loaded').map(f => f.family + ' ' + f.weight)
));
"""


def load(page: Path, selectors: dict[str, str], *, script: str | None = None) -> PageLoad:
    """Open ``page``, wait for it to load, count the elements of each CSS selector."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = browser_paths()
    options = Options()
    options.binary_location = chromium
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1600")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(SETTLE_S)
        driver.get(page.resolve().as_uri())
        counts = _settled_counts(driver, selectors)
        if script:
            counts["script"] = int(driver.execute_script(script))
        fonts = [str(f) for f in driver.execute_async_script(_LOADED_FONTS)]
        console = driver.get_log("browser")
        performance = driver.get_log("performance")
        title = driver.title
    finally:
        driver.quit()
    requests = []
    for entry in performance:
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    errors = [e["message"] for e in console if e.get("level") == "SEVERE"]
    return PageLoad(title, errors, requests, counts, fonts)
