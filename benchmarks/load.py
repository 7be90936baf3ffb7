"""Load: several annotators send ``/infer`` while a training run goes; latencies against the idle server, how much
the training run slows down, failures, and a second ``/train`` that must be refused with 429.

    python -m benchmarks load            # 4 clients x 10 requests, 64x64x48 studies, app defaults
    python -m benchmarks load --quick    # 2 clients x 3 requests, 32x32x24 studies, tiny networks (CI)

Run twice, on fresh servers: with the training subprocess at the server's own priority (``task_niceness 0``, what
MONAI Label does) and at the app's default ``task_niceness``. MONAI Label 0.8.5 runs inference in the event loop
(``async`` endpoint, blocking call): concurrent requests are served one after another, so p95 grows with the number
of clients even on an idle machine.
"""

from __future__ import annotations

import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle
from typing import Any

import numpy as np
import requests
from tqdm import tqdm

from lib.config import load_config
from lib.tools.server_process import TINY_CONF, ServerProcess

from ._trained_server import MODEL, rest, trained_server
from .common import benchmark_parser, write_json

__all__ = ["DESCRIPTION", "main", "infer_under_training"]

DESCRIPTION = "concurrent /infer during training, by task niceness: p50/p95 vs idle, training slowdown, 429"

# Ignite logs each finished training epoch; MONAI Label copies the task's output into the server log.
EPOCH_LINE = re.compile(r"SupervisedTrainer:\d+\) - Epoch\[\d+\] Complete")
IDLE_REQUESTS = 5


def _infer(url: str, image: str) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        status = requests.post(
            f"{url}/infer/{MODEL}", params={"image": image, "output": "json"}, timeout=300
        ).status_code
    except requests.RequestException:
        status = 0
    return status, time.perf_counter() - started


def _training_running(url: str) -> bool:
    return requests.get(f"{url}/train/", params={"check_if_running": "true"}, timeout=30).status_code == 200


def _iterations(server: ServerProcess) -> int:
    """Training iterations done so far, counted by epochs (the benchmark's epochs are short)."""
    epochs = len(EPOCH_LINE.findall(server.log.read_text(errors="replace")))
    return epochs * load_config(server.conf).iterations_per_epoch


def _iterations_per_second(server: ServerProcess, seconds: float) -> float:
    before, started = _iterations(server), time.perf_counter()
    time.sleep(seconds)
    return (_iterations(server) - before) / (time.perf_counter() - started)


def client_load(
    url: str, images: list[str], clients: int, requests_per_client: int, desc: str, think: float = 0.0
) -> tuple[list[tuple[int, float]], float]:
    """``clients`` threads, each sending ``requests_per_client`` inferences, ``think`` seconds apart (0: back to
    back, the worst case of a team; an annotator looks at each result for a while); (status, seconds) per request
    and the wall time."""
    started = time.perf_counter()
    with tqdm(total=clients * requests_per_client, desc=desc, unit="req") as bar:

        def client(index: int) -> list[tuple[int, float]]:
            own_order = cycle(images[index:] + images[:index])
            results = []
            for request in range(requests_per_client):
                if request:
                    time.sleep(think)
                results.append(_infer(url, next(own_order)))
                bar.update()
            return results

        with ThreadPoolExecutor(clients) as pool:
            results = [r for rs in pool.map(client, range(clients)) for r in rs]
    return results, time.perf_counter() - started


def latency_summary(results: list[tuple[int, float]], wall: float) -> dict[str, Any]:
    latencies = [seconds for status, seconds in results if status == 200]
    return {
        "requests": len(results),
        "ok": len(latencies),
        "failed": {str(s): sum(1 for st, _ in results if st == s) for s in {st for st, _ in results if st != 200}},
        "p50_s": statistics.median(latencies) if latencies else None,
        "p95_s": float(np.percentile(latencies, 95)) if latencies else None,
        "max_s": max(latencies) if latencies else None,
        "wall_s": wall,
        "throughput_per_s": len(results) / wall,
    }


