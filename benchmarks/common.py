"""What the benchmark modules share: argument parsing, the study sets on disk, results as JSON, device choice, the
paired interval that decision rules read."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import t as student_t

from .datasets import DATASETS

__all__ = ["CPU_CONF", "benchmark_parser", "device", "items", "paired_interval", "prepare", "write_json"]

ROOT = Path(__file__).resolve().parents[1]
# App settings the accuracy and active-learning benchmarks share: a CPU-sized network and patch, one labeled and one
# unlabeled patch per iteration, so that a full run fits in about an hour on two cores.
CPU_CONF = {
    "width": "4",
    "patch_size": "[32,32,32]",
    "labeled_batch_size": "1",
    "unlabeled_batch_size": "1",
    "sw_batch_size": "4",
}


def benchmark_parser(name: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks {name}", description=description)
    parser.add_argument("--quick", action="store_true", help="tiny data and budgets (what CI runs), seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / name, help="results folder (JSON + PNG)")
    parser.add_argument("--data", type=Path, default=ROOT / "results" / "data", help="where study sets are made")
    return parser


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def prepare(dataset: str, num: int, data_root: Path) -> Path:
    """The study set ``dataset`` with ``num`` studies under ``data_root`` (made once, then reused)."""
    folder = data_root / f"{dataset}_{num}" / "data"
    done = folder.parent / ".complete"
    if not done.exists():
        DATASETS[dataset].make(folder, num, 0)
        done.touch()
    return folder


def items(folder: Path) -> list[dict[str, str]]:
    """Image/label pairs of a prepared set, in a fixed order."""
    truth = folder.parent / f"{folder.name}_groundtruth"
    names = sorted(p.name for p in folder.glob("*.nii.gz"))
    return [{"image": str(folder / n), "label": str(truth / n)} for n in names]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Results with the machine they were measured on; written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "measured": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": str(device()),
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "platform": platform.platform(),
        },
        **payload,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


def paired_interval(differences) -> tuple[float, float]:
    """The 95 % t-interval of the mean of paired differences (one per seed; at least 2)."""
    values = np.asarray(differences, dtype=float)
    if len(values) < 2:
        raise ValueError(f"a paired interval needs at least 2 differences, got {len(values)}")
    half = student_t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)
