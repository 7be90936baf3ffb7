"""The students' strong view changes intensities only, voxel-aligned with the teacher's view, reproducibly."""

from __future__ import annotations

import torch

from lib.transforms import StrongView


def test_strong_view_keeps_shape_and_changes_intensities_reproducibly() -> None:
    batch = torch.rand(2, 1, 16, 16, 16)
    first, second = StrongView(seed=3)(batch), StrongView(seed=3)(batch)
    assert first.shape == batch.shape
    assert not torch.allclose(first, batch)
    torch.testing.assert_close(first, second)


def test_strong_view_keeps_structures_in_place() -> None:
    """A bright cube stays where it is: the teacher's pseudo-labels of the weak view apply voxel for voxel."""
    batch = torch.zeros(1, 1, 16, 16, 16)
    batch[..., 4:10, 4:10, 4:10] = 1.0
    strong = StrongView(seed=0)(batch)
    inside, outside = strong[..., 5:9, 5:9, 5:9].mean(), strong[..., :2, :2, :2].mean()
    assert inside > outside + 0.3
