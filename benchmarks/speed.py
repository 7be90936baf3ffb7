"""Speed and memory on this machine, each measured the way users meet it.

1. **Scoring, per volume**: the app's ``mean_uncertainty`` against MONAI Label's own ``epistemic`` (Monte-Carlo
   dropout, its default number of samples), both run as the server's scoring subprocess runs them (the app's own
   task objects on a local datastore), on the same volumes with the same network (dropout on, so both apply).
2. **``/infer`` end to end** through the real server at the app's default settings: the client's wall time from
   request to result file, and MONAI Label's own split of it (pre / infer / invert / post / write), for the default
   output (``.nii.gz``) and for the one OHIF asks for (uncompressed ``.nrrd``, ``uint8``); the median of 5 calls after
   one untimed, once the start-up scoring is over.
3. **Training**: seconds per iteration and peak resident memory at the default patch and batch sizes, in a child
   process so that the memory is the training's own.

Weights are random: none of these timings depends on what the network has learned.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from monailabel.client import MONAILabelClient
from monailabel.config import settings
from tqdm import tqdm

from lib.config import load_config
from lib.networks import DualSubnetSegmenter
from lib.tools import demo_data
from lib.tools.mni_data import generate_mni
from lib.tools.server_process import ServerProcess, copy_app
from lib.tools.weights import save_state_dict
from main import UncertaintyContrastiveApp

from .common import benchmark_parser, device, items, prepare, write_json
from .training import RECIPES, draw_streams, train_recipe

DESCRIPTION = "scoring time (mean_uncertainty vs epistemic), /infer latency split, training s/it and peak RSS"

MODEL = "uncertainty_contrastive"
# About 1.6 M voxels per study; a whole abdominal CT at the app's 1.5 x 1.5 x 2 mm is several times larger.
# Training is timed at the app's defaults (width, patch, batch sizes); the quick form only checks the path works.
# The brain MR of the issues' reports: 96 x 112 x 96 voxels at 2 mm, which the app resamples to its 1.5 x 1.5 x 2 mm
# (128 x 149 x 96, 1.8 M voxels): /infer and scoring are measured on it too.
FULL = dict(
    shape=(128, 128, 96),
    volumes=3,
    infer_repeats=5,
    train_iterations=5,
    train_conf={},
    mr_shape=(96, 112, 96),
    mr_spacing=2.0,
)
QUICK = dict(
    shape=(48, 48, 32), volumes=2, infer_repeats=2, train_iterations=2, train_conf={"width": 4, "patch_size": [32] * 3},
    mr_shape=(32, 32, 32), mr_spacing=2.0,
)  # fmt: skip
# The app's defaults (network width, patch, batch sizes) with dropout on, so that MONAI Label's epistemic scoring
# applies to the same network.
CONF = {"dropout": "0.2"}
# ``/infer`` as a user meets it: the app's default settings (no dropout layers), the same weights.
INFER_CONF: dict[str, str] = {}
OHIF_OUTPUT = {"result_extension": ".nrrd", "result_dtype": "uint8", "result_compress": False}


def _mr_studies(out: Path, shape: tuple[int, int, int], spacing: float, num: int) -> list[str]:
    """Brain MR studies of real anatomy (the MNI template, ``lib/tools/mni_data.py``) of ``shape`` at ``spacing``."""
    return generate_mni(out, num, 0, 0, spacing, shape)


def _app_with_model(root: Path, studies: Path) -> Path:
    """A copy of the app whose published model is a randomly initialised network of the configured shape."""
    app_dir = copy_app(root / "app")
    config = load_config(CONF)
    network = DualSubnetSegmenter.from_config(config)
    save_state_dict(network, app_dir / "model" / f"{MODEL}.pt")
    return app_dir


def measure_scoring(app_dir: Path, studies: Path) -> dict[str, Any]:
    """Both scorers over the same unlabeled studies, in this process, as MONAI Label's scoring subprocess runs them:
    without the datastore's file watcher, whose thread would otherwise outlive the study folder."""
    settings.MONAI_LABEL_DATASTORE_AUTO_RELOAD = False
    app = UncertaintyContrastiveApp(str(app_dir), str(studies), {key: str(v) for key, v in CONF.items()})
    datastore = app.datastore()
    volumes = len(datastore.get_unlabeled_images())
    result = {"volumes": volumes}
    for name in ("mean_uncertainty", "epistemic"):
        method = app._scoring_methods[name]
        start = time.perf_counter()
        method({}, datastore)
        seconds = time.perf_counter() - start
        result[name] = {"seconds_per_volume": seconds / volumes}
    epistemic = app._scoring_methods["epistemic"]
    result["epistemic"]["samples"] = epistemic.simulation_size
    result["ratio_epistemic_to_mean_uncertainty"] = (
        result["epistemic"]["seconds_per_volume"] / result["mean_uncertainty"]["seconds_per_volume"]
    )
    return result


