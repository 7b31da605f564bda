"""Root conftest: the real-service fixtures live in tests/support (loaded as a plugin)."""

pytest_plugins = ["tests.support.services"]
