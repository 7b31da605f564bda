"""Screenshots of the console's main pages for the README, taken with headless Chromium on the
demo's data: python scripts/screenshots.py [--out docs/screenshots] [--data DIR]

Runs the demo on the bundled sample mailbox into DIR (a temporary folder unless given), serves
the console on it with a throwaway manager account, and saves each page at 1280x800 as a
palette PNG (small enough for a README, under about 150 KB). Needs /usr/bin/chromium and
/usr/bin/chromedriver, and the test extras (selenium, pillow)."""

from __future__ import annotations

import argparse
import contextlib
import io
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1280, 800
LIMIT = 150_000  # bytes per PNG
WAIT = 60


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _served(data: Path, password: str) -> Iterator[str]:
    """The console on the demo's database, until the block ends; yields its base URL."""
    import uvicorn

    from worker.bootstrap import bootstrap
    from worker.service.staff import StaffAccounts
    from worker.settings import load_settings
    from worker.web.app import create_app
    from worker.web.auth import DatabaseDirectory

    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{data / 'complaints.db'}",
            "COMPLAINTS_OUTBOX_DIR": str(data / "outbox"),
        },
        cwd=ROOT,
    )
    app = bootstrap(settings, replay=True)
    accounts = StaffAccounts(app.db)
    if accounts.get("screenshots") is None:
        accounts.add(
            "screenshots", name="Sam Manager", role="manager", by="screenshots", password=password
        )
    else:
        accounts.reset_password("screenshots", by="screenshots", password=password)
    web = create_app(
        app,
        directory=DatabaseDirectory(app.db),
        environ={"COMPLAINTS_SECRET_KEY": secrets.token_hex(32)},
    )
    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("screenshots: the console did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.db.dispose()


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={WIDTH},{HEIGHT}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )
    return driver


def _wait(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _save(driver: Any, path: Path) -> int:
    """The viewport as a 256-colour PNG: the console's flat colours survive, the size drops."""
    from PIL import Image

    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    colours = 256
    while True:
        buffer = io.BytesIO()
        image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(
            buffer, format="PNG", optimize=True
        )
        if buffer.tell() <= LIMIT or colours <= 16:
            break
        colours //= 2
    path.write_bytes(buffer.getvalue())
    return buffer.tell()


def take(url: str, password: str, out: Path) -> list[tuple[str, int]]:
    from selenium.webdriver.common.by import By

    driver = _browser()
    taken: list[tuple[str, int]] = []
    try:
        # Signed out first: the public complaint form a resident sees.
        driver.get(f"{url}/complain")
        _wait(driver, "#name")
        taken.append(("public-form.png", _save(driver, out / "public-form.png")))

        driver.get(f"{url}/login")
        _wait(driver, "#username").send_keys("screenshots")
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        _wait(driver, ".signout")

        driver.get(f"{url}/cases?status=all")
        _wait(driver, "table.case-list")
        taken.append(("case-list.png", _save(driver, out / "case-list.png")))
        # A case a handler is working on (acknowledged, response due), if the data has one.
        driver.get(f"{url}/cases?status=stage1_acknowledged")
        _wait(driver, "#case-count")
        links = driver.find_elements(By.CSS_SELECTOR, "table.case-list tbody th a")
        if not links:
            driver.get(f"{url}/cases?status=all")
            links = [_wait(driver, "table.case-list tbody th a")]
        first = links[0].text

        driver.get(f"{url}/cases/{first}")
        _wait(driver, "#timeline-title")
        taken.append(("case.png", _save(driver, out / "case.png")))

        driver.get(f"{url}/triage")
        _wait(driver, "main h1")
        taken.append(("triage-queue.png", _save(driver, out / "triage-queue.png")))
        items = driver.find_elements(By.CSS_SELECTOR, "table.worklist tbody th a")
        if items:
            driver.get(items[0].get_attribute("href"))
            _wait(driver, ".triage-item")
            taken.append(("triage-item.png", _save(driver, out / "triage-item.png")))

        driver.get(f"{url}/cases/new")
        _wait(driver, "#channel-phone")
        taken.append(("new-case.png", _save(driver, out / "new-case.png")))
    finally:
        driver.quit()
    return taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--data", help="the demo's output folder (made by the demo if missing)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="complaints-screenshots-") as scratch:
        data = Path(args.data) if args.data else Path(scratch)
        if not (data / "complaints.db").is_file():
            from worker.demo import run_demo

            run_demo(None, str(data))
        password = secrets.token_urlsafe(18)
        with _served(data, password) as url:
            for name, size in take(url, password, out):
                print(f"{out / name}: {size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
