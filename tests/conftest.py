"""Shared fixtures. Each area keeps its own fixtures in tests/fixtures/<area>.py."""

pytest_plugins = [
    "tests.fixtures.warehouse",
    "tests.fixtures.sandbox",
]
