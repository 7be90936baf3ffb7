"""Under load (the quick form of ``python -m benchmarks load``): inference keeps answering while a model trains."""

from __future__ import annotations

import pytest

from benchmarks.load import infer_under_training

from .conftest import HardenedServer


@pytest.fixture(scope="module")
def load(hardened_server: HardenedServer) -> dict:
    images = [f"study_{i:03d}" for i in range(6)]
    return infer_under_training(hardened_server.process, images, clients=2, requests_per_client=3, alone_seconds=3.0)


def test_every_concurrent_infer_during_training_succeeds(load: dict) -> None:
    assert load["ok"] == load["requests"] == 6, load["failed"]
    assert load["training_running_at_end"]
    assert 0 < load["p50_s"] <= load["p95_s"]
    assert load["training_iterations_per_s_alone"] > 0


def test_a_second_training_run_is_refused_with_429_while_one_runs(load: dict) -> None:
    assert load["second_train_status"] == 429
    assert "already" in load["second_train_detail"]
