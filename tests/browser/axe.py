"""axe-core, the accessibility engine, fetched from the npm registry at test time and run inside
the browser on the page under test (issue 9: WCAG 2.2 AA).

The tarball is checked against the registry's own sha512 integrity before it is used, and cached
(under ~/.cache, or ``AXE_CACHE_DIR``) so later runs do not fetch it again. It is injected
through WebDriver, which the page's Content-Security-Policy does not govern: the console itself
still runs no script at all."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

AXE_VERSION = "4.10.3"
REGISTRY = "https://registry.npmjs.org/axe-core"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")


def _cache_dir() -> Path:
    configured = os.environ.get("AXE_CACHE_DIR")
    base = Path(configured) if configured else Path.home() / ".cache" / "complaints-tests"
    return base / f"axe-core-{AXE_VERSION}"


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - fixed https URL
            return bytes(response.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        pytest.fail(
            f"axe-core {AXE_VERSION} could not be fetched from the npm registry ({url}): "
            f"{reason}. The accessibility tests need the network once, to fill the cache.",
            pytrace=False,
        )


def _matches(integrity: str, data: bytes) -> bool:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        return False
    return base64.b64decode(expected) == hashlib.sha512(data).digest()


def axe_source() -> str:
    """The text of axe.min.js, fetched and verified once, then read from the cache."""
    cache = _cache_dir()
    script = cache / "axe.min.js"
    if script.is_file():
        return script.read_text(encoding="utf-8")
    meta = json.loads(_get(f"{REGISTRY}/{AXE_VERSION}"))
    integrity = str(meta["dist"]["integrity"])
    tarball = _get(str(meta["dist"]["tarball"]))
    if not _matches(integrity, tarball):
        pytest.fail(
            f"axe-core {AXE_VERSION}: the tarball does not match the registry's integrity "
            f"({integrity[:20]}...); refusing to run it",
            pytrace=False,
        )
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile("package/axe.min.js")
        if member is None:
            pytest.fail(f"axe-core {AXE_VERSION}: no axe.min.js in the package", pytrace=False)
        source = member.read().decode("utf-8")
    cache.mkdir(parents=True, exist_ok=True)
    partial = script.with_suffix(".part")
    partial.write_text(source, encoding="utf-8")
    partial.replace(script)  # whole or not at all, for a run that shares the cache
    return source


def run_axe(driver: Any, source: str) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2.2 AA violations on the page the driver shows now."""
    if not driver.execute_script("return typeof window.axe !== 'undefined'"):
        driver.execute_script(source)
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]},"
        " resultTypes: ['violations']})"
        ".then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical',"
        " help: String(e), nodes: []}]));",
        WCAG_22_AA,
    )
    return [v for v in result if v.get("impact") in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation, with the first few elements it found, for the failure message."""
    lines = []
    for v in violations:
        targets = [", ".join(n.get("target", [])) for n in v.get("nodes", [])[:3]]
        lines.append(f"{v['impact']}: {v['id']} ({v.get('help', '')}) at {'; '.join(targets)}")
    return "\n".join(lines)
