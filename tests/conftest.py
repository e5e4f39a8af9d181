"""Thin on purpose: the fixtures live in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.app",
    "tests.fixtures.factories",
    "tests.fixtures.s3",
    "tests.fixtures.migrations",
]
