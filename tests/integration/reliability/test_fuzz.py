"""Fuzzing (the quick form of ``python -m benchmarks fuzz``): schemathesis against the server's own OpenAPI document.

The first run makes ``.venv-fuzz`` (pip install of ``requirements-fuzz.txt``, about a minute); later runs reuse it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from benchmarks.fuzz import fuzz

from .conftest import HardenedServer, rest


def _annotators_work(server: HardenedServer) -> dict[str, str]:
    """Images and labels: what fuzzing must never change. (Fuzzing may legitimately start a training run, e.g. with
    ``POST /train/``, which can publish a new model and so new scores.)"""
    return {k: v for k, v in server.snapshot().items() if k.endswith(".nii.gz")}


@pytest.fixture(scope="module")
def fuzzed(hardened_server: HardenedServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    before = _annotators_work(hardened_server)
    out = Path(tmp_path_factory.mktemp("fuzz"))
    result = fuzz(hardened_server.url, out, max_examples=5, max_time=20, phases="coverage,fuzzing")
    requests.delete(f"{hardened_server.url}/train/", timeout=30)  # a run the fuzzer started: not needed
    rest.wait_until_idle(hardened_server.url, "train")
    return {**result, "before": before, "after": _annotators_work(hardened_server)}


def test_no_generated_request_gets_a_server_error(fuzzed: dict) -> None:
    assert fuzzed["cases"] >= 200, fuzzed["output_tail"]
    assert fuzzed["failures"] == {}, fuzzed["output_tail"]


def test_fuzzing_changes_no_image_and_no_label(fuzzed: dict) -> None:
    assert fuzzed["after"] == fuzzed["before"]
    assert len(fuzzed["after"]) == 6 + 3
