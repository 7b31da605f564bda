"""How the worker proves who it is to a mail server, and checks who the server is.

OAuth2 access tokens for SASL XOAUTH2 (Microsoft 365, Google Workspace, or any token endpoint that
speaks the client-credentials grant), fetched when first needed, cached, and fetched again before
they expire or as soon as a server turns one down. Tokens and secrets never appear in a log line,
an error or a ``repr``.

TLS contexts that verify the server's certificate and host name against the system store, or
against the CA bundle in ``COMPLAINTS_TLS_CA_FILE``; a failure becomes one line naming the host.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from worker.domain.errors import ConfigurationError, TransientError

log = logging.getLogger(__name__)

MICROSOFT_LOGIN = "https://login.microsoftonline.com"
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"
PROVIDERS = ("microsoft", "google", "generic")
# A token is fetched again this long before it expires (or after three quarters of its life, if
# that is sooner), so a connection is never opened with one about to lapse.
REFRESH_MARGIN = 300.0
DEFAULT_LIFETIME = 3600.0
TOKEN_TIMEOUT = 15.0


# --- errors that say what kind of problem it is (check-connection prints the kind) ------------


class MailAuthError(ConfigurationError):
    """The server turned down our login (password or token)."""

    kind: ClassVar[str] = "auth"


class TokenRefused(ConfigurationError):
    """The token endpoint refused our client credentials (wrong, expired or revoked)."""

    kind: ClassVar[str] = "auth"


class TokenUnavailable(TransientError):
    """The token endpoint could not be reached or answered nonsense; worth trying again."""

    kind: ClassVar[str] = "token endpoint"


class MailTlsError(TransientError):
    """The server's certificate was not trusted, did not name the host, or TLS was not offered."""

    kind: ClassVar[str] = "TLS"


class MailDnsError(TransientError):
    kind: ClassVar[str] = "DNS"


# --- TLS ------------------------------------------------------------------------------------------


