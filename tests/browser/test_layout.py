"""The console laid out for a day's work (issue 9, items 4 and 5), in headless Chromium against
uvicorn on a real SQLite database: the triage queue as a sortable list with a page per item, the
case page with its actions in view at 1280x800 and a plain-English timeline of arrival times,
"My cases" and "Unassigned", a case list that fits 1280 px and works at 320 px, and attachments
that are downloaded, never shown."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from tests.browser.pages import serve, sign_in, submit, wait, wait_text
from tests.browser.seed import PASSWORD, SECRET, Seeded, directory, make_app, seed
from worker.adapters.clock import LONDON
from worker.adapters.db_models import Case, InboundMessage, ReviewItem
from worker.bootstrap import App

# A message that reached us yesterday morning and was stored (processed) only now: the timeline
# must show when it arrived.
ARRIVED = "08:17"
ATTACHED = (
    "From: Resident 1 <resident1@example.org>\r\n"
    "To: complaints@thrivehomes.org.uk\r\n"
    "Subject: Photos of the damp\r\n"
    "Message-ID: <photos-1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    "--b1\r\nContent-Type: text/plain\r\n\r\nThe photos are attached.\r\n"
    '--b1\r\nContent-Type: text/html; name="page.html"\r\n'
    'Content-Disposition: attachment; filename="page.html"\r\n\r\n'
    "<h1 id=rendered>If you can read this as a heading it was rendered</h1>\r\n"
    "--b1--\r\n"
)


@dataclass
class Served:
    app: App
    seeded: Seeded
    url: str
    later_item: int
    attached_inbound: int


def _add_messages(app: App, seeded: Seeded) -> tuple[int, int]:
    """A later message on the acknowledged case (with an attachment, dated yesterday 08:17), a
    case with every flag, and a second triage item received before the seeded one."""
    yesterday = app.clock.today() - timedelta(days=1)
    sent = datetime.combine(yesterday, datetime.strptime(ARRIVED, "%H:%M").time(), tzinfo=LONDON)
    with app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == seeded.acknowledged))
        assert case is not None
        row = InboundMessage(
            source="email",
            mailbox="seed",
            uidvalidity=1,
            uid=50,
            message_id="photos-1@example.org",
            dedupe_key="mid:photos-1@example.org",
            raw=ATTACHED.encode(),
            status="done",
            from_addr="resident1@example.org",
            from_name="Resident 1",
            subject="Photos of the damp",
            text="The photos are attached.",
            headers={"date": format_datetime(sent)},
            received_on=yesterday,
            label="complaint",
            case_id=case.id,
        )
        s.add(row)
        flagged = s.scalar(select(Case).where(Case.ref == seeded.overdue))
        assert flagged is not None
        flagged.building_safety = True
        flagged.flags = {"representative": True, "repeat": True, "letter_bounced": True}
        # A second review item, older, more confident and with no case: sorting must move it.
        other = InboundMessage(
            source="email",
            mailbox="seed",
            uidvalidity=1,
            uid=51,
            message_id="auto-51@example.org",
            dedupe_key="mid:auto-51@example.org",
            raw=b"Subject: Automatic reply\r\n\r\nI am out of the office.\r\n",
            status="done",
            from_addr="away@example.org",
            from_name="Away",
            subject="Automatic reply: out of the office",
            text="I am out of the office.",
            received_on=app.clock.today() - timedelta(days=3),
            label="not_resident_mail",
            reason="auto_reply",
        )
        s.add(other)
        s.flush()
        item = ReviewItem(
            inbound_id=other.id,
            proposed_label="not_resident_mail",
            proposed_reason="auto_reply",
            confidence=0.91,
        )
        s.add(item)
        s.flush()
        return item.id, row.id


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    app = make_app(tmp_path)
    seeded = seed(app)
    later_item, attached = _add_messages(app, seeded)
    with serve(app, directory(), {"COMPLAINTS_SECRET_KEY": SECRET}) as url:
        yield Served(app, seeded, url, later_item, attached)
    app.db.dispose()


@pytest.fixture
def driver(chromium: Any) -> Iterator[Any]:
    """The shared browser, signed out again and back at its usual size afterwards."""
    yield chromium
    chromium.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    chromium.delete_all_cookies()


def viewport(driver: Any, width: int, height: int) -> None:
    """Emulate a screen of exactly this many CSS pixels (a window can be no narrower than the
    browser allows; the emulated viewport can)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    assert driver.execute_script("return window.innerWidth") == width


