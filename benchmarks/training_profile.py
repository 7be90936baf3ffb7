"""Where a training iteration's time goes, on real-sized studies, through the app's own train task.

Studies: brain MR of real anatomy (``lib/tools/mni_data.py``) at 2 mm, 96 x 112 x 96 voxels, as the demo generator
writes them (``--kind mni --spacing 2``), 2 labeled and 14 unlabeled; the app resamples them to its 1.5 x 1.5 x 2 mm
(128 x 149 x 96 voxels).

1. **Profile, in process**: the train task's own data loaders (``train_data_loader``, ``unlabeled_data_loader``) and
   its ``SemiSupervisedIteration`` (teacher, students, loss, EMA), driven without ignite, each setting in a child
   process of its own (so that its peak memory is its own): seconds per iteration, timed plainly; then a few
   iterations under PyTorch's profiler, whose ``record_function`` ranges (the iteration's stages and the loss's
   terms) split that time; the one-off cost of filling the cache; per study, the cached pre-processing (load,
   resample, normalise) and per patch the random part (crop, intensity augmentation), each timed alone.
   For the defaults and the paper's network and patch (width 16, 112 x 112 x 80), in the supervised warm-up and in
   the semi-supervised phase, with each ``dataset`` choice: ``Dataset`` (what every client that did not name one got
   before), ``CacheDataset`` (the default, now for every client) and ``CacheDataset`` with a cache too small for
   the pool (studies rotated after each epoch, as a large pool is).
2. **The first model, through the real server**: ``POST /train/uncertainty_contrastive`` with ``{"max_epochs": E,
   "val_split": 0}`` and nothing else, as MONAI Label's client, OHIF and scripts send it; seconds per epoch in the
   warm-up and after it, from ignite's own log lines, the minutes to the published model, and how many times the
   run loaded its studies (the train task's log line).
"""

from __future__ import annotations

import multiprocessing
import re
import resource
import statistics
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import torch
from monai.transforms import Compose
from monai.utils import set_determinism
from monailabel.client import MONAILabelClient
from monailabel.tasks.train.basic_train import Context
from tqdm import tqdm

from lib.config import load_config
from lib.losses import UncertaintyContrastiveLoss
from lib.networks import DualSubnetSegmenter
from lib.tools import rest
from lib.tools.mni_data import generate_mni
from lib.tools.server_process import ServerProcess, copy_app
from lib.trainers import UncertaintyContrastiveTrain
from lib.trainers.mean_teacher import mean_teacher
from lib.trainers.study_cache import machine_memory_bytes

from .common import benchmark_parser, device, write_json
from .training import StepEngine

DESCRIPTION = "where a training iteration's time goes on 2 mm brain MR (profile per stage), and the first model's time"

MODEL = "uncertainty_contrastive"
SETTINGS = {
    "defaults": {},
    "paper": {"width": "16", "patch_size": "[112,112,80]"},
}
# A cache that holds 2 labeled and 4 of the 14 unlabeled studies (~9.2 MB each at 1.5 x 1.5 x 2 mm), so that the
# unlabeled ones rotate: the case of a pool larger than memory.
SMALL_CACHE_BYTES = 60 * 2**20
FULL = dict(
    studies=16,
    labeled=2,
    spacing=2.0,
    shape=None,  # the brain's field of view at 2 mm: 96 x 112 x 96
    runs=[
        # (setting, dataset, phase, untimed, timed, profiled iterations)
        ("defaults", "Dataset", "warm-up", 2, 10, 4),
        ("defaults", "Dataset", "semi-supervised", 2, 10, 4),
        ("defaults", "CacheDataset", "warm-up", 2, 20, 5),
        ("defaults", "CacheDataset", "semi-supervised", 2, 20, 5),
        ("defaults", "CacheDataset (rotating)", "semi-supervised", 2, 20, 5),
        ("paper", "CacheDataset", "semi-supervised", 1, 2, 1),
    ],
    server_epochs=40,
)
QUICK = dict(
    studies=4,
    labeled=2,
    spacing=6.0,
    shape=(32, 32, 32),
    runs=[("quick", "Dataset", "semi-supervised", 1, 2, 1), ("quick", "CacheDataset", "semi-supervised", 1, 2, 1)],
    server_epochs=2,
)
QUICK_CONF = {
    "width": "4",
    "patch_size": "[32,32,16]",
    "labeled_batch_size": "1",
    "unlabeled_batch_size": "1",
    "iterations_per_epoch": "2",
}
SETTINGS["quick"] = QUICK_CONF
# The stages of SemiSupervisedIteration and the loss's terms, as their record_function ranges name them.
STAGES = (
    "labeled batch",
    "unlabeled batch",
    "strong view",
    "teacher forward",
    "students forward",
    "loss",
    "backward",
    "optimizer step",
    "EMA update",
)
LOSS_TERMS = (
    "loss: supervised",
    "loss: targeted verification",
    "loss: uncertainty",
    "loss: uncertainty-weighted labeled",
    "loss: reliability and pseudo-labels",
    "loss: unlabeled",
    "loss: prototype contrast",
    "loss: patch contrast",
)


