"""Every page of the console and the public form, checked in headless Chromium by axe-core (from
the npm registry; see tests/browser/axe.py) against WCAG 2.2 AA: no serious or critical
violations (issue 9). Folded parts (<details>) are opened first, so the forms inside are
checked too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.browser.axe import axe_source, describe, run_axe
from tests.browser.pages import serve, sign_in, submit, wait, wait_text
from tests.browser.seed import PASSWORD, SECRET, Seeded, make_app, seed
from worker.bootstrap import App
from worker.service.staff import StaffAccounts
from worker.web.auth import DatabaseDirectory


@dataclass
class Served:
    app: App
    seeded: Seeded
    url: str


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("accessibility")
    app = make_app(tmp)
    seeded = seed(app)
    accounts = StaffAccounts(app.db)
    for username, name, role in (
        ("hana", "Hana Handler", "handler"),
        ("mo", "Mo Manager", "manager"),
        ("ops", "Olu Operations", "operations"),
    ):
        accounts.add(username, name=name, role=role, by="test", password=PASSWORD)
    with serve(app, DatabaseDirectory(app.db), {"COMPLAINTS_SECRET_KEY": SECRET}) as url:
        yield Served(app, seeded, url)
    app.db.dispose()


def check(driver: Any, axe: str, page: str) -> None:
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true);")
    violations = run_axe(driver, axe)
    assert not violations, f"{page}:\n{describe(violations)}"


def staff_page(driver: Any, served: Served, username: str, path: str, ready: str) -> None:
    sign_in(driver, served.url, username, PASSWORD)
    wait_text(driver, ".signout", "Signed in as")
    driver.get(f"{served.url}{path}")
    wait(driver, ready)


def test_sign_in_page(chromium: Any, served: Served, axe: str) -> None:
    chromium.delete_all_cookies()
    chromium.get(f"{served.url}/login")
    wait(chromium, "#username")
    check(chromium, axe, "sign-in")


@pytest.mark.parametrize(
    ("username", "path", "ready"),
    [
        ("hana", "/cases", "table.case-list"),
        ("hana", "/cases?view=mine", "table.case-list"),
        ("hana", "/cases?q=damp", ".search-result"),
        ("hana", "/triage", "table.worklist"),
        ("hana", "/cases/new", "#channel-phone"),
        ("mo", "/staff", "main h1"),
        ("ops", "/operations", "main h1"),
    ],
)
def test_staff_pages(
    chromium: Any, served: Served, axe: str, username: str, path: str, ready: str
) -> None:
    staff_page(chromium, served, username, path, ready)
    check(chromium, axe, path)


def test_case_page_for_a_manager(chromium: Any, served: Served, axe: str) -> None:
    # A manager sees the most: every action, the resident's record, the access log.
    ref = served.seeded.acknowledged
    staff_page(chromium, served, "mo", f"/cases/{ref}", "#timeline-title")
    check(chromium, axe, f"/cases/{ref}")


def test_case_page_with_a_refused_response(chromium: Any, served: Served, axe: str) -> None:
    ref = served.seeded.acknowledged
    staff_page(chromium, served, "hana", f"/cases/{ref}", "#timeline-title")
    chromium.find_element(By.CSS_SELECTOR, "#respond-panel > summary").click()
    submit(chromium, chromium.find_element(By.CSS_SELECTOR, "button[name=intent][value=send]"))
    wait(chromium, ".error-summary")
    check(chromium, axe, f"/cases/{ref} with errors")


def test_triage_item_page(chromium: Any, served: Served, axe: str) -> None:
    path = f"/triage/{served.seeded.triage_item}"
    staff_page(chromium, served, "hana", path, f"#item-{served.seeded.triage_item}")
    check(chromium, axe, path)


def test_public_form_with_and_without_errors(chromium: Any, served: Served, axe: str) -> None:
    chromium.delete_all_cookies()
    chromium.get(f"{served.url}/complain")
    wait(chromium, "#name")
    check(chromium, axe, "/complain")
    submit(chromium, chromium.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    wait_text(chromium, ".error-summary", "Enter your full name")
    check(chromium, axe, "/complain with errors")


def test_the_checker_finds_a_planted_violation(chromium: Any, served: Served, axe: str) -> None:
    """The guard on the guard: a field with no label, added to a page, is reported as critical,
    so a clean result above means axe ran and found nothing."""
    chromium.delete_all_cookies()
    chromium.get(f"{served.url}/login")
    wait(chromium, "#username")
    chromium.execute_script(
        "const i = document.createElement('input'); i.type = 'text';"
        "document.querySelector('main').appendChild(i);"
    )
    found = {v["id"] for v in run_axe(chromium, axe)}
    assert "label" in found
