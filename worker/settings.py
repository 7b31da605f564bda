"""Typed settings, read once from the environment (and an optional ``.env``), plus the landlord
profile. Secrets are wrapped so they never print. Every setting is documented in config/README.md.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from worker.domain.errors import ConfigurationError
from worker.domain.landlord import Landlord, Ombudsman
from worker.domain.retention import RetentionSchedule
from worker.domain.working_days import NATIONS

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULT_LANDLORD_FILE = REPO_DIR / "config" / "landlord.toml"


class Secret:
    """A URL or password that must never appear in logs, errors or ``repr``."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and the status screen."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":****@")
        return parts._replace(netloc=netloc).geturl()
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: Secret
    imap_url: Secret
    imap_processed_folder: str
    maildir: Path | None
    smtp_url: Secret
    outbox_dir: Path
    landlord_file: Path
    from_address: str
    sender_daily_cap: int
    poll_interval: float
    dev_recipient_override: str
    max_attempts: int
    stage1_handler: str
    # How often the deadline watcher runs (seconds); it has its own thread and schedule.
    deadline_interval: float = 60.0
    # Several mailboxes (issue 8): every URL of COMPLAINTS_IMAP_URL; imap_url is the first.
    imap_urls: tuple[Secret, ...] = ()
    imap_auth: str = "password"  # or xoauth2
    smtp_auth: str = "password"
    # The OAuth2 client for xoauth2 (worker.adapters.oauth.OAuthSettings), None when unset.
    oauth: Any = None
    # A PEM CA bundle for IMAP, SMTP and the token endpoint; empty: the system store.
    tls_ca_file: str = ""
    # Bearer tokens for the operations endpoints: /healthz gives its details (paths, URLs,
    # errors) only with health_token; /metrics answers only with metrics_token when it is set.
    health_token: Secret = field(default_factory=lambda: Secret(""))
    metrics_token: Secret = field(default_factory=lambda: Secret(""))
    # Origins (scheme://host[:port]) a POST may come from besides the console's own, for a
    # reverse proxy that changes the Host header.
    web_allowed_origins: tuple[str, ...] = ()
    # authserv-ids of our own receiving mail servers: only their Authentication-Results headers
    # are believed (anyone can write one into a message); see worker/domain/recipient.py.
    trusted_authserv_ids: tuple[str, ...] = ()
    # Attachment bodies bigger than this are stored apart from their message, in 1 MiB chunks
    # (worker/adapters/attachment_store.py), so a big message is never held whole in memory.
    attachment_stream_bytes: int = 1024 * 1024

    @property
    def service_mode(self) -> bool:
        return bool(self.redis_url)


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    if not value:
        return
    scheme = urlsplit(value).scheme
    if scheme not in schemes:
        raise ConfigurationError(
            f"{name} must start with {' or '.join(s + '://' for s in schemes)}, "
            f"got {redact_url(value)!r}"
        )


