"""Leases on a real local datastore: a labeling team gets a different study each, k at a time, and a submitted label
ends the lease."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from monailabel.datastore.local import LocalDatastore

from lib.activelearning import LeaseBook, MostUncertain, RandomFree
from lib.activelearning.leases import LEASE_CLIENT_KEY
from lib.activelearning.submissions import record_submission
from lib.infers import EMBEDDING_KEY
from lib.tools import demo_data
from lib.validation.errors import InvalidInputError

LEASE = 1800.0


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture()
def datastore(tmp_path: Path) -> LocalDatastore:
    demo_data.generate(tmp_path / "data", num=10, labeled=0, seed=5, shape=(8, 8, 8))
    return LocalDatastore(str(tmp_path / "data"), auto_reload=False)


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def book(clock: Clock) -> LeaseBook:
    book = LeaseBook(LEASE)
    book.now = clock
    return book


def _ids(result: dict) -> list[str]:
    return [entry["id"] for entry in result["batch"]]


def test_eight_concurrent_clients_get_eight_different_studies(datastore, book) -> None:
    strategy = RandomFree(book)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda c: strategy({"client_id": f"annotator-{c}"}, datastore), range(8)))
    handed = [r["id"] for r in results]
    assert len(set(handed)) == 8
    for client, image_id in enumerate(handed):
        assert datastore.get_image_info(image_id)[LEASE_CLIENT_KEY] == f"annotator-{client}"


def test_the_same_client_asking_again_gets_its_held_study_back_with_the_lease_renewed(datastore, book, clock) -> None:
    strategy = RandomFree(book)
    first = strategy({"client_id": "a"}, datastore)
    clock.t += LEASE - 1
    again = strategy({"client_id": "a"}, datastore)
    assert again["id"] == first["id"] and again["batch"][0]["held"] is True
    clock.t += LEASE - 1  # past the first lease's end, within the renewed one
    assert strategy({"client_id": "a"}, datastore)["id"] == first["id"]


def test_skip_releases_the_held_study_and_hands_out_another(datastore, book) -> None:
    strategy = RandomFree(book)
    first = strategy({"client_id": "a"}, datastore)["id"]
    second = strategy({"client_id": "a", "skip": True}, datastore)["id"]
    assert second != first
    assert datastore.get_image_info(first)[LEASE_CLIENT_KEY] is None


def test_an_expired_lease_lets_the_study_go_to_another_client(datastore, book, clock) -> None:
    strategy = RandomFree(book)
    handed = set(_ids(strategy({"client_id": "a", "k": 10}, datastore)))
    assert len(handed) == 10
    with pytest.raises(InvalidInputError) as busy:
        strategy({"client_id": "b"}, datastore)
    assert busy.value.status_code == 409 and "leased to other annotators" in busy.value.detail
    clock.t += LEASE
    assert strategy({"client_id": "b"}, datastore)["id"] in handed


def test_a_diverse_batch_skips_near_duplicates_of_what_it_already_holds(datastore, book, tmp_path: Path) -> None:
    infer_task = _scored(datastore, tmp_path)
    ids = sorted(datastore.get_unlabeled_images())  # scores grow with the index
    descriptions = {9: [1.0, 0.0], 8: [1.0, 0.0], 7: [0.0, 1.0], 6: [0.7, 0.7], 5: [-1.0, 0.0], 4: [1.0, 0.01]}
    for index, vector in descriptions.items():
        datastore.update_image_info(ids[index], {EMBEDDING_KEY: vector})
    top_k = MostUncertain(infer_task, "mean_uncertainty", book)
    assert _ids(top_k({"client_id": "a", "k": 2}, datastore)) == [ids[9], ids[8]]
    book.release(datastore, [ids[9], ids[8]])
    diverse = MostUncertain(infer_task, "mean_uncertainty", book, pool_factor=2)
    # Among the 4 highest: the best, then the one least like it (ids[8] is its duplicate, ids[6] half-way).
    assert _ids(diverse({"client_id": "b", "k": 2}, datastore)) == [ids[9], ids[7]]
    book.release(datastore, [ids[9], ids[7]])
    # Among the 6 highest: the best, its opposite, then the one farthest from both.
    assert _ids(diverse({"client_id": "c", "k": 3}, datastore)) == [ids[9], ids[5], ids[7]]


def test_a_representative_batch_stands_for_the_free_pool(datastore, book, tmp_path: Path) -> None:
    infer_task = _scored(datastore, tmp_path)
    ids = sorted(datastore.get_unlabeled_images())  # scores grow with the index
    # The two most uncertain are a rare kind; every other study is of the common kind.
    for index in range(10):
        datastore.update_image_info(ids[index], {EMBEDDING_KEY: [0.0, 1.0] if index >= 8 else [1.0, 0.0]})
    representative = MostUncertain(infer_task, "mean_uncertainty", book, pool_factor=2, batch_pick="representative")
    # Among the 4 highest: the best common-kind study (it stands for 8 of 10), then one of the rare kind.
    assert _ids(representative({"client_id": "a", "k": 2}, datastore)) == [ids[7], ids[9]]
    with pytest.raises(ValueError, match="batch_pick must be one of"):
        MostUncertain(infer_task, "mean_uncertainty", book, pool_factor=2, batch_pick="densest")


def test_a_diverse_batch_keeps_score_order_when_a_candidate_has_no_description(datastore, book, tmp_path) -> None:
    infer_task = _scored(datastore, tmp_path)
    ids = sorted(datastore.get_unlabeled_images())
    datastore.update_image_info(ids[9], {EMBEDDING_KEY: [1.0, 0.0]})  # the others: scored before descriptions
    diverse = MostUncertain(infer_task, "mean_uncertainty", book, pool_factor=3)
    assert _ids(diverse({"client_id": "a", "k": 2}, datastore)) == [ids[9], ids[8]]
    with pytest.raises(ValueError, match="pool_factor must be at least 1"):
        MostUncertain(infer_task, "mean_uncertainty", book, pool_factor=0)


def test_k_studies_in_score_order_all_leased(datastore, book, tmp_path: Path) -> None:
    infer_task = _scored(datastore, tmp_path)
    strategy = MostUncertain(infer_task, "mean_uncertainty", book)
    result = strategy({"client_id": "a", "k": 3}, datastore)
    ids = sorted(datastore.get_unlabeled_images())
    assert _ids(result) == [ids[9], ids[8], ids[7]]  # scores grow with the index
    assert [e["mean_uncertainty"] for e in result["batch"]] == [0.9, 0.8, 0.7]
    assert result["id"] == ids[9] and result["mean_uncertainty"] == 0.9
    nxt = strategy({"client_id": "b", "k": 2}, datastore)
    assert _ids(nxt) == [ids[6], ids[5]]


def test_fewer_free_studies_than_k_returns_the_free_ones(datastore, book) -> None:
    strategy = RandomFree(book)
    strategy({"client_id": "a", "k": 8}, datastore)
    assert len(strategy({"client_id": "b", "k": 5}, datastore)["batch"]) == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"k": 0}, "'k' must be an integer >= 1"),
        ({"k": "3"}, "'k' must be an integer >= 1"),
        ({"k": 11}, "k=11 is more than the 10 unlabeled studies"),
        ({"client_id": ""}, "'client_id' must be a string of 1 to 255 characters"),
        ({"skip": "yes"}, "'skip' must be true or false"),
        ({"batch": 2}, "unknown active learning options ['batch']"),
    ],
)
def test_bad_options_are_refused_and_lease_nothing(datastore, book, options: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("[", r"\[").replace("]", r"\]")) as error:
        RandomFree(book)(options, datastore)
    assert error.value.status_code == 422
    assert all(datastore.get_image_info(i).get(LEASE_CLIENT_KEY) is None for i in datastore.get_unlabeled_images())


def test_leases_survive_reopening_the_datastore(datastore, book, tmp_path: Path) -> None:
    first = RandomFree(book)({"client_id": "a"}, datastore)["id"]
    reopened = LocalDatastore(str(tmp_path / "data"), auto_reload=False)
    assert RandomFree(book)({"client_id": "a"}, reopened)["id"] == first


def test_a_submitted_label_ends_the_lease_and_records_who_and_how_long(datastore, book, clock, tmp_path) -> None:
    image_id = RandomFree(book)({"client_id": "a"}, datastore)["id"]
    clock.t += 95.0
    _save_final_label(datastore, image_id, tmp_path)
    signals = record_submission(datastore, book, image_id, "final", {"client_id": "a"}, None)
    assert signals == {
        "submitted_by": "a",
        "submitted_ts": clock.t,
        "handed_out_to": "a",
        "seconds_from_handout": 95.0,
    }
    info = datastore.get_image_info(image_id)
    assert info[LEASE_CLIENT_KEY] is None and info["submitted_by"] == "a"
    assert image_id not in _ids(RandomFree(book)({"client_id": "a", "k": 9}, datastore))


def test_a_label_without_a_lease_is_accepted_and_says_so(datastore, book, tmp_path) -> None:
    image_id = sorted(datastore.get_unlabeled_images())[0]
    _save_final_label(datastore, image_id, tmp_path)
    signals = record_submission(datastore, book, image_id, "final", {}, "radiologist")
    assert signals["submitted_by"] == "radiologist" and signals["handed_out_to"] is None
    assert signals["seconds_from_handout"] is None


def test_a_label_of_another_tag_keeps_the_lease(datastore, book) -> None:
    image_id = RandomFree(book)({"client_id": "a"}, datastore)["id"]
    assert record_submission(datastore, book, image_id, "original", {"client_id": "a"}, None) == {}
    assert datastore.get_image_info(image_id)[LEASE_CLIENT_KEY] == "a"


def _save_final_label(datastore: LocalDatastore, image_id: str, tmp_path: Path) -> None:
    label = tmp_path / f"{image_id}.nii.gz"
    shutil.copy(datastore.get_image_uri(image_id), label)
    datastore.save_label(image_id, str(label), "final", {})


def _scored(datastore: LocalDatastore, tmp_path: Path):
    """An infer task with a model file, and every study scored with it (score = index / 10)."""
    import os

    from lib.config import load_config
    from lib.infers import UncertaintyContrastiveInfer
    from lib.networks import DualSubnetSegmenter
    from lib.tools.weights import save_state_dict

    config = load_config({"width": "2", "patch_size": "[16, 16, 16]"})
    network = DualSubnetSegmenter(in_channels=1, num_classes=config.num_classes, width=config.width)
    path = tmp_path / "model" / "m.pt"
    task = UncertaintyContrastiveInfer(
        path=[str(path)], network=network, config=config, labels=config.labels, description="test"
    )
    save_state_dict(network, path)
    model_ts = os.stat(path).st_mtime
    for index, image_id in enumerate(sorted(datastore.get_unlabeled_images())):
        datastore.update_image_info(image_id, {"mean_uncertainty": index / 10, "mean_uncertainty_ts": model_ts})
    return task


def test_a_seeded_random_draw_repeats_and_an_unseeded_one_still_works(tmp_path: Path, clock: Clock) -> None:
    """A benchmark's random loop can be run again: the same free studies and seed give the same studies."""
    draws = []
    for copy in ("a", "b"):
        demo_data.generate(tmp_path / copy, num=10, labeled=0, seed=5, shape=(8, 8, 8))
        store, book = LocalDatastore(str(tmp_path / copy), auto_reload=False), LeaseBook(LEASE)
        book.now = clock
        draws.append(_ids(RandomFree(book)({"client_id": "benchmark", "k": 3, "seed": 7}, store)))
    assert draws[0] == draws[1] and len(set(draws[0])) == 3
    book = LeaseBook(LEASE)
    book.now = clock
    unseeded = RandomFree(book)({"client_id": "someone", "k": 2}, LocalDatastore(str(tmp_path / "a")))
    assert len(_ids(unseeded)) == 2 and not set(_ids(unseeded)) & set(draws[0])  # the leased ones are not free
    with pytest.raises(InvalidInputError, match="seed"):
        RandomFree(LeaseBook(LEASE))({"seed": -1}, LocalDatastore(str(tmp_path / "a"), auto_reload=False))
