"""A local OAuth2 authority for tests, on loopback: a token endpoint speaking the
client-credentials grant (RFC 6749 section 4.4), an introspection endpoint (RFC 7662) that
Dovecot's oauth2 passdb asks, an SMTP server that accepts only XOAUTH2 checked against the same
authority, and a throwaway certificate authority for TLS tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.support.dovecot import HOST
from tests.support.smtp import SmtpServer, _RecordingHandler


@dataclass
class _Issued:
    client_id: str
    expires_at: float
    revoked: bool = False


@dataclass
class OAuthAuthority:
    """Issues tokens to one client and says which mailboxes its tokens may open."""

    client_id: str = "complaints-worker"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    mailbox: str = "complaints@landlord.example"  # the mailbox permission granted to the app
    lifetime: int = 3600
    tokens: dict[str, _Issued] = field(default_factory=dict)
    token_requests: int = 0
    introspections: int = 0
    client_revoked: bool = False

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- what tests do -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://{HOST}:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    def expire_all(self) -> None:
        """Every token issued so far stops working now, though its holder thinks it has time
        left (an early expiry, as after a password reset)."""
        with self._lock:
            for issued in self.tokens.values():
                issued.expires_at = 0.0

    def revoke_client(self) -> None:
        """The app's secret is revoked: no new tokens, and the issued ones stop working."""
        with self._lock:
            self.client_revoked = True
            for issued in self.tokens.values():
                issued.revoked = True

    def active(self, token: str, user: str | None = None) -> bool:
        with self._lock:
            self.introspections += 1
            issued = self.tokens.get(token)
            ok = issued is not None and not issued.revoked and issued.expires_at > time.time()
        return ok and (user is None or user.lower() == self.mailbox.lower())

    def start(self) -> OAuthAuthority:
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                value = {k: v[-1] for k, v in form.items()}
                if self.path == "/token":
                    status, body = authority._token(value)
                elif self.path == "/introspect":
                    status, body = authority._introspect(value)
                else:
                    status, body = 404, {"error": "not_found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- the endpoints ---------------------------------------------------------------------------

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests += 1
            if form.get("grant_type") != "client_credentials":
                return 400, {"error": "unsupported_grant_type"}
            if (
                self.client_revoked
                or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return 401, {
                    "error": "invalid_client",
                    "error_description": "The client secret is not valid or has been revoked.",
                }
            token = secrets.token_urlsafe(24)
            self.tokens[token] = _Issued(self.client_id, time.time() + self.lifetime)
            return 200, {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.lifetime,
            }

    def _introspect(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        # Dovecot compares `username` with the user it was asked to log in: the one mailbox
        # this app was given permission for.
        if self.active(form.get("token", "")):
            return 200, {"active": "true", "username": self.mailbox}
        return 200, {"active": "false"}


class OAuthSmtpServer(SmtpServer):
    """The recording SMTP sink, but AUTH XOAUTH2 is the only way in, and required."""

    def __init__(self, authority: OAuthAuthority) -> None:
        super().__init__()
        self.authority = authority
        self.logins: list[str] = []
        self.refused_logins = 0

    def start(self) -> None:
        if self._controller is not None:
            return
        server = self

        class Handler(_RecordingHandler):
            async def auth_XOAUTH2(self, smtp: Any, args: list[str]) -> AuthResult:  # noqa: N802
                blob = args[1] if len(args) > 1 else ""
                try:
                    text = base64.b64decode(blob).decode()
                    fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
                    user = fields["user"]
                    token = fields["auth"].removeprefix("Bearer ")
                except (ValueError, KeyError):
                    return AuthResult(success=False, handled=False)
                if server.authority.active(token, user):
                    server.logins.append(user)
                    return AuthResult(success=True, auth_data=user)
                server.refused_logins += 1
                # RFC 7628 style: an error challenge, answered by the client with an empty line.
                error = json.dumps({"status": "401", "schemes": "bearer"})
                await smtp.challenge_auth(error)
                return AuthResult(success=False, handled=False)

        controller = Controller(
            Handler(self),
            hostname=self.host,
            port=self.port,
            ready_timeout=10,
            auth_required=True,
            auth_require_tls=False,  # loopback only
            auth_exclude_mechanism=["PLAIN", "LOGIN"],
        )
        controller.start()
        self._controller = controller


@dataclass(frozen=True)
class TestCA:
    """A certificate authority made for one test run, and a server certificate it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_test_ca(folder: Path, host: str = HOST) -> TestCA:
    """A CA and a certificate for `host` (an IP address: 127.0.0.1) signed by it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Complaints test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / "ca.pem"
    cert_file = folder / "server.pem"
    key_file = folder / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    for path in (folder, ca_file, cert_file, key_file):
        path.chmod(0o755 if path.is_dir() else 0o644)  # Dovecot reads them as root anyway
    return TestCA(ca_file, cert_file, key_file)
