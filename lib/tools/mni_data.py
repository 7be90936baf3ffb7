"""Brain MR studies of real anatomy, made from the MNI template that ships inside ``nilearn`` (never downloaded).

The ICBM 2009a nonlinear symmetric T1 template and its grey- and white-matter probability maps (nilearn's
``mni_icbm152_*_tal_nlin_sym_09a_converted``) are brought to ``spacing`` mm, then per subject: a random affine
(rotation ±0.2 rad about each axis, scale ±10 %, shift ±10.5 mm) and an elastic deformation (MONAI ``Rand3DElasticd``,
sigma 17.5–24.5 mm) applied to the T1 and both maps together, the tissue label taken as the argmax of (other, grey,
white) probabilities, then a multiplicative bias field (MONAI ``RandBiasField``, degree 3, coefficients ±0.3),
Gaussian noise (std 3 % of the T1's range), a random intensity scale (±15 %) and a random left-right flip in the
affine. Labels: grey matter 1, white matter 2. Deformations are given in millimetres, so that a subject looks alike
at every spacing (at the benchmarks' 3.5 mm: sigma 5–7 voxels, magnitude 60–120, shift ±3 voxels).

With ``sites``, the same subjects (study i has the anatomy of the single-site study i) are acquired at three sites,
by index (``SITES``: 3 of every 5 studies at site A, 1 at B, 1 at C, so every split has the same mix). Site A is the
recipe above unchanged. Site B acquires thick slices: the T1 averaged over blocks of 3 slices along the last
(superior) axis and interpolated back, with twice the noise. Site C has another contrast: the T1 raised to a power of
0.4-0.6 before the bias field (grey-white contrast about halved), with bias coefficients twice as large. A pool as a
hospital's is: mostly one protocol, some studies from others.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from monai.transforms import Compose, Rand3DElasticd, RandAffined, RandBiasField
from scipy.ndimage import zoom

from .demo_data import StudyMaker, write_studies
from .lesions import LADDER, MAX_LESIONS, LesionRecipe, insert_lesions

__all__ = [
    "LESION_LABELS",
    "MNI_LABELS",
    "SITES",
    "THICK_SLICES",
    "default_shape",
    "has_lesions",
    "mni_maker",
    "site_of",
    "thick_slices",
]

MNI_LABELS = {"gray_matter": 1, "white_matter": 2}
LESION_LABELS = {"white_matter": 1, "lesion": 2}
# Where study i of a three-site set was acquired: SITES[i % len(SITES)].
SITES = ("A", "A", "A", "B", "C")
THICK_SLICES = 3
# The spacing the deformation magnitudes below were first chosen at (in voxels); other spacings scale them.
_REFERENCE_SPACING = 3.5
# A field of view that holds the whole brain of the template with a margin (mm): 96 x 112 x 96 voxels at 2 mm.
_FIELD_OF_VIEW_MM = (192.0, 224.0, 192.0)


def site_of(study: str) -> str:
    """The site of a three-site study id (``subject_007`` -> ``A``)."""
    return SITES[int(study.rsplit("_", 1)[1]) % len(SITES)]


def has_lesions(index: int, recipe: LesionRecipe = LADDER[0]) -> bool:
    """Whether study ``index`` of a lesion set has lesions: of every 25 consecutive studies, 5 per residue of the
    recipe, one of each site's 5 (lesions follow the index, so every split of a pool holds about the same share)."""
    return (index % len(SITES) + index // len(SITES)) % len(SITES) in recipe.residues


def default_shape(spacing: float) -> tuple[int, int, int]:
    """The grid that covers the brain's field of view at ``spacing`` mm, each side a multiple of 16 voxels (what
    the networks' four downsamplings need) so that a whole study can also be a patch."""
    return tuple(max(16, int(round(fov / spacing / 16)) * 16) for fov in _FIELD_OF_VIEW_MM)  # type: ignore[return-value]


@cache
def _template(spacing: float, shape: tuple[int, int, int]) -> dict[str, np.ndarray]:
    import nilearn

    folder = Path(nilearn.__file__).parent / "datasets" / "data"
    volumes = {}
    for key in ("t1", "gm", "wm"):
        img = nib.load(folder / f"mni_icbm152_{key}_tal_nlin_sym_09a_converted.nii.gz")
        data = np.asarray(img.dataobj, dtype=np.float32) / 255.0
        data = zoom(data, np.asarray(img.header.get_zooms()[:3]) / spacing, order=1)
        volumes[key] = _center_fit(data, shape)
    return volumes


def _center_fit(volume: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    out = np.zeros(tuple(shape), dtype=volume.dtype)
    src = [slice(max(0, (s - t) // 2), max(0, (s - t) // 2) + min(s, t)) for s, t in zip(volume.shape, shape)]
    dst = [slice(max(0, (t - s) // 2), max(0, (t - s) // 2) + min(s, t)) for s, t in zip(volume.shape, shape)]
    out[tuple(dst)] = volume[tuple(src)]
    return out


def thick_slices(volume: np.ndarray) -> np.ndarray:
    """Each block of ``THICK_SLICES`` slices along the last axis averaged into one, then interpolated back (a last
    block cut short by the volume's edge is completed by repeating its last slice)."""
    extra = -volume.shape[-1] % THICK_SLICES
    padded = np.pad(volume, [(0, 0), (0, 0), (0, extra)], mode="edge") if extra else volume
    blocks = padded.reshape(*padded.shape[:2], -1, THICK_SLICES).mean(axis=-1)
    return zoom(blocks, np.divide(padded.shape, blocks.shape), order=1)[..., : volume.shape[-1]]


def mni_maker(
    spacing: float, shape: Sequence[int] | None = None, sites: bool = False, lesions: LesionRecipe | None = None
) -> StudyMaker:
    """A study maker for :func:`~lib.tools.demo_data.write_studies`: (image, label, affine) of subject ``index``.

    With ``lesions`` (a recipe): subject ``index`` as without, and where :func:`has_lesions` says so, 1 to 3
    lesions inserted (``lib/tools/lesions.py``) from a random stream of their own, so that the anatomy and the
    acquisition stay those of the same subject without lesions; labels ``LESION_LABELS`` (white matter 1, lesion 2;
    grey matter is background)."""
    shape = tuple(shape or default_shape(spacing))
    template = _template(float(spacing), shape)
    voxels = _REFERENCE_SPACING / spacing  # reference-spacing voxels -> voxels at this spacing
    keys = ("t1", "gm", "wm")
    deform = Compose(
        [
            RandAffined(
                keys=keys,
                prob=1.0,
                rotate_range=(0.2, 0.2, 0.2),
                scale_range=(0.1, 0.1, 0.1),
                translate_range=(3 * voxels,) * 3,
                mode="bilinear",
                padding_mode="zeros",
            ),
            Rand3DElasticd(
                keys=keys,
                prob=1.0,
                sigma_range=(5 * voxels, 7 * voxels),
                magnitude_range=(60 * voxels, 120 * voxels),
                mode="bilinear",
                padding_mode="zeros",
            ),
        ]
    )
    biases = {site: RandBiasField(degree=3, coeff_range=(-c, c), prob=1.0) for site, c in (("A", 0.3), ("C", 0.6))}

    def make(rng: np.random.Generator, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        site = SITES[index % len(SITES)] if sites else "A"
        bias = biases.get(site, biases["A"])
        deform.set_random_state(seed=int(rng.integers(2**31)))
        bias.set_random_state(seed=int(rng.integers(2**31)))
        warped = deform({k: torch.as_tensor(template[k][None]) for k in keys})
        t1, gm, wm = (np.asarray(warped[k][0]) for k in keys)
        label = np.argmax(np.stack([np.clip(1.0 - gm - wm, 0.0, 1.0), gm, wm]), axis=0).astype(np.uint8)
        if lesions is not None:
            lesion_rng = rng.spawn(1)[0]  # does not advance ``rng``: the acquisition draws below stay the same
            count = int(lesion_rng.integers(1, MAX_LESIONS + 1)) if has_lesions(index, lesions) else 0
            t1, tissue, _ = insert_lesions(lesion_rng, t1, label, 2, spacing, count, 3, lesions)
            label = np.select([tissue == 2, tissue == 3], [LESION_LABELS["white_matter"], LESION_LABELS["lesion"]], 0)
            label = label.astype(np.uint8)
        if site == "C":
            t1 = np.clip(t1, 0.0, None) ** rng.uniform(0.4, 0.6)
        image = np.asarray(bias(t1[None]))[0] * rng.uniform(0.85, 1.15)
        if site == "B":
            image = thick_slices(image)
        image = image + rng.normal(0.0, 0.06 if site == "B" else 0.03, image.shape)
        image = np.clip(image * 1000.0, 0, 32767).astype(np.int16)
        return image, label, np.diag([spacing * rng.choice([-1.0, 1.0]), spacing, spacing, 1.0])

    return make


def generate_mni(
    out: Path,
    num: int,
    labeled: int,
    seed: int,
    spacing: float,
    shape: Sequence[int] | None = None,
    sites: bool = False,
    lesions: LesionRecipe | None = None,
) -> list[str]:
    """Write ``num`` subjects as a MONAI Label datastore (the first ``labeled`` with a final label)."""
    return write_studies(out, num, labeled, seed, mni_maker(spacing, shape, sites, lesions), prefix="subject")