def _token(env: Mapping[str, str], name: str) -> Secret:
    value = env.get(name, "").strip()
    # A short token can be guessed; the message never shows the value itself.
    if value and len(value) < 16:
        raise ConfigurationError(f"{name} must be at least 16 characters (got {len(value)})")
    return Secret(value)


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """``https://a.example, https://b.example:8443`` -> normalised origins; one-line errors."""
    origins: list[str] = []
    for item in env.get(name, "").replace(" ", ",").split(","):
        if not item:
            continue
        origin = normalise_origin(item)
        rest = urlsplit(item)
        if origin is None or rest.path not in ("", "/") or rest.query or rest.fragment:
            raise ConfigurationError(
                f"{name}: {item!r} is not an origin (scheme://host[:port], nothing after it)"
            )
        origins.append(origin)
    return tuple(origins)


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None when ``value`` is
    not an http(s) origin. A URL with a path (a Referer) gives its origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == {"http": 80, "https": 443}[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def load_settings(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Read settings once; tests pass their own mapping instead of patching os.environ."""
    base = Path.cwd() if cwd is None else cwd
    env: dict[str, str] = _read_dotenv(base / ".env")
    env.update(os.environ if environ is None else environ)
    database_url = env.get("COMPLAINTS_DATABASE_URL") or f"sqlite:///{base / 'complaints.db'}"
    _check_url(
        "COMPLAINTS_DATABASE_URL",
        database_url,
        ("sqlite", "postgresql", "postgresql+psycopg", "postgres"),
    )
    if database_url.startswith("postgres://") or database_url.startswith("postgresql://"):
        # SQLAlchemy's default PostgreSQL driver is psycopg2, which we do not ship.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    redis_url = env.get("COMPLAINTS_REDIS_URL", "")
    _check_url("COMPLAINTS_REDIS_URL", redis_url, ("redis", "rediss"))
    imap_url = env.get("COMPLAINTS_IMAP_URL", "")
    _check_url("COMPLAINTS_IMAP_URL", imap_url, ("imap", "imaps"))
    smtp_url = env.get("COMPLAINTS_SMTP_URL", "")
    _check_url("COMPLAINTS_SMTP_URL", smtp_url, ("smtp", "smtps"))
    imap_urls = split_imap_urls(imap_url)
    for extra in imap_urls[1:]:
        _check_url("COMPLAINTS_IMAP_URL", extra, ("imap", "imaps"))
    imap_auth = _auth(env, "COMPLAINTS_IMAP_AUTH")
    smtp_auth = _auth(env, "COMPLAINTS_SMTP_AUTH")
    tls_ca_file = env.get("COMPLAINTS_TLS_CA_FILE", "")
    oauth = _oauth(env, tls_ca_file)
    if oauth is None and "xoauth2" in (imap_auth, smtp_auth):
        raise ConfigurationError(
            "COMPLAINTS_IMAP_AUTH / COMPLAINTS_SMTP_AUTH is xoauth2 but COMPLAINTS_OAUTH_CLIENT_ID "
            "(or COMPLAINTS_OAUTH_SERVICE_ACCOUNT_FILE) is not set"
        )
    maildir = env.get("COMPLAINTS_MAILDIR", "")
    landlord_file = Path(env.get("COMPLAINTS_LANDLORD", "") or DEFAULT_LANDLORD_FILE)
    return Settings(
        database_url=database_url,
        redis_url=Secret(redis_url),
        imap_url=Secret(imap_urls[0] if imap_urls else ""),
        imap_processed_folder=env.get("COMPLAINTS_IMAP_PROCESSED_FOLDER", "") or "Processed",
        maildir=Path(maildir) if maildir else None,
        smtp_url=Secret(smtp_url),
        outbox_dir=Path(env.get("COMPLAINTS_OUTBOX_DIR", "") or base / "outbox"),
        landlord_file=landlord_file,
        from_address=env.get("COMPLAINTS_FROM_ADDRESS", ""),
        sender_daily_cap=_int(env, "COMPLAINTS_SENDER_DAILY_CAP", 5, minimum=1),
        poll_interval=_float(env, "COMPLAINTS_POLL_INTERVAL", 5.0),
        dev_recipient_override=env.get("COMPLAINTS_DEV_RECIPIENT_OVERRIDE", ""),
        max_attempts=_int(env, "COMPLAINTS_MAX_ATTEMPTS", 5, minimum=1),
        stage1_handler=env.get("COMPLAINTS_DEFAULT_HANDLER", "") or "Complaints team",
        deadline_interval=_float(env, "COMPLAINTS_DEADLINE_INTERVAL", 60.0),
        attachment_stream_bytes=_int(
            env, "COMPLAINTS_ATTACHMENT_STREAM_BYTES", 1024 * 1024, minimum=64 * 1024
        ),
        health_token=_token(env, "COMPLAINTS_HEALTH_TOKEN"),
        metrics_token=_token(env, "COMPLAINTS_METRICS_TOKEN"),
        web_allowed_origins=_origins(env, "COMPLAINTS_WEB_ALLOWED_ORIGINS"),
        trusted_authserv_ids=tuple(
            i.strip().lower()
            for i in env.get("COMPLAINTS_TRUSTED_AUTHSERV_IDS", "").replace(" ", ",").split(",")
            if i.strip()
        ),
        imap_urls=tuple(Secret(u) for u in imap_urls),
        imap_auth=imap_auth,
        smtp_auth=smtp_auth,
        oauth=oauth,
        tls_ca_file=tls_ca_file,
    )


def split_imap_urls(value: str) -> list[str]:
    """COMPLAINTS_IMAP_URL may list several mailboxes, separated by spaces, new lines or commas
    (a comma inside a password must be written %2C, as URL encoding asks anyway)."""
    return [part for part in re.split(r"[\s,]+(?=imaps?://)|\s+", value.strip()) if part]


def _auth(env: Mapping[str, str], name: str) -> str:
    value = (env.get(name, "") or "password").strip().lower()
    if value not in ("password", "xoauth2"):
        raise ConfigurationError(f"{name} must be password or xoauth2, got {value!r}")
    return value


def _oauth(env: Mapping[str, str], ca_file: str) -> Any:
    """The OAuth2 client settings, checked together; None when none are set."""
    names = (
        "PROVIDER", "TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET", "CLIENT_CERT", "CLIENT_KEY",
        "SCOPE", "TENANT", "SERVICE_ACCOUNT_FILE",
    )  # fmt: skip
    values = {n.lower(): env.get(f"COMPLAINTS_OAUTH_{n}", "").strip() for n in names}
    if not values["client_id"] and not values["service_account_file"]:
        return None
    from worker.adapters.oauth import OAuthSettings

    return OAuthSettings.build(**values, ca_file=ca_file)


_REQUIRED_TEXT = (
    "name",
    "short_name",
    "complaints_email",
    "enquiries_email",
    "phone",
    "postal_address",
    "website",
    "policy_url",
    "complaint_form_url",
)
_OMBUDSMAN_TEXT = ("name", "website", "phone", "email", "postal_address")


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"landlord profile: {where}{key} is missing or empty")
    return value.strip()


def load_landlord(path: Path) -> Landlord:
    """Load and validate the landlord profile; any problem is one line naming the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"landlord profile not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"landlord profile cannot be read: {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"landlord profile {path} is not valid TOML: {exc}") from None
    values: dict[str, Any] = {key: _text(data, key, "") for key in _REQUIRED_TEXT}
    for key in ("complaints_email", "enquiries_email"):
        if "@" not in values[key]:
            raise ConfigurationError(f"landlord profile: {key} is not an email address")
    omb = data.get("ombudsman")
    if not isinstance(omb, dict):
        raise ConfigurationError("landlord profile: the [ombudsman] table is missing")
    ombudsman = Ombudsman(**{key: _text(omb, key, "ombudsman.") for key in _OMBUDSMAN_TEXT})
    if "@" not in ombudsman.email:
        raise ConfigurationError("landlord profile: ombudsman.email is not an email address")
    nation = str(data.get("nation", "england")).strip().lower()
    if nation not in NATIONS:
        raise ConfigurationError(
            f"landlord profile: nation must be one of {', '.join(sorted(NATIONS))}, got {nation!r}"
        )
    closures = data.get("closure_days", [])
    if not isinstance(closures, list):
        raise ConfigurationError("landlord profile: closure_days must be a list of dates")
    closure_days: list[str] = []
    for item in closures:
        text = item.isoformat() if hasattr(item, "isoformat") else str(item)
        try:
            date.fromisoformat(text)
        except ValueError:
            raise ConfigurationError(
                f"landlord profile: closure_days has {text!r}, not a YYYY-MM-DD date"
            ) from None
        closure_days.append(text)
    homes = data.get("homes_owned", 0)
    if not isinstance(homes, int) or homes < 0:
        raise ConfigurationError("landlord profile: homes_owned must be a whole number")
    elsewhere = data.get("elsewhere", {})
    if not isinstance(elsewhere, dict):
        raise ConfigurationError("landlord profile: [elsewhere] must be a table")
    retention_table = data.get("retention", {})
    if not isinstance(retention_table, dict):
        raise ConfigurationError("landlord profile: [retention] must be a table")
    try:
        retention = RetentionSchedule.from_mapping(retention_table)
    except ValueError as exc:
        raise ConfigurationError(f"landlord profile: {exc}") from None
    known = {f.name for f in fields(Landlord)}
    optional = {
        key: str(data[key]).strip()
        for key in (
            "building_safety_lead_name",
            "building_safety_lead_email",
            "complaints_team_name",
            "complaints_team_phone",
        )
        if key in data and key in known
    }
    return Landlord(
        **values,
        ombudsman=ombudsman,
        nation=nation,
        closure_days=tuple(closure_days),
        homes_owned=homes,
        elsewhere={str(k): str(v) for k, v in elsewhere.items()},
        retention=retention,
        **optional,
    )
