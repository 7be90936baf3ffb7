"""A labeling team on one real server: concurrent annotators get different studies, k at a time; a submitted label
ends a lease; leases survive a restart."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from lib.tools import demo_data
from lib.tools.server_process import TINY_CONF, ServerProcess, copy_app

NUM_STUDIES = 10


@pytest.fixture(scope="module")
def team_server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("team")
    demo_data.generate(root / "data", num=NUM_STUDIES, labeled=0, seed=21, shape=(16, 16, 16))
    process = ServerProcess(copy_app(root / "app"), root / "data", TINY_CONF, log=root / "server.log")
    try:
        process.start()
    except RuntimeError as error:
        pytest.fail(str(error))
    try:
        yield process
    finally:
        process.stop()


def _next(url: str, strategy: str = "random", **options) -> requests.Response:
    return requests.post(f"{url}/activelearning/{strategy}", json=options, timeout=60)


def _infos(url: str) -> dict[str, dict]:
    objects = requests.get(f"{url}/datastore/", params={"output": "all"}, timeout=30).json()["objects"]
    return {image_id: obj["image"]["info"] for image_id, obj in objects.items()}


def test_a_labeling_team_over_rest(team_server: ServerProcess, tmp_path: Path) -> None:
    url = team_server.url
    # Eight annotators press Next Sample at once: eight different studies, each leased to its annotator.
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda c: _next(url, client_id=f"annotator-{c}"), range(8)))
    assert [r.status_code for r in responses] == [200] * 8
    handed = {f"annotator-{c}": r.json()["id"] for c, r in enumerate(responses)}
    assert len(set(handed.values())) == 8
    infos = _infos(url)
    assert all(infos[image_id]["lease_client_id"] == client for client, image_id in handed.items())

    # Asking again returns the held study; the uncertainty strategy (no model yet: random) leases the same way.
    assert _next(url, client_id="annotator-3").json()["id"] == handed["annotator-3"]
    assert _next(url, "uncertainty", client_id="annotator-5").json()["id"] == handed["annotator-5"]

    # A batch of k: the two studies nobody holds; then nothing is free.
    batch = _next(url, client_id="lead", k=2).json()
    assert {entry["id"] for entry in batch["batch"]} == set(infos) - set(handed.values())
    busy = _next(url, client_id="late")
    assert busy.status_code == 409 and "leased to other annotators" in busy.json()["detail"]
    for options, message in [({"k": 0}, "'k' must be an integer >= 1"), ({"k": 11}, "more than the 10 unlabeled")]:
        refused = _next(url, client_id="late", **options)
        assert refused.status_code == 422 and message in refused.json()["detail"]

    # annotator-0 submits its label: the lease ends, and the submission is recorded in the study's info.
    image_id = handed["annotator-0"]
    with open(team_server.studies.parent / "data_groundtruth" / f"{image_id}.nii.gz", "rb") as label:
        saved = requests.put(
            f"{url}/datastore/label",
            params={"image": image_id, "tag": "final"},
            data={"params": '{"client_id": "annotator-0"}'},
            files={"label": (f"{image_id}.nii.gz", label)},
            timeout=60,
        )
    assert saved.status_code == 200, saved.text
    info = _infos(url)[image_id]
    assert info["lease_client_id"] is None
    assert info["submitted_by"] == info["handed_out_to"] == "annotator-0"
    assert 0 <= info["seconds_from_handout"] < 600

    # The rounds endpoint, listed in /info/: no training run yet, so one open round with that one label.
    assert "/activelearning/rounds/" in requests.get(f"{url}/info/", timeout=30).json()["endpoints"]
    rounds = requests.get(f"{url}/activelearning/rounds/", timeout=30).json()
    assert [(r["round"], r["trained"], r["submitted"], r["labeled"]) for r in rounds["rounds"]] == [(1, False, 1, 1)]
    assert rounds["stop_signal"]["met"] is False

    # Leases live in the datastore: after a restart, annotator-7 still gets its study and nobody else does.
    team_server.stop()
    team_server.start()
    assert _next(url, client_id="annotator-7").json()["id"] == handed["annotator-7"]
    assert _next(url, client_id="late").status_code == 409
