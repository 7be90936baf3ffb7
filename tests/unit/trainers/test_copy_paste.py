"""Copy-paste: a box of a labeled patch in each unlabeled patch, with that box's labels, reproducibly."""

from __future__ import annotations

import pytest
import torch

from lib.transforms import CopyPaste


def _patches() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    images = torch.stack([torch.full((1, 12, 12, 9), 1.0), torch.full((1, 12, 12, 9), 2.0)])
    labels = torch.stack([torch.full((1, 12, 12, 9), 1), torch.full((1, 12, 12, 9), 2)])
    return images, labels, torch.full((3, 1, 12, 12, 9), -1.0)


def test_each_unlabeled_patch_gets_one_box_of_a_labeled_patch_and_its_labels() -> None:
    images, labels, unlabeled = _patches()
    mixed, (box, box_label) = CopyPaste(2 / 3, seed=0)(images, labels, unlabeled)
    assert mixed.shape == unlabeled.shape and box.shape == (3, 12, 12, 9) and box_label.shape == (3, 12, 12, 9)
    for i, source in enumerate((0, 1, 0)):  # unlabeled patch i takes labeled patch i % 2
        assert int(box[i].sum()) == 8 * 8 * 6  # 2/3 of each side, one box
        nonzero = box[i].nonzero()
        assert (nonzero.max(0).values - nonzero.min(0).values + 1).tolist() == [8, 8, 6]
        assert torch.all(mixed[i, 0][box[i]] == images[source, 0, 0, 0, 0])
        assert torch.all(mixed[i, 0][~box[i]] == -1.0)
        assert torch.all(box_label[i][box[i]] == labels[source, 0, 0, 0, 0])


def test_boxes_move_from_patch_to_patch_and_repeat_with_the_seed() -> None:
    images, labels, unlabeled = _patches()
    boxes = [CopyPaste(0.5, seed=1)(images, labels, unlabeled)[1][0] for _ in range(2)]
    torch.testing.assert_close(boxes[0], boxes[1])
    many = CopyPaste(0.5, seed=1)(images, labels, torch.zeros(8, 1, 12, 12, 9))[1][0]
    assert len({tuple(b.nonzero().min(0).values.tolist()) for b in many}) > 1


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_a_fraction_outside_0_1_is_refused(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        CopyPaste(fraction)


def test_patches_of_different_sizes_are_refused() -> None:
    images, labels, _ = _patches()
    with pytest.raises(ValueError, match="differ in size"):
        CopyPaste(0.5)(images, labels, torch.zeros(1, 1, 8, 8, 8))
