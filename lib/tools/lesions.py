"""Synthetic brain lesions inserted into MNI-template subjects, the way published simulations make them (distorted
ellipsoids with texture, placed by tissue, with a small mass effect; cf. Hu et al., CVPR 2023, "Label-free liver tumor
segmentation", and the MS-lesion simulators that paint lesions into white matter).

Decided before any training run on the set (docs/benchmarks.md, "A study set with lesions"):

- **Where**: a lesion's centre is a white-matter voxel at least half its radius inside the brain; up to ``MAX_LESIONS``
  lesions a study, never overlapping another by their centres' distance.
- **Which studies**: 40 % of them, by index, at every site (:class:`LesionRecipe`), 1 to 3 lesions each.
- **Shape**: an ellipsoid of radius r (semi-axes r x 0.8-1.25, randomly rotated), its surface pushed in and out by a
  smooth random field of up to 25 % of r. r is drawn log-uniformly from ``RADIUS_MM``: 6-20 mm, so that the smallest
  semi-axis (4.8 mm) is 2 voxels at the 2.5 mm grid the set is made on, and the largest lesion is 5 cm across.
- **Mass effect**: the tissue around a lesion is pushed outwards, by 25 % of r at its surface, fading with distance
  (a Gaussian of width 1.5 r): image and tissue labels are moved together, before the lesion is painted.
- **Appearance** on the T1 image, relative to the subject's median white-matter intensity W, one of ``APPEARANCES``:
  ``ring``: an enhancing rim (1.35 W, the outer 35 % of the radius) around a necrotic core (0.35 W), as a
  contrast-enhanced glioblastoma; ``hypointense``: 0.55 W throughout, as an MS black hole; ``subtle``: 0.85 W with a
  blurred border, barely darker than white matter. Each with a multiplicative texture (smooth noise, ±10 %) and a
  partial-volume edge (the mask blurred by 0.7 voxel for the image only).
- **Label**: every voxel inside the lesion is ``lesion``, whatever tissue it replaced; a lesion stops at the brain's
  edge (grey or white matter).

Site effects (thick slices, another contrast, bias fields, noise) are applied after the lesions, so a lesion is
acquired like the brain around it. ``LADDER`` holds the harder sets to fall back on, in order, should this one leave
too little headroom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter, map_coordinates

__all__ = ["APPEARANCES", "LADDER", "MAX_LESIONS", "RADIUS_MM", "Lesion", "LesionRecipe", "insert_lesions"]

APPEARANCES = ("ring", "hypointense", "subtle")
RADIUS_MM = (6.0, 20.0)
MAX_LESIONS = 3
_AXIS_FACTORS = (0.8, 1.25)
_SURFACE_WOBBLE = 0.25
_MASS_EFFECT = 0.25
_TEXTURE = 0.10


@dataclass(frozen=True)
class LesionRecipe:
    """What lesions a set holds: their radii (mm, log-uniform), their appearances (drawn alike) and which studies
    hold any (study i when ``(i % 5 + i // 5) % 5`` is one of ``residues``: 2 residues = 40 % of the studies, of
    every site)."""

    radius_mm: tuple[float, float] = RADIUS_MM
    appearances: tuple[str, ...] = APPEARANCES
    residues: tuple[int, ...] = (0, 2)


# The ladder of harder sets, written before the headroom check (docs/benchmarks.md, "A study set with lesions"):
# level 0 is the set as first decided; each next level is taken only if the one before leaves less than 10 Dice
# points between supervised training on 10 % and on all labels.
LADDER = (
    LesionRecipe(),
    LesionRecipe(radius_mm=(6.0, 12.0)),
    LesionRecipe(radius_mm=(6.0, 12.0), appearances=("hypointense", "subtle")),
    LesionRecipe(radius_mm=(6.0, 12.0), appearances=("hypointense", "subtle"), residues=(0,)),
)


@dataclass(frozen=True)
class Lesion:
    """What was inserted: centre (voxel), radius (mm) and appearance."""

    centre: tuple[float, float, float]
    radius_mm: float
    appearance: str


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    field = gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="reflect")
    return field / (np.abs(field).max() + 1e-8)


def _mass_effect(volumes: list[np.ndarray], orders: list[int], centre: np.ndarray, radius: float) -> list[np.ndarray]:
    """Push everything away from ``centre``: a voxel at distance d samples from d - s(d) along the same ray, with
    s(d) = MASS_EFFECT * radius * exp(-(d / 1.5 radius)^2 / 2) (a few voxels at most, so folding cannot occur)."""
    grid = np.indices(volumes[0].shape, dtype=np.float32)
    offset = grid - centre.reshape(3, 1, 1, 1)
    distance = np.sqrt((offset**2).sum(0)) + 1e-6
    shift = _MASS_EFFECT * radius * np.exp(-0.5 * (distance / (1.5 * radius)) ** 2)
    source = grid - offset / distance * shift
    return [map_coordinates(v, source, order=o, mode="nearest").astype(v.dtype) for v, o in zip(volumes, orders)]


def _lesion_mask(
    rng: np.random.Generator, shape: tuple[int, ...], centre: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """The lesion (bool) and each voxel's normalised radius (0 at the centre, 1 on the wobbling surface)."""
    axes = radius * rng.uniform(*_AXIS_FACTORS, size=3)
    rotation = _rotation(rng)
    grid = np.indices(shape, dtype=np.float32).reshape(3, -1) - centre.reshape(3, 1)
    local = rotation.T @ grid
    rho = np.sqrt(((local / axes.reshape(3, 1)) ** 2).sum(0)).reshape(shape)
    wobble = 1.0 + _SURFACE_WOBBLE * _smooth_noise(rng, shape, sigma=max(1.0, radius / 2))
    rho = rho / wobble
    return rho <= 1.0, rho


def insert_lesions(
    rng: np.random.Generator,
    t1: np.ndarray,
    tissue: np.ndarray,
    white_matter: int,
    spacing_mm: float,
    count: int,
    lesion_label: int,
    recipe: LesionRecipe = LADDER[0],
) -> tuple[np.ndarray, np.ndarray, list[Lesion]]:
    """``count`` lesions in ``t1`` (float image) and ``tissue`` (integer labels, ``white_matter`` marking white
    matter); returns the new image, the labels with lesions as ``lesion_label``, and what was inserted."""
    if count < 0 or count > MAX_LESIONS:
        raise ValueError(f"count must be in [0, {MAX_LESIONS}], got {count}")
    t1, tissue = t1.astype(np.float32), tissue.copy()
    white = float(np.median(t1[tissue == white_matter])) if (tissue == white_matter).any() else float(t1.max())
    inside = distance_transform_edt(tissue > 0)
    lesions: list[Lesion] = []
    for _ in range(count):
        radius = float(np.exp(rng.uniform(*np.log(recipe.radius_mm)))) / spacing_mm
        candidates = np.argwhere((tissue == white_matter) & (inside >= radius / 2))
        for lesion in lesions:
            candidates = candidates[np.linalg.norm(candidates - np.asarray(lesion.centre), axis=1) > 2 * radius]
        if len(candidates) == 0:
            break
        centre = np.asarray(candidates[rng.integers(len(candidates))], dtype=np.float32)
        t1, tissue = _mass_effect([t1, tissue], [1, 0], centre, radius)
        mask, rho = _lesion_mask(rng, t1.shape, centre, radius)
        mask &= tissue > 0  # a lesion near the surface stops at the brain's edge
        appearance = recipe.appearances[rng.integers(len(recipe.appearances))]
        if appearance == "ring":
            intensity = np.where(rho >= 0.65, 1.35, 0.35) * white
        elif appearance == "hypointense":
            intensity = np.full(t1.shape, 0.55 * white, dtype=np.float32)
        else:
            intensity = np.full(t1.shape, 0.85 * white, dtype=np.float32)
        intensity = intensity * (1.0 + _TEXTURE * _smooth_noise(rng, t1.shape, sigma=1.0))
        edge = 1.5 if appearance == "subtle" else 0.7
        weight = np.clip(gaussian_filter(mask.astype(np.float32), sigma=edge), 0.0, 1.0)
        t1 = (1.0 - weight) * t1 + weight * intensity
        tissue[mask] = lesion_label
        lesions.append(Lesion(tuple(float(c) for c in centre), radius * spacing_mm, appearance))
    return t1, tissue, lesions
