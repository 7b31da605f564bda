"""The shape the design relies on, checked: the domain stays pure, typed and lint-clean."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOMAIN = REPO / "worker" / "domain"
# The domain is stdlib plus the holidays package: no database, broker, mail, template or web code.
ALLOWED_THIRD_PARTY = {"holidays"}
FORBIDDEN = {
    "sqlalchemy",
    "redis",
    "dramatiq",
    "imap_tools",
    "aiosmtplib",
    "jinja2",
    "starlette",
    "sklearn",
    "skops",
    "psycopg",
    "alembic",
}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_does_no_io_imports(path: Path) -> None:
    imports = imported_top_levels(path)
    stdlib = set(sys.stdlib_module_names)
    outside = {
        name
        for name in imports
        if name not in stdlib and name not in ALLOWED_THIRD_PARTY and name != "worker"
    }
    assert not outside & FORBIDDEN, f"{path.name} imports {sorted(outside & FORBIDDEN)}"
    assert not outside, f"{path.name} imports non-domain packages {sorted(outside)}"
    # Within the project, the domain only depends on the domain.
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("worker"):
            assert node.module.startswith("worker.domain"), f"{path.name} imports {node.module}"


def test_domain_and_classifiers_pass_mypy_strict() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_code_passes_ruff() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "worker", "classifiers", "benchmarks"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
