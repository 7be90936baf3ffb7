"""Generate a synthetic CT-like demo study set in the layout MONAI Label's local datastore expects.

Each study is a 3D volume with an organ-like structure (a smooth, randomly deformed ellipsoid, label 1) holding one
or two lesions (label 2), inside a body outline, with a bright bone-like distractor that is *not* labeled, a smooth
multiplicative bias field and Gaussian noise. Size, position, shape and contrast vary per study; everything is
deterministic from ``--seed``. A few studies get their ground-truth label under ``labels/final/``; the ground truth
of every study is also written under ``<out>/../<out-name>_groundtruth/`` so that scripted annotators and benchmarks
can act as an oracle without that folder being part of the datastore.

Usage::

    python sample-apps/demo_data/generate.py --out data --num 16 --labeled 4 --seed 0
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy.ndimage import gaussian_filter
from tqdm import tqdm

logger = logging.getLogger(__name__)

LABELS = {"organ": 1, "lesion": 2}
# Draws study ``index`` from its own generator: (image, label, affine).
StudyMaker = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int, int], sigma: float, amplitude: float) -> np.ndarray:
    field = gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="reflect")
    return field / (np.abs(field).max() + 1e-8) * amplitude


def _deformed_ellipsoid(
    grid: np.ndarray, center: np.ndarray, radii: np.ndarray, displacement: np.ndarray
) -> np.ndarray:
    """Boolean mask of an ellipsoid whose surface is warped by a smooth displacement field (in voxels)."""
    coords = grid + displacement
    dist = sum(((coords[i] - center[i]) / radii[i]) ** 2 for i in range(3))
    return dist <= 1.0


def make_study(rng: np.random.Generator, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One (image in HU, label) pair."""
    shape_arr = np.asarray(shape, dtype=float)
    grid = np.stack(np.meshgrid(*[np.arange(s, dtype=float) for s in shape], indexing="ij"))
    warp = np.stack([_smooth_field(rng, shape, sigma=6.0, amplitude=3.0) for _ in range(3)])

    body = _deformed_ellipsoid(grid, shape_arr / 2, shape_arr * np.array([0.46, 0.40, 0.60]), warp * 0.5)
    organ_center = shape_arr / 2 + rng.uniform(-0.12, 0.12, 3) * shape_arr
    organ_radii = shape_arr * rng.uniform(0.16, 0.26, 3)
    organ = _deformed_ellipsoid(grid, organ_center, organ_radii, warp) & body

    label = organ.astype(np.uint8)
    for _ in range(rng.integers(1, 3)):
        offset = rng.uniform(-0.45, 0.45, 3) * organ_radii
        lesion_radii = organ_radii * rng.uniform(0.28, 0.42, 3)
        lesion = _deformed_ellipsoid(grid, organ_center + offset, lesion_radii, warp * 0.4) & organ
        label[lesion] = LABELS["lesion"]

    # Unlabeled bright distractor ("bone"): a thin shell near the body surface, so that intensity alone is not enough.
    bone_center = shape_arr / 2 + np.array([0.0, shape_arr[1] * 0.28, 0.0])
    bone = _deformed_ellipsoid(grid, bone_center, shape_arr * np.array([0.08, 0.05, 0.35]), warp * 0.3) & body

    image = np.full(shape, -1000.0)  # air
    image[body] = -90.0 + rng.normal(0, 10)  # fat / soft tissue
    organ_hu = rng.uniform(50, 80)
    image[label == LABELS["organ"]] = organ_hu
    image[label == LABELS["lesion"]] = organ_hu + rng.choice([-1, 1]) * rng.uniform(60, 100)
    image[bone] = rng.uniform(350, 600)
    image = gaussian_filter(image, sigma=0.7)
    bias = 1.0 + _smooth_field(rng, shape, sigma=12.0, amplitude=0.15)
    image = (image + 1000.0) * bias - 1000.0
    image += rng.normal(0, rng.uniform(12, 25), shape)
    return image.astype(np.int16), label


