"""A handler's working day in a real browser (headless Chromium) against uvicorn on a real SQLite
database (issue 9): an account made with ``complaints staff add``, a phone complaint logged at
/cases/new, found again by search, its deadlines counted from the day it was received, and its
acknowledgement written to the outbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.pages import FIND_WAIT, serve, submit, wait, wait_text
from tests.browser.seed import SECRET, make_app
from worker.bootstrap import App
from worker.domain.timescales import stage_deadlines
from worker.web.auth import DatabaseDirectory

NEW_PASSWORD = "kettle orchard lantern puzzle"
WORDS = (
    "I phoned about the broken front door lock and nobody came. My flat has not been secure "
    "for three weeks and I am frightened at night."
)
POSTCODE = "LS2 7QA"


@dataclass
class Console:
    app: App
    url: str
    outbox: Path
    one_time_password: str


def _staff_add(tmp: Path) -> str:
    """``complaints staff add`` as an administrator would run it; returns the one-time password."""
    env = {
        **os.environ,
        "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp / 'complaints.db'}",
        "COMPLAINTS_OUTBOX_DIR": str(tmp / "outbox"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker.cli",
            "staff",
            "add",
            "hana",
            "--name",
            "Hana Handler",
            "--role",
            "handler",
            "--by",
            "test administrator",
        ],
        env=env,
        cwd=tmp,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    account = json.loads(done.stdout)
    assert account["role"] == "handler" and account["must_change_password"] is True
    return str(account["one_time_password"])


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    app = make_app(tmp_path)  # creates the database and its tables
    one_time = _staff_add(tmp_path)
    directory = DatabaseDirectory(app.db)
    with serve(app, directory, {"COMPLAINTS_SECRET_KEY": SECRET}) as url:
        yield Console(app, url, tmp_path / "outbox", one_time)
    app.db.dispose()


def _long(day: date) -> str:
    return f"{day.day} {day.strftime('%B %Y')}"


def _outbox_letter(outbox: Path, ref: str) -> Any:
    """The acknowledgement for ``ref`` among the outbox's .eml files, once it is there."""

    def find(_: object) -> Any:
        for path in sorted(outbox.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if message.get("X-Complaints-Case-Ref") == ref:
                return message
        return None

    return WebDriverWait(None, FIND_WAIT).until(find)


def test_handler_logs_a_phone_complaint_and_finds_it_again(chromium: Any, console: Console) -> None:
    driver = chromium
    driver.delete_all_cookies()

    # Sign in with the one-time password, then choose one's own.
    driver.get(f"{console.url}/cases")
    wait(driver, "#username")
    driver.find_element(By.ID, "username").send_keys("hana")
    driver.find_element(By.ID, "password").send_keys(console.one_time_password)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    wait(driver, "#new")
    driver.find_element(By.ID, "current").send_keys(console.one_time_password)
    driver.find_element(By.ID, "new").send_keys(NEW_PASSWORD)
    driver.find_element(By.ID, "again").send_keys(NEW_PASSWORD)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    wait_text(driver, ".signout", "Hana Handler")

    # Log a phone complaint received yesterday.
    yesterday = console.app.clock.today() - timedelta(days=1)
    driver.get(f"{console.url}/cases")
    submit(
        driver,
        driver.find_element(
            By.LINK_TEXT,
            "Log a complaint or request made by phone, letter, in person or social media",
        ),
    )
    wait_text(driver, "h1", "Log a complaint or request")
    driver.find_element(By.CSS_SELECTOR, "label[for=channel-phone]").click()
    received = driver.find_element(By.ID, "received_date")
    # A date input takes typed digits in the browser's locale order; setting its value is
    # the same for every locale.
    driver.execute_script("arguments[0].value = arguments[1];", received, yesterday.isoformat())
    driver.execute_script(
        "arguments[0].value = '10:15';", driver.find_element(By.ID, "received_time")
    )
    driver.find_element(By.ID, "name").send_keys("Sam Tenant")
    driver.find_element(By.ID, "email").send_keys("sam.tenant@example.org")
    driver.find_element(By.ID, "address").send_keys(f"12 Canal Street, Leeds {POSTCODE}")
    driver.find_element(By.ID, "words").send_keys(WORDS)
    driver.find_element(By.ID, "outcome").send_keys("Fix the lock today")
    submit(
        driver,
        driver.find_element(
            By.CSS_SELECTOR, "form[method=post][action='/cases/new'] button[type=submit]"
        ),
    )
    heading = wait_text(driver, "h1", "Logged as CMP-")
    ref = heading.text.removeprefix("Logged as ").strip()

    # Its deadlines are counted from yesterday, the day it was received.
    expected = stage_deadlines(1, yesterday, console.app.calendar)
    summary = driver.find_element(By.CSS_SELECTOR, "dl.summary").text
    assert f"Received\n{_long(yesterday)}" in summary
    assert f"Acknowledge by\n{_long(expected.acknowledge_by)}" in summary
    assert "stage1 acknowledgement" in summary

    # Found by postcode, and by a word of the complaint, with the search box.
    for query in (POSTCODE, "frightened"):
        driver.get(f"{console.url}/cases")
        box = wait(driver, "#q")
        box.send_keys(query)
        submit(driver, driver.find_element(By.CSS_SELECTOR, "form.search button"))
        results = wait_text(driver, "main", ref)
        assert driver.find_element(By.LINK_TEXT, ref), results.text

    # The case page shows the received date the clock runs from.
    submit(driver, driver.find_element(By.LINK_TEXT, ref))
    wait_text(driver, "h1", f"Case {ref}")

    # The acknowledgement went out, to the resident, with their own words.
    letter = _outbox_letter(console.outbox, ref)
    assert letter["To"].addresses[0].addr_spec == "sam.tenant@example.org"
    assert letter["X-Complaints-Letter-Kind"] == "stage1_acknowledgement"
    text = " ".join(letter.get_body(preferencelist=("plain",)).get_content().split())
    assert "broken front door lock" in text
