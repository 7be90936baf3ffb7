"""A seed's data streams are the seed's alone: the same labeled and unlabeled batches in every run, whatever torch's
global random state (MONAI's DataLoader reseeded the crops from it, so the same seed drew other crops in another
run)."""

from __future__ import annotations

from pathlib import Path

import torch

from benchmarks.training import draw_streams
from lib.config import load_config
from lib.tools import demo_data


def test_the_same_seed_draws_the_same_streams_whatever_the_global_state(tmp_path: Path) -> None:
    demo_data.generate(tmp_path / "data", num=4, labeled=0, seed=1, shape=(24, 24, 16))
    truth = tmp_path / "data_groundtruth"
    pairs = [{"image": str(p), "label": str(truth / p.name)} for p in sorted((tmp_path / "data").glob("*.nii.gz"))]
    config = load_config({"width": "2", "patch_size": "[16,16,16]", "labeled_batch_size": "2"})
    streams = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        torch.rand(global_seed * 7)  # a recipe's other randomness before the draw
        streams.append(draw_streams(config, pairs[:2], [{"image": p["image"]} for p in pairs[2:]], 12, seed=5))
    first, second = streams
    assert first.checksum(12) == second.checksum(12)
    assert first.unlabeled_checksum() == second.unlabeled_checksum()
    assert all(torch.equal(a["label"], b["label"]) for a, b in zip(first.labeled, second.labeled))
    other = draw_streams(config, pairs[:2], [{"image": p["image"]} for p in pairs[2:]], 12, seed=6)
    assert other.checksum(12) != first.checksum(12)