def in_view(driver: Any, css: str) -> bool:
    """Whether the element is wholly inside the viewport as the page first shows it."""
    return bool(
        driver.execute_script(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
            "return r.top >= 0 && r.left >= 0 && r.height > 0"
            " && r.bottom <= window.innerHeight && r.right <= window.innerWidth;",
            css,
        )
    )


def open_page(driver: Any, url: str, css: str) -> Any:
    driver.get(url)
    return wait(driver, css)


def test_triage_queue_is_a_sortable_list_with_a_page_per_item(driver: Any, served: Served) -> None:
    sign_in(driver, served.url, "hana", PASSWORD)
    open_page(driver, f"{served.url}/triage", "table.worklist")
    rows = driver.find_elements(By.CSS_SELECTOR, "table.worklist tbody tr")
    # Oldest first: the automatic reply (three days old) before today's proposed exclusion.
    assert [r.get_attribute("id") for r in rows] == [
        f"item-{served.later_item}",
        f"item-{served.seeded.triage_item}",
    ]
    first = rows[1].text
    assert served.seeded.triage in first and "Legal proceedings" in first and "62%" in first
    assert "Acknowledge by" in first
    # No forms in the list: deciding happens on the item's own page.
    assert driver.find_elements(By.CSS_SELECTOR, "main form[method=post]") == []

    # Least sure first, with the form's own button (no JavaScript).
    driver.find_element(By.CSS_SELECTOR, "#sort option[value=confidence]").click()
    submit(driver, driver.find_element(By.CSS_SELECTOR, "main form button"))
    assert "sort=confidence" in driver.current_url
    rows = driver.find_elements(By.CSS_SELECTOR, "table.worklist tbody tr")
    assert [r.get_attribute("id") for r in rows] == [
        f"item-{served.seeded.triage_item}",
        f"item-{served.later_item}",
    ]
    header = driver.find_element(By.CSS_SELECTOR, "th[aria-sort]")
    assert "Confidence" in header.text

    submit(driver, driver.find_element(By.CSS_SELECTOR, f"#item-{served.seeded.triage_item} a"))
    wait_text(driver, "h1", served.seeded.triage)
    main = driver.find_element(By.TAG_NAME, "main").text
    assert "filed a claim at court" in main and "Back to the triage queue" in main
    assert driver.find_element(By.ID, f"decision-{served.seeded.triage_item}-accept")


def test_case_page_shows_actions_first_and_a_timeline_of_arrivals(
    driver: Any, served: Served
) -> None:
    ref = served.seeded.acknowledged
    sign_in(driver, served.url, "hana", PASSWORD)
    viewport(driver, 1280, 800)
    open_page(driver, f"{served.url}/cases/{ref}", "#timeline-title")

    # The summary and every action are in view without scrolling; the record is folded.
    assert in_view(driver, "#actions-title")
    summaries = driver.find_elements(By.CSS_SELECTOR, ".panel--action > summary")
    assert [x.text for x in summaries] == [
        "Record the stage 1 response",
        "Extend the response date",
    ]
    for n in range(len(summaries)):
        assert in_view(driver, f"#{['respond', 'extend'][n]}-panel > summary"), n
    assert in_view(driver, ".case-summary")
    record = driver.find_element(By.ID, "resident-record")
    assert record.tag_name == "details" and record.get_attribute("open") is None
    assert not driver.find_element(By.ID, "adj_text").is_displayed()

    # The timeline comes straight after the actions, newest first, in plain English.
    order = driver.execute_script(
        "return [...document.querySelectorAll('main h2')].map(h => h.id).filter(Boolean);"
    )
    assert order.index("actions-title") + 1 == order.index("timeline-title")
    items = driver.find_elements(By.CSS_SELECTOR, ".timeline > li")
    text = driver.find_element(By.CLASS_NAME, "timeline").text
    assert "Complaint acknowledged" in text and "Case opened" in text
    assert "case.acknowledge" not in text and "case.open" not in text
    # Newest first among events too: acknowledged after it was opened.
    assert text.index("Complaint acknowledged") < text.index("Case opened")

    # The photos arrived yesterday at 08:17 London time and were stored only now: the timeline
    # shows (and orders by) when they arrived, so they come after today's entries.
    photos = [li for li in items if "Photos of the damp" in li.text]
    assert len(photos) == 1 and items[-1] == photos[0]
    arrived = photos[0].find_element(By.CSS_SELECTOR, "time.received").text
    yesterday = served.app.clock.today() - timedelta(days=1)
    assert arrived == f"{yesterday.strftime('%d %b %Y')} {ARRIVED}"
    assert "logged" in photos[0].text

    # Filter the timeline to letters, then to messages, with plain links.
    submit(driver, driver.find_element(By.PARTIAL_LINK_TEXT, "Messages ("))
    assert "kind=message" in driver.current_url
    kinds = {
        li.get_attribute("class")
        for li in driver.find_elements(By.CSS_SELECTOR, ".timeline > li.timeline-item")
    }
    assert kinds == {"timeline-item timeline-item--message"}
    assert len(driver.find_elements(By.CSS_SELECTOR, ".timeline > li")) == 2


