"""Small blocking helpers over MONAI Label's REST API for scripted clients: wait for a training or scoring run, or
for what such a run writes into the datastore.

MONAI Label's Python client (``monailabel.client.MONAILabelClient``) covers info, infer, labels, training and
strategies; scoring has no client call, so it goes through ``requests`` here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from monailabel.client import MONAILabelClient

__all__ = ["run_scoring", "train", "wait_for_datastore", "wait_for_task", "wait_until_idle"]

FINISHED = ("DONE", "ERROR", "STOPPED")
T = TypeVar("T")


def wait_for_task(server_url: str, kind: str, timeout: float = 600.0, poll: float = 0.25) -> dict[str, Any]:
    """Block until the latest ``kind`` ("train" or "scoring") task has finished; returns its status record."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = requests.get(f"{server_url}/{kind}/", timeout=30)
        if response.status_code == 200:
            task = response.json()
            if task.get("status") in FINISHED:
                return task
        time.sleep(poll)
    raise TimeoutError(f"{kind} did not finish within {timeout:.0f} s")


def wait_until_idle(server_url: str, kind: str, timeout: float = 600.0, poll: float = 0.25) -> None:
    """Block while any ``kind`` task runs (MONAI Label starts scoring on its own after training, for example)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(f"{server_url}/{kind}/", params={"check_if_running": "true"}, timeout=30).status_code == 404:
            return
        time.sleep(poll)
    raise TimeoutError(f"{kind} still running after {timeout:.0f} s")


def run_scoring(server_url: str, method: str = "mean_uncertainty", timeout: float = 600.0) -> dict[str, Any]:
    """Score now (after any scoring run MONAI Label started by itself) and wait for the result."""
    wait_until_idle(server_url, "scoring", timeout)
    response = requests.post(f"{server_url}/scoring/{method}", json={}, timeout=30)
    response.raise_for_status()
    return wait_for_task(server_url, "scoring", timeout)


def train(client: MONAILabelClient, model: str, params: dict[str, Any], timeout: float = 3600.0) -> dict[str, Any]:
    """Start a training run and wait for it to finish; raises if it did not end in DONE."""
    server_url = client.get_server_url()
    wait_until_idle(server_url, "train", timeout)
    client.train_start(model, params)
    task = wait_for_task(server_url, "train", timeout)
    if task["status"] != "DONE":
        raise RuntimeError(f"training ended in {task['status']}: {task.get('details', [])[-5:]}")
    return task


def wait_for_datastore(
    server_url: str, select: Callable[[dict[str, Any]], T | None], what: str, timeout: float = 30.0, poll: float = 0.25
) -> T:
    """The first value ``select`` makes of ``GET /datastore/?output=all``'s objects (image id -> image info and
    labels) that is not None. Scoring and the submission hooks write the datastore file from another process or after
    the response; the server reads it through MONAI Label's file watcher a moment later. ``what``: what the caller
    waits for, for the ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while True:
        objects = requests.get(f"{server_url}/datastore/", params={"output": "all"}, timeout=30).json()["objects"]
        value = select(objects)
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout:.0f} s")
        time.sleep(poll)
