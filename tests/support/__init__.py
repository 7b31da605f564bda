"""Test support: real services (Dovecot, an SMTP sink, PostgreSQL, Redis, Chromium) as fixtures.

Loaded as a pytest plugin from tests/conftest.py; see `tests.support.services` for the fixtures.
"""