def _affine(rng: np.random.Generator) -> np.ndarray:
    """Anisotropic spacing and a random axis flip, so that orientation and spacing handling are exercised."""
    spacing = np.array([rng.uniform(1.2, 1.8), rng.uniform(1.2, 1.8), rng.uniform(1.8, 2.5)])
    signs = np.array([rng.choice([-1.0, 1.0]), 1.0, 1.0])
    affine = np.diag(np.append(spacing * signs, 1.0))
    affine[:3, 3] = rng.uniform(-50, 50, 3)
    return affine


def _save_atomic(array: np.ndarray, affine: np.ndarray, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp.nii.gz")
    nib.save(nib.Nifti1Image(array, affine), str(tmp))
    os.replace(tmp, path)


def generate(out: Path, num: int, labeled: int, seed: int, shape: tuple[int, int, int]) -> list[str]:
    """Write ``num`` studies (the first ``labeled`` of them with a final label); returns the study ids."""

    def make(rng: np.random.Generator, _index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        image, label = make_study(rng, shape)
        return image, label, _affine(rng)

    return write_studies(out, num, labeled, seed, make)


def write_studies(
    out: Path,
    num: int,
    labeled: int,
    seed: int,
    make: StudyMaker,
    prefix: str = "study",
) -> list[str]:
    """A MONAI Label local datastore of ``num`` studies that ``make`` draws as (image, label, affine) from a generator
    seeded by (``seed``, study index) and the index, so that a study does not depend on how many are made; the ground
    truth of every study beside it in ``<out>_groundtruth/``, the first ``labeled`` also as final labels."""
    if not 0 <= labeled <= num:
        raise ValueError(f"labeled must be between 0 and num ({num}), got {labeled}")
    final_dir = out / "labels" / "final"
    truth_dir = out.parent / f"{out.name}_groundtruth"
    final_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    ids = []
    for i in tqdm(range(num), desc=f"{prefix} volumes", unit="study"):
        image, label, affine = make(np.random.default_rng([seed, i]), i)
        study = f"{prefix}_{i:03d}"
        _save_atomic(image, affine, out / f"{study}.nii.gz")
        _save_atomic(label, affine, truth_dir / f"{study}.nii.gz")
        if i < labeled:
            _save_atomic(label, affine, final_dir / f"{study}.nii.gz")
        ids.append(study)
    return ids


KINDS = ("synthetic", "mni", "mni_sites", "mni_lesions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data"), help="datastore folder to write (default: data)")
    parser.add_argument("--num", type=int, default=16, help="number of studies")
    parser.add_argument("--labeled", type=int, default=4, help="how many of them get a final label")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default="synthetic",
        help="synthetic: CT-like organ and lesions (labels organ 1, lesion 2); mni: brain MR of real anatomy from the "
        "MNI template (gray_matter 1, white_matter 2; start the server with --conf labels "
        '\'{"gray_matter":1,"white_matter":2}\'); mni_sites: the same subjects from three sites; mni_lesions: '
        "those with synthetic lesions in 40 %% of them (white_matter 1, lesion 2; --conf labels "
        '\'{"white_matter":1,"lesion":2}\')',
    )
    parser.add_argument(
        "--shape",
        type=int,
        nargs=3,
        help="volume size in voxels (synthetic: 64 64 40; mni: the "
        "brain's field of view at --spacing, 96 112 96 at 2 mm)",
    )
    parser.add_argument("--spacing", type=float, default=2.0, help="voxel size in mm of the mni kinds (default 2)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    if args.kind == "synthetic":
        ids = generate(args.out, args.num, args.labeled, args.seed, tuple(args.shape or (64, 64, 40)))
    else:
        from .lesions import LADDER
        from .mni_data import generate_mni  # imports this module

        sites, lesions = args.kind in ("mni_sites", "mni_lesions"), LADDER[0] if args.kind == "mni_lesions" else None
        ids = generate_mni(args.out, args.num, args.labeled, args.seed, args.spacing, args.shape, sites, lesions)
    logger.info("wrote %d %s studies (%d labeled) to %s", len(ids), args.kind, args.labeled, args.out)


if __name__ == "__main__":
    main()