def client_ssl_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A context that verifies the certificate chain and the host name: against `ca_file` when
    given (a private CA), else the system store. Never an unverified one."""
    if ca_file and not Path(ca_file).is_file():
        raise ConfigurationError(f"COMPLAINTS_TLS_CA_FILE {ca_file!r} is not a readable file")
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(
            f"COMPLAINTS_TLS_CA_FILE {ca_file!r} is not a PEM CA bundle: {exc}"
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def tls_problem(exc: BaseException, host: str, port: int) -> str | None:
    """One line for a TLS failure while talking to host:port, or None if `exc` is not one."""
    for error in _chain(exc):
        if isinstance(error, ssl.SSLCertVerificationError):
            reason = error.verify_message or error.reason or "certificate verify failed"
            if "hostname" in reason.lower() or "ip address mismatch" in reason.lower():
                return f"TLS: the certificate of {host}:{port} is not valid for {host} ({reason})"
            return (
                f"TLS: the certificate of {host}:{port} is not trusted ({reason}); "
                "set COMPLAINTS_TLS_CA_FILE if it comes from a private CA"
            )
        if isinstance(error, ssl.SSLError):
            return f"TLS: handshake with {host}:{port} failed ({error.reason or error})"
    return None


def dns_problem(exc: BaseException, host: str) -> str | None:
    for error in _chain(exc):
        if isinstance(error, socket.gaierror):
            return f"DNS: cannot resolve {host} ({error.strerror or error})"
    return None


def refused_problem(exc: BaseException, host: str, port: int) -> str | None:
    """One line for a connection refused by host:port (nothing listens there), else None."""
    for error in _chain(exc):
        if isinstance(error, ConnectionRefusedError):
            return refused_text(host, port)
    return None


def refused_text(host: str, port: int | None) -> str:
    where = f"{host}:{port}" if port else host
    return f"{where} refused the connection (is the server running, and is the port right?)"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def failure_kind(exc: BaseException) -> str:
    """DNS, TLS, auth, folder, ... for an error raised while connecting (for check-connection)."""
    for error in _chain(exc):
        kind = getattr(type(error), "kind", None)
        if isinstance(kind, str):
            return kind
        if isinstance(error, socket.gaierror):
            return "DNS"
        if isinstance(error, ssl.SSLError):
            return "TLS"
    if any(isinstance(error, ConfigurationError) for error in _chain(exc)):
        # A setting this endpoint cannot be used with (a CA file that is not there, ...).
        return "settings"
    return "connection"


# --- OAuth2 ---------------------------------------------------------------------------------------


class _Hidden:
    """A secret value that never prints."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'**********'" if self._value else "''"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class OAuthSettings:
    """Where and how to get an access token (the COMPLAINTS_OAUTH_* settings)."""

    provider: str  # microsoft | google | generic
    token_url: str = ""
    client_id: str = ""
    client_secret: _Hidden = _Hidden("")
    client_cert: str = ""  # PEM certificate (Microsoft: certificate credential)
    client_key: str = ""  # its PEM private key
    scope: str = ""
    tenant: str = ""
    service_account_file: str = ""  # Google: the service account's JSON key
    ca_file: str = ""

    @classmethod
    def build(
        cls,
        *,
        provider: str = "",
        token_url: str = "",
        client_id: str = "",
        client_secret: str = "",
        client_cert: str = "",
        client_key: str = "",
        scope: str = "",
        tenant: str = "",
        service_account_file: str = "",
        ca_file: str = "",
    ) -> OAuthSettings:
        """Check the settings together; a problem is one line naming the setting."""
        provider = provider.strip().lower()
        if not provider:
            if service_account_file:
                provider = "google"
            elif tenant or token_url.startswith(MICROSOFT_LOGIN):
                provider = "microsoft"
            else:
                provider = "generic"
        if provider not in PROVIDERS:
            raise ConfigurationError(
                f"COMPLAINTS_OAUTH_PROVIDER must be one of {', '.join(PROVIDERS)}, got {provider!r}"
            )
        if provider == "google":
            if not service_account_file:
                raise ConfigurationError(
                    "COMPLAINTS_OAUTH_SERVICE_ACCOUNT_FILE is needed for Google (the service "
                    "account's JSON key)"
                )
            scope = scope or GOOGLE_SCOPE
        else:
            if not client_id:
                raise ConfigurationError("COMPLAINTS_OAUTH_CLIENT_ID is needed for XOAUTH2")
            if bool(client_cert) != bool(client_key):
                raise ConfigurationError(
                    "COMPLAINTS_OAUTH_CLIENT_CERT and COMPLAINTS_OAUTH_CLIENT_KEY go together"
                )
            if not client_secret and not client_cert:
                raise ConfigurationError(
                    "XOAUTH2 needs COMPLAINTS_OAUTH_CLIENT_SECRET or COMPLAINTS_OAUTH_CLIENT_CERT"
                )
            if provider == "microsoft":
                if not token_url and not tenant:
                    raise ConfigurationError(
                        "COMPLAINTS_OAUTH_TENANT (or COMPLAINTS_OAUTH_TOKEN_URL) is needed for "
                        "Microsoft 365"
                    )
                scope = scope or MICROSOFT_SCOPE
            else:
                if not token_url:
                    raise ConfigurationError("COMPLAINTS_OAUTH_TOKEN_URL is needed for XOAUTH2")
                if client_cert:
                    raise ConfigurationError(
                        "COMPLAINTS_OAUTH_CLIENT_CERT is for Microsoft 365; a generic token "
                        "endpoint takes COMPLAINTS_OAUTH_CLIENT_SECRET"
                    )
        if token_url and urllib.parse.urlsplit(token_url).scheme not in ("https", "http"):
            raise ConfigurationError("COMPLAINTS_OAUTH_TOKEN_URL must be an https:// URL")
        return cls(
            provider=provider,
            token_url=token_url,
            client_id=client_id,
            client_secret=_Hidden(client_secret),
            client_cert=client_cert,
            client_key=client_key,
            scope=scope,
            tenant=tenant,
            service_account_file=service_account_file,
            ca_file=ca_file,
        )

    @property
    def where(self) -> str:
        """The token endpoint's host, for messages."""
        if self.token_url:
            return urllib.parse.urlsplit(self.token_url).netloc.rpartition("@")[2]
        if self.provider == "microsoft":
            return "login.microsoftonline.com"
        return "oauth2.googleapis.com"


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float
    fetched_at: float


