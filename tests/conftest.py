"""Shared test setup: the repository root on sys.path (MONAI Label loads the app the same way) and small helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
