"""Load: several clients send ``/infer`` requests while a training run goes; latencies, failures, and a second
``/train`` that must be refused with 429.

    python -m benchmarks load            # 4 clients x 25 requests
    python -m benchmarks load --quick    # 2 clients x 3 requests (CI)

MONAI Label 0.8.5 runs inference in the event loop (``async`` endpoint, blocking call): concurrent requests are
served one after another, so p95 grows with the number of clients; training runs in its own process.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle
from typing import Any

import numpy as np
import requests
from tqdm import tqdm

from ._trained_server import MODEL, rest, trained_server
from .common import benchmark_parser, write_json

__all__ = ["DESCRIPTION", "main", "infer_under_training"]

DESCRIPTION = "concurrent /infer from several clients during training: p50/p95 latency; a second /train gets 429"


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


def infer_under_training(url: str, images: list[str], clients: int, requests_per_client: int) -> dict[str, Any]:
    """Start a long training run, send ``clients`` x ``requests_per_client`` inferences from as many threads, try a
    second training run meanwhile, then stop the first. Latencies in seconds."""
    rest.wait_until_idle(url, "train")
    response = requests.post(f"{url}/train/{MODEL}", json={"max_epochs": 100_000}, timeout=30)
    response.raise_for_status()
    deadline = time.monotonic() + 60
    while not _training_running(url):
        if time.monotonic() > deadline:
            raise RuntimeError("the training run did not start within 60 s")
        time.sleep(0.2)
    second_train = requests.post(f"{url}/train/{MODEL}", json={"max_epochs": 1}, timeout=30)

    started = time.perf_counter()
    with tqdm(total=clients * requests_per_client, desc="infer during training", unit="req") as bar:

        def client(index: int) -> list[tuple[int, float]]:
            own_order = cycle(images[index:] + images[:index])
            results = []
            for _ in range(requests_per_client):
                results.append(_infer(url, next(own_order)))
                bar.update()
            return results

        with ThreadPoolExecutor(clients) as pool:
            results = [r for rs in pool.map(client, range(clients)) for r in rs]
    wall = time.perf_counter() - started
    running_at_end = _training_running(url)
    requests.delete(f"{url}/train/", timeout=30)
    rest.wait_until_idle(url, "train")

    latencies = [seconds for status, seconds in results if status == 200]
    return {
        "clients": clients,
        "requests_per_client": requests_per_client,
        "requests": len(results),
        "ok": len(latencies),
        "failed": {str(s): sum(1 for st, _ in results if st == s) for s in {st for st, _ in results if st != 200}},
        "p50_s": statistics.median(latencies) if latencies else None,
        "p95_s": float(np.percentile(latencies, 95)) if latencies else None,
        "max_s": max(latencies) if latencies else None,
        "wall_s": wall,
        "throughput_per_s": len(results) / wall,
        "training_running_at_end": running_at_end,
        "second_train_status": second_train.status_code,
        "second_train_detail": second_train.json().get("detail"),
    }


def main(argv: list[str]) -> int:
    parser = benchmark_parser("load", DESCRIPTION)
    parser.add_argument("--clients", type=int, default=None, help="concurrent clients (default 4; --quick 2)")
    parser.add_argument("--requests", type=int, default=None, help="requests per client (default 25; --quick 3)")
    args = parser.parse_args(argv)
    clients = args.clients or (2 if args.quick else 4)
    per_client = args.requests or (3 if args.quick else 25)

    with trained_server(args.out / "run") as server:
        alone = [_infer(server.url, "study_003")[1] for _ in range(5)]
        result = infer_under_training(server.url, [f"study_{i:03d}" for i in range(6)], clients, per_client)
    result["alone_p50_s"] = statistics.median(alone)
    write_json(args.out / "load.json", result)
    print(
        f"{result['ok']}/{result['requests']} /infer OK during training from {clients} clients; "
        f"p50 {result['p50_s']:.3f} s, p95 {result['p95_s']:.3f} s (alone: p50 {result['alone_p50_s']:.3f} s); "
        f"second /train: {result['second_train_status']}"
    )
    print(f"wrote {args.out / 'load.json'}")
    return 0 if result["ok"] == result["requests"] and result["second_train_status"] == 429 else 1
