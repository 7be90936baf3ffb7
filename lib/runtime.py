"""Per-process speed settings shared by training, inference and scoring: mixed precision, cuDNN autotuning, CPU
threads. Each is a no-op where it does not apply, so callers need no device branches."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

import torch

from .distributed import cpu_threads_per_rank

__all__ = ["TASK_PROCESS_MODULE", "autocast", "autocast_dtype", "configure_device", "yield_to_the_server"]

# What MONAI Label runs as ``python -m`` for each /train, /scoring and /batch/infer request (utils/async_tasks).
TASK_PROCESS_MODULE = "monailabel.interfaces.utils.app"

logger = logging.getLogger(__name__)


def autocast_dtype(mixed_precision: str, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype for ``device``, or None for float32. CPU never autocasts: bfloat16 3D convolutions on CPU
    are slower than float32 ones without AMX, and this app's CPU users run small networks."""
    if torch.device(device).type != "cuda" or mixed_precision == "none":
        return None
    if mixed_precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return getattr(torch, mixed_precision)


def autocast(dtype: torch.dtype | None, device: torch.device | str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for ``dtype``, or a null context for float32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def configure_device(device: torch.device | str, cpu_threads: int = 0, local_world_size: int = 1) -> None:
    """cuDNN autotuning on CUDA (patches and sliding windows have fixed sizes, so the tuned kernels are reused);
    on CPU, ``cpu_threads`` intra-op threads, or with 0 the cores shared out among ``local_world_size`` ranks (a
    single process keeps torch's own choice)."""
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.benchmark = True
        return
    threads = cpu_threads or (cpu_threads_per_rank(local_world_size) if local_world_size > 1 else 0)
    if threads:
        torch.set_num_threads(threads)
        logger.info("CPU threads per process: %d", threads)


def yield_to_the_server(niceness: int) -> bool:
    """In a MONAI Label task subprocess (training, scoring, batch inference), raise this process's nice value to
    ``niceness``, so that an annotator's ``/infer`` in the server process gets the cores when it needs them and the
    task takes what is left. The server process itself (and ``run_sync`` tasks inside it) is left alone. Returns
    whether it lowered the priority. (MONAI Label starts these subprocesses with no priority setting of its own.)"""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if niceness <= 0 or spec is None or spec.name != TASK_PROCESS_MODULE:
        return False
    os.nice(max(0, niceness - os.nice(0)))
    logger.info("Task process %d runs at nice %d, below the server's /infer", os.getpid(), os.nice(0))
    return True
