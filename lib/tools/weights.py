"""A network's weights as a model file that the app's infer task loads: for tests and benchmarks of a given model."""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["save_state_dict"]


def save_state_dict(network: torch.nn.Module, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), path)
    return path
