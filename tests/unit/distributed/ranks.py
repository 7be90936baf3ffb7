"""Run a function in several real processes joined by a Gloo process group on the loopback interface."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import torch.multiprocessing as mp

__all__ = ["free_port", "run_ranks"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(fn: Callable[..., None], world_size: int, args: tuple[Any, ...], timeout: float = 120.0) -> None:
    """``fn(rank, world_size, *args)`` in ``world_size`` spawned processes (as MONAI Label's multi-GPU training
    does, so everything passed must pickle); fails if any rank fails or all have not finished within ``timeout``
    seconds (a rank stuck in a collective would otherwise hang the test run)."""
    context = mp.start_processes(fn, args=(world_size, *args), nprocs=world_size, join=False, start_method="spawn")
    try:
        deadline = time.monotonic() + timeout
        while not context.join(max(0.0, deadline - time.monotonic())):  # returns whenever one rank ends
            if time.monotonic() >= deadline:
                raise TimeoutError(f"ranks did not finish within {timeout} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