def test_my_cases_and_unassigned_views(driver: Any, served: Served) -> None:
    seeded = served.seeded
    sign_in(driver, served.url, "hana", PASSWORD)
    wait(driver, "table")
    submit(driver, driver.find_element(By.LINK_TEXT, "My cases"))
    wait_text(driver, "#case-count", "Assigned to you")
    body = driver.find_element(By.TAG_NAME, "main").text
    assert seeded.acknowledged in body and seeded.responded in body
    assert seeded.overdue not in body and seeded.triage not in body
    current = driver.find_element(By.CSS_SELECTOR, "nav[aria-label='Case views'] [aria-current]")
    assert current.text == "My cases"

    # Filters keep the view.
    driver.find_element(By.CSS_SELECTOR, "#f-risk option[value=on_track]").click()
    submit(driver, driver.find_element(By.CSS_SELECTOR, ".filters button"))
    assert "view=mine" in driver.current_url

    submit(driver, driver.find_element(By.LINK_TEXT, "Unassigned"))
    wait_text(driver, "#case-count", "No handler yet")
    body = driver.find_element(By.TAG_NAME, "main").text
    assert seeded.triage in body and seeded.acknowledged not in body


def test_case_list_fits_1280_and_works_at_320(driver: Any, served: Served) -> None:
    sign_in(driver, served.url, "hana", PASSWORD)
    viewport(driver, 1280, 800)
    open_page(driver, f"{served.url}/cases", "table.case-list")
    # Nothing clipped or scrolled sideways: the Flags column ends inside the table's box.
    fits = driver.execute_script(
        "const box = document.querySelector('.table-scroll');"
        "const flags = document.querySelector('table.case-list thead th:last-child');"
        "return [box.scrollWidth <= box.clientWidth,"
        " flags.getBoundingClientRect().right <= box.getBoundingClientRect().right + 1,"
        " document.documentElement.scrollWidth <= window.innerWidth];"
    )
    assert fits == [True, True, True]
    assert "Building safety" in driver.find_element(By.CSS_SELECTOR, "table.case-list").text

    viewport(driver, 320, 640)
    open_page(driver, f"{served.url}/cases", "table.case-list")
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 320
    link = driver.find_element(By.LINK_TEXT, served.seeded.overdue)
    assert link.is_displayed()
    driver.execute_script("arguments[0].scrollIntoView()", link)
    assert driver.execute_script("return arguments[0].getBoundingClientRect().right", link) <= 320
    # Each cell says which column it is, since the header row is hidden on a phone.
    label = driver.execute_script(
        "return getComputedStyle(document.querySelector("
        "'table.case-list td[data-label=Status]'), '::before').content"
    )
    assert "Status" in label
    submit(driver, link)
    wait_text(driver, "h1", served.seeded.overdue)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 320


def test_attachment_is_downloaded_never_rendered(driver: Any, served: Served) -> None:
    ref = served.seeded.acknowledged
    sign_in(driver, served.url, "hana", PASSWORD)
    open_page(driver, f"{served.url}/cases/{ref}", ".attachments")
    link = driver.find_element(By.CSS_SELECTOR, ".attachments a")
    assert link.text == "page.html" and link.get_attribute("download") is not None
    href = link.get_attribute("href")
    # The same request the browser makes, with its session: a file to save, never a page.
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    response = httpx.get(href, cookies=cookies, follow_redirects=False, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "text/html" not in response.headers["content-type"]
    # Following the link leaves the case page where it was: nothing was shown in its place.
    driver.get(href)
    assert driver.find_elements(By.ID, "rendered") == []