def measure_infer(app_dir: Path, studies: Path, image_id: str, repeats: int, log: Path) -> dict[str, Any]:
    """``/infer`` on one study, ``repeats`` times per output kind after one warm-up call; medians."""
    # Timed on an idle server: without MONAI Label's scoring of every study at start (both scorers here), which a
    # user's server runs once and which the timings would otherwise only wait for.
    no_scoring = {"MONAI_LABEL_AUTO_UPDATE_SCORING": "false"}
    server = ServerProcess(app_dir, studies, INFER_CONF, log=log, env=no_scoring).start()
    try:
        client = MONAILabelClient(server.url, tmpdir=tempfile.mkdtemp())
        result = {}
        for kind, params in (("nifti_gz", {}), ("ohif_nrrd", OHIF_OUTPUT)):
            walls, splits = [], []
            for attempt in range(repeats + 1):
                start = time.perf_counter()
                _, answer = client.infer(MODEL, image_id, params)
                wall = time.perf_counter() - start
                if attempt:
                    walls.append(wall)
                    splits.append(answer["latencies"])
            stages = [k for k, v in splits[0].items() if isinstance(v, (int, float))]
            result[kind] = {
                "wall_seconds": statistics.median(walls),
                "server_seconds": {k: statistics.median(float(s[k]) for s in splits) for k in stages},
            }
        return result
    finally:
        server.stop()


class _IterationClock:
    """Stands in for a tqdm bar in ``train_recipe``: one timestamp per finished iteration."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def update(self, _: int) -> None:
        self.stamps.append(time.perf_counter())


def _training_probe(
    pairs: list[dict[str, str]], conf: dict[str, Any], iterations: int, queue: multiprocessing.Queue
) -> None:
    config = load_config(conf)
    labeled, unlabeled = pairs[: len(pairs) // 2], [{"image": p["image"]} for p in pairs[len(pairs) // 2 :]]
    clock = _IterationClock()
    # Without a warm-up, so that every timed iteration is a semi-supervised one.
    config = config.model_copy(update={"warmup_fraction": 0.0})
    streams = draw_streams(config, labeled, unlabeled, iterations + 1, 0)
    train_recipe(RECIPES["default"], config, streams, iterations + 1, 0, device(), progress=clock)
    queue.put(
        {
            "patch_size": list(config.patch_size),
            "width": config.width,
            "batch": [config.labeled_batch_size, config.unlabeled_batch_size],
            "iterations_timed": iterations,
            # The first iteration is left out: it pays for lazy initialisation and allocator warm-up.
            "seconds_per_iteration": (clock.stamps[-1] - clock.stamps[0]) / iterations,
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        }
    )


def measure_training(pairs: list[dict[str, str]], conf: dict[str, Any], iterations: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_training_probe, args=(pairs, conf, iterations, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main(argv: list[str]) -> int:
    parser = benchmark_parser("speed", DESCRIPTION)
    args = parser.parse_args(argv)
    plan = dict(QUICK if args.quick else FULL)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp, tqdm(total=4, desc="speed", unit="part") as bar:
        root = Path(tmp)
        studies = root / "studies"
        ids = demo_data.generate(studies, num=plan["volumes"], labeled=0, seed=0, shape=plan["shape"])
        app_dir = _app_with_model(root, studies)
        bar.set_postfix_str("scoring")
        scoring = measure_scoring(app_dir, studies)
        bar.update()
        bar.set_postfix_str("/infer")
        infer = measure_infer(app_dir, studies, ids[0], plan["infer_repeats"], root / "server.log")
        bar.update()
        bar.set_postfix_str("brain MR: scoring, /infer")
        mr = root / "mr"
        mr_ids = _mr_studies(mr, plan["mr_shape"], plan["mr_spacing"], plan["volumes"])
        mr_result = {
            "scoring": measure_scoring(app_dir, mr),
            "infer": measure_infer(app_dir, mr, mr_ids[0], plan["infer_repeats"], root / "server_mr.log"),
        }
        bar.update()
        bar.set_postfix_str("training")
        training = measure_training(
            items(prepare("synthetic", 8, args.data)), plan["train_conf"], plan["train_iterations"]
        )
        bar.update()
    result = {"plan": plan, "conf": CONF, "infer_conf": INFER_CONF, "seconds": time.time() - started}
    result.update(scoring=scoring, infer=infer)
    result["training"] = training
    result["brain_mr"] = mr_result
    write_json(args.out / "speed.json", result)
    print_report(result)
    return 0


def print_report(result: dict[str, Any]) -> None:
    plan, t = result["plan"], result["training"]
    brain_mr = f"{plan['mr_shape']} at {plan['mr_spacing']} mm"
    for what, part in ((f"{plan['shape']}", result), (brain_mr, result["brain_mr"])):
        s = part["scoring"]
        print(f"scoring, {s['volumes']} volumes of {what}, s/volume:")
        print(f"  mean_uncertainty {s['mean_uncertainty']['seconds_per_volume']:.2f}")
        print(f"  epistemic ({s['epistemic']['samples']} samples) {s['epistemic']['seconds_per_volume']:.2f}")
        print(f"  ratio {s['ratio_epistemic_to_mean_uncertainty']:.1f}x")
        for kind, r in part["infer"].items():
            split = " ".join(f"{k} {v:.2f}" for k, v in r["server_seconds"].items())
            print(f"/infer {kind}: wall {r['wall_seconds']:.2f} s; server: {split}")
    print(
        f"training at patch {t['patch_size']}, width {t['width']}, batch {t['batch']}: "
        f"{t['seconds_per_iteration']:.2f} s/iteration, peak RSS {t['peak_rss_gib']:.2f} GiB"
    )


if __name__ == "__main__":
    raise SystemExit(main(None))
