"""Fixtures shared by the backend tests."""

from tests.services.fixtures import seaweedfs  # noqa: F401  (a pytest fixture)
