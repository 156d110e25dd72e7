"""The config tests edit the same repository copy as the infra tests: one definition of it."""

from tests.infra.conftest import repo_copy

__all__ = ["repo_copy"]
