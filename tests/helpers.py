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
    return _load_script(GENERATOR_PATH)


def dicom_converter() -> ModuleType:
    """The NIfTI-to-DICOM-series converter of ``sample-apps/dicom/``."""
    return _load_script(ROOT / "sample-apps" / "dicom" / "nifti_to_dicom.py")


def pacs_launcher() -> ModuleType:
    """The Orthanc launcher of ``sample-apps/pacs/``."""
    return _load_script(ROOT / "sample-apps" / "pacs" / "orthanc.py")


def ohif_driver() -> ModuleType:
    """The OHIF browser steps of ``sample-apps/pacs/``."""
    return _load_script(ROOT / "sample-apps" / "pacs" / "ohif_segment.py")


def _load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_state_dict(network: torch.nn.Module, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), path)
    return path