def infer_under_training(
    server: ServerProcess,
    images: list[str],
    clients: int,
    requests_per_client: int,
    alone_seconds: float,
    think: float = 0.0,
) -> dict[str, Any]:
    """Start a long training run, time it alone for ``alone_seconds``, then send ``clients`` x ``requests_per_client``
    inferences from as many threads, try a second training run meanwhile, then stop the first. Seconds."""
    url = server.url
    rest.wait_until_idle(url, "train")
    response = requests.post(f"{url}/train/{MODEL}", json={"max_epochs": 100_000}, timeout=30)
    response.raise_for_status()
    deadline = time.monotonic() + 120
    start_count = _iterations(server)
    while not _training_running(url) or _iterations(server) <= start_count:  # past start-up and data loading
        if time.monotonic() > deadline:
            raise RuntimeError("the training run did not start iterating within 120 s")
        time.sleep(0.2)
    alone_rate = _iterations_per_second(server, alone_seconds)
    second_train = requests.post(f"{url}/train/{MODEL}", json={"max_epochs": 1}, timeout=30)

    count_before = _iterations(server)
    results, wall = client_load(url, images, clients, requests_per_client, "infer during training", think)
    loaded_rate = (_iterations(server) - count_before) / wall
    running_at_end = _training_running(url)
    requests.delete(f"{url}/train/", timeout=30)
    rest.wait_until_idle(url, "train")

    return {
        **latency_summary(results, wall),
        "clients": clients,
        "requests_per_client": requests_per_client,
        "think_seconds": think,
        "training_iterations_per_s_alone": alone_rate,
        "training_iterations_per_s_under_load": loaded_rate,
        "training_slowdown": alone_rate / loaded_rate if loaded_rate else None,
        "training_running_at_end": running_at_end,
        "second_train_status": second_train.status_code,
        "second_train_detail": second_train.json().get("detail"),
    }


def main(argv: list[str]) -> int:
    parser = benchmark_parser("load", DESCRIPTION)
    parser.add_argument("--clients", type=int, default=None, help="concurrent clients (default 4; --quick 2)")
    parser.add_argument("--requests", type=int, default=None, help="requests per client (default 10; --quick 3)")
    parser.add_argument("--think", type=float, default=0.0, help="seconds each client waits between requests")
    args = parser.parse_args(argv)
    clients = args.clients or (2 if args.quick else 4)
    per_client = args.requests or (3 if args.quick else 10)
    # The full form: the app's default networks and patches (what a user runs) on studies of the size the issue was
    # measured on; the quick form: tiny ones, seconds.
    # Training progress is counted in epochs: two iterations each, and no validation, so that they are short.
    short_epochs = {"iterations_per_epoch": "2", "val_interval": "100000"}
    conf, shape, alone_seconds = (
        ({**TINY_CONF, **short_epochs}, (32, 32, 24), 5.0) if args.quick else (short_epochs, (64, 64, 48), 30.0)
    )
    default_niceness = load_config().task_niceness

    runs = {}
    for niceness in (0, default_niceness):
        # Without MONAI Label's automatic scoring runs (after each training run): they would fall at random into the
        # idle measurements. What is measured is /infer against a training run.
        no_scoring = {"MONAI_LABEL_AUTO_UPDATE_SCORING": "false"}
        run_conf = {**conf, "task_niceness": str(niceness)}
        with trained_server(args.out / f"nice{niceness}", run_conf, shape, no_scoring) as server:
            images = [f"study_{i:03d}" for i in range(6)]
            idle = [_infer(server.url, images[i % 6])[1] for i in range(IDLE_REQUESTS)]
            # The same clients without training: with inference served one request at a time (above), a client's
            # wait grows with the number of clients even on an idle machine; this is what training adds to.
            idle_load = latency_summary(
                *client_load(server.url, images, clients, per_client, "infer, no training", args.think)
            )
            run = infer_under_training(server, images, clients, per_client, alone_seconds, args.think)
        run["idle_p50_s"] = statistics.median(idle)
        run["idle_same_clients"] = idle_load
        run["p95_over_idle_p50"] = run["p95_s"] / run["idle_p50_s"] if run["p95_s"] else None
        run["p95_over_idle_same_clients_p50"] = run["p95_s"] / idle_load["p50_s"] if run["p95_s"] else None
        runs[str(niceness)] = run
        idle_one, idle_p50, idle_p95 = run["idle_p50_s"], idle_load["p50_s"], idle_load["p95_s"]
        print(
            f"task_niceness {niceness}: {run['ok']}/{run['requests']} /infer OK during training from {clients} "
            f"clients; p50 {run['p50_s']:.2f} s, p95 {run['p95_s']:.2f} s (idle: one client p50 {idle_one:.2f} s, "
            f"{clients} clients p50 {idle_p50:.2f} s p95 {idle_p95:.2f} s; p95 / {clients}-client idle p50 "
            f"{run['p95_over_idle_same_clients_p50']:.1f}x); training {run['training_iterations_per_s_alone']:.2f} "
            f"-> {run['training_iterations_per_s_under_load']:.2f} it/s; second /train: {run['second_train_status']}"
        )
    write_json(args.out / "load.json", {"shape": shape, "conf": conf, "think_seconds": args.think, "runs": runs})
    print(f"wrote {args.out / 'load.json'}")
    ok = all(r["ok"] == r["requests"] and r["second_train_status"] == 429 for r in runs.values())
    return 0 if ok else 1
