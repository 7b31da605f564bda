"""The staff console in a real browser (headless Chromium) against uvicorn serving a real SQLite
database: sign in, the case list, a case, a refused response form, a triage decision."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from tests.browser.seed import PASSWORD, SECRET, Seeded, directory, make_app, seed
from worker.adapters.db_models import Case
from worker.bootstrap import App
from worker.web.app import create_app

SCREENSHOT = Path("/tmp/complaints-console-case.png")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    def __init__(self, app: App, seeded: Seeded, url: str) -> None:
        self.app = app
        self.seeded = seeded
        self.url = url


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    app = make_app(tmp_path)
    seeded = seed(app)
    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield Served(app, seeded, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    app.db.dispose()


def _wait(driver: Any, css: str) -> Any:
    return WebDriverWait(driver, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _sign_in(driver: Any, url: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{url}/cases")
    _wait(driver, "#username")  # sent to the sign-in page first
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en-GB"
    driver.find_element(By.ID, "username").send_keys("hana")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _wait(driver, "table")


def test_handler_works_a_case_and_the_triage_queue(chromium: Any, served: Served) -> None:
    driver = chromium
    seeded = served.seeded
    _sign_in(driver, served.url)

    # The case list shows every open case with its deadline status.
    assert driver.find_element(By.TAG_NAME, "h1").text == "Cases"
    body = driver.find_element(By.TAG_NAME, "main").text
    for ref in (seeded.acknowledged, seeded.overdue, seeded.triage):
        assert ref in body
    assert "Overdue" in body

    # Filtering by deadline status, with the form's own submit button (no JavaScript).
    driver.find_element(By.CSS_SELECTOR, "#f-risk option[value=overdue]").click()
    driver.find_element(By.CSS_SELECTOR, ".filters button").click()
    WebDriverWait(driver, 10).until(lambda d: "risk=overdue" in d.current_url)
    body = driver.find_element(By.TAG_NAME, "main").text
    assert seeded.overdue in body and seeded.acknowledged not in body

    # Open a case: its timeline shows the resident's message, made safe.
    driver.get(f"{served.url}/cases")
    driver.find_element(By.LINK_TEXT, seeded.acknowledged).click()
    _wait(driver, "#timeline-title")
    assert driver.find_element(By.TAG_NAME, "h1").text == f"Case {seeded.acknowledged}"
    assert "The damp has come back" in driver.find_element(By.CLASS_NAME, "timeline").text

    # A response without a remedy (or why none) and without actions is refused, with the reasons
    # typed so far kept.
    driver.find_element(By.ID, "decision-upheld").click()
    driver.find_element(By.ID, "reasons").send_keys("Our damp policy, section 4, says ...")
    driver.find_element(By.CSS_SELECTOR, "button[name=intent][value=send]").click()
    summary = _wait(driver, ".error-summary")
    assert "Enter the remedy, or say why no remedy is offered" in summary.text
    assert "List each outstanding action with its date" in summary.text
    assert "Our damp policy" in driver.find_element(By.ID, "reasons").get_attribute("value")
    with served.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == seeded.acknowledged))
        assert case is not None and case.status == "stage1_acknowledged"
    driver.save_screenshot(str(SCREENSHOT))

    # Accept the triage item: the case becomes a stage 1 complaint.
    driver.find_element(By.LINK_TEXT, "Triage queue").click()
    _wait(driver, f"#item-{seeded.triage_item}")
    driver.find_element(By.ID, f"decision-{seeded.triage_item}-accept").click()
    driver.find_element(By.ID, f"reason-{seeded.triage_item}").send_keys(
        "About our service charge handling, not the court claim."
    )
    driver.find_element(By.CSS_SELECTOR, f"#item-{seeded.triage_item} form button").click()
    notice = _wait(driver, ".notice")
    assert seeded.triage in notice.text and "accepted" in notice.text
    assert "The triage queue is empty" in driver.find_element(By.TAG_NAME, "main").text
    with served.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == seeded.triage))
        assert case is not None and case.status == "stage1_acknowledged"


def test_resident_sends_the_public_form(chromium: Any, served: Served) -> None:
    driver = chromium
    driver.delete_all_cookies()
    driver.get(f"{served.url}/complain")
    _wait(driver, "#name")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    summary = _wait(driver, ".error-summary")
    assert "Enter your full name" in summary.text
    driver.find_element(By.ID, "name").send_keys("Jo Resident")
    driver.find_element(By.ID, "email").send_keys("jo@example.org")
    driver.find_element(By.ID, "issue").send_keys("Nobody came to fix the broken window.")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # The form page has an h1 too: wait for the next page's heading, not for any h1, or the
    # old element can go stale between finding and reading it.
    WebDriverWait(driver, 10).until(
        ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "We have received your complaint")
    )
    assert driver.find_element(By.TAG_NAME, "h1").text == "We have received your complaint"


def test_handler_relabels_a_triage_item_as_a_service_request(chromium: Any, served: Served) -> None:
    driver = chromium
    item = served.seeded.triage_item
    _sign_in(driver, served.url)
    driver.get(f"{served.url}/triage")
    _wait(driver, f"#item-{item}")
    # The radio is found by its visible label, as a screen reader user would.
    label = driver.find_element(By.CSS_SELECTOR, f"label[for=decision-{item}-service_request]")
    assert "service request" in label.text
    label.click()
    driver.find_element(By.ID, f"reason-{item}").send_keys("A first request for a repair (1.4).")
    driver.find_element(By.CSS_SELECTOR, f"#item-{item} form button").click()
    notice = _wait(driver, ".notice")
    assert "logged as service request SR-" in notice.text
    with served.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == served.seeded.triage))
        assert case is not None and case.status == "withdrawn"