def _context(task: UncertaintyContrastiveTrain, pairs: list[dict], unlabeled: list[dict], dataset: str) -> Context:
    context = Context()
    context.request = {"unlabeled_datalist": unlabeled, "dataset": dataset}
    context.dataset_type = dataset
    context.train_datalist, context.val_datalist = pairs, []
    context.train_batch_size = task.app_config.labeled_batch_size
    context.multi_gpu, context.local_rank, context.world_size = False, 0, 1
    context.device = device()
    return context


def _seconds(function: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _transform_costs(task: UncertaintyContrastiveTrain, context: Context, pair: dict) -> dict[str, float]:
    """Seconds of the cached (deterministic) part of the labeled pipeline for one study, and of the random part
    (crop, intensity augmentation) for one patch drawn from its cached result."""
    transforms = task.train_pre_transforms(context)
    first_random = next(i for i, t in enumerate(transforms) if hasattr(t, "set_random_state"))
    cached, random = Compose(transforms[:first_random]), Compose(transforms[first_random:])
    item = cached(dict(pair))
    return {
        "preprocess_per_study_s": _seconds(lambda: cached(dict(pair)), 3),
        "crop_and_augment_per_patch_s": _seconds(lambda: random(dict(item)), 10),
    }


def _profile_child(
    pairs: list[dict], unlabeled: list[dict], run: tuple, conf: dict[str, str], queue: multiprocessing.Queue
) -> None:
    setting, dataset, phase, untimed, timed, profiled = run
    set_determinism(0)
    warmup = "0.99" if phase == "warm-up" else "0.0"
    config = load_config({**conf, "warmup_fraction": warmup, "rampup_fraction": "0.01"})
    if dataset.endswith("(rotating)"):
        config = config.model_copy(update={"cache_fraction": SMALL_CACHE_BYTES / machine_memory_bytes()})
    with tempfile.TemporaryDirectory() as model_dir:
        task = UncertaintyContrastiveTrain(
            model_dir=model_dir, network=DualSubnetSegmenter.from_config(config).to(device()), config=config
        )
        context = _context(task, pairs, unlabeled, dataset.split()[0])
        network = task.network(context)  # as the train task prepares it for the device
        iterations = untimed + timed + profiled
        context.max_epochs = max(1, -(-iterations // config.iterations_per_epoch))
        context.teacher = mean_teacher(network, config.ema_decay)
        start = time.perf_counter()
        labeled_loader = task.train_data_loader(context)
        step = task.train_iteration_update(context)  # builds the unlabeled loader (and its cache)
        fill_seconds = time.perf_counter() - start
        smart = [d for d in (context.train_dataset, context.unlabeled_dataset) if hasattr(d, "update_cache")]
        for d in smart:
            d.start()
        engine = StepEngine(
            network=network,
            optimizer=torch.optim.AdamW(network.parameters(), lr=config.learning_rate),
            loss_function=UncertaintyContrastiveLoss.from_config(config),
            state=types.SimpleNamespace(device=device(), iteration=0),
            non_blocking=False,
        )
        batches = _cycle(labeled_loader, smart)

        def iteration() -> None:
            with torch.profiler.record_function("labeled batch"):
                batch = next(batches)
            engine.state.iteration += 1
            step(engine, batch)

        for _ in range(untimed):
            iteration()
        start = time.perf_counter()
        for _ in range(timed):
            iteration()
        seconds = (time.perf_counter() - start) / timed
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
            for _ in range(profiled):
                iteration()
        for d in smart:
            d.shutdown()
        ranges = {
            e.key: e.cpu_time_total / 1e6 / profiled for e in profiler.key_averages() if e.key in STAGES + LOSS_TERMS
        }
        queue.put(
            {
                "setting": setting,
                "dataset": dataset,
                "phase": phase,
                "patch_size": list(config.patch_size),
                "width": config.width,
                "batch": [config.labeled_batch_size, config.unlabeled_batch_size],
                "cache_plan": None if context.dataset_type == "Dataset" else vars(context.cache_plan),
                "cache_fill_seconds": fill_seconds,
                "iterations_timed": timed,
                "seconds_per_iteration": seconds,
                "profiled_seconds_per_iteration": {k: ranges.get(k, 0.0) for k in STAGES + LOSS_TERMS},
                "transforms": _transform_costs(task, context, pairs[0]),
                "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            }
        )


def _cycle(loader: Any, smart: list) -> Any:
    """The labeled loader's batches without end, a new epoch (and a rotation of a rotating cache) after each pass,
    as ignite runs it."""
    while True:
        yield from loader
        for d in smart:
            d.update_cache()


def profile(pairs: list[dict], unlabeled: list[dict], run: tuple) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_profile_child, args=(pairs, unlabeled, run, SETTINGS[run[0]], queue))
    child.start()
    result = queue.get()
    child.join()
    return result


EPOCH_LINE = re.compile(r"Epoch\[(\d+)\] Complete\. Time taken: (\d+):(\d+):([\d.]+)")
LOADS_LINE = re.compile(r"Study loads in this run: (\d+) for (\d+) studies \(dataset (\w+)\)")


def first_model(studies: Path, root: Path, epochs: int, conf: dict[str, str]) -> dict[str, Any]:
    """A training request as every client sends it (no ``dataset``), timed from the server's own log."""
    app_dir = copy_app(root / "app")
    log = root / "server.log"
    server = ServerProcess(app_dir, studies, conf, log=log).start()
    try:
        rest.wait_until_idle(server.url, "scoring")
        client = MONAILabelClient(server.url, tmpdir=str(root))
        start = time.perf_counter()
        rest.train(client, MODEL, {"max_epochs": epochs, "val_split": 0}, timeout=4 * 3600)
        wall = time.perf_counter() - start
    finally:
        server.stop()
    text = log.read_text(errors="replace")
    epoch_seconds = [int(h) * 3600 + int(m) * 60 + float(s) for _, h, m, s in EPOCH_LINE.findall(text)]
    config = load_config(conf)
    warm = round(config.warmup_fraction * epochs)
    loads = LOADS_LINE.findall(text)
    return {
        "request": {"max_epochs": epochs, "val_split": 0},
        "iterations_per_epoch": config.iterations_per_epoch,
        "epoch_seconds": epoch_seconds,
        "warmup_seconds_per_iteration": statistics.median(epoch_seconds[:warm] or [float("nan")])
        / config.iterations_per_epoch,
        "semi_supervised_seconds_per_iteration": statistics.median(epoch_seconds[warm:] or [float("nan")])
        / config.iterations_per_epoch,
        "request_to_model_minutes": wall / 60,
        "study_loads": [{"loads": int(n), "studies": int(k), "dataset": d} for n, k, d in loads],
    }


def main(argv: list[str]) -> int:
    parser = benchmark_parser("training_profile", DESCRIPTION)
    parser.add_argument("--skip-server", action="store_true", help="only the in-process profile")
    parser.add_argument("--skip-profile", action="store_true", help="only the first model through the server")
    parser.add_argument("--epochs", type=int, help="epochs of the server's training run (default 40)")
    parser.add_argument("--only", nargs="*", help="profile only these settings (defaults, paper)")
    parser.add_argument("--datasets", nargs="*", help="profile only these dataset choices, e.g. CacheDataset")
    args = parser.parse_args(argv)
    plan = dict(QUICK if args.quick else FULL)
    if args.epochs:
        plan["server_epochs"] = args.epochs
    runs = [
        r for r in plan["runs"] if (not args.only or r[0] in args.only) and (not args.datasets or r[1] in args.datasets)
    ]
    runs = [] if args.skip_profile else runs
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        studies = root / "studies"
        ids = generate_mni(studies, plan["studies"], plan["labeled"], 0, plan["spacing"], plan["shape"])
        truth = studies.parent / f"{studies.name}_groundtruth"
        pairs = [{"image": str(studies / f"{i}.nii.gz"), "label": str(truth / f"{i}.nii.gz")} for i in ids]
        labeled, unlabeled = pairs[: plan["labeled"]], [{"image": p["image"]} for p in pairs[plan["labeled"] :]]
        results = []
        for run in tqdm(runs, desc="profile", unit="setting"):
            results.append(profile(labeled, unlabeled, run))
            print_run(results[-1])
        server = None
        if not args.skip_server:
            conf = QUICK_CONF if args.quick else {}
            server = first_model(studies, root, plan["server_epochs"], conf)
            print_server(server)
    result = {"plan": plan, "seconds": time.time() - started, "profile": results, "first_model": server}
    write_json(args.out / "training_profile.json", result)
    return 0


def print_run(r: dict[str, Any]) -> None:
    head = (
        f"{r['setting']} (width {r['width']}, patch {r['patch_size']}), {r['dataset']}, {r['phase']}: "
        f"{r['seconds_per_iteration']:.3f} s/iteration, peak RSS {r['peak_rss_gib']:.2f} GiB, "
        f"cache filled in {r['cache_fill_seconds']:.1f} s"
    )
    print(head)
    stages = r["profiled_seconds_per_iteration"]
    total = sum(stages[k] for k in STAGES)
    for name in STAGES + LOSS_TERMS:
        if stages[name]:
            share = f"{100 * stages[name] / total:5.1f} %" if name in STAGES else "       "
            print(f"  {name:<38} {stages[name]:.3f} s {share}")
    t = r["transforms"]
    print(
        f"  pre-processing a study {t['preprocess_per_study_s']:.3f} s; crop + augmentation of a patch "
        f"{t['crop_and_augment_per_patch_s']:.4f} s"
    )


def print_server(s: dict[str, Any]) -> None:
    print(
        f"first model through the server ({s['request']}): warm-up {s['warmup_seconds_per_iteration']:.2f} s/it, "
        f"semi-supervised {s['semi_supervised_seconds_per_iteration']:.2f} s/it, "
        f"{s['request_to_model_minutes']:.1f} min from request to model; study loads {s['study_loads']}"
    )


if __name__ == "__main__":
    raise SystemExit(main(None))
