"""Helpers shared by the browser tests: serve a real console with uvicorn in a thread, and drive
pages so that every read waits for the page it means (never for a fixed time)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from classifiers.triage import model_text
from worker.bootstrap import App
from worker.web.app import create_app
from worker.web.auth import StaffDirectory

# Upper bounds for a page to arrive, never measured times: the public form and /cases/new run
# the whole pipeline inside the request in embedded mode, on a machine that may be busy.
SUBMIT_WAIT = 120
FIND_WAIT = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def warm_up(app: App) -> None:
    """Load the triage model and score one text before the browser starts. Loading it is the
    slowest thing a first form submission does (issue 9, item 7: it once pushed the public
    form's request past chromedriver's 30-second limit); done here, no request pays for it."""
    app.triager.probabilities([model_text("Warm up", "The repair was not done.")])


@contextmanager
def serve(app: App, directory: StaffDirectory | None, environ: Mapping[str, str]) -> Iterator[str]:
    """The console on a free port, until the block ends; yields its base URL."""
    warm_up(app)
    web = create_app(app, directory=directory, environ=dict(environ))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait(driver: Any, css: str) -> Any:
    return WebDriverWait(driver, FIND_WAIT).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def wait_text(driver: Any, css: str, text: str) -> Any:
    """The element once it holds ``text``: reading ``.text`` at once can catch it half built."""
    WebDriverWait(driver, FIND_WAIT).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
    )
    return driver.find_element(By.CSS_SELECTOR, css)


def submit(driver: Any, button: Any) -> None:
    """Click a button (or link) that leads to another page, and wait until that page has
    replaced this one and finished loading: finding an element right after the click can
    otherwise hit the old page, or the new one half built."""
    old = driver.find_element(By.TAG_NAME, "html")
    # WebDriver's own click waits for the navigation it starts, up to chromedriver's own
    # renderer timeout, and fails when the page is slower. Clicked from the page instead, the
    # waits below are the only ones.
    driver.execute_script("arguments[0].click();", button)
    WebDriverWait(driver, SUBMIT_WAIT).until(ec.staleness_of(old))
    WebDriverWait(driver, SUBMIT_WAIT).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def sign_in(driver: Any, url: str, username: str, password: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{url}/cases")
    wait(driver, "#username")  # sent to the sign-in page first
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en-GB"
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
