"""Helpers shared by unit and integration tests: the demo study generator and a tiny model on disk."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import torch

ROOT = Path(__file__).resolve().parents[1]
GENERATOR_PATH = ROOT / "sample-apps" / "demo_data" / "generate.py"


def demo_generator() -> ModuleType:
    """The demo study generator of ``sample-apps/`` (a script in a folder whose name is no Python package)."""
    spec = importlib.util.spec_from_file_location("demo_generate", GENERATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_state_dict(network: torch.nn.Module, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), path)
    return path