Fetcher = Callable[[str], tuple[str, float]]


class TokenSource:
    """Access tokens for XOAUTH2, cached per mailbox user where the provider needs one token per
    user (Google's domain-wide delegation), else one for all. Safe to share between threads."""

    def __init__(
        self,
        settings: OAuthSettings,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = TOKEN_TIMEOUT,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.timeout = timeout
        self.fetches = 0
        self._lock = threading.Lock()
        self._cache: dict[str, _Token] = {}
        self._fetch: Fetcher = {
            "generic": self._fetch_generic,
            "microsoft": self._fetch_microsoft,
            "google": self._fetch_google,
        }[settings.provider]
        self._msal_app: Any = None

    def __repr__(self) -> str:
        return f"TokenSource({self.settings.provider}, {self.settings.where})"

    def token(self, user: str = "") -> str:
        """A token with time left; fetched now if there is none, or it is close to expiring."""
        key = user if self.settings.provider == "google" else ""
        with self._lock:
            cached = self._cache.get(key)
            now = self.clock()
            if cached is not None:
                lifetime = cached.expires_at - cached.fetched_at
                margin = min(REFRESH_MARGIN, lifetime / 4)
                if cached.expires_at - now > margin:
                    return cached.value
            value, expires_in = self._fetch(user)
            self.fetches += 1
            self._cache[key] = _Token(value, now + expires_in, now)
            log.info("OAuth: new access token from %s (valid %ds)", self.settings.where, expires_in)
            return value

    def invalidate(self, token: str) -> None:
        """A server turned `token` down (revoked, or expired early): fetch a new one next time.
        Only that token is dropped, so a newer one fetched meanwhile by another thread stays."""
        with self._lock:
            for key, cached in list(self._cache.items()):
                if cached.value == token:
                    del self._cache[key]

    # --- the client-credentials grant, three ways ---------------------------------------------

    def _fetch_generic(self, _user: str) -> tuple[str, float]:
        s = self.settings
        form = {
            "grant_type": "client_credentials",
            "client_id": s.client_id,
            "client_secret": s.client_secret.reveal(),
        }
        if s.scope:
            form["scope"] = s.scope
        request = urllib.request.Request(
            s.token_url,
            data=urllib.parse.urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        context = client_ssl_context(s.ca_file or None)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as reply:
                body = reply.read(1_000_000)
        except urllib.error.HTTPError as exc:
            detail = _oauth_error(exc.read(100_000))
            if 400 <= exc.code < 500:
                raise TokenRefused(
                    f"OAuth token refused by {s.where}: {detail or f'HTTP {exc.code}'}"
                ) from None
            raise TokenUnavailable(
                f"OAuth token endpoint {s.where} failed: HTTP {exc.code} {detail}".strip()
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            problem = (
                dns_problem(reason, s.where) if isinstance(reason, BaseException) else None
            ) or (tls_problem(reason, s.where, 443) if isinstance(reason, BaseException) else None)
            raise TokenUnavailable(
                f"OAuth token endpoint {s.where} unreachable: {problem or reason}"
            ) from None
        return _read_token(body, s.where)

    def _fetch_microsoft(self, _user: str) -> tuple[str, float]:
        s = self.settings
        try:
            import msal  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover - a dependency of the project
            raise ConfigurationError("Microsoft 365 needs the msal package") from None
        if self._msal_app is None:
            authority = (
                s.token_url.split("/oauth2/", 1)[0]
                if s.token_url
                else f"{MICROSOFT_LOGIN}/{s.tenant}"
            )
            credential: Any = s.client_secret.reveal()
            if s.client_cert:
                credential = _certificate_credential(s.client_cert, s.client_key)
            self._msal_app = msal.ConfidentialClientApplication(
                s.client_id,
                authority=authority,
                client_credential=credential,
                timeout=self.timeout,
                verify=s.ca_file or True,
            )
        try:
            result = self._msal_app.acquire_token_for_client(scopes=[s.scope])
        except Exception as exc:  # noqa: BLE001 - msal raises requests' and its own errors
            problem = dns_problem(exc, s.where) or tls_problem(exc, s.where, 443)
            raise TokenUnavailable(
                f"OAuth token endpoint {s.where} unreachable: {problem or type(exc).__name__}"
            ) from None
        if "access_token" not in result:
            detail = f"{result.get('error', 'error')}: {_first(result.get('error_description'))}"
            raise TokenRefused(f"OAuth token refused by {s.where}: {detail}")
        return str(result["access_token"]), float(result.get("expires_in") or DEFAULT_LIFETIME)

    def _fetch_google(self, user: str) -> tuple[str, float]:
        s = self.settings
        try:
            from google.auth.exceptions import RefreshError, TransportError
            from google.auth.transport.requests import Request
            from google.oauth2 import service_account
        except ImportError:  # pragma: no cover - a dependency of the project
            raise ConfigurationError("Google Workspace needs the google-auth package") from None
        try:
            credentials = service_account.Credentials.from_service_account_file(
                s.service_account_file, scopes=[s.scope], subject=user or None
            )
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"COMPLAINTS_OAUTH_SERVICE_ACCOUNT_FILE cannot be used: {_first(str(exc))}"
            ) from None
        if s.token_url:
            credentials = credentials.with_token_uri(s.token_url)
        try:
            credentials.refresh(Request())
        except RefreshError as exc:
            raise TokenRefused(f"OAuth token refused by {s.where}: {_first(str(exc))}") from None
        except TransportError as exc:
            problem = dns_problem(exc, s.where) or tls_problem(exc, s.where, 443)
            raise TokenUnavailable(
                f"OAuth token endpoint {s.where} unreachable: {problem or _first(str(exc))}"
            ) from None
        expiry = credentials.expiry
        left = DEFAULT_LIFETIME
        if expiry is not None:
            left = max(1.0, expiry.timestamp() - time.time())
        return str(credentials.token), left


def _read_token(body: bytes, where: str) -> tuple[str, float]:
    try:
        data = json.loads(body)
        token = data["access_token"]
        expires_in = float(data.get("expires_in") or DEFAULT_LIFETIME)
    except (ValueError, KeyError, TypeError):
        raise TokenUnavailable(f"OAuth token endpoint {where} sent no access token") from None
    if not isinstance(token, str) or not token:
        raise TokenUnavailable(f"OAuth token endpoint {where} sent no access token")
    return token, max(1.0, expires_in)


def _oauth_error(body: bytes) -> str:
    """RFC 6749 section 5.2: {"error": ..., "error_description": ...}; one line, no secrets."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    error = str(data.get("error", "") or "")
    description = _first(data.get("error_description"))
    return f"{error}: {description}" if description else error


def _first(text: object) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0][:300] if lines else ""


def _certificate_credential(cert_file: str, key_file: str) -> dict[str, str]:
    """msal's certificate credential: the private key, the certificate's SHA-1 thumbprint (what
    Entra shows for an uploaded certificate) and the certificate itself."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        cert_pem = Path(cert_file).read_text(encoding="ascii")
        key_pem = Path(key_file).read_text(encoding="ascii")
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"COMPLAINTS_OAUTH_CLIENT_CERT / _KEY cannot be read: {_first(str(exc))}"
        ) from None
    return {
        "private_key": key_pem,
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - Entra's format
        "public_certificate": cert_pem,
    }


def xoauth2_ready(settings: OAuthSettings | None, what: str) -> OAuthSettings:
    if settings is None:
        raise ConfigurationError(
            f"{what} is xoauth2 but no OAuth client is configured (COMPLAINTS_OAUTH_CLIENT_ID ...)"
        )
    return settings
