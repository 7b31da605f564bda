"""The operations endpoints and POSTs are protected (issue 7, part 5): /healthz shows details only
with its token, /metrics can require a bearer token, and a POST from another site's page is
refused by its Origin (or Referer) before the CSRF token is even looked at. Run against the real
app through Starlette's TestClient, on SQLite, and with the real SMTP sink and Redis."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.browser.seed import PASSWORD, SECRET, Seeded, directory, make_app, seed
from tests.support.smtp import SmtpServer
from worker.adapters.db_models import Case, InboundMessage
from worker.bootstrap import App
from worker.domain.errors import ConfigurationError
from worker.settings import load_settings
from worker.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HEALTH_TOKEN = "health-" + "h" * 30
METRICS_TOKEN = "metrics-" + "m" * 30
PROXY_ORIGIN = "https://complaints.thrivehomes.example"
EVIL = "https://evil.example"


class Site:
    def __init__(self, app: App, client: TestClient, seeded: Seeded, tmp: Path) -> None:
        self.app = app
        self.client = client
        self.seeded = seeded
        self.tmp = tmp

    def token(self, path: str) -> str:
        match = CSRF.search(self.client.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self) -> None:
        response = self.client.post(
            "/login",
            data={"username": "hana", "password": PASSWORD, "csrf_token": self.token("/login")},
            headers={"Origin": "http://testserver"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def extend(self, headers: dict[str, str]) -> Any:
        ref = self.seeded.acknowledged
        return self.client.post(
            f"/cases/{ref}/extend",
            data={
                "days": "2",
                "reason": "waiting for a damp survey",
                "csrf_token": self.token(f"/cases/{ref}"),
            },
            headers=headers,
            follow_redirects=False,
        )

    def extension_days(self) -> int:
        with self.app.db.session() as s:
            case = s.scalar(select(Case).where(Case.ref == self.seeded.acknowledged))
            assert case is not None
            return int(case.stages[0].extension_days)


def _site(tmp_path: Path, **env: str) -> Iterator[Site]:
    app = make_app(tmp_path)
    seeded = seed(app)
    app.settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": app.settings.database_url,
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
            "COMPLAINTS_MAILDIR": str(tmp_path / "maildir"),
            **env,
        },
        cwd=tmp_path,
    )
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "maildir" / sub).mkdir(parents=True, exist_ok=True)
    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    with TestClient(web) as client:
        yield Site(app, client, seeded, tmp_path)
    app.db.dispose()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from _site(
        tmp_path,
        COMPLAINTS_HEALTH_TOKEN=HEALTH_TOKEN,
        COMPLAINTS_METRICS_TOKEN=METRICS_TOKEN,
        COMPLAINTS_WEB_ALLOWED_ORIGINS=PROXY_ORIGIN,
    )


@pytest.fixture
def open_site(tmp_path: Path) -> Iterator[Site]:
    """No tokens configured: /metrics is open as before, /healthz never gives details."""
    yield from _site(tmp_path)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- /healthz -------------------------------------------------------------------------------------


def test_healthz_without_a_token_says_only_ok_or_not_per_component(site: Site) -> None:
    response = site.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "checks": {
            "database": {"ok": True},
            "broker": {"ok": True},
            "mailbox": {"ok": True},
            "outbox": {"ok": True},
        },
    }
    for leak in (str(site.tmp), "sqlite", "Maildir", "outbox folder", "in-process"):
        assert leak not in response.text


def test_healthz_with_the_token_gives_the_details(site: Site) -> None:
    response = site.client.get("/healthz", headers=bearer(HEALTH_TOKEN))
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["mailbox"]["detail"] == f"Maildir folder exists: {site.tmp / 'maildir'}"
    assert checks["broker"]["detail"].startswith("in-process")
    assert str(site.tmp / "outbox") in checks["outbox"]["detail"]


def test_healthz_with_a_wrong_token_is_refused_in_one_line(site: Site) -> None:
    for header in (bearer("not-the-token-at-all"), bearer(HEALTH_TOKEN + "x")):
        response = site.client.get("/healthz", headers=header)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.count("\n") == 1 and "bearer token" in response.text
        assert str(site.tmp) not in response.text


def test_healthz_gives_no_details_when_no_health_token_is_configured(open_site: Site) -> None:
    # No token set: nothing unlocks the details, however the request is made.
    response = open_site.client.get("/healthz", headers=bearer("anything-at-all-really"))
    assert response.status_code == 401
    assert open_site.client.get("/healthz").json()["checks"]["mailbox"] == {"ok": True}


def test_a_failing_component_is_503_without_saying_why(tmp_path: Path) -> None:
    sites = _site(tmp_path, COMPLAINTS_HEALTH_TOKEN=HEALTH_TOKEN)
    site = next(sites)
    try:
        (tmp_path / "maildir" / "cur").rmdir()
        response = site.client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["checks"]["mailbox"] == {"ok": False}
        assert "maildir" not in response.text.lower()
        detailed = site.client.get("/healthz", headers=bearer(HEALTH_TOKEN))
        assert detailed.status_code == 503
        assert "missing cur/" in detailed.json()["checks"]["mailbox"]["detail"]
    finally:
        sites.close()


def test_healthz_checks_the_smtp_server_without_sending(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    sites = _site(
        tmp_path, COMPLAINTS_SMTP_URL=smtp_server.url, COMPLAINTS_HEALTH_TOKEN=HEALTH_TOKEN
    )
    site = next(sites)
    try:
        detailed = site.client.get("/healthz", headers=bearer(HEALTH_TOKEN)).json()
        assert detailed["checks"]["outbox"]["ok"] is True, detailed
        assert detailed["checks"]["outbox"]["detail"] == f"SMTP server answers: {smtp_server.url}"
        smtp_server.stop()
        response = site.client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["checks"]["outbox"] == {"ok": False}
        assert smtp_server.messages == []
    finally:
        smtp_server.start()
        sites.close()


def test_healthz_checks_redis(tmp_path: Path, redis_url: str) -> None:
    sites = _site(tmp_path, COMPLAINTS_REDIS_URL=redis_url, COMPLAINTS_HEALTH_TOKEN=HEALTH_TOKEN)
    site = next(sites)
    try:
        detailed = site.client.get("/healthz", headers=bearer(HEALTH_TOKEN)).json()
        assert detailed["checks"]["broker"]["detail"].startswith("reachable: redis://")
        assert site.client.get("/healthz").json()["checks"]["broker"] == {"ok": True}
    finally:
        sites.close()


# -- /metrics -------------------------------------------------------------------------------------


def test_metrics_needs_the_bearer_token_when_one_is_set(site: Site) -> None:
    for headers in (
        {},
        bearer("wrong-token-of-some-length"),
        {"Authorization": f"Basic {METRICS_TOKEN}"},
        bearer(HEALTH_TOKEN),  # one endpoint's token does not open the other
    ):
        response = site.client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("text/plain")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.text == (
            "/metrics needs the right bearer token (Authorization: Bearer ...).\n"
        )
    response = site.client.get("/metrics", headers=bearer(METRICS_TOKEN))
    assert response.status_code == 200
    assert "complaints_database_up 1.0" in response.text
    # The scheme is case-insensitive (RFC 7235).
    ok = site.client.get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200


def test_metrics_stay_open_when_no_token_is_set(open_site: Site) -> None:
    response = open_site.client.get("/metrics")
    assert response.status_code == 200
    assert "complaints_deadlines" in response.text


def test_tokens_never_print(site: Site) -> None:
    settings = site.app.settings
    for text in (repr(settings), str(settings.metrics_token), str(settings.health_token)):
        assert METRICS_TOKEN not in text and HEALTH_TOKEN not in text


def test_a_short_token_is_a_one_line_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"COMPLAINTS_METRICS_TOKEN": "short-secret"}, cwd=tmp_path)
    message = str(caught.value)
    assert "COMPLAINTS_METRICS_TOKEN must be at least 16 characters" in message
    assert "short-secret" not in message and "\n" not in message


# -- Origin / Referer on POST ---------------------------------------------------------------------


def test_a_post_from_another_site_is_refused_even_with_a_valid_csrf_token(site: Site) -> None:
    site.login()
    response = site.extend({"Origin": EVIL})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == (
        "This form was sent from another website, so it was refused. "
        "Open the page on this site and send it from there.\n"
    )
    assert response.headers["x-frame-options"] == "DENY"  # security headers still apply
    assert site.extension_days() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Referer": f"{EVIL}/forms/extend.html"},  # no Origin: the Referer decides
        {"Origin": "null"},  # a sandboxed frame or data: page
        {"Origin": "http://testserver:8080"},  # another port is another origin
        {"Origin": "https://testserver"},  # and another scheme
        {"Origin": EVIL, "Referer": "http://testserver/cases"},  # Origin wins over Referer
    ],
)
def test_cross_origin_posts_change_nothing(site: Site, headers: dict[str, str]) -> None:
    site.login()
    assert site.extend(headers).status_code == 403
    assert site.extension_days() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver"},
        {"Origin": "HTTP://TESTSERVER:80"},  # the same origin written differently
        {"Referer": "http://testserver/cases/x"},
        {"Origin": PROXY_ORIGIN},  # named in COMPLAINTS_WEB_ALLOWED_ORIGINS
        {},  # neither header (not a browser): the CSRF token alone decides
    ],
)
def test_same_origin_and_allowed_origin_posts_go_through(
    site: Site, headers: dict[str, str]
) -> None:
    site.login()
    response = site.extend(headers)
    assert response.status_code == 303, response.text
    assert site.extension_days() == 2


def test_the_proxy_origin_is_refused_where_it_is_not_configured(open_site: Site) -> None:
    open_site.login()
    assert open_site.extend({"Origin": PROXY_ORIGIN}).status_code == 403
    assert open_site.extension_days() == 0


def test_sign_in_from_another_site_is_refused(site: Site) -> None:
    response = site.client.post(
        "/login",
        data={"username": "hana", "password": PASSWORD, "csrf_token": site.token("/login")},
        headers={"Origin": EVIL},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert site.client.get("/cases", follow_redirects=False).status_code == 303


def test_the_public_form_refuses_another_sites_post_and_stores_nothing(site: Site) -> None:
    def stored() -> int:
        with site.app.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(InboundMessage)) or 0)

    before = stored()
    page = site.client.get("/complain").text
    match = CSRF.search(page)
    assert match
    form = {
        "csrf_token": match.group(1),
        "name": "Jo Resident",
        "email": "jo@example.org",
        "phone": "0161 496 0000",
        "address": "1 High Street\nTown",
        "issue": "The repair to my leaking roof was not done and water is coming in.",
        "started": "March 2026",
        "spoken_to": "Sam at the call centre",
        "outcome": "Fix the roof",
        "adjustments": "",
        "on_behalf": "no",
    }
    response = site.client.post("/complain", data=form, headers={"Origin": EVIL})
    assert response.status_code == 403
    assert stored() == before
    # The same form from the site itself is taken in: the refusal above was the Origin's doing.
    response = site.client.post("/complain", data=form, headers={"Origin": "http://testserver"})
    assert response.status_code in (200, 303), response.text
    assert stored() == before + 1


def test_a_bad_allowed_origins_setting_is_a_one_line_error(tmp_path: Path) -> None:
    for value in ("complaints.example.org", "https://complaints.example.org/console", "ftp://x.y"):
        with pytest.raises(ConfigurationError, match="COMPLAINTS_WEB_ALLOWED_ORIGINS") as caught:
            load_settings({"COMPLAINTS_WEB_ALLOWED_ORIGINS": value}, cwd=tmp_path)
        assert "\n" not in str(caught.value)
