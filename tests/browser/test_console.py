"""The staff console in a real browser (headless Chromium) against uvicorn serving a real SQLite
database: sign in, the case list, a case, a refused response form, a triage decision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from tests.browser.pages import serve as serve_console
from tests.browser.pages import sign_in, submit, wait, wait_text
from tests.browser.seed import PASSWORD, SECRET, Seeded, directory, make_app, seed
from worker.adapters.db_models import Case
from worker.bootstrap import App

SCREENSHOT = Path("/tmp/complaints-console-case.png")


class Served:
    def __init__(self, app: App, seeded: Seeded, url: str) -> None:
        self.app = app
        self.seeded = seeded
        self.url = url


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    app = make_app(tmp_path)
    seeded = seed(app)
    # serve() loads the triage model before the browser starts (issue 9, item 7).
    with serve_console(app, directory(), {"COMPLAINTS_SECRET_KEY": SECRET}) as url:
        yield Served(app, seeded, url)
    app.db.dispose()


def _wait(driver: Any, css: str) -> Any:
    return wait(driver, css)


def _submit(driver: Any, button: Any) -> None:
    submit(driver, button)


def _sign_in(driver: Any, url: str) -> None:
    sign_in(driver, url, "hana", PASSWORD)
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
    _submit(driver, driver.find_element(By.CSS_SELECTOR, ".filters button"))
    assert "risk=overdue" in driver.current_url
    body = driver.find_element(By.TAG_NAME, "main").text
    assert seeded.overdue in body and seeded.acknowledged not in body

    # Open a case: its timeline shows the resident's message, made safe.
    driver.get(f"{served.url}/cases")
    _submit(driver, driver.find_element(By.LINK_TEXT, seeded.acknowledged))
    _wait(driver, "#timeline-title")
    assert driver.find_element(By.TAG_NAME, "h1").text == f"Case {seeded.acknowledged}"
    assert "The damp has come back" in driver.find_element(By.CLASS_NAME, "timeline").text

    # A response without a remedy (or why none) and without actions is refused, with the reasons
    # typed so far kept.
    driver.find_element(By.CSS_SELECTOR, "#respond-panel > summary").click()  # folded action
    driver.find_element(By.ID, "decision-upheld").click()
    driver.find_element(By.ID, "reasons").send_keys("Our damp policy, section 4, says ...")
    _submit(driver, driver.find_element(By.CSS_SELECTOR, "button[name=intent][value=send]"))
    summary = _wait(driver, ".error-summary")
    assert "Enter the remedy, or say why no remedy is offered" in summary.text
    assert "List each outstanding action with its date" in summary.text
    assert "Our damp policy" in driver.find_element(By.ID, "reasons").get_attribute("value")
    with served.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == seeded.acknowledged))
        assert case is not None and case.status == "stage1_acknowledged"
    driver.save_screenshot(str(SCREENSHOT))

    # Accept the triage item: the case becomes a stage 1 complaint.
    _submit(driver, driver.find_element(By.LINK_TEXT, "Triage queue"))
    _submit(driver, wait(driver, f"#item-{seeded.triage_item} a"))  # the item's own page
    driver.find_element(By.ID, f"decision-{seeded.triage_item}-accept").click()
    driver.find_element(By.ID, f"reason-{seeded.triage_item}").send_keys(
        "About our service charge handling, not the court claim."
    )
    _submit(driver, driver.find_element(By.CSS_SELECTOR, f"#item-{seeded.triage_item} form button"))
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
    _submit(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    summary = _wait(driver, ".error-summary")
    assert "Enter your full name" in summary.text
    driver.find_element(By.ID, "name").send_keys("Jo Resident")
    driver.find_element(By.ID, "email").send_keys("jo@example.org")
    driver.find_element(By.ID, "issue").send_keys("Nobody came to fix the broken window.")
    # The first page load after a submit raced here once (issue 9, item 7): the old form page's
    # h1 could be read before the new page replaced it. Wait for the new page, then read.
    _submit(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    heading = wait_text(driver, "h1", "We have received your complaint")
    assert heading.text == "We have received your complaint"


def test_handler_relabels_a_triage_item_as_a_service_request(chromium: Any, served: Served) -> None:
    driver = chromium
    item = served.seeded.triage_item
    _sign_in(driver, served.url)
    driver.get(f"{served.url}/triage/{item}")
    _wait(driver, f"#item-{item}")
    # The radio is found by its visible label, as a screen reader user would.
    label = driver.find_element(By.CSS_SELECTOR, f"label[for=decision-{item}-service_request]")
    assert "service request" in label.text
    label.click()
    driver.find_element(By.ID, f"reason-{item}").send_keys("A first request for a repair (1.4).")
    _submit(driver, driver.find_element(By.CSS_SELECTOR, f"#item-{item} form button"))
    notice = _wait(driver, ".notice")
    assert "logged as service request SR-" in notice.text
    with served.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == served.seeded.triage))
        assert case is not None and case.status == "withdrawn"
