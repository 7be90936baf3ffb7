"""Speed of training iterations, inference and scoring on this machine's CPU or GPU, each option against the plain
float32 version measured in the same run.

    python -m benchmarks inference_speed [--device cuda] [--volume 160 160 96] [--width 8] [--compile] [--out F]

Random
weights and a random volume: speed does not depend on what the network has learned. Prints one JSON line per
measurement and a table with each variant's ratio to the plain one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from lib.losses import UncertaintyContrastiveLoss
from lib.networks import DualSubnetSegmenter
from lib.runtime import autocast, autocast_dtype, configure_device
from lib.sliding_window import sliding_window_inferer
from lib.trainers.semi_supervised_iteration import SemiSupervisedIteration
from lib.uncertainty import normalized_entropy

DESCRIPTION = "CPU/GPU speed of training, inference and scoring; options as ratios to plain float32"
NUM_CLASSES = 3


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], Any], device: torch.device, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


class _Engine(types.SimpleNamespace):
    """What ``SemiSupervisedIteration`` uses of ignite's engine."""

    @staticmethod
    def prepare_batch(batch: dict, device: torch.device, non_blocking: bool) -> tuple[torch.Tensor, torch.Tensor]:
        return batch["image"], batch["label"]


def _train_iterations(args: argparse.Namespace, device: torch.device, dtype: torch.dtype | None) -> list[float]:
    """Seconds per iteration of the app's semi-supervised step (forward, all five loss terms, backward, AdamW)."""
    network = DualSubnetSegmenter(1, NUM_CLASSES, width=args.width).to(device)
    patch = tuple(args.patch)
    labeled = {
        "image": torch.rand(args.batch, 1, *patch, device=device),
        "label": torch.randint(0, NUM_CLASSES, (args.batch, 1, *patch), device=device),
    }
    unlabeled = [{"image": torch.rand(args.batch, 1, *patch, device=device)}]
    step = SemiSupervisedIteration(unlabeled, dtype)
    engine = _Engine(
        network=network,
        optimizer=torch.optim.AdamW(network.parameters(), lr=1e-3),
        loss_function=UncertaintyContrastiveLoss(NUM_CLASSES),
        state=types.SimpleNamespace(device=device, iteration=1),
        non_blocking=True,
    )
    return _timed(lambda: step(engine, labeled), device, args.train_repeats, warmup=2)


@contextlib.contextmanager
def _no_grad(mode: str) -> Iterator[None]:
    with torch.inference_mode() if mode == "inference_mode" else torch.no_grad():
        yield


def _inference(
    args: argparse.Namespace,
    device: torch.device,
    dtype: torch.dtype | None = None,
    grad_mode: str = "no_grad",
    channels_last: bool = False,
    compiled: bool = False,
) -> dict[str, Callable[[], Any]]:
    """Sliding-window inference of one volume (the averaged softmax) and its scoring (inference plus the volume's
    mean normalised entropy, read back as one float as the scorer does), set up and warmed up."""
    network = DualSubnetSegmenter(1, NUM_CLASSES, width=args.width).to(device).eval()
    volume = torch.rand(1, 1, *args.volume, device=device)
    if channels_last:
        network = network.to(memory_format=torch.channels_last_3d)
        volume = volume.contiguous(memory_format=torch.channels_last_3d)
    model = torch.compile(network) if compiled else network
    config = types.SimpleNamespace(patch_size=args.patch, sw_batch_size=args.sw_batch_size, sw_overlap=args.overlap)
    inferer = sliding_window_inferer(config)

    def infer() -> torch.Tensor:
        with _no_grad(grad_mode), autocast(dtype, device):
            return inferer(volume, model)

    def score() -> float:
        probs = infer()
        return float(normalized_entropy(probs[0], dim=0).mean())

    _timed(score, device, repeats=0, warmup=2 if compiled else 1)
    return {"inference_s": infer, "scoring_s": score}


def _variants(args: argparse.Namespace, device: torch.device) -> dict[str, dict[str, Any]]:
    """Inference/scoring options worth trying on this device; the first is the plain version."""
    variants: dict[str, dict[str, Any]] = {"plain (float32, no_grad)": {}}
    variants["inference_mode"] = {"grad_mode": "inference_mode"}
    variants["inference_mode + channels_last_3d"] = {"grad_mode": "inference_mode", "channels_last": True}
    if device.type == "cuda":
        for name in ("bfloat16", "float16"):
            dtype = autocast_dtype(name, device)
            variants[f"inference_mode + autocast {name}"] = {"grad_mode": "inference_mode", "dtype": dtype}
        variants["inference_mode + autocast auto + channels_last_3d"] = {
            "grad_mode": "inference_mode",
            "dtype": autocast_dtype("auto", device),
            "channels_last": True,
        }
    if args.compile:
        variants["inference_mode + torch.compile"] = {"grad_mode": "inference_mode", "compiled": True}
    return variants


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks inference_speed", description=DESCRIPTION)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--volume", type=int, nargs=3, default=[128, 128, 80], help="voxels of the scored volume")
    parser.add_argument("--patch", type=int, nargs=3, default=[48, 48, 32], help="training patch = window size")
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch", type=int, default=2, help="labeled and unlabeled patches per iteration (each)")
    parser.add_argument("--sw-batch-size", type=int, default=2)
    parser.add_argument("--overlap", type=float, default=0.25)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--out", type=Path, help="write all results as JSON here")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    configure_device(device, args.threads)
    torch.manual_seed(0)
    header = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "volume": args.volume,
        "patch": args.patch,
        "width": args.width,
        "sw_batch_size": args.sw_batch_size,
        "overlap": args.overlap,
    }
    print(json.dumps(header), flush=True)
    results: dict[str, Any] = {"setup": header, "train": {}, "inference": {}}

    if not args.skip_train:
        precisions = ["none", "bfloat16", "float16"] if device.type == "cuda" else ["none"]
        for name in precisions:
            times = _train_iterations(args, device, autocast_dtype(name, device))
            results["train"][name] = times
            print(json.dumps({"train": name, "iterations_per_s": 1 / _median(times)}), flush=True)

    # Round robin over the variants, so that a change in machine load (a shared CPU) hits all of them alike.
    runs = {name: _inference(args, device, **options) for name, options in _variants(args, device).items()}
    results["inference"] = {name: {kind: [] for kind in fns} for name, fns in runs.items()}
    for _ in range(args.repeats):
        for name, fns in runs.items():
            for kind, fn in fns.items():
                results["inference"][name][kind] += _timed(fn, device, repeats=1, warmup=0)
    for name, times in results["inference"].items():
        print(json.dumps({"variant": name, **{k: _median(v) for k, v in times.items()}}), flush=True)

    plain = next(iter(results["inference"].values()))
    print(f"\n{'variant':<52} {'infer s':>8} {'score s':>8} {'speed-up':>8}")
    for name, times in results["inference"].items():
        infer, score = _median(times["inference_s"]), _median(times["scoring_s"])
        ratio = _median(plain["scoring_s"]) / score
        print(f"{name:<52} {infer:8.3f} {score:8.3f} {ratio:7.2f}x")
    if results["train"]:
        base = _median(next(iter(results["train"].values())))
        for name, times in results["train"].items():
            its = 1 / _median(times)
            print(f"train autocast {name:<37} {its:8.2f} it/s {base * its:7.2f}x")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
