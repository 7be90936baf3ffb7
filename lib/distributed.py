"""What training and scoring need from ``torch.distributed``, written so that one code path serves a single process
and a DDP process group alike: every collective here is the identity when no process group is initialised."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeVar

import torch
import torch.distributed as dist

__all__ = [
    "all_reduce_sum",
    "all_gather_objects",
    "backend_for",
    "cpu_threads_per_rank",
    "is_distributed",
    "rank",
    "shard",
    "world_size",
]

T = TypeVar("T")


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum of ``tensor`` over all ranks (a new tensor; the input is left alone), or ``tensor`` itself in a single
    process. Not differentiable: callers reduce detached statistics (prototype sums, Dice losses) only."""
    if not is_distributed():
        return tensor
    total = tensor.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order, on every rank; ``[obj]`` in a single process."""
    if not is_distributed():
        return [obj]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def backend_for(device: torch.device | str) -> str:
    """NCCL between GPUs, Gloo between CPU processes (NCCL has no CPU tensors)."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def cpu_threads_per_rank(local_world_size: int) -> int:
    """Intra-op threads for one of ``local_world_size`` processes on this machine: the cores this process may use,
    divided among them. More threads than cores makes every rank slower (they wait for each other at each
    all-reduce, and an oversubscribed core serves none of them well)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // max(1, local_world_size))


def shard(items: Sequence[T], shard_rank: int | None = None, num_shards: int | None = None) -> list[T]:
    """This rank's share of ``items`` (round robin, so that the shards of a sorted pool are equally long within one
    and similar in content); every item lands in exactly one shard."""
    r = rank() if shard_rank is None else shard_rank
    n = world_size() if num_shards is None else num_shards
    if not 0 <= r < n:
        raise ValueError(f"shard_rank must be in [0, {n}), got {r}")
    return list(items[r::n])
