"""Fuzzing (the quick form of ``python -m benchmarks fuzz``): schemathesis against the server's own OpenAPI document.

The first run makes ``.venv-fuzz`` (pip install of ``requirements-fuzz.txt``, about a minute); later runs reuse it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.fuzz import fuzz

from .conftest import HardenedServer


@pytest.fixture(scope="module")
def fuzzed(hardened_server: HardenedServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    before = hardened_server.snapshot()
    result = fuzz(hardened_server.url, Path(tmp_path_factory.mktemp("fuzz")), max_examples=5, max_time=20)
    return {**result, "unchanged": hardened_server.snapshot() == before}


def test_no_generated_request_gets_a_server_error(fuzzed: dict) -> None:
    assert fuzzed["cases"] >= 200, fuzzed["output_tail"]
    assert fuzzed["failures"] == {}, fuzzed["output_tail"]


def test_fuzzing_changes_neither_datastore_nor_model(fuzzed: dict) -> None:
    assert fuzzed["unchanged"]
