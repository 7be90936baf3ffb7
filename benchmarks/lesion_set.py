"""The lesion study set as it is made: which studies hold lesions, how many and how large, per site, and a preview of
a few studies on each one's largest lesion's slice (PNG). No training: what the set is, before anything is trained
on it.

    python -m benchmarks lesion_set --out docs/benchmarks   # the 64 studies of the evidence runs
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import label as connected_components  # noqa: E402

from lib.tools.lesions import LADDER, LesionRecipe  # noqa: E402
from lib.tools.mni_data import LESION_LABELS, has_lesions, site_of  # noqa: E402

from .common import benchmark_parser, items, prepare, write_json  # noqa: E402
from .datasets import LESION_SPACING  # noqa: E402

DESCRIPTION = "the lesion study set: lesions per study, sizes and sites, and a preview PNG (no training)"

FULL = dict(num=64, preview=8)
QUICK = dict(num=5, preview=2)
LESION = LESION_LABELS["lesion"]


def lesions_of(label: np.ndarray, spacing_mm: float) -> list[dict[str, float]]:
    """Each connected lesion (26-connectivity): voxels and the diameter of a sphere of its volume, in mm."""
    components, count = connected_components(label == LESION, structure=np.ones((3, 3, 3)))
    sizes = np.bincount(components.ravel())[1:]
    voxel_mm3 = spacing_mm**3
    return [{"voxels": int(n), "diameter_mm": float(2 * (3 * n * voxel_mm3 / (4 * np.pi)) ** (1 / 3))} for n in sizes]


def describe(pairs: list[dict[str, str]], recipe: LesionRecipe) -> list[dict[str, Any]]:
    rows = []
    for index, pair in enumerate(pairs):
        study = Path(pair["image"]).name.removesuffix(".nii.gz")
        label = np.asarray(nib.load(pair["label"]).dataobj)
        rows.append(
            {
                "study": study,
                "site": site_of(study),
                "has_lesions": has_lesions(index, recipe),
                "lesions": lesions_of(label, LESION_SPACING),
                "white_matter_voxels": int((label == LESION_LABELS["white_matter"]).sum()),
            }
        )
    return rows


def preview(pairs: list[dict[str, str]], rows: list[dict[str, Any]], count: int, path: Path) -> None:
    """The first ``count`` studies with lesions, each on the axial slice through its largest lesion: image, and image
    with the labels (white matter, lesion) drawn over it."""
    chosen = [(p, r) for p, r in zip(pairs, rows) if r["lesions"]][:count]
    fig, axes = plt.subplots(2, len(chosen), figsize=(2.6 * len(chosen), 5.6), squeeze=False)
    for column, (pair, row) in enumerate(chosen):
        image = np.asarray(nib.load(pair["image"]).dataobj, dtype=np.float32)
        label = np.asarray(nib.load(pair["label"]).dataobj)
        z = int(np.argmax((label == LESION).sum(axis=(0, 1))))
        for ax, overlay in zip(axes[:, column], (False, True)):
            ax.imshow(np.rot90(image[:, :, z]), cmap="gray")
            if overlay:
                colours = np.zeros((*label.shape[:2], 4))
                colours[label[:, :, z] == LESION_LABELS["white_matter"]] = (0.2, 0.5, 1.0, 0.25)
                colours[label[:, :, z] == LESION] = (1.0, 0.2, 0.1, 0.6)
                ax.imshow(np.rot90(colours))
            ax.set_xticks([]), ax.set_yticks([])
        sizes = ", ".join(f"{lesion['diameter_mm']:.0f}" for lesion in row["lesions"])
        axes[0, column].set_title(f"{row['study']} (site {row['site']})\nlesions {sizes} mm", fontsize=8)
    axes[1, 0].set_ylabel("white matter (blue), lesion (red)", fontsize=8)
    fig.suptitle("The lesion set: T1 at 2.5 mm, each study on its largest lesion's slice", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    parser = benchmark_parser("lesion_set", DESCRIPTION)
    parser.add_argument("--level", type=int, default=0, choices=range(len(LADDER)), help="the ladder's level")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.time()
    name = "mni_lesions" if args.level == 0 else f"mni_lesions_{args.level}"
    pairs = items(prepare(name, plan["num"], args.data))
    rows = describe(pairs, LADDER[args.level])
    args.out.mkdir(parents=True, exist_ok=True)
    preview(pairs, rows, plan["preview"], args.out / "lesion_set.png")
    with_lesions = [r for r in rows if r["lesions"]]
    diameters = [lesion["diameter_mm"] for r in rows for lesion in r["lesions"]]
    summary = {
        "studies": len(rows),
        "with_lesions": len(with_lesions),
        "per_site": {
            site: {
                "studies": sum(r["site"] == site for r in rows),
                "with_lesions": sum(r["site"] == site for r in with_lesions),
            }
            for site in sorted({r["site"] for r in rows})
        },
        "lesions": len(diameters),
        "diameter_mm": {"min": min(diameters), "median": float(np.median(diameters)), "max": max(diameters)},
        "lesion_share_of_foreground": float(
            sum(lesion["voxels"] for r in rows for lesion in r["lesions"])
            / max(
                1,
                sum(r["white_matter_voxels"] for r in rows)
                + sum(lesion["voxels"] for r in rows for lesion in r["lesions"]),
            )
        ),
    }
    write_json(
        args.out / "lesion_set.json",
        {"plan": plan, "seconds": time.time() - started, "summary": summary, "studies": rows},
    )
    print(summary)
    return 0
