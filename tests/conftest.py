"""Shared test setup: the tiers as pytest markers, given by where a test lives, and a fixed seed.

``lib`` is importable as an installed package (``pip install -e .``, a line of requirements.txt).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

TESTS = Path(__file__).resolve().parent
# Top folder under tests/ -> marker (registered in pyproject.toml); PACS and browser tests are also integration.
TIERS = {"unit": "unit", "integration": "integration", "benchmarks": "benchmark"}
INSTALL_DEBIAN = "bash sample-apps/pacs/install_debian_packages.sh"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(item.path).resolve().relative_to(TESTS).parts
        item.add_marker(TIERS[parts[0]])
        if parts[:2] == ("integration", "pacs"):
            item.add_marker("pacs")
        if item.path.name == "test_ohif_browser.py":
            item.add_marker("browser")


def require_program(path: str, package: str) -> None:
    """Skip, naming the install command, when a Debian program is missing; under CI (``CI=true``) fail instead: CI
    installs them, so a missing one there is a broken set-up, not a reason to pass."""
    if Path(path).exists():
        return
    reason = f"{path} is missing (Debian package {package}): {INSTALL_DEBIAN}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
