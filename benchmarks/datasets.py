"""The two benchmark study sets, written as a MONAI Label local datastore (``<out>/``) with the ground truth beside
it (``<out>_groundtruth/``), and the app settings each needs.

- ``synthetic``: the demo generator of ``sample-apps/demo_data`` (CT-like organ + lesions, see its docstring).
- ``mni``: real anatomy. The ICBM 2009c symmetric T1 template and its grey- and white-matter probability maps, which
  ship inside the ``nilearn`` package (never downloaded), brought to 3.5 mm, then per subject: a random affine
  (rotation ±0.2 rad about each axis, scale ±10 %, shift ±3 voxels) and an elastic deformation (MONAI
  ``Rand3DElasticd``, sigma 5–7 voxels, magnitude 60–120) applied to the T1 and both maps together, the tissue label
  taken as the argmax of (other, grey, white) probabilities, then a multiplicative bias field (MONAI
  ``RandBiasField``, degree 3, coefficients ±0.3), Gaussian noise (std 3 % of the T1's range), a random intensity
  scale (±15 %) and a random left-right flip in the affine. Labels: grey matter 1, white matter 2.
- ``mni_sites``: the same subjects (study i has the anatomy of ``mni`` study i) acquired at three sites, by index
  (``SITES``: 3 of every 5 studies at site A, 1 at B, 1 at C, so every split has the same mix). Site A is the ``mni``
  recipe unchanged. Site B acquires thick slices: the T1 averaged over blocks of 3 slices along the last (superior)
  axis and interpolated back, with twice the noise. Site C has another contrast: the T1 raised to a power of 0.4-0.6
  before the bias field (grey-white contrast about halved), with bias coefficients twice as large. A pool as a
  hospital's is: mostly one protocol, some studies from others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from monai.transforms import Compose, Rand3DElasticd, RandAffined, RandBiasField
from scipy.ndimage import zoom

from lib.tools import demo_data

__all__ = ["DATASETS", "SITES", "StudySet", "make_mni", "make_mni_sites", "make_synthetic", "site_of"]

MNI_SPACING = 3.5
MNI_SHAPE = (48, 64, 48)
# Where ``mni_sites`` study i was acquired: SITES[i % len(SITES)].
SITES = ("A", "A", "A", "B", "C")
THICK_SLICES = 3


def site_of(study: str) -> str:
    """The site of an ``mni_sites`` study id (``subject_007`` -> ``A``)."""
    return SITES[int(study.rsplit("_", 1)[1]) % len(SITES)]


@dataclass(frozen=True)
class StudySet:
    """How to make a study set and the ``--conf`` settings the app needs for it."""

    name: str
    make: Callable[[Path, int, int], list[str]]
    conf: dict[str, str] = field(default_factory=dict)
    label_names: tuple[str, ...] = ()


def make_synthetic(out: Path, num: int, seed: int) -> list[str]:
    return demo_data.generate(out, num=num, labeled=0, seed=seed, shape=(48, 48, 32))


def _mni_template() -> dict[str, np.ndarray]:
    """T1 and tissue maps from the installed nilearn package, at ``MNI_SPACING`` mm, centre-cropped/padded."""
    import nilearn

    folder = Path(nilearn.__file__).parent / "datasets" / "data"
    volumes = {}
    for key in ("t1", "gm", "wm"):
        img = nib.load(folder / f"mni_icbm152_{key}_tal_nlin_sym_09a_converted.nii.gz")
        data = np.asarray(img.dataobj, dtype=np.float32) / 255.0
        data = zoom(data, np.asarray(img.header.get_zooms()[:3]) / MNI_SPACING, order=1)
        volumes[key] = _center_fit(data, MNI_SHAPE)
    return volumes


def _center_fit(volume: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    out = np.zeros(shape, dtype=volume.dtype)
    src = [slice(max(0, (s - t) // 2), max(0, (s - t) // 2) + min(s, t)) for s, t in zip(volume.shape, shape)]
    dst = [slice(max(0, (t - s) // 2), max(0, (t - s) // 2) + min(s, t)) for s, t in zip(volume.shape, shape)]
    out[tuple(dst)] = volume[tuple(src)]
    return out


def _thick_slices(volume: np.ndarray) -> np.ndarray:
    """Each block of ``THICK_SLICES`` slices along the last axis averaged into one, then interpolated back."""
    blocks = volume.reshape(*volume.shape[:2], -1, THICK_SLICES).mean(axis=-1)
    return zoom(blocks, np.divide(volume.shape, blocks.shape), order=1)


def make_mni(out: Path, num: int, seed: int, sites: bool = False) -> list[str]:
    template = _mni_template()
    keys = ("t1", "gm", "wm")
    deform = Compose(
        [
            RandAffined(
                keys=keys,
                prob=1.0,
                rotate_range=(0.2, 0.2, 0.2),
                scale_range=(0.1, 0.1, 0.1),
                translate_range=(3, 3, 3),
                mode="bilinear",
                padding_mode="zeros",
            ),
            Rand3DElasticd(
                keys=keys,
                prob=1.0,
                sigma_range=(5, 7),
                magnitude_range=(60, 120),
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
        if site == "C":
            t1 = np.clip(t1, 0.0, None) ** rng.uniform(0.4, 0.6)
        image = np.asarray(bias(t1[None]))[0] * rng.uniform(0.85, 1.15)
        if site == "B":
            image = _thick_slices(image)
        image = image + rng.normal(0.0, 0.06 if site == "B" else 0.03, image.shape)
        image = np.clip(image * 1000.0, 0, 32767).astype(np.int16)
        return image, label, np.diag([MNI_SPACING * rng.choice([-1.0, 1.0]), MNI_SPACING, MNI_SPACING, 1.0])

    return demo_data.write_studies(out, num, 0, seed, make, prefix="subject")


def make_mni_sites(out: Path, num: int, seed: int) -> list[str]:
    return make_mni(out, num, seed, sites=True)


MNI_CONF = {
    "labels": '{"gray_matter":1,"white_matter":2}',
    "intensity": "mri",
    "spacing": f"[{MNI_SPACING},{MNI_SPACING},{MNI_SPACING}]",
}
DATASETS: dict[str, StudySet] = {
    "synthetic": StudySet("synthetic", make_synthetic, {}, ("organ", "lesion")),
    "mni": StudySet("mni", make_mni, MNI_CONF, ("gray_matter", "white_matter")),
    "mni_sites": StudySet("mni_sites", make_mni_sites, MNI_CONF, ("gray_matter", "white_matter")),
}
