"""The benchmark study sets: the three-site MNI set must be the MNI set's subjects, with only the other sites'
acquisitions changed, so that a result on it compares with the MNI set's."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from benchmarks.datasets import SITES, THICK_SLICES, make_mni, make_mni_sites, site_of, thick_slices


def _volume(path: Path) -> np.ndarray:
    return np.asarray(nib.load(path).dataobj)


@pytest.fixture(scope="module")
def both_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("study-sets")
    make_mni(root / "mni", len(SITES), 0)
    make_mni_sites(root / "sites", len(SITES), 0)
    return root / "mni", root / "sites"


def test_site_of_a_study_follows_its_index() -> None:
    assert [site_of(f"subject_{i:03d}") for i in range(7)] == ["A", "A", "A", "B", "C", "A", "A"]


def test_the_sites_set_has_the_mni_subjects_and_site_a_is_the_mni_set(both_sets: tuple[Path, Path]) -> None:
    mni, sites = both_sets
    for i, site in enumerate(SITES):
        name = f"subject_{i:03d}.nii.gz"
        # The same anatomy (ground truth) for every site; the same image only at site A.
        assert np.array_equal(
            _volume(mni.parent / "mni_groundtruth" / name), _volume(sites.parent / "sites_groundtruth" / name)
        )
        same_image = np.array_equal(_volume(mni / name), _volume(sites / name))
        assert same_image == (site == "A"), (name, site)


def test_thick_slices_spread_a_slice_along_the_last_axis_only() -> None:
    volume = np.zeros((4, 5, 12), dtype=np.float32)
    volume[2, :, 4] = 3.0  # one bright row in one slice
    thick = thick_slices(volume)
    assert thick.shape == volume.shape
    # In-plane it stays where it was; along the last axis its block (slices 3-5) averages it to a third (1.0), and
    # the interpolation back spreads that over more than a block.
    assert np.allclose(thick[[0, 1, 3]], 0.0)
    assert np.allclose(thick[2], thick[2, :1])  # every row of the bright plane alike
    assert 0.5 < thick[2, 0].max() <= 1.0 + 1e-6
    assert (thick[2, 0] > 0.1).sum() > THICK_SLICES
