"""The benchmark study sets, written as a MONAI Label local datastore (``<out>/``) with the ground truth beside
it (``<out>_groundtruth/``), and the app settings each needs.

- ``synthetic``: the demo generator of ``sample-apps/demo_data`` (CT-like organ + lesions, see its docstring).
- ``mni``: real anatomy, the MNI template deformed per subject (``lib/tools/mni_data.py`` says how), at 3.5 mm on a
  48 x 64 x 48 grid. Labels: grey matter 1, white matter 2.
- ``mni_sites``: the same subjects acquired at three sites (``lib/tools/mni_data.py``): study i has the anatomy of
  ``mni`` study i; site A is the ``mni`` recipe unchanged, B thick slices, C another contrast.
- ``mni_lesions``: three-site subjects on a 2.5 mm grid (80 x 96 x 80) with synthetic lesions (``lib/tools/lesions.py``)
  in 40 % of them, of every site. Labels: white matter 1, lesion 2 (grey matter is background). ``mni_lesions_1`` to
  ``_3``: the harder sets of the ladder (``LADDER``), for the headroom check to fall back on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lib.tools import demo_data
from lib.tools.lesions import LADDER
from lib.tools.mni_data import (
    LESION_LABELS,
    MNI_LABELS,
    SITES,
    THICK_SLICES,
    default_shape,
    generate_mni,
    has_lesions,
    site_of,
    thick_slices,
)

__all__ = [
    "DATASETS",
    "SITES",
    "THICK_SLICES",
    "StudySet",
    "has_lesions",
    "make_mni",
    "lesion_maker",
    "make_mni_sites",
    "make_synthetic",
    "site_of",
    "thick_slices",
]

MNI_SPACING = 3.5
MNI_SHAPE = (48, 64, 48)
# The lesion set's grid: the smallest lesion's shortest semi-axis (4.8 mm) is 2 voxels.
LESION_SPACING = 2.5


@dataclass(frozen=True)
class StudySet:
    """How to make a study set and the ``--conf`` settings the app needs for it."""

    name: str
    make: Callable[[Path, int, int], list[str]]
    conf: dict[str, str] = field(default_factory=dict)
    label_names: tuple[str, ...] = ()


def make_synthetic(out: Path, num: int, seed: int) -> list[str]:
    return demo_data.generate(out, num=num, labeled=0, seed=seed, shape=(48, 48, 32))


def make_mni(out: Path, num: int, seed: int, sites: bool = False) -> list[str]:
    return generate_mni(out, num, 0, seed, MNI_SPACING, MNI_SHAPE, sites=sites)


def make_mni_sites(out: Path, num: int, seed: int) -> list[str]:
    return make_mni(out, num, seed, sites=True)


def lesion_maker(level: int) -> Callable[[Path, int, int], list[str]]:
    def make(out: Path, num: int, seed: int) -> list[str]:
        shape = default_shape(LESION_SPACING)
        return generate_mni(out, num, 0, seed, LESION_SPACING, shape, sites=True, lesions=LADDER[level])

    return make


MNI_CONF = {
    "labels": '{"gray_matter":1,"white_matter":2}',
    "intensity": "mri",
    "spacing": f"[{MNI_SPACING},{MNI_SPACING},{MNI_SPACING}]",
}
MNI_NAMES = tuple(sorted(MNI_LABELS, key=MNI_LABELS.get))
LESION_NAMES = tuple(sorted(LESION_LABELS, key=LESION_LABELS.get))
LESION_CONF = {
    "labels": '{"white_matter":1,"lesion":2}',
    "intensity": "mri",
    "spacing": f"[{LESION_SPACING},{LESION_SPACING},{LESION_SPACING}]",
}
DATASETS: dict[str, StudySet] = {
    "synthetic": StudySet("synthetic", make_synthetic, {}, ("organ", "lesion")),
    "mni": StudySet("mni", make_mni, MNI_CONF, MNI_NAMES),
    "mni_sites": StudySet("mni_sites", make_mni_sites, MNI_CONF, MNI_NAMES),
}
# The lesion set (level 0 of the ladder) and the harder sets the headroom check may fall back on, in order.
for _level in range(len(LADDER)):
    _name = "mni_lesions" if _level == 0 else f"mni_lesions_{_level}"
    DATASETS[_name] = StudySet(_name, lesion_maker(_level), LESION_CONF, LESION_NAMES)
